/*
 * checkpassword.c: run a checkpassword program (checkpassword.h).
 *
 * The whole input (at most 512 octets) fits a pipe's buffer (POSIX
 * guarantees PIPE_BUF >= 512), so it is written before the child exists
 * and the write end is closed at once: the child reads it and sees EOF,
 * and no write of ours can block or meet EPIPE.
 */
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/io.h"
#include "../lib/spawn.h"
#include "../lib/wipe.h"
#include "checkpassword.h"

/* Lay out user\0secret\0stamp\0 in buf; its length, or 0 if too long. */
static size_t
checkpassword_input(char *buf, const char *user, size_t user_len,
    const char *secret, size_t secret_len, const char *stamp,
    size_t stamp_len)
{
	size_t n = 0;

	if (user_len > CHECKPASSWORD_INPUT_MAX ||
	    secret_len > CHECKPASSWORD_INPUT_MAX ||
	    stamp_len > CHECKPASSWORD_INPUT_MAX ||
	    user_len + secret_len + stamp_len + 3 > CHECKPASSWORD_INPUT_MAX)
		return 0;
	memcpy(buf + n, user, user_len);
	n += user_len;
	buf[n++] = '\0';
	memcpy(buf + n, secret, secret_len);
	n += secret_len;
	buf[n++] = '\0';
	memcpy(buf + n, stamp, stamp_len);
	n += stamp_len;
	buf[n++] = '\0';
	return n;
}

/* The interface's exit codes; the one place they are mapped. */
static enum checkpassword_result
checkpassword_status(int status, struct checkpassword_detail *d)
{
	if (WIFEXITED(status)) {
		d->what = "exit";
		d->code = WEXITSTATUS(status);
		if (d->code == 0)
			return CHECKPASSWORD_OK;
		return d->code == 1 ? CHECKPASSWORD_BAD : CHECKPASSWORD_TEMP;
	}
	d->what = "signal";
	d->code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return CHECKPASSWORD_TEMP;
}

static enum checkpassword_result
fail(struct checkpassword_detail *d, const char *what, int err)
{
	d->what = what;
	d->err = err;
	return CHECKPASSWORD_TEMP;
}

enum checkpassword_result
checkpassword_run(char *const argv[], char *const envp[], int errfd,
    const char *user, size_t user_len, const char *secret, size_t secret_len,
    const char *stamp, size_t stamp_len, int timeout_ms,
    struct checkpassword_detail *d)
{
	char input[CHECKPASSWORD_INPUT_MAX];
	struct spawn_fd plan[2];
	size_t nplan = 0;
	size_t len;
	int fds[2];
	int status;
	int r;
	int e;
	pid_t pid;

	memset(d, 0, sizeof(*d));
	len = checkpassword_input(input, user, user_len, secret, secret_len,
	    stamp, stamp_len);
	if (len == 0) {
		wipe(input, sizeof(input));
		d->what = "too long";
		return CHECKPASSWORD_BAD;
	}
	/* Close-on-exec: only the plan's dup of fds[0] reaches the child. */
	if (io_pipe(fds) != 0) {
		e = errno;
		wipe(input, sizeof(input));
		return fail(d, "pipe", e);
	}
	r = io_write_all(fds[1], input, len);
	e = errno;
	wipe(input, sizeof(input));
	if (io_close(fds[1]) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	if (r != 0) {
		(void)io_close(fds[0]);
		return fail(d, "pipe", e);
	}
	plan[nplan].child_fd = 3;
	plan[nplan++].parent_fd = fds[0];
	plan[nplan].child_fd = 2;
	plan[nplan++].parent_fd = errfd;
	r = spawn_start(&pid, argv, envp, plan, nplan);
	e = errno;
	(void)io_close(fds[0]);
	if (r != 0)
		return fail(d, "spawn", e);
	if (spawn_wait(pid, timeout_ms, &status) != 0)
		return fail(d, errno == ETIMEDOUT ? "timeout" : "wait", errno);
	return checkpassword_status(status, d);
}
