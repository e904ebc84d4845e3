/*
 * log.c: smtpd's log lines (log.h).  Built with buf where a line is
 * written for every message or session (log_put); log_line's format
 * (lib/fmt.h, a printf subset) is for the rarer ones.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>	/* LOG_MAIL, LOG_INFO, ..., _PATH_LOG */

#include "fmt.h"
#include "io.h"
#include "log.h"
#include "logsock.h"

/* The syslog daemon's socket (<syslog.h> names it on glibc and the BSDs). */
#ifndef _PATH_LOG
#define _PATH_LOG "/dev/log"
#endif

static struct {
	unsigned long pid;
	int to_syslog;
	char prefix[sizeof("smtpd: pid : ") + 20];	/* made once */
	size_t prefix_len;
	unsigned long refusals_logged;
	unsigned long refusals_unlogged;
} lg;

/* Under xinetd, and under systemd without StandardError=, fd 2 is the
 * client's own socket. */
static int
stderr_is_client(void)
{
	struct stat in;
	struct stat err;

	/* fd 2 first: it is rarely a socket, and then fd 0 does not
	 * matter. */
	if (fstat(2, &err) != 0 || !S_ISSOCK(err.st_mode) ||
	    fstat(0, &in) != 0)
		return 0;
	return in.st_dev == err.st_dev && in.st_ino == err.st_ino;
}

void
log_open(unsigned long pid)
{
	struct buf b;

	lg.pid = pid;
	lg.to_syslog = stderr_is_client();
	buf_init(&b, lg.prefix, sizeof(lg.prefix));
	buf_addlit(&b, "smtpd: pid ");
	buf_addu64(&b, pid);
	buf_addlit(&b, ": ");
	lg.prefix_len = b.len;
}

int
log_child_stderr(void)
{
	return lg.to_syslog ? -1 : 2;
}

void
log_put(const char *level, const char *msg, size_t len)
{
	char line[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, line, sizeof(line) - 1);	/* room for '\n' or NUL */
	buf_add(&b, lg.prefix, lg.prefix_len);
	buf_adds(&b, level);
	buf_addlit(&b, ": ");
	buf_addcut(&b, msg, len);
	if (lg.to_syslog) {
		int prio = level[0] == 'f' ? LOG_ERR :
		    level[0] == 'w' ? LOG_WARNING : LOG_INFO;

		(void)logsock_send(_PATH_LOG, LOG_MAIL | prio, "smtpd",
		    lg.pid, line, b.len);
		return;
	}
	line[b.len++] = '\n';
	(void)io_write_all(2, line, b.len);
}

void
log_line(const char *level, const char *format, ...)
{
	char msg[LOG_LINE_MAX];
	size_t n;
	va_list ap;

	va_start(ap, format);
	n = fmt_v(msg, sizeof(msg), format, ap);
	va_end(ap);
	log_put(level, msg, n);
}

const char *
log_errno(int e)
{
	/* musl says "Operation timed out": one text for log readers. */
	return e == ETIMEDOUT ? "Connection timed out" : strerror(e);
}

void
log_add_reply(struct buf *b, enum reply_id id, const char *reason)
{
	const struct reply_entry *e = reply_get(id);

	(void)buf_addu64(b, (uint64_t)e->code);
	if (e->code < 400)
		return;
	if (e->status != NULL) {
		(void)buf_addc(b, ' ');
		(void)buf_adds(b, e->status);
	}
	(void)buf_addlit(b, " reason=");
	(void)buf_adds(b, reason != NULL ? reason : reply_reason(id));
}

int
log_refusal_room(void)
{
	if (lg.refusals_logged < LOG_REFUSALS_MAX) {
		lg.refusals_logged++;
		return 1;
	}
	lg.refusals_unlogged++;
	return 0;
}

unsigned long
log_refusals_logged(void)
{
	return lg.refusals_logged;
}

unsigned long
log_refusals_unlogged(void)
{
	return lg.refusals_unlogged;
}

void
log_refusal(const char *session_id, const char *what, const char *value,
    size_t len, enum reply_id id, const char *reason, int bracket)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, msg, sizeof(msg));
	(void)buf_adds(&b, session_id);
	(void)buf_addlit(&b, ": ");
	(void)buf_adds(&b, what);
	if (bracket) {
		(void)buf_addlit(&b, " <");
		(void)logesc_add(&b, value, len, LOGESC_MAX);
		(void)buf_addc(&b, '>');
	}
	(void)buf_addlit(&b, " refused: ");
	log_add_reply(&b, id, reason);
	if (!bracket) {
		(void)buf_addlit(&b, " arg=");
		(void)logesc_add(&b, value, len, LOGESC_MAX);
	}
	log_put("info", msg, b.len);
}
