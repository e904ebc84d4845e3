/*
 * test_fuzz_findings.c: what the fuzzers found, as readable regression
 * tests (a crash the fuzzer finds becomes a seed and a unit test).  Each case is a session fed whole, octet by octet and in random
 * pieces; the replies must be the same every way and equal the expected
 * transcript.  The raw inputs are seeds in tests/fuzz/corpus/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/smtp.h"
#include "tap.h"

#define TXN "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n" \
	"DATA\r\n"

struct finding {
	const char *name;
	uint64_t databytes;
	unsigned flags;
	const char *input;
	const char *want;	/* the replies after the 354, in order */
};

/* 1001 octets: one more than RFC 5321 §4.5.3.1.6's text line with its
 * CRLF, which smtpd refused until it dropped the line limit (limits.h). */
#define LONG_LINE \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"

#define SIZE_R "552 5.3.4 Message size exceeds the fixed limit\r\n"
#define ACCEPTED_R "250 2.0.0 Message accepted\r\n"

static const struct finding findings[] = {
	/* fuzz_engine, seed finding-size-vs-line: a line over 1000 octets
	 * in a message over DATABYTES.  Fed whole, the line limit was
	 * checked first for the whole run of octets; fed in pieces, the
	 * size limit, crossed many octets earlier, was seen first.  Since
	 * 691b5b7 the reasons have a fixed rank (proto/smtp.c
	 * refusal_rank: size before hops, NUL, bare CR/LF), so the size
	 * wins wherever it was crossed, every way.  There is no line limit
	 * any more: the long line is refused for its size alone. */
	{ "size limit crossed inside a 1001-octet line: 552 every way", 10, 0,
	    TXN LONG_LINE "\r\n.\r\nNOOP\r\n",
	    SIZE_R "250 2.0.0 OK\r\n" },
	{ "a 1001-octet line, then the size limit: 552 every way",
	    1010, 0, TXN LONG_LINE "yyyyyyyyyy\r\n.\r\nNOOP\r\n",
	    SIZE_R "250 2.0.0 OK\r\n" },
	/* The 999th octet of the line is the 999th of the message. */
	{ "size limit at the 999th octet of the line: 552 every way", 998,
	    0, TXN LONG_LINE "\r\n.\r\nNOOP\r\n", SIZE_R "250 2.0.0 OK\r\n" },
	{ "the long line alone, within DATABYTES: accepted every way", 100000,
	    0, TXN LONG_LINE "\r\n.\r\nNOOP\r\n",
	    ACCEPTED_R "250 2.0.0 OK\r\n" },
	/* fuzz_engine, seed fuzz_engine-cr-at-read-end: a bare CR that
	 * ended a read was not counted as line content, one inside a read
	 * was, so DATABYTES (and the hop count) depended on the split. */
	{ "a bare CR at the end of a read counts like one inside it", 12, 0,
	    TXN "123456789\rZ\r\n.\r\nNOOP\r\n", SIZE_R "250 2.0.0 OK\r\n" },
};

struct transcript {
	char out[8192];
	size_t len;
};

static void
drain(struct smtp_session *s, struct transcript *t)
{
	const char *out;
	size_t n = smtp_output(s, &out);

	if (n > sizeof(t->out) - t->len)
		n = sizeof(t->out) - t->len;
	memcpy(t->out + t->len, out, n);
	t->len += n;
	smtp_output_done(s, n);
}

static void
answer(struct smtp_session *s, const struct smtp_event *ev)
{
	switch (ev->type) {
	case SMTP_EV_MAIL:
		smtp_answer(s, REPLY_MAIL_OK);
		break;
	case SMTP_EV_RCPT:
		smtp_answer(s, REPLY_RCPT_OK);
		break;
	case SMTP_EV_DATA:
		smtp_answer(s, REPLY_DATA_GO);
		break;
	case SMTP_EV_DATA_END:
		smtp_answer(s, REPLY_MESSAGE_ACCEPTED);
		break;
	default:
		smtp_answer(s, REPLY_NONE);
		break;
	}
}

/* piece 0: random sizes from *seed. */
static void
run(const struct finding *f, size_t piece, unsigned *seed,
    struct transcript *t)
{
	static struct smtp_session s;
	struct smtp_config cfg = { "mx.test", f->databytes, 10, NULL,
	    f->flags, 0 };
	size_t len = strlen(f->input);
	size_t off = 0;

	t->len = 0;
	smtp_init(&s, &cfg);
	while (!smtp_is_closed(&s)) {
		const struct smtp_event *ev;
		size_t n;
		size_t end;

		while ((ev = smtp_event(&s)) != NULL)
			answer(&s, ev);
		drain(&s, t);
		if (off == len) {
			smtp_eof(&s);
			break;
		}
		end = piece ? off + piece : off + 1 + (size_t)(rand_r(seed) % 97);
		if (end > len)
			end = len;
		while (off < end && (n = smtp_feed(&s, f->input + off,
		    end - off)) > 0) {
			off += n;
			while ((ev = smtp_event(&s)) != NULL)
				answer(&s, ev);
			drain(&s, t);
		}
	}
	drain(&s, t);
}

/* The replies after the 354 (the ones the finding is about). */
static const char *
after_go(const struct transcript *t, size_t *len)
{
	const char *go = NULL;
	size_t i;

	for (i = 0; i + 4 <= t->len; i++) {
		if ((i == 0 || t->out[i - 1] == '\n') &&
		    memcmp(t->out + i, "354 ", 4) == 0)
			go = t->out + i;
	}
	if (go == NULL) {
		*len = 0;
		return "";
	}
	go = (const char *)memchr(go, '\n', (size_t)(t->out + t->len - go)) + 1;
	*len = (size_t)(t->out + t->len - go);
	return go;
}

int
main(void)
{
	static struct transcript whole;
	static struct transcript t;
	unsigned seed = 7;
	size_t i;
	int k;

	for (i = 0; i < sizeof(findings) / sizeof(findings[0]); i++) {
		const struct finding *f = &findings[i];
		const char *p;
		size_t len;

		run(f, strlen(f->input), &seed, &whole);
		p = after_go(&whole, &len);
		is_mem(p, len, f->want, f->name);
		run(f, 1, &seed, &t);
		ok(t.len == whole.len && memcmp(t.out, whole.out, t.len) == 0,
		    "  ... the same octet by octet");
		for (k = 0; k < 3; k++) {
			run(f, 0, &seed, &t);
			ok(t.len == whole.len &&
			    memcmp(t.out, whole.out, t.len) == 0,
			    "  ... the same in random pieces");
		}
	}
	return tap_done();
}
