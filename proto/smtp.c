/*
 * smtp.c: the SMTP session engine (RFC 5321 with PIPELINING, SIZE,
 * 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8, CHUNKING, BINARYMIME, and the
 * protocol halves of STARTTLS and AUTH).  No system calls, no allocation:
 * see smtp.h for the API and its rules.
 *
 * Layout: smtp_feed() hands each octet to what the session is reading
 * (enum smtp_reading): command and SASL lines are framed here and run
 * by command.c's table; DATA text and BDAT chunks go through body.c.
 * Events raised on the way are answered through smtp_answer_text(),
 * which hands each answer to the command that raised the event.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "address.h"
#include "ascii.h"
#include "body.h"
#include "limits.h"
#include "reply.h"
#include "session.h"
#include "smtp.h"

/* Room kept free in the output buffer before a command is processed:
 * the largest reply one command can produce (the EHLO list) fits. */
#define OUT_RESERVE 1024

/* ---------------------------------------------------------------- */
/* Output.                                                          */

void
smtp_queue_text(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len, int more)
{
	s->last_reply = id;
	if (s->relay_code != 0 && id == s->relay_id) {
		/* Only the reply being answered; never an error limit's 421
		 * queued in its place. */
		if (text == NULL) {
			text = reply_get(id)->text;
			len = strlen(text);
		}
		s->out_len += reply_format_relayed(s->out + s->out_len,
		    sizeof(s->out) - s->out_len, s->relay_code,
		    s->relay_status[0] != '\0' ? s->relay_status : NULL, text,
		    len, more);
		return;
	}
	s->out_len += reply_format(s->out + s->out_len,
	    sizeof(s->out) - s->out_len, id, text, len, more);
}

void
smtp_queue(struct smtp_session *s, enum reply_id id)
{
	smtp_queue_text(s, id, NULL, 0, 0);
}

/* Close after the queued replies are sent. */
void
smtp_close_session(struct smtp_session *s, enum smtp_close why)
{
	s->state = SMTP_ST_CLOSED;
	if (s->close_reason == SMTP_OPEN)
		s->close_reason = why;
}

/* Count an error: at the limit, 421 4.7.0 takes the place of the reply
 * (RFC 5321 §4.3.2 lets us give up) and the session closes; 1 then. */
int
smtp_count_error(struct smtp_session *s)
{
	unsigned limit = s->cfg->error_limit != 0 ? s->cfg->error_limit :
	    SMTP_ERRORS_MAX;

	if (++s->errors < limit)
		return 0;
	smtp_queue(s, REPLY_TOO_MANY_ERRORS);
	smtp_close_session(s, SMTP_CLOSE_ERRORS);
	return 1;
}

/* A protocol error: reply, and give up at the error limit. */
void
smtp_fail(struct smtp_session *s, enum reply_id id)
{
	if (!smtp_count_error(s))
		smtp_queue(s, id);
}

/* ---------------------------------------------------------------- */
/* Session and transaction state.                                   */

void
smtp_reset_message(struct smtp_session *s)
{
	body_start(&s->msg, s->cfg->databytes, 0);
	s->body_len = 0;
	s->data_end_pending = 0;
	if (s->reading == SMTP_READ_CHUNK || s->reading == SMTP_READ_DATA)
		s->reading = SMTP_READ_COMMAND;
	s->bdat_left = 0;
	s->bdat_last = 0;
	s->bdat_refusal = REPLY_NONE;
	s->delivery_open = 0;
}

void
smtp_reset_transaction(struct smtp_session *s)
{
	memset(&s->params, 0, sizeof(s->params));
	s->nrcpt = 0;
	smtp_reset_message(s);
	if (s->state != SMTP_ST_CLOSED)
		s->state = s->has_helo ? SMTP_ST_READY : SMTP_ST_GREETED;
}

int
smtp_in_transaction(const struct smtp_session *s)
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

	memset(s, 0, offsetof(struct smtp_session, out));
	s->cfg = cfg;
	s->has_tls = (cfg->flags & SMTP_CF_TLS) != 0;
	smtp_reset_transaction(s);
	if (hlen > sizeof(text) - sizeof(tail))
		hlen = sizeof(text) - sizeof(tail);
	memcpy(text, cfg->hostname, hlen);
	len = hlen;
	memcpy(text + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	smtp_queue_text(s, REPLY_GREETING, text, len, 0);
}

/* ---------------------------------------------------------------- */
/* Events.                                                          */

static void
raise_body(struct smtp_session *s)
{
	smtp_raise_event(s, SMTP_EV_BODY);
	s->event.data = s->body;
	s->event.len = s->body_len;
}

const struct smtp_event *
smtp_event(const struct smtp_session *s)
{
	return s->has_event ? &s->event : NULL;
}

/* ---------------------------------------------------------------- */
/* The message: DATA text and BDAT chunks go through body.c.          */

int
smtp_is_binary(const struct smtp_session *s)
{
	return s->params.body == SMTP_BODY_BINARYMIME;
}

/* A message starts: DATA text (dot-stuffed) or the first BDAT chunk. */
void
smtp_start_message(struct smtp_session *s, int text)
{
	unsigned flags = 0;

	if (text) {
		flags |= BODY_TEXT;
		if (s->cfg->flags & SMTP_CF_BARE_LF)
			flags |= BODY_BARE_LF;
	}
	if (smtp_is_binary(s))
		flags |= BODY_BINARY;
	body_start(&s->msg, s->cfg->databytes, flags);
}

static struct body_out
body_out(struct smtp_session *s)
{
	struct body_out o;

	o.buf = s->body;
	o.len = s->body_len;
	o.max = SMTP_BODY_CHUNK_MAX;
	return o;
}

/* Message octets through the decoder; a full buffer raises BODY. */
size_t
smtp_feed_message(struct smtp_session *s, const char *p, size_t len)
{
	struct body_out o = body_out(s);
	size_t n = body_feed(&s->msg, &o, p, len);

	s->body_len = o.len;
	if (n < len && s->msg.at != BODY_END)
		raise_body(s);
	return n;
}

/* The message is complete: refuse it, or flush and commit it. */
void
smtp_finish_message(struct smtp_session *s)
{
	struct body_out o = body_out(s);

	body_finish(&s->msg, &o);
	s->body_len = o.len;
	if (s->msg.refusal != REPLY_NONE) {
		smtp_raise_event(s, SMTP_EV_DATA_ABORT);
		s->event.refusal = s->msg.refusal;
		s->event.size = s->msg.wire_size;
		return;
	}
	if (s->body_len > 0) {
		s->data_end_pending = 1;
		raise_body(s);
		return;
	}
	smtp_raise_event(s, SMTP_EV_DATA_END);
	s->event.size = s->msg.size;
	s->delivery_open = 0;	/* the caller commits it now */
}

static size_t
feed_data(struct smtp_session *s, const char *p, size_t len)
{
	size_t n = smtp_feed_message(s, p, len);

	if (s->msg.at == BODY_END) {
		smtp_finish_message(s);
	}
	return n;
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
	return s->reading == SMTP_READ_AUTH ||
	    (s->cmd_len >= 4 && ascii_eq_n(s->line, "auth", 4));
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
		if (s->reading == SMTP_READ_AUTH) {
			s->reading = SMTP_READ_COMMAND;
			smtp_fail(s, REPLY_AUTH_TOO_LONG);
		} else {
			smtp_fail(s, REPLY_LINE_TOO_LONG);
		}
		return;
	}
	if (len == 0 || s->line[len - 1] != '\r') {
		s->reading = SMTP_READ_COMMAND;
		smtp_fail(s, REPLY_NEED_CRLF);
		return;
	}
	len--;
	/* No NUL or control characters in commands. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s->line[i];

		if (c < 0x20 || c == 0x7f) {
			s->reading = SMTP_READ_COMMAND;
			smtp_fail(s, REPLY_SYNTAX);
			return;
		}
	}
	if (s->reading == SMTP_READ_AUTH)
		smtp_auth_line(s, s->line, len);
	else
		smtp_command(s, s->line, len);
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
		switch (s->reading) {
		case SMTP_READ_COMMAND:
		case SMTP_READ_AUTH:
			used += feed_command(s, buf + used, len - used);
			break;
		case SMTP_READ_DATA:
			used += feed_data(s, buf + used, len - used);
			break;
		case SMTP_READ_CHUNK:
			used += smtp_feed_chunk(s, buf + used, len - used);
			break;
		case SMTP_READ_SKIP:
			used += smtp_skip_chunk(s, len - used);
			break;
		}
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
		smtp_raise_event(s, SMTP_EV_DATA_END);
		s->event.size = s->msg.size;
		s->delivery_open = 0;	/* the caller commits it now */
		return;
	}
	/* A chunk may have ended exactly at the flush. */
	if (s->reading == SMTP_READ_CHUNK && s->bdat_left == 0 &&
	    s->state == SMTP_ST_BDAT)
		smtp_chunk_end(s);
}

static void
message_done(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len)
{
	smtp_queue_text(s, id, text, len, 0);
	smtp_reset_transaction(s);
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
			smtp_reset_transaction(s);
		smtp_queue_text(s, id, text, len, 0);
		smtp_close_session(s, SMTP_CLOSE_CALLER);
		return;
	}
	switch (type) {
	case SMTP_EV_HELO:
		smtp_helo_answered(s, id);
		break;
	case SMTP_EV_MAIL:
		smtp_mail_answered(s, id);
		break;
	case SMTP_EV_RCPT:
		smtp_rcpt_answered(s, id, text, len);
		break;
	case SMTP_EV_RSET:
		smtp_reset_transaction(s);
		smtp_queue(s, REPLY_OK);
		break;
	case SMTP_EV_DATA:
		smtp_data_answered(s, id);
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
			/* BDAT over the limit: the 552 follows the chunk.
			 * The caller has dropped the message; a transaction
			 * a bad BDAT dropped is gone now too. */
			s->abort_is_silent = 0;
			s->delivery_open = 0;
			if (s->state != SMTP_ST_BDAT)
				s->nrcpt = 0;
			break;
		}
		message_done(s, s->event.refusal, NULL, 0);
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		smtp_auth_answered(s, id, text, len);
		break;
	case SMTP_EV_STARTTLS:
		smtp_starttls_answered(s, id);
		break;
	case SMTP_EV_QUIT:
		s->delivery_open = 0;	/* the caller dropped it */
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
	size_t slen;

	/* RFC 2034 §3: once ENHANCEDSTATUSCODES is offered, every 2xx, 4xx
	 * and 5xx reply has a status.  A server that gave none gets id's for
	 * a 250 and X.0.0 (RFC 3463 §3.1: the class alone is known) for a
	 * refusal: id's detail (5.1.1, no such user) would say more than the
	 * server did.  An empty text gets id's text. */
	if (status == NULL)
		status = code / 100 == 2 ? reply_get(id)->status :
		    code / 100 == 4 ? "4.0.0" : "5.0.0";
	if (len == 0)
		text = NULL;
	slen = status != NULL ? strlen(status) : 0;
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
	smtp_close_session(s, SMTP_CLOSE_EOF);
}

void
smtp_close(struct smtp_session *s)
{
	s->has_event = 0;
	smtp_close_session(s, SMTP_CLOSE_FAILED);
}

void
smtp_timeout(struct smtp_session *s, enum reply_id why)
{
	if (s->state == SMTP_ST_CLOSED)
		return;
	s->has_event = 0;
	smtp_queue(s, why);
	smtp_close_session(s, SMTP_CLOSE_TIMEOUT);
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
	smtp_reset_transaction(s);
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
	return s->msg.wire_size;
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

unsigned
smtp_rcpt_count(const struct smtp_session *s)
{
	return s->nrcpt;
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
