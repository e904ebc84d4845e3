/*
 * smtp.c: the SMTP session engine (RFC 5321 with PIPELINING, SIZE,
 * 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8, CHUNKING, BINARYMIME, and the
 * protocol halves of STARTTLS and AUTH).  No system calls, no allocation:
 * see smtp.h for the API and its rules.
 *
 * Layout: framing (command lines, DATA text, BDAT chunks) feeds the
 * command handlers; each handler checks, then either replies itself or
 * raises an event whose answer finishes it (the *_answered functions).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "address.h"
#include "ascii.h"
#include "limits.h"
#include "reply.h"
#include "smtp.h"

/* Room kept free in the output buffer before a command is processed:
 * the largest reply one command can produce (the EHLO list) fits. */
#define OUT_RESERVE 1024

/* Where the DATA parser is inside a line (RFC 5321 §4.5.2). */
enum {
	D_BOL = 0,	/* at the beginning of a line */
	D_DOT,		/* the line began with '.', nothing after it yet */
	D_DOT_CR,	/* ".\r" at the beginning of a line */
	D_MID,		/* inside a line */
	D_CR		/* inside a line, a CR was the last octet */
};

static void raise_event(struct smtp_session *, enum smtp_event_type);

/* ---------------------------------------------------------------- */
/* Small pure helpers.                                              */

/* Case-insensitive: does p[0..len) start with the lower-case word? */
static int
has_prefix(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);
	size_t i;

	if (len < n)
		return 0;
	for (i = 0; i < n; i++) {
		if (ascii_lower((unsigned char)p[i]) != (unsigned char)word[i])
			return 0;
	}
	return 1;
}

static int
is_word(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && has_prefix(p, len, word);
}

/* ---------------------------------------------------------------- */
/* Output.                                                          */

static void
queue_text(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len, int more)
{
	s->last_reply = id;
	if (s->relay_code != 0 && id == s->relay_id) {
		/* Only the reply being answered; never an error limit's 421
		 * queued in its place. */
		s->out_len += reply_format_relayed(s->out + s->out_len,
		    sizeof(s->out) - s->out_len, s->relay_code,
		    s->relay_status[0] != '\0' ? s->relay_status : NULL, text,
		    len, more);
		return;
	}
	s->out_len += reply_format(s->out + s->out_len,
	    sizeof(s->out) - s->out_len, id, text, len, more);
}

static void
queue(struct smtp_session *s, enum reply_id id)
{
	queue_text(s, id, NULL, 0, 0);
}

/* Close after the queued replies are sent. */
static void
close_session(struct smtp_session *s, enum smtp_close why)
{
	s->state = SMTP_ST_CLOSED;
	if (s->close_reason == SMTP_OPEN)
		s->close_reason = why;
}

/* Count an error: at the limit, 421 4.7.0 takes the place of the reply
 * (RFC 5321 §4.3.2 lets us give up) and the session closes; 1 then. */
static int
count_error(struct smtp_session *s)
{
	unsigned limit = s->cfg->error_limit != 0 ? s->cfg->error_limit :
	    SMTP_ERRORS_MAX;

	if (++s->errors < limit)
		return 0;
	queue(s, REPLY_TOO_MANY_ERRORS);
	close_session(s, SMTP_CLOSE_ERRORS);
	return 1;
}

/* A protocol error: reply, and give up at the error limit. */
static void
fail(struct smtp_session *s, enum reply_id id)
{
	if (!count_error(s))
		queue(s, id);
}

/* ---------------------------------------------------------------- */
/* Session and transaction state.                                   */

static void
reset_message(struct smtp_session *s)
{
	s->msg_size = 0;
	s->wire_size = 0;
	s->msg_refusal = REPLY_NONE;
	s->hops = 0;
	s->in_headers = 1;
	s->line_len = 0;
	s->dstate = D_BOL;
	s->soft_bol = 0;
	s->hdr_name_len = 0;
	s->body_len = 0;
	s->data_end_pending = 0;
	s->in_chunk = 0;
	s->bdat_left = 0;
	s->bdat_last = 0;
	s->bdat_failed = 0;
	s->bdat_refusal = REPLY_NONE;
	s->delivery_open = 0;
}

static void
reset_transaction(struct smtp_session *s)
{
	memset(&s->params, 0, sizeof(s->params));
	s->nrcpt = 0;
	reset_message(s);
	if (s->state != SMTP_ST_CLOSED)
		s->state = s->has_helo ? SMTP_ST_READY : SMTP_ST_GREETED;
}

static int
in_transaction(const struct smtp_session *s)
{
	return s->state == SMTP_ST_MAIL || s->state == SMTP_ST_RCPT ||
	    s->state == SMTP_ST_BDAT;
}

void
smtp_init(struct smtp_session *s, const struct smtp_config *cfg)
{
	char text[SMTP_REPLY_TEXT_MAX];
	size_t len = 0;
	size_t hlen = strlen(cfg->hostname);
	static const char tail[] = " ESMTP smtpd";

	memset(s, 0, offsetof(struct smtp_session, line));
	s->cfg = cfg;
	s->has_tls = (cfg->flags & SMTP_CF_TLS) != 0;
	reset_transaction(s);
	if (hlen > sizeof(text) - sizeof(tail))
		hlen = sizeof(text) - sizeof(tail);
	memcpy(text, cfg->hostname, hlen);
	len = hlen;
	memcpy(text + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	queue_text(s, REPLY_GREETING, text, len, 0);
}

/* ---------------------------------------------------------------- */
/* Events.                                                          */

static void
raise_event(struct smtp_session *s, enum smtp_event_type type)
{
	memset(&s->event, 0, sizeof(s->event));
	s->event.type = type;
	s->event.is_bdat = s->state == SMTP_ST_BDAT || s->in_chunk;
	s->has_event = 1;
}

static void
raise_body(struct smtp_session *s)
{
	raise_event(s, SMTP_EV_BODY);
	s->event.data = s->body;
	s->event.len = s->body_len;
}

const struct smtp_event *
smtp_event(const struct smtp_session *s)
{
	return s->has_event ? &s->event : NULL;
}

/* ---------------------------------------------------------------- */
/* The message: DATA text and BDAT chunks share one octet processor.  */

/*
 * Note a reason to refuse the message; stop storing it.  When there are
 * several, the most important wins (the order below), never the first
 * seen: so the reply cannot depend on how the input was split into reads.
 */
static int
refusal_rank(enum reply_id why)
{
	switch (why) {
	case REPLY_SIZE_EXCEEDED:
		return 5;
	case REPLY_TOO_MANY_HOPS:
		return 4;
	case REPLY_NUL_BYTE:
		return 3;
	case REPLY_BARE_LF:
		return 2;
	default:
		return 0;
	}
}

static void
refuse_message(struct smtp_session *s, enum reply_id why)
{
	if (refusal_rank(why) > refusal_rank(s->msg_refusal))
		s->msg_refusal = why;
}

static int
is_binary(const struct smtp_session *s)
{
	return s->params.body == SMTP_BODY_BINARYMIME;
}

/* Append message octets to the BODY buffer (room checked by caller). */
static void
store(struct smtp_session *s, const char *p, size_t n)
{
	if (s->msg_refusal != REPLY_NONE)
		return;
	memcpy(s->body + s->body_len, p, n);
	s->body_len += n;
	s->msg_size += n;
}

/* Header tracking: remember the start of each header line so that the
 * hop count (RFC 5321 §6.3) can look at its field name. */
static void
track_header(struct smtp_session *s, const char *p, size_t n)
{
	size_t room = sizeof(s->hdr_name) - s->hdr_name_len;

	if (!s->in_headers || room == 0)
		return;
	if (n > room)
		n = room;
	memcpy(s->hdr_name + s->hdr_name_len, p, n);
	s->hdr_name_len += n;
}

/* Count content octets of the current line and the octets of its end
 * as they came on the wire, against the size limit.  A line may be as
 * long as DATABYTES allows (limits.h says why there is no line limit). */
static void
count_octets(struct smtp_session *s, size_t content, size_t ending)
{
	s->line_len += content;
	s->wire_size += content + ending;
	if (s->wire_size > s->cfg->databytes)
		refuse_message(s, REPLY_SIZE_EXCEEDED);
}

/* Content octets of the current line (no LF among them). */
static void
line_content(struct smtp_session *s, const char *p, size_t n)
{
	count_octets(s, n, 0);
	if (s->in_headers)
		track_header(s, p, n);
	store(s, p, n);
}

/* A line ended (CRLF, or bare LF where that is allowed). */
static void
line_end(struct smtp_session *s)
{
	count_octets(s, 0, 2);
	if (s->in_headers) {
		if (s->line_len == 0) {
			s->in_headers = 0;
		} else if (has_prefix(s->hdr_name, s->hdr_name_len,
		    "received:") || has_prefix(s->hdr_name,
		    s->hdr_name_len, "delivered-to:")) {
			if (++s->hops >= SMTP_HOPS_MAX)
				refuse_message(s, REPLY_TOO_MANY_HOPS);
		}
	}
	s->hdr_name_len = 0;
	s->line_len = 0;
	store(s, "\n", 1);
}

/* A whole body line with its CRLF, outside the headers: line_content
 * and line_end in one step (the path of nearly every octet). */
static void
line_whole(struct smtp_session *s, const char *p, size_t n)
{
	count_octets(s, n, 2);
	s->line_len = 0;
	store(s, p, n);
	store(s, "\n", 1);
}

/* A CR or LF that is not part of a CRLF (RFC 5321 §2.3.8). */
static void
bare_line_end(struct smtp_session *s, char c)
{
	if (is_binary(s)) {
		s->wire_size++;
		store(s, &c, 1);
		return;
	}
	refuse_message(s, REPLY_BARE_LF);
}

/*
 * The rest of a line, through its line end when that is in p: one memchr
 * finds the LF, one more looks for a CR inside the line.  NUL octets are
 * looked for once per read (feed_message).  Returns octets consumed; 0
 * when the BODY buffer is full (the caller flushes).
 */
static size_t
feed_line_run(struct smtp_session *s, const char *p, size_t len)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) : len;
	size_t room = SMTP_BODY_CHUNK_MAX - s->body_len;
	int has_cr = n > 0 && p[n - 1] == '\r';
	int ends = 1;

	if (has_cr)
		n--;
	/* Room for the content and its LF; else take what fits and come
	 * back for the rest after the flush. */
	if (s->msg_refusal == REPLY_NONE && n + (lf != NULL) > room) {
		n = n < room ? n : room;
		ends = 0;
		if (n == 0)
			return 0;
	}
	if (n > 0 && memchr(p, '\r', n) != NULL && !is_binary(s))
		refuse_message(s, REPLY_BARE_LF);
	if (ends && has_cr && lf != NULL && !s->in_headers) {
		line_whole(s, p, n);
		s->dstate = D_BOL;
		s->soft_bol = 0;
		return n + 2;
	}
	if (n > 0)
		line_content(s, p, n);
	if (!ends)
		return n;
	if (lf == NULL) {
		if (has_cr)
			s->dstate = D_CR;	/* the LF may come next read */
		return n + has_cr;
	}
	if (has_cr) {
		line_end(s);
		s->dstate = D_BOL;
		s->soft_bol = 0;
		return n + 2;
	}
	/* A bare LF. */
	if (s->cfg->flags & SMTP_CF_BARE_LF && !s->in_chunk) {
		line_end(s);
		s->dstate = D_BOL;
		s->soft_bol = 1;
		return n + 1;
	}
	/* Never a line end: "\n.\r\n" must not end the data. */
	bare_line_end(s, '\n');
	return n + 1;
}

/*
 * Process message octets.  in_data: DATA (dot-unstuffing, the end at
 * CRLF "." CRLF) or a BDAT chunk (raw octets, the caller bounds len).
 * Returns octets consumed; stops early when the BODY buffer is full (a
 * BODY event is raised) or, in DATA, right after the terminating line.
 */
static size_t
feed_message_octets(struct smtp_session *s, const char *p, size_t len,
    int in_data)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (s->body_len >= SMTP_BODY_CHUNK_MAX) {
			raise_body(s);
			return i;
		}
		switch (s->dstate) {
		case D_BOL:
			if (in_data && c == '.' && i + 1 < len &&
			    p[i + 1] != '\r' && p[i + 1] != '\n') {
				/* A dot-stuffed line, all in this read: drop
				 * the dot as D_DOT would, in one step. */
				i++;
				s->dstate = D_MID;
				break;
			}
			if (in_data && c == '.') {
				s->dstate = D_DOT;
				s->wire_size++;	/* the line's octet count */
				s->line_len++;
				i++;
				continue;
			}
			s->dstate = D_MID;
			break;
		case D_DOT:
			if (c == '\r') {
				s->dstate = D_DOT_CR;
				i++;
				continue;
			}
			if (c == '\n') {
				/* "." ended by a bare LF: a smuggling attempt
				 * whatever BARELF says. */
				refuse_message(s, REPLY_BARE_LF);
				s->dstate = D_MID;
				i++;
				continue;
			}
			/* A dot-stuffed line: the dot is dropped (§4.5.2),
			 * and counts neither in the line (§4.5.3.1.6: "not
			 * counting the leading dot duplicated for
			 * transparency") nor in the size (RFC 1870 §4). */
			s->wire_size--;
			s->line_len--;
			s->dstate = D_MID;
			break;
		case D_DOT_CR:
			if (c == '\n') {
				i++;
				if (s->soft_bol) {
					/* the line before ended in bare LF */
					refuse_message(s, REPLY_BARE_LF);
					s->line_len = 0;
					s->dstate = D_BOL;
					s->soft_bol = 0;
					continue;
				}
				s->wire_size -= 1;
				s->data_done = 1;
				return i;
			}
			bare_line_end(s, '\r');
			s->dstate = D_MID;
			continue;
		case D_CR:
			if (c == '\n') {
				line_end(s);
				s->dstate = D_BOL;
				s->soft_bol = 0;
				i++;
				continue;
			}
			/* The CR ended the last read and is bare: count it as
			 * the line content it is, as feed_line_run does when
			 * the same octets come in one read (the size limit
			 * and the hop count must not depend on the split). */
			if (!is_binary(s))
				refuse_message(s, REPLY_BARE_LF);
			line_content(s, "\r", 1);
			s->dstate = D_MID;
			continue;
		default:
			break;
		}
		{
			size_t n = feed_line_run(s, p + i, len - i);

			if (n == 0) {
				raise_body(s);
				return i;
			}
			i += n;
		}
	}
	return i;
}

static size_t
feed_message(struct smtp_session *s, const char *p, size_t len, int in_data)
{
	size_t n = feed_message_octets(s, p, len, in_data);

	/* RFC 5321 §4.5.2 allows only 7- or 8-bit text: we refuse NUL
	 * (downstream C tools truncate at it), except in BINARYMIME. */
	if (!is_binary(s) && memchr(p, '\0', n) != NULL)
		refuse_message(s, REPLY_NUL_BYTE);
	return n;
}

/* The message is complete: refuse it, or flush and commit it. */
static void
finish_message(struct smtp_session *s)
{
	if (s->dstate == D_CR)
		bare_line_end(s, '\r');
	if (s->msg_refusal != REPLY_NONE) {
		raise_event(s, SMTP_EV_DATA_ABORT);
		s->event.refusal = s->msg_refusal;
		s->event.size = s->wire_size;
		return;
	}
	if (s->body_len > 0) {
		s->data_end_pending = 1;
		raise_body(s);
		return;
	}
	raise_event(s, SMTP_EV_DATA_END);
	s->event.size = s->msg_size;
}

static size_t
feed_data(struct smtp_session *s, const char *p, size_t len)
{
	size_t n = feed_message(s, p, len, 1);

	if (s->data_done) {
		s->data_done = 0;
		finish_message(s);
	}
	return n;
}

/* The current BDAT chunk is complete (RFC 3030 §2). */
static void
chunk_end(struct smtp_session *s)
{
	s->in_chunk = 0;
	if (s->bdat_failed) {
		queue(s, s->bdat_refusal);
		if (s->bdat_last)
			reset_transaction(s);
		return;
	}
	if (!s->bdat_last) {
		queue(s, REPLY_CHUNK_OK);
		return;
	}
	finish_message(s);
}

static size_t
feed_chunk(struct smtp_session *s, const char *p, size_t len)
{
	size_t n = len;

	if (n > s->bdat_left)
		n = (size_t)s->bdat_left;
	if (!s->bdat_failed)
		n = feed_message(s, p, n, 0);
	s->bdat_left -= n;
	if (s->bdat_left == 0 && !s->has_event)
		chunk_end(s);
	return n;
}

/* ---------------------------------------------------------------- */
/* Commands.  Each takes the argument after the verb (and its space). */

static void
cmd_helo(struct smtp_session *s, const char *arg, size_t len, int ehlo)
{
	if (!smtp_is_helo_arg(arg, len)) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	raise_event(s, SMTP_EV_HELO);
	s->event.helo = arg;
	s->event.helo_len = len;
	s->event.is_ehlo = ehlo;
}

static void
ehlo_line(struct smtp_session *s, const char *text, int more)
{
	queue_text(s, REPLY_EHLO, text, strlen(text), more);
}

/* The EHLO reply: the extensions we implement (RFC 5321 §4.1.1.1). */
static void
queue_ehlo(struct smtp_session *s)
{
	const struct smtp_config *cfg = s->cfg;
	char line[SMTP_REPLY_TEXT_MAX];
	size_t len;
	char digits[24];
	size_t nd = 0;
	uint64_t v = cfg->databytes;

	len = strlen(cfg->hostname);
	if (len > sizeof(line) - 1)
		len = sizeof(line) - 1;
	memcpy(line, cfg->hostname, len);
	line[len] = '\0';
	ehlo_line(s, line, 1);
	ehlo_line(s, "PIPELINING", 1);
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	memcpy(line, "SIZE ", 5);
	len = 5;
	while (nd > 0)
		line[len++] = digits[--nd];
	line[len] = '\0';
	ehlo_line(s, line, 1);
	ehlo_line(s, "8BITMIME", 1);
	ehlo_line(s, "BINARYMIME", 1);
	ehlo_line(s, "CHUNKING", 1);
	ehlo_line(s, "SMTPUTF8", 1);
	if (cfg->flags & SMTP_CF_STARTTLS && !s->has_tls)
		ehlo_line(s, "STARTTLS", 1);
	if (cfg->auth_mechs != NULL &&
	    (s->has_tls || cfg->flags & SMTP_CF_CLEARTEXT_AUTH)) {
		len = strlen(cfg->auth_mechs);
		if (len > sizeof(line) - 6)
			len = sizeof(line) - 6;
		memcpy(line, "AUTH ", 5);
		memcpy(line + 5, cfg->auth_mechs, len);
		line[5 + len] = '\0';
		ehlo_line(s, line, 1);
	}
	ehlo_line(s, "ENHANCEDSTATUSCODES", 0);
}

static void
helo_answered(struct smtp_session *s, enum reply_id id)
{
	int ehlo = s->event.is_ehlo;

	/* HELO/EHLO drops any transaction (RFC 5321 §4.1.4). */
	if (id != REPLY_NONE) {
		reset_transaction(s);
		queue(s, id);
		return;
	}
	s->has_helo = 1;
	s->is_ehlo = ehlo;
	reset_transaction(s);
	if (ehlo) {
		queue_ehlo(s);
	} else {
		char line[SMTP_REPLY_TEXT_MAX];
		size_t len = strlen(s->cfg->hostname);

		if (len > sizeof(line))
			len = sizeof(line);
		memcpy(line, s->cfg->hostname, len);
		queue_text(s, REPLY_HELO, line, len, 0);
	}
}

static enum reply_id
path_refusal(enum addr_result r, int is_sender)
{
	switch (r) {
	case ADDR_PATH_TOO_LONG:
	case ADDR_LOCAL_TOO_LONG:
	case ADDR_DOMAIN_TOO_LONG:
		return is_sender ? REPLY_SENDER_TOO_LONG : REPLY_PATH_TOO_LONG;
	case ADDR_UTF8_NOT_ALLOWED:
		return REPLY_UTF8_NEEDED;
	case ADDR_FORBIDDEN_CHAR:
		return is_sender ? REPLY_SENDER_BAD_CHAR : REPLY_RCPT_BAD_CHAR;
	default:
		return is_sender ? REPLY_BAD_SENDER : REPLY_BAD_RCPT;
	}
}

static enum reply_id
param_refusal(enum param_result r)
{
	switch (r) {
	case PARAM_UNKNOWN:
		return REPLY_UNKNOWN_PARAM;
	case PARAM_SIZE_OVERFLOW:
		return REPLY_SIZE_EXCEEDED;
	default:
		return REPLY_BAD_PARAM;
	}
}

/* "FROM:" / "TO:", then the path.  A space after the colon is tolerated:
 * RFC 5321 §4.1.2 has none, but widely deployed clients send one and
 * nothing is ambiguous about it. */
static int
skip_keyword(const char **arg, size_t *len, const char *keyword)
{
	size_t n = strlen(keyword);

	if (!has_prefix(*arg, *len, keyword))
		return 0;
	*arg += n;
	*len -= n;
	if (*len > 0 && **arg == ' ') {
		(*arg)++;
		(*len)--;
	}
	return *len > 0 && **arg == '<';
}

static void
cmd_mail(struct smtp_session *s, const char *arg, size_t len)
{
	size_t used;
	enum addr_result ar;
	enum param_result pr;

	if (s->state == SMTP_ST_GREETED) {
		fail(s, REPLY_NEED_HELO);
		return;
	}
	if (s->state != SMTP_ST_READY) {
		fail(s, REPLY_BAD_SEQUENCE);
		return;
	}
	if (s->cfg->flags & SMTP_CF_REQUIRE_AUTH && !s->is_authenticated &&
	    !(s->cfg->flags & SMTP_CF_RELAY_CLIENT)) {
		fail(s, REPLY_AUTH_REQUIRED);
		return;
	}
	if (!skip_keyword(&arg, &len, "from:")) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	ar = smtp_parse_path(arg, len, ADDR_ALLOW_NULL | ADDR_ALLOW_UTF8,
	    &s->path, &used);
	if (ar != ADDR_OK) {
		fail(s, path_refusal(ar, 1));
		return;
	}
	pr = smtp_parse_mail_params(arg + used, len - used, 1, &s->params);
	if (pr != PARAM_OK) {
		memset(&s->params, 0, sizeof(s->params));
		fail(s, param_refusal(pr));
		return;
	}
	if (s->path.is_utf8 && !s->params.smtputf8) {
		memset(&s->params, 0, sizeof(s->params));
		fail(s, REPLY_UTF8_NEEDED);
		return;
	}
	/* RFC 1870 §6.2: refuse a declared size over the limit at once. */
	if (s->params.has_size && s->params.size > s->cfg->databytes) {
		memset(&s->params, 0, sizeof(s->params));
		fail(s, REPLY_SIZE_EXCEEDED);
		return;
	}
	raise_event(s, SMTP_EV_MAIL);
	s->event.path = &s->path;
	s->event.params = &s->params;
}

static void
mail_answered(struct smtp_session *s, enum reply_id id)
{
	if (reply_code(id) / 100 == 2) {
		s->state = SMTP_ST_MAIL;
		s->nrcpt = 0;
		reset_message(s);
	} else {
		memset(&s->params, 0, sizeof(s->params));
	}
	queue(s, id);
}

static void
cmd_rcpt(struct smtp_session *s, const char *arg, size_t len)
{
	size_t used;
	unsigned flags = ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_UTF8;
	enum addr_result ar;
	enum param_result pr;

	if (s->state != SMTP_ST_MAIL && s->state != SMTP_ST_RCPT) {
		fail(s, s->state == SMTP_ST_BDAT ? REPLY_BAD_SEQUENCE :
		    REPLY_NEED_MAIL);
		return;
	}
	if (!skip_keyword(&arg, &len, "to:")) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	ar = smtp_parse_path(arg, len, flags, &s->path, &used);
	if (ar != ADDR_OK) {
		fail(s, path_refusal(ar, 0));
		return;
	}
	pr = smtp_parse_rcpt_params(arg + used, len - used);
	if (pr != PARAM_OK) {
		fail(s, param_refusal(pr));
		return;
	}
	if (s->path.is_utf8 && !s->params.smtputf8) {
		fail(s, REPLY_UTF8_NEEDED);
		return;
	}
	/* RFC 5321 §4.5.3.1.10: 452 for recipients over the limit. */
	if (s->nrcpt >= s->cfg->maxrcpts) {
		queue(s, REPLY_TOO_MANY_RCPTS);
		return;
	}
	raise_event(s, SMTP_EV_RCPT);
	s->event.path = &s->path;
}

static void
rcpt_answered(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len)
{
	if (reply_code(id) / 100 == 2) {
		s->nrcpt++;
		s->state = SMTP_ST_RCPT;
	} else if (id != REPLY_TOO_MANY_RCPTS && count_error(s)) {
		/* Refused recipients count: an attacker probing for
		 * mailboxes gets the error limit, not line rate.  452
		 * 4.5.3 does not: honest clients meet it and move on to
		 * another transaction (RFC 5321 §4.5.3.1.10). */
		return;
	}
	/* A RCPTCHECK program's own words, when the caller has them. */
	queue_text(s, id, text, len, 0);
}

/* DATA and the first BDAT need a recipient; say what is missing. */
static enum reply_id
data_sequence(const struct smtp_session *s)
{
	if (s->state == SMTP_ST_MAIL)
		return REPLY_NEED_RCPT;
	if (s->state == SMTP_ST_GREETED || s->state == SMTP_ST_READY)
		return REPLY_NEED_MAIL;
	return REPLY_BAD_SEQUENCE;
}

static void
cmd_data(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (len > 0) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	if (s->state != SMTP_ST_RCPT) {
		fail(s, data_sequence(s));
		return;
	}
	/* RFC 3030 §3: a BINARYMIME body can only be sent with BDAT. */
	if (is_binary(s)) {
		fail(s, REPLY_BINARY_NEEDS_BDAT);
		return;
	}
	reset_message(s);
	raise_event(s, SMTP_EV_DATA);
}

static void
data_answered(struct smtp_session *s, enum reply_id id)
{
	if (s->event.is_bdat) {
		/* BDAT has no 354: the chunk follows at once (RFC 3030). */
		s->in_chunk = 1;
		s->state = SMTP_ST_BDAT;
		if (id == REPLY_DATA_GO) {
			s->delivery_open = 1;
		} else {
			s->bdat_failed = 1;
			s->bdat_refusal = id;
		}
		if (s->bdat_left == 0)
			chunk_end(s);
		return;
	}
	queue(s, id);
	if (id == REPLY_DATA_GO) {
		s->state = SMTP_ST_DATA;
		s->delivery_open = 1;
	}
}

/*
 * "BDAT" SP chunk-size [ SP "LAST" ] (RFC 3030 §2): 0, or -1 for any
 * other line.  On -1, *size is set when a size can still be read (spaces,
 * then digits that fit, whatever follows): a lenient peer, a proxy say,
 * would send that many octets as the chunk, so they must be skipped, not
 * run as commands.
 */
static int
parse_bdat(const char *arg, size_t len, uint64_t *size, int *last,
    int *has_size)
{
	size_t i = 0;
	size_t start;
	uint64_t v = 0;

	*last = 0;
	*has_size = 0;
	while (i < len && arg[i] == ' ')
		i++;
	start = i;
	for (; i < len && arg[i] >= '0' && arg[i] <= '9'; i++) {
		unsigned d = (unsigned)(arg[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (i == start)
		return -1;
	*size = v;
	*has_size = 1;
	if (start > 0)
		return -1;
	if (i == len)
		return 0;
	if (is_word(arg + i, len - i, " last")) {
		*last = 1;
		return 0;
	}
	return -1;
}

/* Discard a chunk we will not take, then answer with why. */
static void
refuse_chunk(struct smtp_session *s, enum reply_id why)
{
	s->in_chunk = 1;
	s->bdat_failed = 1;
	s->bdat_refusal = why;
	s->state = SMTP_ST_BDAT;
	if (s->bdat_left == 0)
		chunk_end(s);
}

/* The chunk of a BDAT we refuse follows it whatever we answer: read
 * and drop it, then answer why (RFC 3030 §2). */
static void
skip_next_chunk(struct smtp_session *s, uint64_t size, enum reply_id why)
{
	s->bdat_left = size;
	s->bdat_last = 0;
	s->skip_chunk = 1;
	s->skip_refusal = why;
	s->in_chunk = 1;
	if (size == 0) {
		s->in_chunk = 0;
		s->skip_chunk = 0;
		fail(s, why);
	}
}

/*
 * A BDAT line with a size but bad syntax: skip its chunk, then 501.
 * Before the first chunk the transaction stays (nothing is lost yet);
 * between chunks the message would miss one, so it is dropped, and the
 * chunks that follow are skipped as out of sequence.
 */
static void
bad_bdat(struct smtp_session *s, uint64_t size)
{
	int was_open = s->delivery_open;
	uint64_t octets = s->wire_size;

	if (s->state == SMTP_ST_BDAT)
		reset_transaction(s);
	skip_next_chunk(s, size, REPLY_SYNTAX);
	if (was_open) {
		/* The 501 follows the chunk. */
		raise_event(s, SMTP_EV_DATA_ABORT);
		s->event.refusal = REPLY_SYNTAX;
		s->event.size = octets;
		s->abort_is_silent = 1;
	}
}

static void
cmd_bdat(struct smtp_session *s, const char *arg, size_t len)
{
	uint64_t size;
	int last;
	int has_size;

	if (parse_bdat(arg, len, &size, &last, &has_size) != 0) {
		if (has_size)
			bad_bdat(s, size);
		else
			fail(s, REPLY_SYNTAX);
		return;
	}
	if (s->state != SMTP_ST_RCPT && s->state != SMTP_ST_BDAT) {
		/* The state stays as it is. */
		skip_next_chunk(s, size, data_sequence(s));
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	if (s->state == SMTP_ST_RCPT) {
		reset_message(s);
		s->bdat_left = size;
		s->bdat_last = last;
		if (size > s->cfg->databytes) {
			/* Refused before any DATA event: DATA_ABORT tells
			 * the caller, so that the message is logged too;
			 * the 552 follows the chunk. */
			refuse_chunk(s, REPLY_SIZE_EXCEEDED);
			raise_event(s, SMTP_EV_DATA_ABORT);
			s->event.refusal = REPLY_SIZE_EXCEEDED;
			s->event.size = size;
			s->abort_is_silent = 1;
			return;
		}
		raise_event(s, SMTP_EV_DATA);
		s->event.is_bdat = 1;
		return;
	}
	/* Later chunks of an open (or failed) transaction. */
	if (s->bdat_failed) {
		s->in_chunk = 1;
		if (size == 0)
			chunk_end(s);
		return;
	}
	/* wire_size + size could wrap: compare without the sum. */
	if (size > s->cfg->databytes ||
	    s->wire_size > s->cfg->databytes - size) {
		/* Over the limit: drop the open delivery now; the 552
		 * goes out once the chunk has been read. */
		refuse_chunk(s, REPLY_SIZE_EXCEEDED);
		if (s->delivery_open) {
			s->delivery_open = 0;
			raise_event(s, SMTP_EV_DATA_ABORT);
			s->event.refusal = REPLY_SIZE_EXCEEDED;
			s->event.size = s->wire_size;
			s->abort_is_silent = 1;
		}
		return;
	}
	s->in_chunk = 1;
	if (size == 0)
		chunk_end(s);
}

static void
cmd_rset(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (len > 0) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	if (in_transaction(s)) {
		raise_event(s, SMTP_EV_RSET);
		return;
	}
	reset_transaction(s);
	queue(s, REPLY_OK);
}

static void
cmd_quit(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (len > 0) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	queue(s, REPLY_QUIT);
	raise_event(s, SMTP_EV_QUIT);
	close_session(s, SMTP_CLOSE_QUIT);
}

static void
cmd_starttls(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	if (!(s->cfg->flags & SMTP_CF_STARTTLS) || s->has_tls) {
		fail(s, s->has_tls ? REPLY_BAD_SEQUENCE : REPLY_NOT_IMPLEMENTED);
		return;
	}
	if (len > 0) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	if (in_transaction(s) || s->state == SMTP_ST_GREETED) {
		fail(s, s->state == SMTP_ST_GREETED ? REPLY_NEED_HELO :
		    REPLY_BAD_SEQUENCE);
		return;
	}
	raise_event(s, SMTP_EV_STARTTLS);
}

static void
starttls_answered(struct smtp_session *s, enum reply_id id)
{
	queue(s, id);
	if (id == REPLY_STARTTLS_GO)
		s->tls_started_pending = 1;
}

/* Is mech one of the space-separated words of the configured list? */
static int
mech_offered(const char *mechs, const char *mech, size_t len)
{
	const char *p = mechs;

	while (*p != '\0') {
		size_t n = 0;

		while (p[n] != '\0' && p[n] != ' ')
			n++;
		if (n == len && n > 0) {
			size_t i;

			for (i = 0; i < n; i++) {
				if (ascii_lower((unsigned char)p[i]) !=
				    ascii_lower((unsigned char)mech[i]))
					break;
			}
			if (i == n)
				return 1;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static void
cmd_auth(struct smtp_session *s, char *arg, size_t len)
{
	const struct smtp_config *cfg = s->cfg;
	size_t n = 0;
	size_t i;

	if (cfg->auth_mechs == NULL) {
		fail(s, REPLY_NOT_IMPLEMENTED);
		return;
	}
	if (!s->has_tls && !(cfg->flags & SMTP_CF_CLEARTEXT_AUTH)) {
		fail(s, REPLY_AUTH_NEEDS_TLS);
		return;
	}
	/* RFC 4954 §4: not before EHLO, not twice, not in a transaction. */
	if (!s->is_ehlo || s->is_authenticated || in_transaction(s)) {
		fail(s, REPLY_BAD_SEQUENCE);
		return;
	}
	while (n < len && arg[n] != ' ')
		n++;
	if (n == 0) {
		fail(s, REPLY_SYNTAX);
		return;
	}
	if (!mech_offered(cfg->auth_mechs, arg, n)) {
		fail(s, REPLY_AUTH_MECH_UNKNOWN);
		return;
	}
	if (len - n > 1 + SMTP_AUTH_RESPONSE_MAX) {
		fail(s, REPLY_AUTH_TOO_LONG);
		return;
	}
	for (i = 0; i < n; i++) {
		if (arg[i] >= 'a' && arg[i] <= 'z')
			arg[i] = (char)(arg[i] - 32);
	}
	raise_event(s, SMTP_EV_AUTH);
	s->event.mech = arg;
	s->event.mech_len = n;
	if (n < len) {
		s->event.has_initial = 1;
		s->event.data = arg + n + 1;
		s->event.len = len - n - 1;
	}
}

static void
auth_answered(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len)
{
	if (id == REPLY_AUTH_CHALLENGE) {
		queue_text(s, id, text, len, 0);
		if (s->state != SMTP_ST_AUTH) {
			s->auth_return = s->state;
			s->state = SMTP_ST_AUTH;
		}
		return;
	}
	if (s->state == SMTP_ST_AUTH)
		s->state = s->auth_return;
	if (id == REPLY_AUTH_OK)
		s->is_authenticated = 1;
	queue_text(s, id, text, len, 0);
}

/* A line of a SASL exchange (RFC 4954 §4). */
static void
auth_line(struct smtp_session *s, char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		s->state = s->auth_return;
		queue(s, REPLY_AUTH_CANCELLED);
		return;
	}
	if (len > SMTP_AUTH_RESPONSE_MAX) {
		s->state = s->auth_return;
		fail(s, REPLY_AUTH_TOO_LONG);
		return;
	}
	raise_event(s, SMTP_EV_AUTH_DATA);
	s->event.data = line;
	s->event.len = len;
}

/* The command verbs, recognised case-insensitively (RFC 5321 §2.4). */
enum verb {
	V_UNKNOWN = 0,
	V_EHLO, V_HELO, V_MAIL, V_RCPT, V_DATA, V_BDAT, V_RSET, V_NOOP,
	V_QUIT, V_VRFY, V_HELP, V_STARTTLS, V_AUTH,
	V_UNIMPLEMENTED		/* others implement it; we deliberately not */
};

#define VERB4(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | \
	(uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* One switch on the four octets: the verb costs a few instructions. */
static enum verb
verb_of(const char *p, size_t n)
{
	if (n == 8 && has_prefix(p, n, "starttls"))
		return V_STARTTLS;
	if ((n == 7 && has_prefix(p, n, "xclient")) ||
	    (n == 8 && has_prefix(p, n, "xforward")))
		return V_UNIMPLEMENTED;
	if (n != 4)
		return V_UNKNOWN;
	switch (VERB4(ascii_lower((unsigned char)p[0]), ascii_lower((unsigned char)p[1]),
	    ascii_lower((unsigned char)p[2]), ascii_lower((unsigned char)p[3]))) {
	case VERB4('e', 'h', 'l', 'o'):
		return V_EHLO;
	case VERB4('h', 'e', 'l', 'o'):
		return V_HELO;
	case VERB4('m', 'a', 'i', 'l'):
		return V_MAIL;
	case VERB4('r', 'c', 'p', 't'):
		return V_RCPT;
	case VERB4('d', 'a', 't', 'a'):
		return V_DATA;
	case VERB4('b', 'd', 'a', 't'):
		return V_BDAT;
	case VERB4('r', 's', 'e', 't'):
		return V_RSET;
	case VERB4('n', 'o', 'o', 'p'):
		return V_NOOP;
	case VERB4('q', 'u', 'i', 't'):
		return V_QUIT;
	case VERB4('v', 'r', 'f', 'y'):
		return V_VRFY;
	case VERB4('h', 'e', 'l', 'p'):
		return V_HELP;
	case VERB4('a', 'u', 't', 'h'):
		return V_AUTH;
	case VERB4('e', 'x', 'p', 'n'):
	case VERB4('t', 'u', 'r', 'n'):
	case VERB4('e', 't', 'r', 'n'):
	case VERB4('a', 't', 'r', 'n'):
	case VERB4('s', 'e', 'n', 'd'):
	case VERB4('s', 'o', 'm', 'l'):
	case VERB4('s', 'a', 'm', 'l'):
	case VERB4('v', 'e', 'r', 'b'):
	case VERB4('o', 'n', 'e', 'x'):
		return V_UNIMPLEMENTED;
	default:
		return V_UNKNOWN;
	}
}

/* Commands allowed between BDAT chunks (RFC 3030 §2). */
static int
allowed_in_bdat(enum verb v)
{
	return v == V_BDAT || v == V_RSET || v == V_QUIT || v == V_NOOP ||
	    v == V_HELO || v == V_EHLO || v == V_HELP;
}

/*
 * SMTP_CF_REFUSAL_EVENTS: after a HELO, EHLO, MAIL or RCPT that raised
 * no event, tell the caller what the engine refused, so that its log can
 * say why (the caller refuses the others itself, with its events).
 */
static void
report_refusal(struct smtp_session *s, enum verb v, const char *arg,
    size_t alen)
{
	static const char *const name[] = {
		[V_EHLO] = "EHLO", [V_HELO] = "HELO", [V_MAIL] = "MAIL",
		[V_RCPT] = "RCPT"
	};
	enum reply_id id = s->last_reply;

	if (!(s->cfg->flags & SMTP_CF_REFUSAL_EVENTS) || s->has_event ||
	    reply_code(id) < 400)
		return;
	raise_event(s, SMTP_EV_REFUSED);
	s->event.refusal = id;
	s->event.verb = name[v];
	s->event.data = arg;
	s->event.len = alen;
}

static void
dispatch(struct smtp_session *s, char *line, size_t len)
{
	size_t n = 0;
	char *arg;
	size_t alen;
	enum verb v;

	while (n < len && line[n] != ' ')
		n++;
	arg = line + n;
	alen = len - n;
	if (alen > 0) {
		arg++;
		alen--;
	}
	v = verb_of(line, n);
	s->last_reply = REPLY_NONE;
	/* Only AUTH may use the longer line RFC 4954 allows. */
	if (len + 2 > SMTP_COMMAND_LINE_MAX && v != V_AUTH) {
		fail(s, REPLY_LINE_TOO_LONG);
		return;
	}
	if (s->state == SMTP_ST_BDAT && !allowed_in_bdat(v)) {
		fail(s, REPLY_BAD_SEQUENCE);
		return;
	}
	switch (v) {
	case V_EHLO:
		cmd_helo(s, arg, alen, 1);
		break;
	case V_HELO:
		cmd_helo(s, arg, alen, 0);
		break;
	case V_MAIL:
		cmd_mail(s, arg, alen);
		break;
	case V_RCPT:
		cmd_rcpt(s, arg, alen);
		break;
	case V_DATA:
		cmd_data(s, arg, alen);
		break;
	case V_BDAT:
		cmd_bdat(s, arg, alen);
		break;
	case V_RSET:
		cmd_rset(s, arg, alen);
		break;
	case V_NOOP:
		queue(s, REPLY_OK);
		break;
	case V_QUIT:
		cmd_quit(s, arg, alen);
		break;
	case V_VRFY:
		if (alen > 0)
			queue(s, REPLY_VRFY);
		else
			fail(s, REPLY_SYNTAX);
		break;
	case V_HELP:
		queue(s, REPLY_HELP);
		break;
	case V_STARTTLS:
		cmd_starttls(s, arg, alen);
		break;
	case V_AUTH:
		cmd_auth(s, arg, alen);
		break;
	case V_UNIMPLEMENTED:
		fail(s, REPLY_NOT_IMPLEMENTED);
		break;
	default:
		fail(s, REPLY_UNKNOWN_COMMAND);
		break;
	}
	if (v == V_EHLO || v == V_HELO || v == V_MAIL || v == V_RCPT)
		report_refusal(s, v, arg, alen);
}

/* AUTH lines carry credentials: clear the line buffer once they are
 * no longer needed (secrets are wiped right after use). */
static void
wipe_line(struct smtp_session *s)
{
	memset(s->line, 0, sizeof(s->line));
}

/* Does the line being framed carry credentials? */
static int
line_is_secret(const struct smtp_session *s)
{
	return s->state == SMTP_ST_AUTH ||
	    has_prefix(s->line, s->cmd_len, "auth");
}

/* A complete line arrived (LF seen); line[] holds it without the LF. */
static void
process_line_unwiped(struct smtp_session *s)
{
	size_t len = s->cmd_len;
	size_t i;

	s->cmd_len = 0;
	if (s->cmd_overflow) {
		s->cmd_overflow = 0;
		if (s->state == SMTP_ST_AUTH) {
			s->state = s->auth_return;
			fail(s, REPLY_AUTH_TOO_LONG);
		} else {
			fail(s, REPLY_LINE_TOO_LONG);
		}
		return;
	}
	if (len == 0 || s->line[len - 1] != '\r') {
		if (s->state == SMTP_ST_AUTH)
			s->state = s->auth_return;
		fail(s, REPLY_NEED_CRLF);
		return;
	}
	len--;
	/* No NUL or control characters in commands. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s->line[i];

		if (c < 0x20 || c == 0x7f) {
			if (s->state == SMTP_ST_AUTH)
				s->state = s->auth_return;
			fail(s, REPLY_SYNTAX);
			return;
		}
	}
	if (s->state == SMTP_ST_AUTH) {
		auth_line(s, s->line, len);
		return;
	}
	dispatch(s, s->line, len);
}

static void
process_line(struct smtp_session *s)
{
	int secret = line_is_secret(s);

	process_line_unwiped(s);
	/* An AUTH event still points into line[]: smtp_answer wipes it. */
	if (secret && !s->has_event)
		wipe_line(s);
}

/* Frame command lines: returns octets consumed. */
static size_t
feed_command(struct smtp_session *s, const char *p, size_t len)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) : len;
	size_t room = sizeof(s->line) - s->cmd_len;

	if (n > room) {
		s->cmd_overflow = 1;
		s->cmd_len = sizeof(s->line);
	} else if (!s->cmd_overflow) {
		memcpy(s->line + s->cmd_len, p, n);
		s->cmd_len += n;
	}
	/* Checked on every piece, the first of a split line included. */
	if (line_is_secret(s))
		s->fed_secret = 1;
	if (lf == NULL)
		return len;
	process_line(s);
	return n + 1;
}

/* A chunk sent after a BDAT we refused: drop it, then answer. */
static size_t
skip_chunk(struct smtp_session *s, size_t len)
{
	size_t n = len;

	if (n > s->bdat_left)
		n = (size_t)s->bdat_left;
	s->bdat_left -= n;
	if (s->bdat_left == 0) {
		s->in_chunk = 0;
		s->skip_chunk = 0;
		fail(s, s->skip_refusal);
	}
	return n;
}

int
smtp_fed_secret(struct smtp_session *s)
{
	int r = s->fed_secret;

	s->fed_secret = 0;
	return r;
}

size_t
smtp_feed(struct smtp_session *s, const char *buf, size_t len)
{
	size_t used = 0;
	unsigned errors = s->errors;

	while (used < len) {
		if (s->has_event || s->state == SMTP_ST_CLOSED ||
		    s->tls_started_pending || s->errors != errors)
			break;
		if (s->out_len > sizeof(s->out) - OUT_RESERVE)
			break;
		if (s->skip_chunk)
			used += skip_chunk(s, len - used);
		else if (s->state == SMTP_ST_DATA)
			used += feed_data(s, buf + used, len - used);
		else if (s->in_chunk)
			used += feed_chunk(s, buf + used, len - used);
		else
			used += feed_command(s, buf + used, len - used);
	}
	return used;
}

/* ---------------------------------------------------------------- */
/* Answers.                                                         */

static void
body_answered(struct smtp_session *s)
{
	s->body_len = 0;
	if (s->data_end_pending) {
		s->data_end_pending = 0;
		raise_event(s, SMTP_EV_DATA_END);
		s->event.size = s->msg_size;
		return;
	}
	/* A chunk may have ended exactly at the flush. */
	if (s->in_chunk && s->bdat_left == 0 && s->state == SMTP_ST_BDAT)
		chunk_end(s);
}

static void
message_done(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len)
{
	queue_text(s, id, text, len, 0);
	reset_transaction(s);
	/* Mail got through: earlier errors weigh less (a list server with a
	 * few dead addresses per message stays below the limit), yet a
	 * prober must deliver a message for every few guesses. */
	if (reply_code(id) / 100 == 2)
		s->errors /= 2;
}

void
smtp_answer_text(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len)
{
	enum smtp_event_type type;

	if (!s->has_event)
		return;
	s->has_event = 0;
	type = s->event.type;
	if (type == SMTP_EV_AUTH || type == SMTP_EV_AUTH_DATA)
		wipe_line(s);
	if (reply_closes(id)) {
		if (type == SMTP_EV_DATA_END || type == SMTP_EV_DATA_ABORT ||
		    type == SMTP_EV_BODY)
			reset_transaction(s);
		queue_text(s, id, text, len, 0);
		close_session(s, SMTP_CLOSE_CALLER);
		return;
	}
	switch (type) {
	case SMTP_EV_HELO:
		helo_answered(s, id);
		break;
	case SMTP_EV_MAIL:
		mail_answered(s, id);
		break;
	case SMTP_EV_RCPT:
		rcpt_answered(s, id, text, len);
		break;
	case SMTP_EV_RSET:
		reset_transaction(s);
		queue(s, REPLY_OK);
		break;
	case SMTP_EV_DATA:
		data_answered(s, id);
		break;
	case SMTP_EV_BODY:
		body_answered(s);
		break;
	case SMTP_EV_DATA_END:
		message_done(s, id, text, len);
		break;
	case SMTP_EV_REFUSED:
		break;
	case SMTP_EV_DATA_ABORT:
		if (s->abort_is_silent) {
			/* BDAT over the limit: the 552 follows the chunk. */
			s->abort_is_silent = 0;
			break;
		}
		message_done(s, s->event.refusal, NULL, 0);
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		auth_answered(s, id, text, len);
		break;
	case SMTP_EV_STARTTLS:
		starttls_answered(s, id);
		break;
	case SMTP_EV_QUIT:
		break;
	}
}

void
smtp_answer(struct smtp_session *s, enum reply_id id)
{
	smtp_answer_text(s, id, NULL, 0);
}

void
smtp_answer_relayed(struct smtp_session *s, enum reply_id id, int code,
    const char *status, const char *text, size_t len)
{
	size_t slen = status != NULL ? strlen(status) : 0;

	if (code / 100 == reply_code(id) / 100 &&
	    reply_is_relayable(code, status) &&
	    slen < sizeof(s->relay_status)) {
		s->relay_id = id;
		s->relay_code = code;
		memcpy(s->relay_status, status != NULL ? status : "", slen + 1);
	}
	smtp_answer_text(s, id, text, len);
	s->relay_code = 0;
}

size_t
smtp_output(const struct smtp_session *s, const char **out)
{
	*out = s->out;
	return s->out_len;
}

void
smtp_output_done(struct smtp_session *s, size_t n)
{
	if (n >= s->out_len) {
		s->out_len = 0;
		return;
	}
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}

void
smtp_eof(struct smtp_session *s)
{
	close_session(s, SMTP_CLOSE_EOF);
}

void
smtp_close(struct smtp_session *s)
{
	s->has_event = 0;
	close_session(s, SMTP_CLOSE_FAILED);
}

void
smtp_timeout(struct smtp_session *s, enum reply_id why)
{
	if (s->state == SMTP_ST_CLOSED)
		return;
	s->has_event = 0;
	queue(s, why);
	close_session(s, SMTP_CLOSE_TIMEOUT);
}

/* RFC 3207 §4.2: forget everything learnt before the handshake. */
void
smtp_tls_started(struct smtp_session *s)
{
	s->tls_started_pending = 0;
	s->has_tls = 1;
	s->has_helo = 0;
	s->is_ehlo = 0;
	/* AUTH given in the clear (CLEARTEXTAUTH) is forgotten as well. */
	s->is_authenticated = 0;
	s->cmd_len = 0;
	s->cmd_overflow = 0;
	s->state = SMTP_ST_GREETED;
	reset_transaction(s);
}

int
smtp_is_closed(const struct smtp_session *s)
{
	return s->state == SMTP_ST_CLOSED;
}

enum smtp_close
smtp_close_reason(const struct smtp_session *s)
{
	return s->close_reason;
}

uint64_t
smtp_message_octets(const struct smtp_session *s)
{
	return s->wire_size;
}

unsigned
smtp_errors(const struct smtp_session *s)
{
	return s->errors;
}

int
smtp_is_authenticated(const struct smtp_session *s)
{
	return s->is_authenticated;
}

int
smtp_in_data(const struct smtp_session *s)
{
	return s->delivery_open;
}

const char *
smtp_with_protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2][2] = {
		/* [utf8][ehlo][tls][auth] */
		{ { { "SMTP", "SMTP" }, { "SMTP", "SMTP" } },
		  { { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } } },
		{ { { "SMTP", "SMTP" }, { "SMTP", "SMTP" } },
		  { { "UTF8SMTP", "UTF8SMTPA" },
		    { "UTF8SMTPS", "UTF8SMTPSA" } } },
	};

	return names[s->params.smtputf8 != 0][s->is_ehlo != 0]
	    [s->has_tls != 0][s->is_authenticated != 0];
}
