/*
 * logsock.c: syslog(3) by hand (logsock.h).  The C library's syslog
 * stamps each line with the local time, which takes its time zone code,
 * and with it sscanf and strtod, into a static build: a third more text,
 * and a static binary's text is most of its RSS.  The syslog daemon
 * stamps what reaches it without a TIMESTAMP (RFC 3164 §4.3.3; rsyslog's
 * and journald's local sockets use the receive time anyway).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "logsock.h"

#define LOGSOCK_LINE_MAX 2048

static int log_fd = -1;
static int log_stream;		/* the socket is SOCK_STREAM: NUL-framed */

static int
logsock_connect(const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int type = SOCK_DGRAM;

	if (n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	for (;;) {
		log_fd = socket(AF_UNIX, type, 0);
		if (log_fd == -1)
			return -1;
		/* Opened late, after smtpd made what it inherited
		 * close-on-exec: no child may get it. */
		if (io_cloexec(log_fd) == 0 &&
		    connect(log_fd, (struct sockaddr *)&sun, sizeof(sun)) ==
		    0) {
			log_stream = type == SOCK_STREAM;
			return 0;
		}
		(void)io_close(log_fd);
		log_fd = -1;
		/* Some systems' /dev/log is a stream socket. */
		if (errno != EPROTOTYPE || type == SOCK_STREAM)
			return -1;
		type = SOCK_STREAM;
	}
}

/* All of buf to a stream socket; MSG_NOSIGNAL: a daemon that went away
 * is an error here, not a SIGPIPE for a caller that does not ignore it. */
static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int
logsock_send(const char *path, int priority, const char *ident,
    unsigned long pid, const char *msg, size_t len)
{
	char line[LOGSOCK_LINE_MAX];
	struct buf b;
	int tries;

	buf_init(&b, line, sizeof(line) - 1);	/* room for the NUL */
	buf_addc(&b, '<');
	buf_addu64(&b, (unsigned)priority);
	buf_addc(&b, '>');
	buf_adds(&b, ident);
	buf_addc(&b, '[');
	buf_addu64(&b, pid);
	buf_adds(&b, "]: ");
	buf_addcut(&b, msg, len);
	/* A restarted syslog daemon leaves the old socket dead: connect
	 * again once. */
	for (tries = 0; tries < 2; tries++) {
		if (log_fd == -1 && logsock_connect(path) == -1)
			return -1;
		if (log_stream) {
			line[b.len] = '\0';
			if (send_all(log_fd, line, b.len + 1) == 0)
				return 0;
		} else if (send(log_fd, line, b.len, MSG_NOSIGNAL) != -1) {
			return 0;
		}
		(void)io_close(log_fd);
		log_fd = -1;
	}
	return -1;
}
