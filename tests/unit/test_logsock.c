/*
 * test_logsock.c: lib/logsock.c against a datagram socket of our own in
 * place of /dev/log: the line as syslog(3) would send it (without a
 * timestamp), the cut at 2 KB, a daemon that restarts, none at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "../../lib/logsock.h"
#include "tap.h"

static char dir[] = "/tmp/test_logsock.XXXXXX";
static char path[64];

/* A syslog daemon: a datagram socket bound at path. */
static int
daemon_up(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return -1;
	return fd;
}

static size_t
receive(int fd, char *buf, size_t cap)
{
	ssize_t r = recv(fd, buf, cap - 1, MSG_DONTWAIT);

	if (r < 0)
		r = 0;
	buf[r] = '\0';
	return (size_t)r;
}

int
main(void)
{
	static char big[4096];
	char got[8192];
	size_t n;
	int fd;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/log", dir);

	ok(logsock_send(path, LOG_MAIL | LOG_INFO, "smtpd", 1, "x", 1) ==
	    -1, "no daemon: -1, the line is lost");

	fd = daemon_up();
	ok(fd != -1, "daemon up");
	ok(logsock_send(path, LOG_MAIL | LOG_INFO, "smtpd", 42,
	    "smtpd: pid 42: info: hello", 26) == 0, "sent");
	n = receive(fd, got, sizeof(got));
	is_mem(got, n, "<22>smtpd[42]: smtpd: pid 42: info: hello",
	    "<PRI>IDENT[PID]: MSG, facility mail, level info");
	ok(logsock_send(path, LOG_MAIL | LOG_ERR, "smtpd", 42, "bad", 3) ==
	    0 && receive(fd, got, sizeof(got)) == 18 &&
	    strcmp(got, "<19>smtpd[42]: bad") == 0, "level err: <19>");

	memset(big, 'x', sizeof(big));
	ok(logsock_send(path, LOG_MAIL | LOG_INFO, "smtpd", 7, big,
	    sizeof(big)) == 0, "a long line is sent");
	n = receive(fd, got, sizeof(got));
	ok(n > 1000 && n < 2048 && got[n - 1] == 'x', "cut to fit (%zu)", n);

	/* The daemon restarts: a new socket at the same path. */
	close(fd);
	fd = daemon_up();
	ok(logsock_send(path, LOG_MAIL | LOG_INFO, "smtpd", 1, "again", 5) ==
	    0, "sent after a restart");
	n = receive(fd, got, sizeof(got));
	is_mem(got, n, "<22>smtpd[1]: again", "reconnected");

	close(fd);

	/* A stream socket at /dev/log (some systems): NUL-framed lines;
	 * and when that daemon goes away, an error, not a SIGPIPE (this
	 * test does not ignore it). */
	{
		struct sockaddr_un sun;
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		int cfd;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		unlink(path);
		ok(lfd != -1 && bind(lfd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0 && listen(lfd, 1) == 0,
		    "stream daemon up");
		ok(logsock_send(path, LOG_MAIL | LOG_INFO, "smtpd", 3,
		    "streamed", 8) == 0, "sent to a stream socket");
		cfd = accept(lfd, NULL, NULL);
		n = 0;
		while (cfd != -1 && n < 23) {
			ssize_t r = read(cfd, got + n, sizeof(got) - n);

			if (r <= 0)
				break;
			n += (size_t)r;
		}
		ok(n == 23 && memcmp(got, "<22>smtpd[3]: streamed", 23) == 0,
		    "the line and its NUL (%zu octets)", n);
		close(cfd);
		close(lfd);
		unlink(path);
		ok(logsock_send(path, LOG_MAIL | LOG_INFO, "smtpd", 3, "lost",
		    4) == -1, "the daemon gone: -1, and still alive");
	}
	rmdir(dir);
	return tap_done();
}
