/*
 * logesc.c: the one escaping of client text for the log (logesc.h).
 */
#include <stddef.h>

#include "buf.h"
#include "logesc.h"

#define LOGESC_CUT "\\..."
#define LOGESC_CUT_LEN (sizeof(LOGESC_CUT) - 1)

static int
logesc_is_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

int
logesc_add(struct buf *b, const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t room = b->len <= b->cap ? b->cap - b->len : 0;
	size_t need = 0;
	size_t limit;
	size_t i;
	char *out;

	if (max > room)
		max = room;
	for (i = 0; i < len && need <= max; i++)
		need += logesc_is_plain(u[i]) ? 1 : 4;
	if (need <= max) {
		limit = max;		/* all of it fits */
	} else if (max >= LOGESC_CUT_LEN) {
		limit = max - LOGESC_CUT_LEN;
	} else {
		b->overflow = 1;
		return -1;
	}
	out = b->p + b->len;
	for (i = 0; i < len; i++) {
		if (logesc_is_plain(u[i])) {
			if (limit < 1)
				break;
			*out++ = (char)u[i];
			limit--;
		} else {
			if (limit < 4)
				break;
			*out++ = '\\';
			*out++ = 'x';
			*out++ = hex[u[i] >> 4];
			*out++ = hex[u[i] & 15];
			limit -= 4;
		}
	}
	if (i < len) {
		for (i = 0; i < LOGESC_CUT_LEN; i++)
			*out++ = LOGESC_CUT[i];
	}
	b->len = (size_t)(out - b->p);
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
