/*
 * logesc.c: the one escaping of client text for the log (logesc.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "logesc.h"
#include "octets.h"

#define LOGESC_CUT "\\..."
#define LOGESC_CUT_LEN (sizeof(LOGESC_CUT) - 1)

/* Octet c stands for itself (logesc.h): 0x21-0x7e without '"', '=' and
 * '\\'; one load per octet (octets.h). */
#define LOGESC_PLAIN_W0 \
	(0xfffffffe00000000ULL & ~(1ULL << '"') & ~(1ULL << '='))
#define LOGESC_PLAIN_W1 (0x7fffffffffffffffULL & ~(1ULL << ('\\' - 64)))
#define LOGESC_PLAIN(c) \
	(unsigned char)OCTETS_IN(LOGESC_PLAIN_W0, LOGESC_PLAIN_W1, c)

static const unsigned char logesc_plain[256] = {
	OCTETS_TABLE(LOGESC_PLAIN)
};

int
logesc_add(struct buf *b, const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t room = b->len <= b->cap ? b->cap - b->len : 0;
	char *start = b->p + b->len;
	char *out = start;
	size_t keep = 0;	/* what stays when the value must be cut */
	size_t lim;
	size_t i;

	if (max > room)
		max = room;
	lim = len < max ? len : max;
	/* The common case first: a plain run, copied whole (every octet
	 * in it ends an item, so the cut can fall anywhere in it). */
	for (i = 0; i < lim && logesc_plain[u[i]]; i++)
		;
	memcpy(out, s, i);
	out += i;
	keep = i + LOGESC_CUT_LEN <= max ? i :
	    max >= LOGESC_CUT_LEN ? max - LOGESC_CUT_LEN : 0;
	/* Then the rest; a value that does not fit is cut back to the
	 * last whole octet or escape that leaves room for the mark. */
	for (; i < len; i++) {
		unsigned char c = u[i];
		size_t used = (size_t)(out - start);

		if (used + LOGESC_CUT_LEN <= max)
			keep = used;
		if (logesc_plain[c]) {
			if (used + 1 > max)
				break;
			*out++ = (char)c;
		} else {
			if (used + 4 > max)
				break;
			*out++ = '\\';
			*out++ = 'x';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	if (i < len) {
		if (max < LOGESC_CUT_LEN) {
			b->overflow = 1;
			return -1;
		}
		memcpy(start + keep, LOGESC_CUT, LOGESC_CUT_LEN);
		out = start + keep + LOGESC_CUT_LEN;
	}
	b->len += (size_t)(out - start);
	return 0;
}

const char *
logesc(char *out, size_t cap, const char *s, size_t len)
{
	struct buf b;

	buf_init(&b, out, cap - 1);
	(void)logesc_add(&b, s, len, cap - 1);
	out[b.len] = '\0';
	return out;
}
