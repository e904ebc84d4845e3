/*
 * qq-maildir.c: a qmail-queue(8) program for `make bench` that stores the
 * message in a Maildir as smtpd and the floor do, so that mailfront (which
 * hands each message to a qmail-queue program) is measured durable too:
 * the message on fd 0 into a file in tmp/, fsync, the envelope on fd 1
 * read to its end, link into new/, unlink tmp/, fsync new/, exit 0.
 *
 *	QQ_MAILDIR=DIR qq-maildir	(DIR/tmp and DIR/new are made if need be)
 *
 * The message is stored as it comes (mailfront passes LF line ends); the
 * envelope is not kept.  Exit codes are qmail-queue's: 0 queued, 53
 * write error, 54 unable to read the message or the envelope, 81 internal.
 */
#define _GNU_SOURCE		/* O_DIRECTORY, O_CLOEXEC under old feature tests */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static int
copy(int from, int to)
{
	ssize_t r;
	ssize_t w;
	ssize_t off;

	while ((r = read(from, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 54;
		}
		for (off = 0; to >= 0 && off < r; off += w) {
			w = write(to, buf + off, (size_t)(r - off));
			if (w < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return 53;
			}
		}
	}
	return 0;
}

int
main(void)
{
	const char *dir = getenv("QQ_MAILDIR");
	char tmp[4096];
	char new[4096];
	char name[128];
	struct timespec ts;
	int fd;
	int rc;

	if (dir == NULL)
		return 81;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)snprintf(name, sizeof(name), "%lld.M%ldP%ld.bench",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, (long)getpid());
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	(void)snprintf(new, sizeof(new), "%s/new", dir);
	(void)mkdir(dir, 0700);
	(void)mkdir(tmp, 0700);
	(void)mkdir(new, 0700);
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	(void)snprintf(new, sizeof(new), "%s/new/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return 53;
	rc = copy(0, fd);
	if (rc == 0 && (fsync(fd) != 0 || close(fd) != 0))
		rc = 53;
	if (rc == 0)
		rc = copy(1, -1);
	if (rc == 0 && (link(tmp, new) != 0))
		rc = 53;
	(void)unlink(tmp);
	if (rc != 0)
		return rc;
	(void)snprintf(new, sizeof(new), "%s/new", dir);
	fd = open(new, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		return 53;
	return 0;
}
