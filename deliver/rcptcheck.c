/*
 * rcptcheck.c: one RCPTCHECK run (rcptcheck.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "../lib/spawn.h"
#include "rcptcheck.h"

enum reply_id
rcptcheck_run(const char *program, char *const envp[], int err_fd,
    int timeout_ms, struct rcptcheck_result *res)
{
	char *argv[2];
	char line[SMTP_REPLY_TEXT_MAX + 1];
	struct spawn_run run;

	memset(res, 0, sizeof(*res));
	res->reply = REPLY_RCPT_TEMP_FAIL;
	argv[0] = (char *)program;
	argv[1] = NULL;
	run.in_fd = -1;
	run.err_fd = err_fd;
	run.timeout_ms = timeout_ms;
	run.line = line;
	run.cap = sizeof(line);
	if (spawn_run_line(argv, envp, &run) == -1) {
		res->err = errno;
		res->unstarted = run.what;
		res->unfinished = run.what == NULL;
		return res->reply;
	}
	if (WIFSIGNALED(run.status)) {
		res->signal = WTERMSIG(run.status);
		return res->reply;
	}
	res->code = WEXITSTATUS(run.status);
	if (res->code == 0) {
		res->reply = REPLY_RCPT_OK;
		return res->reply;
	}
	if (res->code == 100 || res->code == 111) {
		memcpy(res->text, line, run.len + 1);
		res->text_len = run.len;
	}
	if (res->code == 100)
		res->reply = REPLY_NO_MAILBOX;
	return res->reply;
}
