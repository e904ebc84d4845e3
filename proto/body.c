/*
 * body.c: the message decoder (body.h).  A bare LF in DATA, followed:
 * body_feed() finds the line's end in line_run(), one scan for CR, LF or NUL;
 * the LF has no CR before it, so it is a line end only with BODY_BARE_LF
 * (line_end, after_bare_lf set, which keeps the next "." line from ending
 * the message), else bare_line_end() refuses the message.  A line end
 * split between two reads (the CR last in one) goes through BODY_CR.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ascii.h"
#include "body.h"
#include "limits.h"
#include "reply.h"

void
body_start(struct body *b, uint64_t databytes, unsigned flags)
{
	memset(b, 0, sizeof(*b));
	b->databytes = databytes;
	b->flags = flags;
	b->at = BODY_BOL;
	b->in_headers = 1;
	b->refusal = REPLY_NONE;
}

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
refuse(struct body *b, enum reply_id why)
{
	if (refusal_rank(why) > refusal_rank(b->refusal))
		b->refusal = why;
}

static int
is_binary(const struct body *b)
{
	return (b->flags & BODY_BINARY) != 0;
}

/* Append message octets (room checked by the caller). */
static void
store(struct body *b, struct body_out *out, const char *p, size_t n)
{
	if (b->refusal != REPLY_NONE)
		return;
	memcpy(out->buf + out->len, p, n);
	out->len += n;
	b->size += n;
}

/* Header tracking: remember the start of each header line so that the
 * hop count (RFC 5321 §6.3) can look at its field name. */
static void
track_header(struct body *b, const char *p, size_t n)
{
	size_t room = sizeof(b->hdr_name) - b->hdr_name_len;

	if (!b->in_headers || room == 0)
		return;
	if (n > room)
		n = room;
	memcpy(b->hdr_name + b->hdr_name_len, p, n);
	b->hdr_name_len += n;
}

/* Count content octets of the current line and the octets of its end
 * as they came on the wire, against the size limit.  A line may be as
 * long as DATABYTES allows (limits.h says why there is no line limit). */
static void
count_octets(struct body *b, size_t content, size_t ending)
{
	b->line_len += content;
	b->wire_size += content + ending;
	if (b->wire_size > b->databytes)
		refuse(b, REPLY_SIZE_EXCEEDED);
}

/* Content octets of the current line (no LF among them). */
static void
line_content(struct body *b, struct body_out *out, const char *p, size_t n)
{
	count_octets(b, n, 0);
	if (b->in_headers)
		track_header(b, p, n);
	store(b, out, p, n);
}

/* Does the header line start with the field name (lower-case, colon)? */
static int
header_is(const struct body *b, const char *name, size_t n)
{
	return b->hdr_name_len >= n && ascii_eq_n(b->hdr_name, name, n);
}

/* A line ended (CRLF, or bare LF where that is allowed). */
static void
line_end(struct body *b, struct body_out *out)
{
	count_octets(b, 0, 2);
	if (b->in_headers) {
		if (b->line_len == 0) {
			b->in_headers = 0;
		} else if (header_is(b, "received:", 9) ||
		    header_is(b, "delivered-to:", 13)) {
			if (++b->hops >= SMTP_HOPS_MAX)
				refuse(b, REPLY_TOO_MANY_HOPS);
		}
	}
	b->hdr_name_len = 0;
	b->line_len = 0;
	store(b, out, "\n", 1);
}

/* A whole body line with its CRLF, outside the headers: line_content
 * and line_end in one step (the path of nearly every octet). */
static void
line_whole(struct body *b, struct body_out *out, const char *p, size_t n)
{
	count_octets(b, n, 2);
	b->line_len = 0;
	if (b->refusal != REPLY_NONE)
		return;
	memcpy(out->buf + out->len, p, n);
	out->buf[out->len + n] = '\n';
	out->len += n + 1;
	b->size += n + 1;
}

/* A CR or LF that is not part of a CRLF (RFC 5321 §2.3.8). */
static void
bare_line_end(struct body *b, struct body_out *out, char c)
{
	if (is_binary(b)) {
		b->wire_size++;
		store(b, out, &c, 1);
		return;
	}
	refuse(b, REPLY_BARE_LF);
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static int
is_special(char c, int find_nul)
{
	return c == '\r' || c == '\n' || (c == '\0' && find_nul);
}

/*
 * The first CR, LF or (with find_nul) NUL in p[0..len), or len.  Eight
 * octets a step: a word with no octet below 0x0e (CR, LF and NUL are; a
 * text line seldom has another) is skipped with a few instructions, one
 * pass for all three; a word that has one is looked at octet by octet.
 */
static size_t
find_special(const char *p, size_t len, int find_nul)
{
	size_t i = 0;
	size_t j;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (((w - ONES * 0x0e) & ~w & HIGHS) == 0)
			continue;
		for (j = i; j < i + 8; j++) {
			if (is_special(p[j], find_nul))
				return j;
		}
	}
	for (; i < len; i++) {
		if (is_special(p[i], find_nul))
			return i;
	}
	return len;
}

/*
 * The rest of a line, through its line end when that is in p, found by
 * one scan for CR, LF and NUL; a CR not followed by LF and a NUL (both
 * rare) are noted and the scan goes on.  Returns octets consumed; 0 when
 * out is full.
 */
static size_t
line_run(struct body *b, struct body_out *out, const char *p, size_t len)
{
	size_t k = 0;
	size_t first_cr = len;		/* a CR inside the line */
	size_t first_nul = len;
	size_t n;			/* content octets */
	size_t room = out->max - out->len;
	int has_lf = 0;
	int has_cr = 0;
	int ends = 1;

	for (;;) {
		k += find_special(p + k, len - k, !is_binary(b));
		if (k == len || p[k] == '\n')
			break;
		if (p[k] == '\r' && (k + 1 == len || p[k + 1] == '\n'))
			break;
		if (p[k] == '\0' && first_nul == len)
			first_nul = k;
		else if (p[k] == '\r' && first_cr == len)
			first_cr = k;
		k++;
	}
	n = k;
	if (k < len && p[k] == '\n') {
		has_lf = 1;
	} else if (k < len) {
		has_cr = 1;
		has_lf = k + 1 < len;	/* else the LF may come next read */
	}
	/* Room for the content and its LF; else take what fits and come
	 * back for the rest after the flush. */
	if (b->refusal == REPLY_NONE && n + has_lf > room) {
		n = n < room ? n : room;
		ends = 0;
		if (n == 0)
			return 0;
	}
	if (first_cr < n && !is_binary(b))
		refuse(b, REPLY_BARE_LF);
	if (first_nul < n)
		b->nul_read = 1;
	if (ends && has_cr && has_lf && !b->in_headers) {
		line_whole(b, out, p, n);
		b->at = BODY_BOL;
		b->after_bare_lf = 0;
		return n + 2;
	}
	if (n > 0)
		line_content(b, out, p, n);
	if (!ends)
		return n;
	if (!has_lf) {
		if (has_cr)
			b->at = BODY_CR;
		return n + has_cr;
	}
	if (has_cr) {
		line_end(b, out);
		b->at = BODY_BOL;
		b->after_bare_lf = 0;
		return n + 2;
	}
	/* A bare LF. */
	if ((b->flags & (BODY_TEXT | BODY_BARE_LF)) ==
	    (BODY_TEXT | BODY_BARE_LF)) {
		line_end(b, out);
		b->at = BODY_BOL;
		b->after_bare_lf = 1;
		return n + 1;
	}
	/* Never a line end: "\n.\r\n" must not end the data. */
	bare_line_end(b, out, '\n');
	return n + 1;
}

/*
 * One step where line_run cannot go: a line's first octet (a '.' there
 * is dot-stuffing or the end line), the octets after that '.', and the
 * octet after a CR that ended the last read.  Returns the octets it
 * consumed; 0 when p[0] is for line_run (b->at is BODY_MID then).
 */
static size_t
line_edge(struct body *b, struct body_out *out, const char *p, size_t len)
{
	int text = (b->flags & BODY_TEXT) != 0;

	switch (b->at) {
	case BODY_BOL:
		b->at = BODY_MID;
		if (!text || p[0] != '.')
			return 0;
		if (len > 1 && p[1] != '\r' && p[1] != '\n')
			return 1;	/* dot-stuffed, all in this read: the
					   dot dropped as BODY_DOT would */
		b->at = BODY_DOT;
		b->wire_size++;		/* the line's octet count */
		b->line_len++;
		return 1;
	case BODY_DOT:
		if (p[0] == '\r') {
			b->at = BODY_DOT_CR;
			return 1;
		}
		b->at = BODY_MID;
		if (p[0] == '\n') {
			/* "." ended by a bare LF: a smuggling attempt
			 * whatever BARELF says. */
			refuse(b, REPLY_BARE_LF);
			return 1;
		}
		/* A dot-stuffed line: the dot is dropped (§4.5.2), and
		 * counts neither in the line (§4.5.3.1.6: "not counting
		 * the leading dot duplicated for transparency") nor in the
		 * size (RFC 1870 §4). */
		b->wire_size--;
		b->line_len--;
		return 0;
	case BODY_DOT_CR:
		if (p[0] != '\n') {
			bare_line_end(b, out, '\r');
			b->at = BODY_MID;
			return 0;
		}
		if (b->after_bare_lf) {
			/* the line before ended in a bare LF: not the end */
			refuse(b, REPLY_BARE_LF);
			b->line_len = 0;
			b->at = BODY_BOL;
			b->after_bare_lf = 0;
			return 1;
		}
		b->wire_size -= 1;
		b->at = BODY_END;
		return 1;
	case BODY_CR:
		if (p[0] == '\n') {
			line_end(b, out);
			b->at = BODY_BOL;
			b->after_bare_lf = 0;
			return 1;
		}
		/* The CR ended the last read and is bare: count it as the
		 * line content it is, as line_run does when the same octets
		 * come in one read (the size limit and the hop count must
		 * not depend on the split). */
		if (!is_binary(b))
			refuse(b, REPLY_BARE_LF);
		line_content(b, out, "\r", 1);
		b->at = BODY_MID;
		return 0;
	case BODY_MID:
	case BODY_END:
		break;
	}
	return 0;
}

/* Lines through line_run, their edges through line_edge; stops when out
 * is full and after the end line. */
static size_t
feed_octets(struct body *b, struct body_out *out, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && b->at != BODY_END) {
		size_t n;

		if (out->len >= out->max)
			return i;
		if (b->at == BODY_BOL && p[i] != '.') {
			b->at = BODY_MID;	/* most lines: no call */
		} else if (b->at != BODY_MID) {
			i += line_edge(b, out, p + i, len - i);
			if (b->at != BODY_MID || i == len)
				continue;
		}
		n = line_run(b, out, p + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return i;
}

size_t
body_feed(struct body *b, struct body_out *out, const char *p, size_t len)
{
	size_t n;

	b->nul_read = 0;
	n = feed_octets(b, out, p, len);
	/* RFC 5321 §4.5.2 allows only 7- or 8-bit text: we refuse NUL
	 * (downstream C tools truncate at it), except in BINARYMIME.  Every
	 * octet but CR, LF and a line's first '.' goes through line_run,
	 * which notes a NUL; the refusal counts from the end of the read,
	 * so that the octets stored before it do not depend on where in
	 * the read the NUL was. */
	if (b->nul_read)
		refuse(b, REPLY_NUL_BYTE);
	return n;
}

void
body_finish(struct body *b, struct body_out *out)
{
	if (b->at == BODY_CR)
		bare_line_end(b, out, '\r');
}
