/*
 * embed.c: how to drive the smtpd session engine (proto/smtp.h) from
 * your own event loop.  One process, one poll() loop, several SMTP
 * sessions at once; every message is written to DIR/msg.N.
 *
 *	usage: embed PORT DIR	(PORT 0: pick a free port and print it)
 *
 * The engine does no I/O: we read bytes from a socket and feed them in,
 * answer the events it raises (here: accept every sender and recipient,
 * store each message in a file), and write out the reply bytes it queues.
 * The rules that matter (smtp.h):
 * - send all queued output before reading more input (RFC 2920);
 * - smtp_feed() may consume only part of what it is given: keep the rest
 *   and feed it again once the pending event is answered;
 * - answer every event exactly once.
 * This is an example: no TLS, no AUTH, no policy, loopback only.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtp.h"	/* -Iproto, or pkg-config --cflags smtpproto */

#define EMBED_CONN_MAX	8	/* sessions served at once */
#define EMBED_IN_MAX	16384	/* input read per connection at a time */

struct embed_conn {
	int fd;			/* -1: slot free */
	time_t last_input;	/* for the idle timeout */
	size_t in_len;		/* unconsumed input in in[] */
	char in[EMBED_IN_MAX];
	int msg_fd;		/* the open message file, or -1 */
	int msg_failed;		/* a write to it failed */
	char msg_tmp[512];	/* DIR/msg.N.tmp while receiving */
	char msg_name[512];	/* DIR/msg.N once accepted */
	struct smtp_session *s;	/* allocated at accept: about 100 KB */
};

static const char *embed_dir;
static unsigned long embed_msg_count;
static struct embed_conn embed_conns[EMBED_CONN_MAX];
static const struct smtp_config embed_cfg = {
	.hostname = "embed.example",
	.databytes = SMTP_DATABYTES_DEFAULT,
	.maxrcpts = SMTP_MAXRCPTS_DEFAULT,
	.auth_mechs = NULL,	/* no AUTH offered */
	.flags = 0,
};

/* Open DIR/msg.N.tmp; it becomes DIR/msg.N only when the message is
 * complete, so a reader never sees half a message. */
static enum reply_id
embed_msg_open(struct embed_conn *c)
{
	unsigned long n = ++embed_msg_count;
	int a, b;

	a = snprintf(c->msg_name, sizeof(c->msg_name), "%s/msg.%lu",
	    embed_dir, n);
	b = snprintf(c->msg_tmp, sizeof(c->msg_tmp), "%s/msg.%lu.tmp",
	    embed_dir, n);
	if (a < 0 || (size_t)a >= sizeof(c->msg_name) || b < 0 ||
	    (size_t)b >= sizeof(c->msg_tmp))
		return REPLY_TEMP_FAIL;
	c->msg_fd = open(c->msg_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644);
	if (c->msg_fd == -1) {
		fprintf(stderr, "embed: %s: %s\n", c->msg_tmp, strerror(errno));
		return REPLY_TEMP_FAIL;
	}
	c->msg_failed = 0;
	return REPLY_DATA_GO;
}

static void
embed_msg_write(struct embed_conn *c, const char *p, size_t len)
{
	while (len > 0 && !c->msg_failed) {
		ssize_t n = write(c->msg_fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->msg_failed = 1;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Drop a message that will not be accepted: nothing may remain. */
static void
embed_msg_abort(struct embed_conn *c)
{
	if (c->msg_fd == -1)
		return;
	close(c->msg_fd);
	unlink(c->msg_tmp);
	c->msg_fd = -1;
}

static enum reply_id
embed_msg_commit(struct embed_conn *c)
{
	int failed = c->msg_failed;

	if (close(c->msg_fd) == -1)
		failed = 1;
	c->msg_fd = -1;
	if (failed || rename(c->msg_tmp, c->msg_name) == -1) {
		unlink(c->msg_tmp);
		return REPLY_TEMP_FAIL;
	}
	return REPLY_MESSAGE_ACCEPTED;
}

/* Our policy: take everything.  A real program decides here. */
static void
embed_answer(struct embed_conn *c, const struct smtp_event *ev)
{
	switch (ev->type) {
	case SMTP_EV_MAIL:
		smtp_answer(c->s, REPLY_MAIL_OK);
		break;
	case SMTP_EV_RCPT:
		smtp_answer(c->s, REPLY_RCPT_OK);
		break;
	case SMTP_EV_DATA:
		smtp_answer(c->s, embed_msg_open(c));
		break;
	case SMTP_EV_BODY:
		/* ev->data stays valid only until this answer. */
		embed_msg_write(c, ev->data, ev->len);
		smtp_answer(c->s, REPLY_NONE);
		break;
	case SMTP_EV_DATA_END:
		smtp_answer(c->s, embed_msg_commit(c));
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		smtp_answer(c->s, REPLY_AUTH_MECH_UNKNOWN);	/* not offered */
		break;
	case SMTP_EV_STARTTLS:
		smtp_answer(c->s, REPLY_TLS_TEMP_FAIL);	/* not offered */
		break;
	case SMTP_EV_REFUSED:	/* only with SMTP_CF_REFUSAL_EVENTS */
		smtp_answer(c->s, REPLY_NONE);
		break;
	case SMTP_EV_HELO:
	case SMTP_EV_RSET:
	case SMTP_EV_DATA_ABORT:
	case SMTP_EV_QUIT:
		/* Each of these ends any transaction in progress. */
		embed_msg_abort(c);
		smtp_answer(c->s, REPLY_NONE);
		break;
	}
}

/* Let the engine work through the input we hold, answering its events,
 * until it wants more input or has output it cannot hold. */
static void
embed_process(struct embed_conn *c)
{
	const struct smtp_event *ev;
	size_t used;

	for (;;) {
		while ((ev = smtp_event(c->s)) != NULL)
			embed_answer(c, ev);
		if (c->in_len == 0 || smtp_is_closed(c->s))
			return;
		used = smtp_feed(c->s, c->in, c->in_len);
		/* Keep what was not consumed: it is fed again later. */
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (used == 0 && smtp_event(c->s) == NULL)
			return;	/* output buffer full: write it first */
	}
}

static void
embed_close(struct embed_conn *c)
{
	embed_msg_abort(c);
	close(c->fd);
	c->fd = -1;
	free(c->s);
	c->s = NULL;
}

/* Process input and write output until the socket would block; close
 * the connection once the session has ended and its output is sent. */
static void
embed_run(struct embed_conn *c)
{
	const char *out;
	size_t len;
	ssize_t n;

	for (;;) {
		embed_process(c);
		if ((len = smtp_output(c->s, &out)) == 0)
			break;
		n = send(c->fd, out, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;		/* poll for POLLOUT */
		if (n == -1) {
			embed_close(c);	/* the client went away */
			return;
		}
		smtp_output_done(c->s, (size_t)n);
	}
	if (smtp_is_closed(c->s))
		embed_close(c);
}

/* Read once (poll said the socket is readable). */
static void
embed_read(struct embed_conn *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

	if (n == -1 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* An open delivery must be aborted before the engine is
		 * told (smtp_in_data in smtp.h). */
		if (smtp_in_data(c->s))
			embed_msg_abort(c);
		smtp_eof(c->s);
	} else {
		c->in_len += (size_t)n;
		c->last_input = time(NULL);
	}
	embed_run(c);
}

/* No input for TIMEOUT: the engine queues 421 and closes.  A client that
 * does not even read that reply within another TIMEOUT is dropped. */
static void
embed_idle(struct embed_conn *c)
{
	if (smtp_is_closed(c->s)) {
		embed_close(c);
		return;
	}
	if (smtp_in_data(c->s))
		embed_msg_abort(c);
	smtp_timeout(c->s, REPLY_TIMEOUT);
	c->last_input = time(NULL);
	embed_run(c);
}

static void
embed_accept(int lfd)
{
	struct embed_conn *c = NULL;
	int fd;
	size_t i;

	for (i = 0; i < EMBED_CONN_MAX && c == NULL; i++) {
		if (embed_conns[i].fd == -1)
			c = &embed_conns[i];
	}
	if (c == NULL || (fd = accept(lfd, NULL, NULL)) == -1)
		return;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (c->s = calloc(1, sizeof(*c->s))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->in_len = 0;
	c->msg_fd = -1;
	c->last_input = time(NULL);
	smtp_init(c->s, &embed_cfg);	/* queues the 220 greeting */
	embed_run(c);
}

static int
embed_listen(const char *port_arg)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char *end;
	long port = strtol(port_arg, &end, 10);
	int fd, one = 1;

	if (*port_arg == '\0' || *end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "embed: bad port: %s\n", port_arg);
		exit(100);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1 || fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1) {
		fprintf(stderr, "embed: listen: %s\n", strerror(errno));
		exit(111);
	}
	if (port == 0) {
		printf("%u\n", (unsigned)ntohs(sin.sin_port));
		fflush(stdout);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[1 + EMBED_CONN_MAX];
	int lfd;
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: embed PORT DIR\n");
		return 100;
	}
	embed_dir = argv[2];
	lfd = embed_listen(argv[1]);
	for (i = 0; i < EMBED_CONN_MAX; i++)
		embed_conns[i].fd = -1;

	for (;;) {
		time_t now;

		/* At the limit, new clients wait in the listen backlog. */
		pfd[0].fd = -1;
		pfd[0].events = POLLIN;
		for (i = 0; i < EMBED_CONN_MAX; i++) {
			struct embed_conn *c = &embed_conns[i];
			const char *out;

			pfd[1 + i].fd = c->fd;	/* poll ignores fd -1 */
			pfd[1 + i].events = 0;
			if (c->fd == -1) {
				pfd[0].fd = lfd;
				continue;
			}
			/* Write everything queued before reading again. */
			if (smtp_output(c->s, &out) > 0)
				pfd[1 + i].events = POLLOUT;
			else
				pfd[1 + i].events = POLLIN;
		}
		if (poll(pfd, 1 + EMBED_CONN_MAX, 1000) == -1 &&
		    errno != EINTR) {
			fprintf(stderr, "embed: poll: %s\n", strerror(errno));
			return 111;
		}
		if (pfd[0].revents & POLLIN)
			embed_accept(lfd);
		now = time(NULL);
		for (i = 0; i < EMBED_CONN_MAX; i++) {
			struct embed_conn *c = &embed_conns[i];
			short rev = pfd[1 + i].revents;

			if (c->fd == -1 || pfd[1 + i].fd != c->fd)
				continue;	/* free, or new since poll */
			if (rev & POLLOUT)
				embed_run(c);
			else if (rev & (POLLIN | POLLHUP | POLLERR))
				embed_read(c);
			else if (now - c->last_input > SMTP_TIMEOUT_DEFAULT)
				embed_idle(c);
		}
	}
}
