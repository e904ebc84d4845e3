/*
 * diff_session.c: one scripted session through the engine, written down
 * as a transcript (tests/fuzz/differential.sh).  The script builds this
 * file twice, once against an older engine and once against the current
 * one, and links both into tests/fuzz/differential.c; so it uses only
 * the API both have.  DIFF_RUN names the entry point; DIFF_RELAYED,
 * defined when both engines have smtp_answer_relayed, makes some RCPT
 * and message-end answers relayed ones.
 *
 * The transcript holds every reply octet, every event with all of its
 * fields, what each smtp_feed call consumed, smtp_in_data() whenever no
 * event waits, and how the session ended: two engines that agree on it
 * behave the same for this input, split this way.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp.h"

#ifndef DIFF_RUN
#define DIFF_RUN diff_run
#endif

size_t DIFF_RUN(const char *in, size_t len, uint32_t seed, char *log,
    size_t cap);

struct transcript {
	char *p;
	size_t len;
	size_t cap;
};

static void
put(struct transcript *t, const void *p, size_t n)
{
	if (n > t->cap - t->len)
		n = t->cap - t->len;
	memcpy(t->p + t->len, p, n);
	t->len += n;
}

static void
put_s(struct transcript *t, const char *s)
{
	put(t, s, strlen(s));
}

static void
put_u(struct transcript *t, uint64_t v)
{
	char d[24];
	size_t n = 0;

	do {
		d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put(t, d + sizeof(d) - n, n);
}

static uint32_t
next(uint32_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 17;
	*r ^= *r << 5;
	return *r;
}

static void
drain(struct smtp_session *s, struct transcript *t, uint32_t *r, int all)
{
	const char *out;
	size_t n = smtp_output(s, &out);

	if (n == 0)
		return;
	if (!all && next(r) % 3 == 0)
		n = 1 + next(r) % n;	/* a partial write */
	put_s(t, "<");
	put(t, out, n);
	smtp_output_done(s, n);
}

static void
log_event(struct transcript *t, const struct smtp_session *s,
    const struct smtp_event *ev)
{
	put_s(t, "\n{ev ");
	put_u(t, (uint64_t)ev->type);
	if (ev->helo != NULL) {
		put_s(t, " helo=");
		put(t, ev->helo, ev->helo_len);
	}
	put_s(t, " ehlo=");
	put_u(t, (uint64_t)ev->is_ehlo);
	if (ev->path != NULL) {
		put_s(t, " path=");
		put(t, ev->path->mailbox, ev->path->len);
		put_s(t, " dom=");
		put_u(t, ev->path->domain_off);
		put_s(t, " utf8=");
		put_u(t, (uint64_t)ev->path->is_utf8);
	}
	if (ev->params != NULL) {
		put_s(t, " body=");
		put_u(t, (uint64_t)ev->params->body);
		put_s(t, " size=");
		put_u(t, ev->params->has_size ? ev->params->size + 1 : 0);
		put_s(t, " smtputf8=");
		put_u(t, (uint64_t)ev->params->smtputf8);
	}
	if (ev->data != NULL) {
		put_s(t, " data=");
		put_u(t, ev->len);
		put_s(t, ":");
		put(t, ev->data, ev->len);
	}
	put_s(t, " refusal=");
	put_u(t, (uint64_t)ev->refusal);
	if (ev->verb != NULL) {
		put_s(t, " verb=");
		put_s(t, ev->verb);
	}
	if (ev->mech != NULL) {
		put_s(t, " mech=");
		put(t, ev->mech, ev->mech_len);
	}
	put_s(t, " initial=");
	put_u(t, (uint64_t)ev->has_initial);
	put_s(t, " size=");
	put_u(t, ev->size);
	put_s(t, " bdat=");
	put_u(t, (uint64_t)ev->is_bdat);
	put_s(t, " errors=");
	put_u(t, smtp_errors(s));
	put_s(t, " octets=");
	put_u(t, smtp_message_octets(s));
	put_s(t, "}\n");
}

#ifdef DIFF_RELAYED
/* An LMTP server's reply passed on (deliver/lmtp.c), and a few that
 * must fall back to the catalogue reply: a code of another class, a
 * status of another class, a code out of range. */
struct relayed {
	enum reply_id id;
	int code;
	const char *status;
	const char *text;
};

static const struct relayed relayed_rcpt[] = {
	{ REPLY_RCPT_OK, 250, "2.1.5", "OK" },
	{ REPLY_RCPT_OK, 251, NULL, "will forward" },
	{ REPLY_NO_MAILBOX, 550, "5.1.1", "no such user\r\n250 injected" },
	{ REPLY_RCPT_TEMP_FAIL, 452, "4.2.2", "mailbox full" },
	{ REPLY_TOO_MANY_RCPTS, 452, "4.5.3", "too many" },
	{ REPLY_NO_MAILBOX, 450, "4.1.1", "class of another reply" },
	{ REPLY_RCPT_OK, 250, "5.1.1", "status of another class" },
	{ REPLY_RCPT_OK, 199, NULL, "out of range" },
};

static const struct relayed relayed_end[] = {
	{ REPLY_MESSAGE_ACCEPTED, 250, "2.0.0", "delivered" },
	{ REPLY_TRANSACTION_FAILED, 554, "5.6.0", "rejected" },
	{ REPLY_TRANSACTION_FAILED, 552, NULL, "over quota" },
	{ REPLY_TEMP_FAIL, 451, "4.3.0", "later" },
	{ REPLY_TRANSACTION_FAILED, 250, NULL, "class of another reply" },
};

static void
answer_relayed(struct smtp_session *s, const struct relayed *rel)
{
	smtp_answer_relayed(s, rel->id, rel->code, rel->status, rel->text,
	    strlen(rel->text));
}
#endif

/* The caller's answer: a few likely ones, picked by the seed. */
static void
answer(struct smtp_session *s, const struct smtp_event *ev, uint32_t *r,
    int *tls_go)
{
	uint32_t x = next(r) % 16;

	switch (ev->type) {
	case SMTP_EV_HELO:
		smtp_answer(s, x == 0 ? REPLY_TEMP_FAIL : REPLY_NONE);
		return;
	case SMTP_EV_MAIL:
		smtp_answer(s, x == 0 ? REPLY_TEMP_FAIL : REPLY_MAIL_OK);
		return;
	case SMTP_EV_RCPT:
		if (x == 0)
			smtp_answer(s, REPLY_RELAY_DENIED);
		else if (x == 1)
			smtp_answer(s, REPLY_TOO_MANY_RCPTS);
		else if (x == 2)
			smtp_answer_text(s, REPLY_RCPT_OK, "fine\r\nby me", 11);
#ifdef DIFF_RELAYED
		else if (x == 3 || x == 4)
			answer_relayed(s, &relayed_rcpt[next(r) %
			    (sizeof(relayed_rcpt) / sizeof(relayed_rcpt[0]))]);
#endif
		else
			smtp_answer(s, REPLY_RCPT_OK);
		return;
	case SMTP_EV_DATA:
		smtp_answer(s, x == 0 ? REPLY_TEMP_FAIL : REPLY_DATA_GO);
		return;
	case SMTP_EV_DATA_END:
		if (x == 0)
			smtp_answer(s, REPLY_TEMP_FAIL);
		else if (x == 1)
			smtp_answer(s, REPLY_SHUTDOWN);
		else if (x == 2)
			smtp_answer_text(s, REPLY_MESSAGE_ACCEPTED, "queued", 6);
#ifdef DIFF_RELAYED
		else if (x == 3 || x == 4)
			answer_relayed(s, &relayed_end[next(r) %
			    (sizeof(relayed_end) / sizeof(relayed_end[0]))]);
#endif
		else
			smtp_answer(s, REPLY_MESSAGE_ACCEPTED);
		return;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		if (x < 6)
			smtp_answer_text(s, REPLY_AUTH_CHALLENGE, "VXNlcm5hbWU6",
			    12);
		else if (x < 10)
			smtp_answer(s, REPLY_AUTH_OK);
		else if (x == 10)
			smtp_answer(s, REPLY_AUTH_TOO_MANY_FAILURES);
		else
			smtp_answer(s, REPLY_AUTH_FAILED);
		return;
	case SMTP_EV_STARTTLS:
		if (x < 4) {
			smtp_answer(s, REPLY_TLS_TEMP_FAIL);
		} else {
			smtp_answer(s, REPLY_STARTTLS_GO);
			*tls_go = 1;
		}
		return;
	case SMTP_EV_RSET:
	case SMTP_EV_BODY:
	case SMTP_EV_DATA_ABORT:
	case SMTP_EV_QUIT:
	case SMTP_EV_REFUSED:
		smtp_answer(s, REPLY_NONE);
		return;
	}
}

static struct smtp_session session;

size_t
DIFF_RUN(const char *in, size_t len, uint32_t seed, char *log, size_t cap)
{
	static const char *const mechs[] = { NULL, "PLAIN LOGIN", "PLAIN" };
	struct smtp_config cfg;
	struct transcript t = { log, 0, cap };
	struct smtp_session *s = &session;
	const struct smtp_event *ev;
	uint32_t r = seed | 1;
	size_t off = 0;
	unsigned stalls = 0;
	unsigned steps = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.hostname = "mx.example";
	cfg.databytes = next(&r) % 2 ? 100000 : 40 + next(&r) % 2000;
	cfg.maxrcpts = 1 + next(&r) % 4;
	cfg.auth_mechs = mechs[next(&r) % 3];
	cfg.flags = next(&r) & 0x7f;
	cfg.error_limit = next(&r) % 2 ? 0 : 3 + next(&r) % 10;
	smtp_init(s, &cfg);
	while (steps++ < 100000) {
		int tls_go = 0;

		while ((ev = smtp_event(s)) != NULL) {
			log_event(&t, s, ev);
			answer(s, ev, &r, &tls_go);
			if (tls_go) {
				drain(s, &t, &r, 1);
				put_s(&t, "\n[tls]\n");
				smtp_tls_started(s);
			}
		}
		drain(s, &t, &r, 0);
		if (smtp_is_closed(s))
			break;
		put_s(&t, smtp_in_data(s) ? "[d]" : "");
		if (off < len) {
			size_t piece = 1 + next(&r) % (next(&r) % 4 == 0 ?
			    4096 : 64);
			size_t n;

			if (piece > len - off)
				piece = len - off;
			n = smtp_feed(s, in + off, piece);
			(void)smtp_fed_secret(s);
			put_s(&t, "[");
			put_u(&t, n);
			put_s(&t, "]");
			off += n;
			if (n == 0 && smtp_event(s) == NULL) {
				const char *o;

				if (smtp_output(s, &o) == 0 && ++stalls > 3) {
					put_s(&t, "\n[stall]\n");
					break;
				}
			} else {
				stalls = 0;
			}
			continue;
		}
		if (seed % 3 == 0)
			smtp_timeout(s, REPLY_TIMEOUT);
		else
			smtp_eof(s);
	}
	drain(s, &t, &r, 1);
	put_s(&t, "\n[end ");
	put_u(&t, (uint64_t)smtp_close_reason(s));
	put_s(&t, " auth=");
	put_u(&t, (uint64_t)smtp_is_authenticated(s));
	put_s(&t, " with=");
	put_s(&t, smtp_with_protocol(s));
	put_s(&t, "]\n");
	return t.len;
}
