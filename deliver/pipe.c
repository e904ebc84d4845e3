/*
 * pipe.c: the hook API.  The message is spooled first, so that the
 * program runs only once the whole message has arrived and passed every
 * check (it never sees a message that is then refused), and gets a real
 * file on stdin that it may read, seek, mmap or ignore.
 *
 * The spool is a file without a name in d->spool_dir (smtpd's TMPDIR,
 * else /tmp): Linux's O_TMPFILE where the file system has it (one system
 * call, no directory entry), else a mkstemp(3) file unlinked as soon as
 * it exists.  Whatever happens next (an abort, a crash, a kill), the
 * space is freed when the last descriptor closes.  Each message gets a
 * new one: a program's background job may still hold the last.
 *
 * What the program gets: Received: (our trace field, RFC 5321 §4.4) and
 * the message, with LF line ends; no Return-Path: or Delivered-To:,
 * which belong to final delivery into a mailbox: the envelope is in the
 * environment (SENDER, RECIPIENT, RECIPIENTS), and a program that files
 * into a mailbox adds them itself (examples/).
 *
 * Exit codes, as qmail-local's for 0/100/111 and the sysexits.h names
 * (which are not POSIX, so the values are spelt out here) for the rest.
 */
#include "../lib/linux.h"	/* first: before any system header */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/io.h"
#include "../lib/spawn.h"
#include "deliver.h"
#include "header.h"
#include "pipe.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
/* Received: is built here; header.c bounds it well below this. */
#define PIPE_HEADER_BUF 4096

/* sysexits.h values (4.4BSD), the exit codes a hook may use. */
enum {
	PIPE_EX_OK = 0,
	PIPE_EX_USAGE = 64,
	PIPE_EX_DATAERR = 65,
	PIPE_EX_NOINPUT = 66,
	PIPE_EX_NOUSER = 67,
	PIPE_EX_NOHOST = 68,
	PIPE_EX_UNAVAILABLE = 69,
	PIPE_EX_SOFTWARE = 70,
	PIPE_EX_OSERR = 71,
	PIPE_EX_OSFILE = 72,
	PIPE_EX_CANTCREAT = 73,
	PIPE_EX_IOERR = 74,
	PIPE_EX_TEMPFAIL = 75,
	PIPE_EX_PROTOCOL = 76,
	PIPE_EX_NOPERM = 77,
	PIPE_EX_CONFIG = 78,
	PIPE_EXIT_HARD = 100,	/* qmail: permanent */
	PIPE_EXIT_SOFT = 111	/* qmail: temporary */
};

static int
pipe_fail(struct deliver *d, const char *what)
{
	d->what = what;
	d->err = errno;
	return -1;
}

/*
 * The reply for an exit code.  Permanent only where the name blames the
 * message or its recipient (data, user, host, permission) or says the
 * service refuses it (EX_UNAVAILABLE, permanent in sendmail and Postfix
 * too); everything else may be fixed by its operator, so the sender
 * should retry (when unsure, 4xx: a retry loses nothing).
 */
static enum reply_id
pipe_reply_for_exit(int code)
{
	switch (code) {
	case PIPE_EX_OK:
		return REPLY_MESSAGE_ACCEPTED;
	case PIPE_EXIT_HARD:
		return REPLY_TRANSACTION_FAILED;
	case PIPE_EX_DATAERR:
		return REPLY_PERM_FAIL;
	case PIPE_EX_NOUSER:
		return REPLY_NOUSER;
	case PIPE_EX_NOHOST:
		return REPLY_NOHOST;
	case PIPE_EX_UNAVAILABLE:
		return REPLY_SYSTEM_REFUSED;
	case PIPE_EX_NOPERM:
		return REPLY_NOPERM;
	case PIPE_EX_USAGE:
	case PIPE_EX_CONFIG:
		return REPLY_CONFIG_TEMP;
	case PIPE_EX_TEMPFAIL:
		return REPLY_TEMP_FAIL;
	case PIPE_EXIT_SOFT:
	default:
		return REPLY_PROGRAM_TEMP;
	}
}

/* The spool: a new file without a name, close-on-exec; -1 with d->what
 * and d->err when none can be made. */
static int
pipe_spool(struct deliver *d)
{
	const char *dir = d->spool_dir != NULL && d->spool_dir[0] != '\0' ?
	    d->spool_dir : "/tmp";
	char path[PATH_MAX];
	struct buf b;
	int fd;

#if defined(SMTPD_LINUX) && defined(O_TMPFILE)
	/* Any failure (a file system or kernel without it, or a real
	 * problem with dir) is left to mkstemp to report. */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
#endif
	buf_init(&b, path, sizeof(path));
	buf_adds(&b, dir);
	buf_adds(&b, "/smtpd-spool.XXXXXX");
	if (buf_nul(&b) == -1 || b.overflow) {
		errno = ENAMETOOLONG;
		return pipe_fail(d, "spool path");
	}
	fd = mkstemp(path);
	if (fd == -1)
		return pipe_fail(d, "mkstemp");
	/* Single-threaded: no exec can happen between mkstemp and this. */
	if (io_cloexec(fd) == -1 || unlink(path) == -1) {
		int e = errno;

		(void)unlink(path);
		(void)io_close(fd);
		errno = e;
		return pipe_fail(d, "spool");
	}
	return fd;
}

int
pipe_open(struct deliver *d)
{
	char mem[PIPE_HEADER_BUF];
	struct buf b;
	int fd;

	fd = pipe_spool(d);
	if (fd == -1)
		return -1;
	d->fd = fd;
	buf_init(&b, mem, sizeof(mem));
	if (header_received(&b, d->env) == -1) {
		errno = EOVERFLOW;
		pipe_abort(d);
		return pipe_fail(d, "header");
	}
	if (io_write_all(fd, b.p, b.len) == -1) {
		int e = errno;

		pipe_abort(d);
		errno = e;
		return pipe_fail(d, "write");
	}
	return 0;
}

int
pipe_write(struct deliver *d, const char *buf, size_t len)
{
	if (io_write_all(d->fd, buf, len) == -1)
		return pipe_fail(d, "write");
	return 0;
}

/* Fill res from how the program ended; 0 only for exit 0. */
static int
pipe_result(struct deliver_result *res, int waited, int status,
    const char *line, size_t len)
{
	if (waited == -1) {
		res->reply = REPLY_PROGRAM_TIMEOUT;
		res->what = "timeout";
		res->err = ETIMEDOUT;
		return -1;
	}
	if (WIFSIGNALED(status)) {
		res->reply = REPLY_PROGRAM_TEMP;
		res->what = "signal";
		res->status = WTERMSIG(status);
		return -1;
	}
	res->status = WEXITSTATUS(status);
	res->reply = pipe_reply_for_exit(res->status);
	/* The program's first line is the reply's text (reply_format
	 * drops what is left of control characters and cuts it). */
	if (len > 0) {
		if (len > sizeof(res->text) - 1)
			len = sizeof(res->text) - 1;
		memcpy(res->text, line, len);
		res->text[len] = '\0';
		res->text_len = len;
	}
	if (res->reply == REPLY_MESSAGE_ACCEPTED)
		return 0;
	res->what = "exit";
	return -1;
}

int
pipe_close(struct deliver *d, struct deliver_result *res)
{
	static char *const no_env[] = { NULL };
	char line[SMTP_REPLY_TEXT_MAX + 1];
	struct spawn_run run;
	int waited;

	if (d->failed) {
		pipe_abort(d);
		return -1;	/* d->what, d->err: deliver.c's to map */
	}
	if (lseek(d->fd, 0, SEEK_SET) == -1) {
		pipe_fail(d, "lseek");
		pipe_abort(d);
		return -1;
	}
	run.in_fd = d->fd;
	run.err_fd = d->child_stderr;
	run.timeout_ms = d->timeout_ms;
	run.line = line;
	run.cap = sizeof(line);
	waited = spawn_run_line(d->argv, d->env->session_env != NULL ?
	    d->env->session_env : no_env, &run);
	if (waited == -1 && run.what != NULL) {
		pipe_fail(d, run.what);
		pipe_abort(d);
		return -1;
	}
	pipe_abort(d);		/* the child had its own spool fd */
	return pipe_result(res, waited, run.status, line, run.len);
}

void
pipe_abort(struct deliver *d)
{
	int e = errno;

	if (d->fd != -1) {
		(void)io_close(d->fd);
		d->fd = -1;
	}
	errno = e;
}
