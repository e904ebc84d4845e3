/*
 * test_body.c: the message decoder (proto/body.c).  Every case is fed
 * whole, octet by octet, in random splits, and into a small output
 * buffer that fills again and again; all ways must agree on what is
 * stored, the refusal, the octets counted and where the text ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/body.h"
#include "../../proto/limits.h"
#include "tap.h"

#define STORE_MAX (1 << 20)

struct result {
	char stored[STORE_MAX];
	size_t stored_len;
	size_t consumed;	/* octets read before the end line's end */
	int ended;		/* text: the end line was read */
	enum reply_id refusal;
	uint64_t size;
	uint64_t wire_size;
	unsigned hops;
};

static struct result whole, other;
static char outbuf[SMTP_BODY_CHUNK_MAX + 1];

static void
flush(struct body_out *o, struct result *r)
{
	if (o->len > STORE_MAX - r->stored_len)
		o->len = STORE_MAX - r->stored_len;
	memcpy(r->stored + r->stored_len, o->buf, o->len);
	r->stored_len += o->len;
	o->len = 0;
}

/* Feed in pieces: piece 0 means whole, else the largest piece (random
 * sizes from seed); out_max bounds the output buffer. */
static void
run(const char *in, size_t len, unsigned flags, uint64_t databytes,
    size_t piece, unsigned seed, size_t out_max, struct result *r)
{
	struct body b;
	struct body_out o = { outbuf, 0, out_max };
	size_t off = 0;
	unsigned guard = 0;

	memset(r, 0, sizeof(*r));
	srand(seed);
	body_start(&b, databytes, flags);
	while (off < len && guard++ < 10000000) {
		size_t n = piece == 0 ? len - off :
		    1 + (size_t)rand() % piece;
		size_t used;

		if (n > len - off)
			n = len - off;
		used = body_feed(&b, &o, in + off, n);
		off += used;
		if (b.at == BODY_END)
			break;
		if (used < n)
			flush(&o, r);	/* the buffer was full */
	}
	if (b.at != BODY_END)
		body_finish(&b, &o);
	flush(&o, r);
	r->consumed = off;
	r->ended = b.at == BODY_END;
	r->refusal = b.refusal;
	r->size = b.size;
	r->wire_size = b.wire_size;
	r->hops = b.hops;
}

static int
same(const struct result *a, const struct result *b)
{
	if (a->consumed != b->consumed || a->ended != b->ended ||
	    a->refusal != b->refusal || a->wire_size != b->wire_size ||
	    a->hops != b->hops)
		return 0;
	/* What was stored before a refusal depends on the flushes. */
	if (a->refusal != REPLY_NONE)
		return 1;
	return a->size == b->size && a->stored_len == b->stored_len &&
	    memcmp(a->stored, b->stored, a->stored_len) == 0;
}

/* One case, all ways; want: stored octets (NULL: refused, not checked). */
static void
check(const char *name, const char *in, size_t len, unsigned flags,
    uint64_t databytes, const char *want, size_t want_len,
    enum reply_id want_refusal, size_t want_consumed, int want_ended)
{
	unsigned seed;
	int all_same = 1;

	run(in, len, flags, databytes, 0, 0, SMTP_BODY_CHUNK_MAX, &whole);
	ok(whole.refusal == want_refusal, "%s: refusal %d (got %d)", name,
	    (int)want_refusal, (int)whole.refusal);
	ok(whole.consumed == want_consumed && whole.ended == want_ended,
	    "%s: %zu octets read, %s (got %zu, %d)", name, want_consumed,
	    want_ended ? "ended" : "not ended", whole.consumed, whole.ended);
	if (want != NULL) {
		ok(whole.stored_len == want_len &&
		    memcmp(whole.stored, want, want_len) == 0 &&
		    whole.size == want_len, "%s: stored octets", name);
	}
	run(in, len, flags, databytes, 1, 0, SMTP_BODY_CHUNK_MAX, &other);
	ok(same(&whole, &other), "%s: octet by octet", name);
	for (seed = 1; seed <= 40; seed++) {
		run(in, len, flags, databytes, 1 + seed % 13, seed,
		    SMTP_BODY_CHUNK_MAX, &other);
		all_same &= same(&whole, &other);
		run(in, len, flags, databytes, 1 + seed % 29, seed,
		    1 + seed % 9, &other);
		all_same &= same(&whole, &other);
	}
	ok(all_same, "%s: random splits, small output buffers", name);
}

static size_t
len_of(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

#define CASE(name, in, flags, limit, want, refusal, consumed, ended) \
	check(name, in, sizeof(in) - 1, flags, limit, want, len_of(want), \
	    refusal, consumed, ended)

static char big[300000];

int
main(void)
{
	const unsigned T = BODY_TEXT;
	const uint64_t L = SMTP_DATABYTES_DEFAULT;
	size_t n, i;

	CASE("plain text", "a\r\nb\r\n.\r\n", T, L, "a\nb\n", REPLY_NONE,
	    9, 1);
	ok(whole.wire_size == 6, "plain text: the end line is not counted");
	CASE("dot-stuffing", "..x\r\n.\r\n", T, L, ".x\n", REPLY_NONE, 8, 1);
	ok(whole.wire_size == 4, "dot-stuffing: the dot is not counted");
	CASE("headers", "Subject: x\r\n\r\nbody\r\n.\r\n", T, L,
	    "Subject: x\n\nbody\n", REPLY_NONE, 23, 1);
	CASE("control octets that are data",
	    "tab\there\x01\x0b\x0c and more\tand more\r\n.\r\n", T, L,
	    "tab\there\x01\x0b\x0c and more\tand more\n", REPLY_NONE, 34, 1);
	CASE("input after the end", "a\r\n.\r\nMAIL", T, L, "a\n", REPLY_NONE,
	    6, 1);
	CASE("empty message", ".\r\n", T, L, "", REPLY_NONE, 3, 1);
	CASE("bare LF refused", "a\nb\r\n.\r\n", T, L, NULL, REPLY_BARE_LF,
	    8, 1);
	CASE("bare LF with BARELF", "a\nb\r\n.\r\n", T | BODY_BARE_LF, L,
	    "a\nb\n", REPLY_NONE, 8, 1);
	CASE("bare LF before the end line", "a\n.\r\nb\r\n.\r\n",
	    T | BODY_BARE_LF, L, NULL, REPLY_BARE_LF, 11, 1);
	CASE("LF . CRLF never ends", "a\r\nx\n.\r\nb\r\n.\r\n", T, L, NULL,
	    REPLY_BARE_LF, 14, 1);
	CASE("dot and bare LF", ".\nb\r\n.\r\n", T | BODY_BARE_LF, L, NULL,
	    REPLY_BARE_LF, 8, 1);
	CASE("bare CR", "a\rb\r\n.\r\n", T, L, NULL, REPLY_BARE_LF, 8, 1);
	CASE("bare CR before the line end", "ab\r\r\n.\r\n", T, L, NULL,
	    REPLY_BARE_LF, 8, 1);
	CASE(".CR without LF", ".\rx\r\n.\r\n", T, L, NULL, REPLY_BARE_LF,
	    8, 1);
	CASE("NUL", "a\0b\r\n.\r\n", T, L, NULL, REPLY_NUL_BYTE, 8, 1);
	CASE("over DATABYTES", "abcdef\r\n.\r\n", T, 5, NULL,
	    REPLY_SIZE_EXCEEDED, 11, 1);
	CASE("at DATABYTES", "abc\r\n.\r\n", T, 5, "abc\n", REPLY_NONE, 8, 1);
	CASE("size beats bare LF", "a\nbcdefgh\r\n.\r\n", T, 5, NULL,
	    REPLY_SIZE_EXCEEDED, 14, 1);
	CASE("chunk: raw", "a.\r\n.\r\nb", 0, L, "a.\n.\nb", REPLY_NONE, 8,
	    0);
	CASE("chunk: bare LF refused", "a\nb", BODY_BARE_LF, L, NULL,
	    REPLY_BARE_LF, 3, 0);
	CASE("chunk: CR at the end", "abc\r", 0, L, NULL, REPLY_BARE_LF, 4,
	    0);
	CASE("binary: CR, LF, NUL are data", "a\rb\nc\0d\r\ne\r",
	    BODY_BINARY, L, NULL, REPLY_NONE, 11, 0);
	ok(whole.stored_len == 10 &&
	    memcmp(whole.stored, "a\rb\nc\0d\ne\r", 10) == 0,
	    "binary: stored as sent, CRLF as LF");

	/* The hop count: RFC 5321 §6.3, case-insensitive field names. */
	n = 0;
	for (i = 0; i < SMTP_HOPS_MAX - 1; i++) {
		memcpy(big + n, i % 2 ? "RECEIVED: x\r\n" : "Delivered-To: y\r\n",
		    i % 2 ? 13 : 17);
		n += i % 2 ? 13 : 17;
	}
	memcpy(big + n, "\r\nReceived: body\r\n.\r\n", 21);
	check("99 hops", big, n + 21, T, L, NULL, 0, REPLY_NONE, n + 21, 1);
	ok(whole.hops == SMTP_HOPS_MAX - 1, "99 hops counted");
	memcpy(big + n, "Received: z\r\n\r\n.\r\n", 18);
	check("100 hops", big, n + 18, T, L, NULL, 0, REPLY_TOO_MANY_HOPS,
	    n + 18, 1);

	/* A line longer than the output buffer, and a message that fills
	 * it several times. */
	memset(big, 'x', 200000);
	memcpy(big + 200000, "\r\n.\r\n", 5);
	check("a 200 KB line", big, 200005, T, L, NULL, 0, REPLY_NONE,
	    200005, 1);
	ok(whole.size == 200001 && whole.stored[200000] == '\n',
	    "a 200 KB line: stored whole");
	for (i = 0; i + 80 <= 200000; i += 80)
		memcpy(big + i, i % 160 ? "..xxxxxxx\r\n" : "yyyyyyyyy\r\n", 11);
	check("many lines", big, 200005, T, L, NULL, 0, REPLY_NONE, 200005,
	    1);
	return tap_done();
}
