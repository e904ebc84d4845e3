/*
 * qmail_queue.c: the qmail-queue protocol, as qmail-queue(8) documents
 * it and qmail's qmail.c speaks it; the exit codes and their texts are
 * qmail.c's (netqmail 1.06 and notqmail), written here without the
 * "(#x.y.z)" suffix because our reply carries that status anyway.
 *
 * The message streams to the program while it arrives (no spool, no
 * memory that grows).  Our ends of the pipes are non-blocking, so that a
 * program that stops reading costs TIMEOUT at most, never a hang (and
 * io_write_nonblock writes them without asking the fd's flags each
 * time); the program's ends are ordinary blocking pipes.
 *
 * notqmail's custom error (the qmail-queue-custom-error patch, on fd 6
 * since 2007 so as not to clash with qmail-qfilter): the program writes
 * "Dtext" (permanent) or "Ztext" (temporary) on fd 6 and exits 82; the
 * text becomes the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/io.h"
#include "../lib/spawn.h"
#include "deliver.h"
#include "header.h"
#include "qmail_queue.h"

/* Received: and the envelope are built here and written when full. */
#define QQ_BUF 4096
/* The custom error text read from fd 6: one reply's worth and its tag. */
#define QQ_ERROR_MAX (SMTP_REPLY_TEXT_MAX + 1)
/* An aborted message: how long the program may take to notice the
 * missing envelope and clean up before it is killed. */
#define QQ_ABORT_GRACE_MS 5000
/* notqmail's "custom error on fd 6" exit code and descriptor. */
#define QQ_EXIT_CUSTOM 82
#define QQ_ERROR_FD 6

struct qq_exit {
	int code;
	enum reply_id reply;
	const char *text;
};

/* qmail.c's qmail_close(), code by code (D: 554, Z: 451). */
static const struct qq_exit qq_exits[] = {
	{ 11, REPLY_ADDR_TOO_LONG, "envelope address too long for qq" },
	{ 115, REPLY_ADDR_TOO_LONG, "envelope address too long for qq" },
	{ 31, REPLY_SYSTEM_REFUSED,
	    "mail server permanently rejected message" },
	{ 51, REPLY_TEMP_FAIL, "qq out of memory" },
	{ 52, REPLY_TEMP_FAIL, "qq timeout" },
	{ 53, REPLY_TEMP_FAIL, "qq write error or disk full" },
	{ 54, REPLY_TEMP_FAIL, "qq read error" },
	{ 55, REPLY_TEMP_FAIL, "qq unable to read configuration" },
	{ 56, REPLY_TEMP_FAIL, "qq trouble making network connection" },
	{ 61, REPLY_TEMP_FAIL, "qq trouble in home directory" },
	{ 62, REPLY_TEMP_FAIL, "qq trouble creating files in queue" },
	{ 63, REPLY_TEMP_FAIL, "qq trouble creating files in queue" },
	{ 64, REPLY_TEMP_FAIL, "qq trouble creating files in queue" },
	{ 65, REPLY_TEMP_FAIL, "qq trouble creating files in queue" },
	{ 66, REPLY_TEMP_FAIL, "qq trouble creating files in queue" },
	{ 71, REPLY_TEMP_FAIL, "mail server temporarily rejected message" },
	{ 72, REPLY_NEXT_HOP_TEMP, "connection to mail server timed out" },
	{ 73, REPLY_NEXT_HOP_TEMP, "connection to mail server rejected" },
	{ 74, REPLY_NEXT_HOP_FAIL, "communication with mail server failed" },
	{ 81, REPLY_TEMP_FAIL, "qq internal bug" },
	{ 91, REPLY_TEMP_FAIL, "qq internal bug" },
	{ 120, REPLY_TEMP_FAIL, "unable to exec qq" },
};

static int
qq_fail(struct deliver *d, const char *what)
{
	d->what = what;
	d->err = errno;
	return -1;
}

static void
qq_close_fd(int *fd)
{
	if (*fd != -1) {
		(void)io_close(*fd);
		*fd = -1;
	}
}

static void
qq_set_text(struct deliver_result *res, const char *text, size_t len)
{
	if (len > sizeof(res->text) - 1)
		len = sizeof(res->text) - 1;
	memcpy(res->text, text, len);
	res->text[len] = '\0';
	res->text_len = len;
}

static int
qq_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Start the program: its fd 0 reads m, fd 1 reads e, fd 6 writes x. */
static int
qq_start(struct deliver *d)
{
	static char *const no_env[] = { NULL };
	char *argv[2];
	struct spawn_fd plan[4];
	char *const *envp;
	int m[2];
	int e[2];
	int x[2];
	pid_t pid = -1;
	int saved = 0;

	if (io_pipe(m) == -1)
		return qq_fail(d, "pipe");
	if (io_pipe(e) == -1) {
		saved = errno;
		(void)io_close(m[0]);
		(void)io_close(m[1]);
		errno = saved;
		return qq_fail(d, "pipe");
	}
	if (io_pipe(x) == -1) {
		saved = errno;
		(void)io_close(m[0]);
		(void)io_close(m[1]);
		(void)io_close(e[0]);
		(void)io_close(e[1]);
		errno = saved;
		return qq_fail(d, "pipe");
	}
	argv[0] = (char *)d->path;
	argv[1] = NULL;
	plan[0].child_fd = 0;
	plan[0].parent_fd = m[0];
	plan[1].child_fd = 1;
	plan[1].parent_fd = e[0];
	plan[2].child_fd = 2;
	plan[2].parent_fd = d->child_stderr;
	plan[3].child_fd = QQ_ERROR_FD;
	plan[3].parent_fd = x[1];
	envp = d->env->session_env != NULL ? d->env->session_env : no_env;
	if (qq_nonblock(m[1]) == -1 || qq_nonblock(e[1]) == -1 ||
	    spawn_start(&pid, argv, envp, plan, 4) == -1) {
		saved = errno;
		(void)io_close(m[1]);
		(void)io_close(e[1]);
		(void)io_close(x[0]);
		pid = -1;
		errno = saved;
	}
	(void)io_close(m[0]);
	(void)io_close(e[0]);
	(void)io_close(x[1]);
	if (pid == -1) {
		errno = saved;
		return qq_fail(d, "spawn");
	}
	d->fd = m[1];
	d->fd2 = e[1];
	d->fd3 = x[0];
	d->pid = (int)pid;
	return 0;
}

int
qmail_queue_open(struct deliver *d)
{
	char mem[QQ_BUF];
	struct buf b;

	if (d->path == NULL || d->path[0] == '\0') {
		errno = EINVAL;
		return qq_fail(d, "program");
	}
	buf_init(&b, mem, sizeof(mem));
	if (header_received(&b, d->env) == -1) {
		errno = EOVERFLOW;
		return qq_fail(d, "header");
	}
	if (qq_start(d) == -1)
		return -1;
	/* A program that refuses at once (and so is gone: EPIPE) still
	 * gets its say: the failure is reported from its exit code at
	 * the end, as qmail-smtpd does. */
	if (io_write_nonblock(d->fd, b.p, b.len, d->timeout_ms) == -1) {
		qq_fail(d, "write");
		d->failed = 1;
	}
	return 0;
}

int
qmail_queue_write(struct deliver *d, const char *buf, size_t len)
{
	if (io_write_nonblock(d->fd, buf, len, d->timeout_ms) == -1)
		return qq_fail(d, "write");
	return 0;
}

/* Append one envelope item (tag, text, NUL), writing b out when full. */
static int
qq_put(struct deliver *d, struct buf *b, char tag, const char *text)
{
	size_t len = strlen(text);

	if (b->len + len + 2 > b->cap) {
		if (io_write_nonblock(d->fd2, b->p, b->len, d->timeout_ms) ==
		    -1)
			return -1;
		b->len = 0;
	}
	/* An address is at most SMTP_MAILBOX_MAX, far below QQ_BUF. */
	if (tag != '\0' && buf_addc(b, tag) == -1)
		return -1;
	if (buf_add(b, text, len) == -1 || buf_addc(b, '\0') == -1) {
		errno = EOVERFLOW;
		return -1;
	}
	return 0;
}

/* "Fsender\0" "Trcpt\0"... "\0": qmail-queue(8). */
static int
qq_envelope(struct deliver *d)
{
	char mem[QQ_BUF];
	struct buf b;
	size_t i;

	buf_init(&b, mem, sizeof(mem));
	if (qq_put(d, &b, 'F', d->env->sender) == -1)
		return -1;
	for (i = 0; i < d->env->nrcpt; i++)
		if (qq_put(d, &b, 'T', d->env->rcpts[i]) == -1)
			return -1;
	if (qq_put(d, &b, '\0', "") == -1)
		return -1;
	return io_write_nonblock(d->fd2, b.p, b.len, d->timeout_ms);
}

/* notqmail's custom error: "D..." or "Z..." on fd 6 with exit 82. */
static void
qq_custom_error(struct deliver *d, struct deliver_result *res)
{
	char text[QQ_ERROR_MAX];
	struct pollfd pfd;
	size_t len = 0;
	size_t i;
	size_t n = 0;
	ssize_t r;

	pfd.fd = d->fd3;
	pfd.events = POLLIN;
	/* The program has ended; a grandchild holding fd 6 must not
	 * make us wait. */
	while (len < sizeof(text)) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) != 1)
			break;
		r = io_read(d->fd3, text + len, sizeof(text) - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	res->reply = REPLY_PROGRAM_TEMP;
	if (len > 0 && (text[0] == 'D' || text[0] == 'Z'))
		res->reply = text[0] == 'D' ? REPLY_SYSTEM_REFUSED :
		    REPLY_TEMP_FAIL;
	else
		len = 0;
	/* Its first line, without the tag and control characters. */
	for (i = 1; i < len && text[i] != '\n' && text[i] != '\0'; i++) {
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			continue;
		text[n++] = text[i];
	}
	if (n > 0)
		qq_set_text(res, text, n);
	else
		qq_set_text(res, "qq temporary problem", 20);
}

/* Fill res from the wait status; 0 only when the message is queued. */
static int
qq_result(struct deliver *d, struct deliver_result *res, int status)
{
	const char *text = "qq temporary problem";
	size_t i;
	int code;

	if (WIFSIGNALED(status)) {
		res->reply = REPLY_TEMP_FAIL;
		res->what = "signal";
		res->status = WTERMSIG(status);
		qq_set_text(res, "qq crashed", 10);
		return -1;
	}
	code = WEXITSTATUS(status);
	res->status = code;
	if (code == 0 && !d->failed)
		return 0;
	res->what = "exit";
	if (code == 0)
		code = 54;	/* it ended well on a message we broke */
	if (code == QQ_EXIT_CUSTOM) {
		qq_custom_error(d, res);
		return -1;
	}
	res->reply = code >= 11 && code <= 40 ? REPLY_SYSTEM_REFUSED :
	    REPLY_TEMP_FAIL;
	if (code >= 11 && code <= 40)
		text = "qq permanent problem";
	for (i = 0; i < sizeof(qq_exits) / sizeof(qq_exits[0]); i++) {
		if (qq_exits[i].code == code) {
			res->reply = qq_exits[i].reply;
			text = qq_exits[i].text;
			break;
		}
	}
	qq_set_text(res, text, strlen(text));
	return -1;
}

int
qmail_queue_close(struct deliver *d, struct deliver_result *res)
{
	int status = 0;
	int r;

	/* EOF on the message, then the envelope; after a failed write
	 * no envelope, so that nothing is queued (qmail.c does the same). */
	qq_close_fd(&d->fd);
	if (!d->failed && qq_envelope(d) == -1) {
		qq_fail(d, "envelope");
		d->failed = 1;
	}
	qq_close_fd(&d->fd2);
	r = spawn_wait((pid_t)d->pid, d->timeout_ms, &status);
	d->pid = -1;
	if (r == -1) {
		qq_close_fd(&d->fd3);
		res->reply = REPLY_PROGRAM_TIMEOUT;
		res->what = "timeout";
		res->err = ETIMEDOUT;
		qq_set_text(res, "qq timeout", 10);
		return -1;
	}
	r = qq_result(d, res, status);
	qq_close_fd(&d->fd3);
	if (r == -1 && res->what != NULL && d->failed && d->err != 0) {
		/* For the log: our own step failed first (the reply
		 * still comes from the exit code). */
		res->what = d->what;
		res->err = d->err;
		res->status = -1;
	}
	return r;
}

void
qmail_queue_abort(struct deliver *d)
{
	int status;
	int e = errno;
	int grace = d->timeout_ms < QQ_ABORT_GRACE_MS ? d->timeout_ms :
	    QQ_ABORT_GRACE_MS;

	/* EOF before the envelope's end: qmail-queue(8) "aborts without
	 * placing the message into the queue". */
	qq_close_fd(&d->fd);
	qq_close_fd(&d->fd2);
	qq_close_fd(&d->fd3);
	if (d->pid > 0)
		(void)spawn_wait((pid_t)d->pid, grace, &status);
	d->pid = -1;
	errno = e;
}
