/*
 * floor.c: the least a one-process-per-session SMTP responder can do, as
 * the yardstick for `make bench`.  Not
 * an SMTP server: it checks nothing and answers every command with a
 * canned reply.  What it does do is what any receiver must:
 *   - read fd 0 in large blocks, write the queued replies to fd 1 in one
 *     write before each blocking read (RFC 2920 batching);
 *   - frame command lines; read DATA to CRLF "." CRLF, undo the dot
 *     stuffing (RFC 5321 §4.5.2) and store LF line ends, as smtpd does;
 *   - deliver the way smtpd does:
 *	floor maildir DIR             a file in tmp/, fsync, link into new/,
 *	                              unlink tmp/, fsync new/ (two fsyncs)
 *	floor pipe PROGRAM [ARG...]   spool to an unlinked file, then run
 *	                              PROGRAM with it on fd 0
 *	floor qmail-queue PROGRAM     stream to PROGRAM's fd 0 while the
 *	                              message arrives, envelope on its fd 1
 *     and a program gets the hook API's environment: SENDER,
 *     RECIPIENT, RECIPIENTS, HELO, TCPREMOTEIP, then the floor's own
 *     environment (unfiltered: the floor checks nothing);
 *     with a constant trace field in front of the body.
 * Lines over IN_MAX octets are passed through as they come (a CR at a
 * block boundary is kept): the floor is exact for text within RFC 5321's
 * limits, which is all the benchmark sends.  Memory is fixed.
 */
#define _GNU_SOURCE		/* pipe2 (POSIX.1-2024) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX 65536
#define OUT_MAX 4096
#define BODY_MAX 65536
#define ADDR_MAX 320
#define PATH_LEN 4096

enum floor_kind { FLOOR_MAILDIR, FLOOR_PIPE, FLOOR_QMAIL_QUEUE };

static const char reply_greeting[] = "220 floor ESMTP\r\n";
static const char reply_ehlo[] =
    "250-floor\r\n250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n"
    "250 ENHANCEDSTATUSCODES\r\n";
static const char reply_ok[] = "250 2.0.0 OK\r\n";
static const char reply_data[] = "354 End data with <CR><LF>.<CR><LF>\r\n";
static const char reply_accepted[] = "250 2.0.0 Message accepted\r\n";
static const char reply_failed[] = "451 4.3.0 Local error\r\n";
static const char reply_bye[] = "221 2.0.0 Bye\r\n";
static const char reply_what[] = "500 5.5.1 What?\r\n";
static const char trace[] = "Received: from floor by floor with ESMTP\n";

static enum floor_kind kind;
static char **prog;
static const char *maildir;
static char host[256];
static unsigned long pid;
static unsigned long seq;

static char in[IN_MAX];
static size_t in_off;
static size_t in_len;
static char out[OUT_MAX];
static size_t out_len;
static char body[BODY_MAX];
static size_t body_len;

static char sender[ADDR_MAX];
static char rcpt[ADDR_MAX];
static char helo[ADDR_MAX];
/* The hook API's variables, then at most ENV_INHERIT_MAX of environ. */
#define ENV_INHERIT_MAX 64
static char *child_env[5 + ENV_INHERIT_MAX + 1];

/* The open message. */
static int msg_fd = -1;			/* tmp/ file, spool, or queue pipe */
static int env_fd = -1;			/* qmail-queue envelope pipe */
static int spool_fd = -1;		/* pipe: one spool for the session */
static pid_t child = -1;
static int msg_failed;
static char tmp_path[PATH_LEN];
static char new_path[PATH_LEN];
static char new_dir[PATH_LEN];

extern char **environ;

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
flush(void)
{
	if (out_len > 0 && write_all(1, out, out_len) != 0)
		_exit(111);
	out_len = 0;
}

static void
reply(const char *r, size_t n)
{
	if (out_len + n > sizeof(out))
		flush();
	memcpy(out + out_len, r, n);
	out_len += n;
}

#define REPLY(r) reply((r), sizeof(r) - 1)

/* The text between '<' and '>' of a MAIL or RCPT line. */
static void
take_path(char *dst, const char *line, size_t n)
{
	const char *lt = memchr(line, '<', n);
	const char *gt;
	size_t len;

	dst[0] = '\0';
	if (lt == NULL)
		return;
	gt = memchr(lt, '>', n - (size_t)(lt - line));
	if (gt == NULL)
		return;
	len = (size_t)(gt - lt - 1);
	if (len >= ADDR_MAX)
		len = ADDR_MAX - 1;
	memcpy(dst, lt + 1, len);
	dst[len] = '\0';
}

static int
spawn(int fd0, int fd1)
{
	posix_spawn_file_actions_t fa;
	char env_sender[ADDR_MAX + 8];
	char env_rcpt[ADDR_MAX + 12];
	char env_rcpts[ADDR_MAX + 12];
	char env_helo[ADDR_MAX + 8];
	char env_ip[64];
	const char *ip = getenv("TCPREMOTEIP");
	char **e;
	size_t n = 0;
	int r;

	snprintf(env_sender, sizeof(env_sender), "SENDER=%s", sender);
	snprintf(env_rcpt, sizeof(env_rcpt), "RECIPIENT=%s", rcpt);
	snprintf(env_rcpts, sizeof(env_rcpts), "RECIPIENTS=%s", rcpt);
	snprintf(env_helo, sizeof(env_helo), "HELO=%s", helo);
	snprintf(env_ip, sizeof(env_ip), "TCPREMOTEIP=%s",
	    ip != NULL ? ip : "unknown");
	child_env[n++] = env_sender;
	child_env[n++] = env_rcpt;
	child_env[n++] = env_rcpts;
	child_env[n++] = env_helo;
	child_env[n++] = env_ip;
	for (e = environ; *e != NULL && n < 5 + ENV_INHERIT_MAX; e++)
		child_env[n++] = *e;
	child_env[n] = NULL;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	r = posix_spawn_file_actions_adddup2(&fa, fd0, 0);
	if (r == 0 && fd1 >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, fd1, 1);
	if (r == 0)
		r = posix_spawn(&child, prog[0], &fa, NULL, prog, child_env);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		child = -1;
	return r == 0 ? 0 : -1;
}

static int
reap(void)
{
	int status;

	if (child < 0)
		return -1;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	child = -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
open_maildir_file(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tmp_path, sizeof(tmp_path), "%s/tmp/%lld.M%ldP%luQ%lu.%s",
	    maildir, (long long)ts.tv_sec, ts.tv_nsec / 1000, pid, seq, host);
	snprintf(new_path, sizeof(new_path), "%s/new/%lld.M%ldP%luQ%lu.%s",
	    maildir, (long long)ts.tv_sec, ts.tv_nsec / 1000, pid, seq, host);
	seq++;
	msg_fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
}

/* At DATA: start the message (354) or refuse it (451). */
static void
msg_open(void)
{
	int qpipe[2];
	int epipe[2];

	msg_failed = 0;
	body_len = 0;
	switch (kind) {
	case FLOOR_MAILDIR:
		open_maildir_file();
		break;
	case FLOOR_PIPE:
		if (ftruncate(spool_fd, 0) == 0 &&
		    lseek(spool_fd, 0, SEEK_SET) == 0)
			msg_fd = spool_fd;
		break;
	case FLOOR_QMAIL_QUEUE:
		if (pipe2(qpipe, O_CLOEXEC) != 0)
			break;
		if (pipe2(epipe, O_CLOEXEC) != 0) {
			close(qpipe[0]);
			close(qpipe[1]);
			break;
		}
		if (spawn(qpipe[0], epipe[0]) == 0) {
			msg_fd = qpipe[1];
			env_fd = epipe[1];
		} else {
			close(qpipe[1]);
			close(epipe[1]);
		}
		close(qpipe[0]);
		close(epipe[0]);
		break;
	}
	if (msg_fd < 0) {
		REPLY(reply_failed);
		return;
	}
	memcpy(body, trace, sizeof(trace) - 1);
	body_len = sizeof(trace) - 1;
	REPLY(reply_data);
}

static void
msg_write(void)
{
	if (!msg_failed && body_len > 0 &&
	    write_all(msg_fd, body, body_len) != 0)
		msg_failed = 1;
	body_len = 0;
}

static int
msg_commit(void)
{
	char env[2 * ADDR_MAX + 8];
	int dir;
	int n;

	switch (kind) {
	case FLOOR_MAILDIR:
		if (fsync(msg_fd) != 0 || close(msg_fd) != 0) {
			msg_fd = -1;
			return -1;
		}
		msg_fd = -1;
		if (link(tmp_path, new_path) != 0 || unlink(tmp_path) != 0)
			return -1;
		dir = open(new_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return -1;
		n = fsync(dir);
		close(dir);
		return n;
	case FLOOR_PIPE:
		msg_fd = -1;
		if (lseek(spool_fd, 0, SEEK_SET) != 0 ||
		    spawn(spool_fd, -1) != 0)
			return -1;
		return reap();
	case FLOOR_QMAIL_QUEUE:
		close(msg_fd);
		msg_fd = -1;
		n = snprintf(env, sizeof(env), "F%s%cT%s%c%c", sender, 0, rcpt,
		    0, 0);
		n = write_all(env_fd, env, (size_t)n);
		close(env_fd);
		env_fd = -1;
		return reap() == 0 && n == 0 ? 0 : -1;
	}
	return -1;
}

/* At the end of the data: commit, or undo what is left. */
static void
msg_close(void)
{
	msg_write();
	if (!msg_failed && msg_commit() == 0) {
		REPLY(reply_accepted);
		return;
	}
	if (msg_fd >= 0 && msg_fd != spool_fd)
		close(msg_fd);
	msg_fd = -1;
	if (env_fd >= 0)
		close(env_fd);
	env_fd = -1;
	if (child >= 0) {
		kill(child, SIGKILL);
		(void)reap();
	}
	if (kind == FLOOR_MAILDIR)
		unlink(tmp_path);
	REPLY(reply_failed);
}

/* Append message octets, writing the block out when it is full. */
static void
store(const char *p, size_t n)
{
	size_t room;

	while (n > 0) {
		room = sizeof(body) - body_len;
		if (room == 0) {
			msg_write();
			room = sizeof(body);
		}
		if (room > n)
			room = n;
		memcpy(body + body_len, p, room);
		body_len += room;
		p += room;
		n -= room;
	}
}

/*
 * Consume DATA lines from the input; returns 1 at the terminating line,
 * 0 when more input is needed (a partial line is moved to the front).
 */
static int
feed_data(int *at_bol)
{
	const char *p;
	const char *lf;
	size_t n;

	while (in_off < in_len) {
		p = in + in_off;
		n = in_len - in_off;
		lf = memchr(p, '\n', n);
		if (lf == NULL) {
			if (in_off == 0 && in_len == sizeof(in)) {
				/* A line longer than the buffer. */
				if (*at_bol && p[0] == '.')
					p++, n--;
				store(p, n);
				in_off = in_len;
				*at_bol = 0;
			}
			return 0;
		}
		n = (size_t)(lf - p) + 1;
		in_off += n;
		if (*at_bol && p[0] == '.') {
			if (n == 3 && p[1] == '\r')
				return 1;
			p++;
			n--;
		}
		*at_bol = 1;
		if (n >= 2 && p[n - 2] == '\r') {
			store(p, n - 2);
			store("\n", 1);
		} else {
			store(p, n);
		}
	}
	return 0;
}

/* The argument of a HELO or EHLO line (CRLF cut). */
static void
take_word(char *dst, const char *line, size_t n)
{
	size_t len;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	len = n > 5 ? n - 5 : 0;
	if (len >= ADDR_MAX)
		len = ADDR_MAX - 1;
	memcpy(dst, line + 5, len);
	dst[len] = '\0';
}

static int
is_cmd(const char *p, size_t n, const char *verb)
{
	size_t i;

	if (n < 4)
		return 0;
	for (i = 0; i < 4; i++) {
		if ((p[i] | 0x20) != verb[i])
			return 0;
	}
	return 1;
}

/* One command line (p, n: CRLF included).  Returns 1 at QUIT. */
static int
command(const char *p, size_t n, int *in_data)
{
	if (is_cmd(p, n, "ehlo") || is_cmd(p, n, "helo")) {
		take_word(helo, p, n);
		REPLY(reply_ehlo);
	} else if (is_cmd(p, n, "mail")) {
		take_path(sender, p, n);
		REPLY(reply_ok);
	} else if (is_cmd(p, n, "rcpt")) {
		take_path(rcpt, p, n);
		REPLY(reply_ok);
	} else if (is_cmd(p, n, "data")) {
		msg_open();
		*in_data = msg_fd >= 0;
	} else if (is_cmd(p, n, "quit")) {
		REPLY(reply_bye);
		return 1;
	} else if (is_cmd(p, n, "rset") || is_cmd(p, n, "noop")) {
		REPLY(reply_ok);
	} else {
		REPLY(reply_what);
	}
	return 0;
}

static void
session(void)
{
	int in_data = 0;
	int at_bol = 1;
	const char *lf;
	ssize_t r;
	size_t n;

	REPLY(reply_greeting);
	for (;;) {
		while (in_off < in_len) {
			if (in_data) {
				if (feed_data(&at_bol) == 0)
					break;
				msg_close();
				in_data = 0;
				continue;
			}
			lf = memchr(in + in_off, '\n', in_len - in_off);
			if (lf == NULL)
				break;
			n = (size_t)(lf - (in + in_off)) + 1;
			if (command(in + in_off, n, &in_data))
				return;
			in_off += n;
			at_bol = 1;
		}
		/* Keep a partial line; before blocking, send the replies. */
		if (in_off > 0 && in_off < in_len)
			memmove(in, in + in_off, in_len - in_off);
		in_len -= in_off;
		in_off = 0;
		flush();
		do {
			r = read(0, in + in_len, sizeof(in) - in_len);
		} while (r < 0 && errno == EINTR);
		if (r <= 0)
			return;
		in_len += (size_t)r;
	}
}

static void
usage(void)
{
	static const char u[] = "usage: floor maildir DIR | pipe PROGRAM "
	    "[ARG...] | qmail-queue PROGRAM\n";

	(void)write_all(2, u, sizeof(u) - 1);
	exit(100);
}

static void
setup_maildir(void)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char path[PATH_LEN];
	struct utsname u;
	size_t i;

	if (strlen(maildir) > PATH_LEN - 300)
		usage();
	mkdir(maildir, 0700);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", maildir, sub[i]);
		mkdir(path, 0700);
	}
	snprintf(new_dir, sizeof(new_dir), "%s/new", maildir);
	if (uname(&u) == 0)
		snprintf(host, sizeof(host), "%s", u.nodename);
	else
		snprintf(host, sizeof(host), "localhost");
	for (i = 0; host[i] != '\0'; i++) {
		if (host[i] == '/' || host[i] == ':')
			host[i] = '_';
	}
}

static void
setup_spool(void)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/floor.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	spool_fd = mkstemp(path);
	if (spool_fd < 0)
		exit(111);
	unlink(path);
	(void)fcntl(spool_fd, F_SETFD, FD_CLOEXEC);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "maildir") == 0) {
		kind = FLOOR_MAILDIR;
		maildir = argv[2];
		setup_maildir();
	} else if (argc >= 3 && strcmp(argv[1], "pipe") == 0) {
		kind = FLOOR_PIPE;
		prog = argv + 2;
		setup_spool();
	} else if (argc == 3 && strcmp(argv[1], "qmail-queue") == 0) {
		kind = FLOOR_QMAIL_QUEUE;
		prog = argv + 2;
	} else {
		usage();
	}
	signal(SIGPIPE, SIG_IGN);
	pid = (unsigned long)getpid();
	session();
	flush();
	if (msg_fd >= 0) {
		/* EOF inside DATA: nothing may remain. */
		msg_failed = 1;
		msg_close();
	}
	return 0;
}
