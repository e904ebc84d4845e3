/*
 * lmtp.c: delivery over LMTP (RFC 2033): the client side, one
 * connection per session, opened at the first RCPT that needs it.  See
 * lmtp.h for the flow.  Every wait is a poll bounded by the deadline of
 * the step (d->timeout_ms from its start: TIMEOUT, or what is left of
 * the session); nothing grows with the message: the body goes through
 * one fixed buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/io.h"
#include "../proto/address.h"
#include "deliver.h"
#include "header.h"
#include "lmtp.h"

/* A reply line longer than this is not a reply (RFC 5321 §4.5.3.1.5
 * says 512 with the CRLF; some room beyond). */
#define LMTP_LINE_MAX 2048
/* Lines of one reply (LHLO's are the most): more is not a reply. */
#define LMTP_REPLY_LINES_MAX 64
/* The body buffer: one BDAT chunk, or one write after DATA. */
#define LMTP_OUT_MAX 65536
/* The trace field, as for pipe delivery. */
#define LMTP_HEADER_MAX 4096
/* "lmtp TARGET: STEP" for the log. */
#define LMTP_WHAT_MAX 384
/* QUIT at the end waits no longer than this for the 221. */
#define LMTP_QUIT_MS 2000

struct lmtp {
	int fd;				/* -1: not connected */
	unsigned ext;			/* LMTP_EXT_* from LHLO */
	int in_mail;			/* the server took MAIL */
	int broken;			/* a fault in this transaction */
	int in_data;			/* DATA or BDAT under way */
	int use_bdat;
	int binary;			/* BODY=BINARYMIME: octets as they are */
	int at_bol;
	size_t nrcpt;			/* recipients the server took */
	size_t maxrcpts;
	struct lmtp_reply *results;	/* maxrcpts, after the data */
	size_t nresults;
	long long deadline;		/* of the step under way */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char what[LMTP_WHAT_MAX];
	size_t in_off;
	size_t in_len;
	char in[LMTP_LINE_MAX];
	size_t out_len;
	char out[LMTP_OUT_MAX];
};

/* ---------------------------------------------------------------- */
/* The connection.                                                   */

static void
start_step(struct deliver *d)
{
	d->lmtp->deadline = io_now_ms() + (d->timeout_ms > 0 ?
	    d->timeout_ms : 0);
}

static void
drop_connection(struct lmtp *l)
{
	if (l->fd != -1)
		(void)io_close(l->fd);
	l->fd = -1;
	l->in_off = 0;
	l->in_len = 0;
	l->in_mail = 0;
	l->in_data = 0;
	l->nrcpt = 0;
	l->out_len = 0;
}

/* A fault: the connection ends, the transaction cannot go on, and
 * d->what says "lmtp TARGET: STEP" (with errno err). */
static int
fault(struct deliver *d, const char *step, int err)
{
	struct lmtp *l = d->lmtp;
	struct buf b;

	drop_connection(l);
	l->broken = 1;
	buf_init(&b, l->what, sizeof(l->what));
	(void)buf_adds(&b, "lmtp ");
	(void)buf_adds(&b, d->path);
	(void)buf_adds(&b, ": ");
	(void)buf_adds(&b, step);
	(void)buf_nul(&b);
	d->what = l->what;
	d->err = err;
	errno = err;
	return -1;
}

static int
send_all(struct deliver *d, const char *p, size_t n, const char *step)
{
	int wait = io_ms_left(d->lmtp->deadline);

	if (wait == 0)
		return fault(d, step, ETIMEDOUT);
	if (io_write_nonblock(d->lmtp->fd, p, n, wait) != 0)
		return fault(d, step, errno == EPIPE ? ECONNRESET : errno);
	return 0;
}

/* The next line from the server, CR LF taken off. */
static int
read_line(struct deliver *d, const char **line, size_t *len,
    const char *step)
{
	struct lmtp *l = d->lmtp;

	for (;;) {
		char *p = l->in + l->in_off;
		char *nl = memchr(p, '\n', l->in_len - l->in_off);
		ssize_t n;
		int r;
		int wait;

		if (nl != NULL) {
			size_t k = (size_t)(nl - p);

			l->in_off += k + 1;
			if (k > 0 && p[k - 1] == '\r')
				k--;
			*line = p;
			*len = k;
			return 0;
		}
		if (l->in_off > 0) {
			memmove(l->in, l->in + l->in_off,
			    l->in_len - l->in_off);
			l->in_len -= l->in_off;
			l->in_off = 0;
		}
		if (l->in_len == sizeof(l->in))
			return fault(d, "reply line too long", EPROTO);
		wait = io_ms_left(l->deadline);
		r = wait > 0 ? io_wait(l->fd, 0, wait) : 0;
		if (r == 0)
			return fault(d, step, ETIMEDOUT);
		n = r < 0 ? -1 : io_read(l->fd, l->in + l->in_len,
		    sizeof(l->in) - l->in_len);
		if (n < 0)
			return fault(d, step, errno);
		if (n == 0)
			return fault(d, "closed the connection", ECONNRESET);
		l->in_len += (size_t)n;
	}
}

/* One reply, all its lines; with ext, the keywords of LHLO's. */
static int
read_reply(struct deliver *d, struct lmtp_reply *r, unsigned *ext,
    const char *step)
{
	const char *line = NULL;
	size_t len = 0;
	int n;
	int last;

	memset(r, 0, sizeof(*r));
	for (n = 0; n < LMTP_REPLY_LINES_MAX; n++) {
		if (read_line(d, &line, &len, step) != 0)
			return -1;
		last = lmtp_parse_line(line, len, r);
		if (last < 0)
			return fault(d, "not an LMTP reply", EPROTO);
		if (ext != NULL && n > 0 && len > 4)
			*ext |= lmtp_ext_keyword(line + 4, len - 4);
		if (last)
			return 0;
	}
	return fault(d, "reply too long", EPROTO);
}

/* The target: "/path" (a UNIX socket), "IPv4:PORT", "[IPv6]:PORT".  No
 * host names: a DNS lookup could not be bounded by TIMEOUT. */
static int
parse_target(struct lmtp *l, const char *t)
{
	const char *colon;
	char host[64];
	size_t hlen;
	unsigned long port = 0;
	const char *p;

	memset(&l->addr, 0, sizeof(l->addr));
	if (t[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&l->addr;

		if (strlen(t) >= sizeof(un->sun_path))
			return -1;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, t, strlen(t) + 1);
		l->addrlen = sizeof(*un);
		return 0;
	}
	if (t[0] == '[') {
		colon = strstr(t, "]:");
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - t - 1);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, t + 1, hlen);
		colon++;
	} else {
		colon = strrchr(t, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - t);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, t, hlen);
	}
	host[hlen] = '\0';
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (unsigned long)(*p - '0');
	if (p == colon + 1 || *p != '\0' || port == 0 || port > 65535)
		return -1;
	if (t[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->addr;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		l->addrlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l->addr;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		l->addrlen = sizeof(*s4);
	}
	return 0;
}

/* Connect, read the greeting, LHLO: 0, or a fault. */
static int
connect_server(struct deliver *d)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;
	char cmd[300];
	struct buf b;
	int fd;
	int wait;
	int err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(l->addr.ss_family, SOCK_STREAM, 0);
	if (fd == -1)
		return fault(d, "socket", errno);
	l->fd = fd;
	if (io_cloexec(fd) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		return fault(d, "socket", errno);
	if (connect(fd, (struct sockaddr *)&l->addr, l->addrlen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR)
			return fault(d, "connect", errno);
		wait = io_ms_left(l->deadline);
		if (wait == 0 || io_wait(fd, 1, wait) != 1)
			return fault(d, "connect", ETIMEDOUT);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			return fault(d, "connect", errno);
		if (err != 0)
			return fault(d, "connect", err);
	}
	if (read_reply(d, &r, NULL, "greeting") != 0)
		return -1;
	if (r.code != 220)
		return fault(d, "greeting refused", EPROTO);
	buf_init(&b, cmd, sizeof(cmd));
	(void)buf_adds(&b, "LHLO ");
	(void)buf_adds(&b, d->local_name != NULL && d->local_name[0] != '\0' ?
	    d->local_name : "localhost");
	(void)buf_adds(&b, "\r\n");
	if (b.overflow)
		return fault(d, "LHLO", EINVAL);
	if (send_all(d, b.p, b.len, "LHLO") != 0)
		return -1;
	l->ext = 0;
	if (read_reply(d, &r, &l->ext, "LHLO") != 0)
		return -1;
	if (r.code != 250)
		return fault(d, "LHLO refused", EPROTO);
	return 0;
}

/* Pass a server's reply on: id is the catalogue reply of its class. */
static void
relay(struct deliver_result *res, enum reply_id id,
    const struct lmtp_reply *r)
{
	res->reply = id;
	res->code = r->code;
	memcpy(res->status_code, r->status, sizeof(res->status_code));
	memcpy(res->text, r->text, r->text_len + 1);
	res->text_len = r->text_len;
}

/* A fixed reply with our own text. */
static void
say(struct deliver_result *res, enum reply_id id, const char *text)
{
	size_t n = strlen(text);

	res->reply = id;
	res->code = 0;
	memcpy(res->text, text, n + 1);
	res->text_len = n;
}

static const char unavailable[] =
    "Mailbox server unavailable, try again later";

/* The reply to a RCPT when the server refused it (or its MAIL). */
static int
rcpt_refused(struct deliver_result *res, const struct lmtp_reply *r)
{
	if (r->code == 452 && strcmp(r->status, "4.5.3") == 0)
		relay(res, REPLY_TOO_MANY_RCPTS, r);
	else
		relay(res, r->code / 100 == 4 ? REPLY_RCPT_TEMP_FAIL :
		    REPLY_NO_MAILBOX, r);
	return -1;
}

static int
has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

int
lmtp_init(struct deliver *d)
{
	struct lmtp *l;

	l = malloc(sizeof(*l));
	if (l == NULL) {
		d->what = "lmtp";
		d->err = errno;
		return -1;
	}
	memset(l, 0, offsetof(struct lmtp, in));
	l->fd = -1;
	l->maxrcpts = d->maxrcpts > 0 ? d->maxrcpts : 1;
	l->results = malloc(l->maxrcpts * sizeof(*l->results));
	if (l->results == NULL || parse_target(l, d->path) != 0) {
		int e = l->results == NULL ? errno : EINVAL;

		free(l->results);
		free(l);
		d->what = e == EINVAL ? "lmtp target: not /SOCKET, "
		    "IPV4:PORT or [IPV6]:PORT" : "lmtp";
		d->err = e;
		errno = e;
		return -1;
	}
	d->lmtp = l;
	return 0;
}

/* What this server cannot be given, whatever it would say: a UTF-8
 * mailbox without SMTPUTF8, BINARYMIME without BINARYMIME and CHUNKING.
 * -1 with res filled, or 0. */
static int
rcpt_unsendable(const struct lmtp *l, const struct deliver_mail *m,
    const char *mailbox, size_t len, struct deliver_result *res)
{
	if (has_8bit(mailbox, len) && !(l->ext & LMTP_EXT_SMTPUTF8)) {
		say(res, REPLY_UTF8_NEEDED, "The mailbox server cannot take "
		    "a UTF-8 address (it does not offer SMTPUTF8)");
		return -1;
	}
	if (m->body == SMTP_BODY_BINARYMIME &&
	    (l->ext & (LMTP_EXT_BINARYMIME | LMTP_EXT_CHUNKING)) !=
	    (LMTP_EXT_BINARYMIME | LMTP_EXT_CHUNKING)) {
		say(res, REPLY_PERM_FAIL, "The mailbox server does not take "
		    "BODY=BINARYMIME");
		res->code = 554;
		memcpy(res->status_code, "5.6.1", 6);
		return -1;
	}
	return 0;
}

/* "MAIL FROM:<sender>" with the parameters the client gave and the
 * server offers. */
static void
add_mail(struct buf *b, const struct lmtp *l, const struct deliver_mail *m)
{
	(void)buf_adds(b, "MAIL FROM:<");
	(void)buf_adds(b, m->sender);
	(void)buf_adds(b, ">");
	if (m->body == SMTP_BODY_8BITMIME && (l->ext & LMTP_EXT_8BITMIME))
		(void)buf_adds(b, " BODY=8BITMIME");
	if (m->body == SMTP_BODY_BINARYMIME)
		(void)buf_adds(b, " BODY=BINARYMIME");
	if (m->smtputf8 && (l->ext & LMTP_EXT_SMTPUTF8))
		(void)buf_adds(b, " SMTPUTF8");
	if (m->size > 0 && (l->ext & LMTP_EXT_SIZE)) {
		(void)buf_adds(b, " SIZE=");
		(void)buf_addu64(b, m->size);
	}
	(void)buf_adds(b, "\r\n");
}

static void
add_rcpt(struct buf *b, const char *mailbox, size_t len)
{
	(void)buf_adds(b, "RCPT TO:<");
	(void)buf_add(b, mailbox, len);
	(void)buf_adds(b, ">\r\n");
}

/*
 * The reply to the MAIL just sent, then (unless pipelined, when it went
 * with MAIL) the RCPT sent.  0: the server took MAIL; 1: it refused it,
 * res filled; -1: a fault.
 */
static int
mail_answered(struct deliver *d, int pipelined, const char *mailbox,
    size_t len, struct deliver_result *res)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;
	struct buf b;
	char cmd[SMTP_MAILBOX_MAX + 16];

	if (read_reply(d, &r, NULL, "MAIL") != 0)
		return -1;
	if (r.code / 100 != 2) {
		struct lmtp_reply dropped;

		/* Its pipelined RCPT gets a 503: read and drop. */
		if (pipelined && read_reply(d, &dropped, NULL, "RCPT") != 0)
			return -1;
		if (r.code / 100 == 4 || r.code / 100 == 5) {
			(void)rcpt_refused(res, &r);
			return 1;
		}
		return fault(d, "MAIL: not an LMTP reply", EPROTO);
	}
	l->in_mail = 1;
	if (pipelined)
		return 0;
	buf_init(&b, cmd, sizeof(cmd));
	add_rcpt(&b, mailbox, len);
	return b.overflow ? fault(d, "RCPT", EINVAL) :
	    send_all(d, b.p, b.len, "RCPT");
}

int
lmtp_rcpt(struct deliver *d, const struct deliver_mail *m,
    const char *mailbox, size_t len, struct deliver_result *res)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;
	struct buf b;
	char cmd[2 * SMTP_MAILBOX_MAX + 128];
	int sent_mail = 0;
	int pipelined = 0;

	start_step(d);
	if (l->broken || l->in_data) {
		say(res, REPLY_RCPT_TEMP_FAIL, unavailable);
		return -1;
	}
	if (l->fd != -1 && !l->in_mail && io_wait(l->fd, 0, 0) != 0) {
		/* Between transactions the server said something or closed
		 * (an idle timeout): start afresh. */
		drop_connection(l);
	}
	if (l->fd == -1 && connect_server(d) != 0)
		goto failed;
	if (rcpt_unsendable(l, m, mailbox, len, res) != 0)
		return -1;
	buf_init(&b, cmd, sizeof(cmd));
	if (!l->in_mail) {
		add_mail(&b, l, m);
		sent_mail = 1;
		l->binary = m->body == SMTP_BODY_BINARYMIME;
		pipelined = (l->ext & LMTP_EXT_PIPELINING) != 0;
	}
	if (!sent_mail || pipelined)
		add_rcpt(&b, mailbox, len);
	if (b.overflow) {
		say(res, REPLY_RCPT_TEMP_FAIL, unavailable);
		return -1;
	}
	if (send_all(d, b.p, b.len, "MAIL/RCPT") != 0)
		goto failed;
	if (sent_mail) {
		int refused = mail_answered(d, pipelined, mailbox, len, res);

		if (refused > 0)
			return -1;
		if (refused < 0)
			goto failed;
	}
	if (read_reply(d, &r, NULL, "RCPT") != 0)
		goto failed;
	if (r.code / 100 == 2) {
		l->nrcpt++;
		relay(res, REPLY_RCPT_OK, &r);
		return 0;
	}
	if (r.code / 100 == 4 || r.code / 100 == 5)
		return rcpt_refused(res, &r);
	(void)fault(d, "RCPT: not an LMTP reply", EPROTO);
failed:
	say(res, REPLY_RCPT_TEMP_FAIL, unavailable);
	res->what = d->what;
	res->err = d->err;
	return -1;
}

/* Send the buffered body: after DATA as it is, else as one BDAT chunk
 * (the last with LAST), whose reply is read unless it is the last. */
static int
flush_body(struct deliver *d, int last)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;
	char head[48];
	struct buf b;

	if (!l->use_bdat) {
		if (l->out_len > 0 &&
		    send_all(d, l->out, l->out_len, "data") != 0)
			return -1;
		l->out_len = 0;
		return 0;
	}
	buf_init(&b, head, sizeof(head));
	(void)buf_adds(&b, "BDAT ");
	(void)buf_addu64(&b, l->out_len);
	(void)buf_adds(&b, last ? " LAST\r\n" : "\r\n");
	if (send_all(d, b.p, b.len, "BDAT") != 0 ||
	    (l->out_len > 0 && send_all(d, l->out, l->out_len, "BDAT") != 0))
		return -1;
	l->out_len = 0;
	if (last)
		return 0;
	if (read_reply(d, &r, NULL, "BDAT") != 0)
		return -1;
	if (r.code / 100 != 2)
		return fault(d, "BDAT refused", EPROTO);
	return 0;
}

static int
put_body(struct deliver *d, const char *p, size_t len)
{
	struct lmtp *l = d->lmtp;

	while (len > 0) {
		size_t used;
		size_t n;

		if (l->binary) {
			n = sizeof(l->out) - l->out_len;
			if (n > len)
				n = len;
			memcpy(l->out + l->out_len, p, n);
			used = n;
		} else {
			used = lmtp_encode(p, len, !l->use_bdat, &l->at_bol,
			    l->out + l->out_len, sizeof(l->out) - l->out_len,
			    &n);
		}
		l->out_len += n;
		p += used;
		len -= used;
		if ((len > 0 || l->out_len == sizeof(l->out)) &&
		    flush_body(d, 0) != 0)
			return -1;
	}
	return 0;
}

int
lmtp_open(struct deliver *d)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;
	char mem[LMTP_HEADER_MAX];
	struct buf b;

	start_step(d);
	if (l->fd == -1 || l->broken || !l->in_mail || l->nrcpt == 0) {
		l->broken = 1;
		return fault(d, "no recipient taken", EPROTO);
	}
	l->use_bdat = (l->ext & LMTP_EXT_CHUNKING) != 0;
	l->at_bol = 1;
	l->out_len = 0;
	l->nresults = 0;
	if (!l->use_bdat) {
		if (send_all(d, "DATA\r\n", 6, "DATA") != 0 ||
		    read_reply(d, &r, NULL, "DATA") != 0)
			return -1;
		if (r.code != 354)
			return fault(d, "DATA refused", EPROTO);
	}
	l->in_data = 1;
	buf_init(&b, mem, sizeof(mem));
	if (header_received(&b, d->env) == -1) {
		lmtp_abort(d);
		return fault(d, "header", EOVERFLOW);
	}
	/* The trace field is ASCII text with LF ends, even for BINARYMIME. */
	{
		int binary = l->binary;

		l->binary = 0;
		if (put_body(d, b.p, b.len) != 0)
			return -1;
		l->binary = binary;
	}
	return 0;
}

int
lmtp_write(struct deliver *d, const char *buf, size_t len)
{
	start_step(d);
	return put_body(d, buf, len);
}

int
lmtp_close(struct deliver *d, struct deliver_result *res)
{
	struct lmtp *l = d->lmtp;
	const struct lmtp_reply *one;
	size_t i;

	start_step(d);
	res->status = -1;
	if (d->failed || !l->in_data)
		goto failed;
	if (!l->binary && !l->at_bol && put_body(d, "\n", 1) != 0)
		goto failed;
	if (!l->use_bdat) {
		if (sizeof(l->out) - l->out_len < 3 && flush_body(d, 0) != 0)
			goto failed;
		memcpy(l->out + l->out_len, ".\r\n", 3);
		l->out_len += 3;
	}
	if (flush_body(d, 1) != 0)
		goto failed;
	/* RFC 2033 §4.2: one reply for each recipient the server took. */
	for (i = 0; i < l->nrcpt && i < l->maxrcpts; i++) {
		if (read_reply(d, &l->results[i], NULL, "reply after data") != 0)
			goto failed;
		l->nresults = i + 1;
	}
	l->in_data = 0;
	l->in_mail = 0;
	l->nrcpt = 0;
	switch (lmtp_combine(l->results, l->nresults, &one)) {
	case 0:
		res->reply = REPLY_MESSAGE_ACCEPTED;
		return 0;
	case 1:
		relay(res, REPLY_TRANSACTION_FAILED, one);
		return -1;
	default:
		say(res, REPLY_TEMP_FAIL, "Not every mailbox took the "
		    "message, try again later");
		return -1;
	}
failed:
	/* Replies read before the fault are kept for the log. */
	l->in_data = 0;
	say(res, REPLY_TEMP_FAIL, unavailable);
	res->what = d->what != NULL ? d->what : "lmtp";
	res->err = d->err != 0 ? d->err : EPROTO;
	return -1;
}

void
lmtp_abort(struct deliver *d)
{
	struct lmtp *l = d->lmtp;

	/* A message cut short cannot be ended without delivering it after
	 * DATA: the connection goes, and with it the transaction. */
	if (l->in_data)
		drop_connection(l);
	l->in_data = 0;
}

void
lmtp_reset(struct deliver *d)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;

	l->nresults = 0;
	if (l->in_data)
		drop_connection(l);
	if (l->fd != -1 && l->in_mail) {
		start_step(d);
		if (send_all(d, "RSET\r\n", 6, "RSET") != 0 ||
		    read_reply(d, &r, NULL, "RSET") != 0 || r.code / 100 != 2)
			drop_connection(l);
	}
	l->in_mail = 0;
	l->nrcpt = 0;
	l->broken = 0;
}

void
lmtp_free(struct deliver *d)
{
	struct lmtp *l = d->lmtp;
	struct lmtp_reply r;

	if (l == NULL)
		return;
	if (l->fd != -1 && !l->in_data) {
		start_step(d);
		if (io_ms_left(l->deadline) > LMTP_QUIT_MS)
			l->deadline = io_now_ms() + LMTP_QUIT_MS;
		if (send_all(d, "QUIT\r\n", 6, "QUIT") == 0)
			(void)read_reply(d, &r, NULL, "QUIT");
	}
	drop_connection(l);
	free(l->results);
	free(l);
	d->lmtp = NULL;
}

const struct lmtp_reply *
lmtp_result(const struct deliver *d, size_t i)
{
	const struct lmtp *l = d->lmtp;

	if (l == NULL || i >= l->nresults)
		return NULL;
	return &l->results[i];
}
