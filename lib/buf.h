/*
 * buf.h: a bounded text buffer over caller-owned memory.  Appends that do
 * not fit set `overflow` and append nothing; the buffer never grows.
 * The bytes are not NUL-terminated unless buf_nul() succeeds.
 */
#ifndef SMTP_BUF_H
#define SMTP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	char *p;
	size_t len;
	size_t cap;
	int overflow;
};

/* Use mem[0..cap) as an empty buffer. */
static inline void
buf_init(struct buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = mem == NULL ? 0 : cap;
	b->overflow = 0;
}

/*
 * Append; return 0, or -1 (and set overflow) when it does not fit.
 * Inline: the trace fields and log lines are made of many appends of a
 * few octets each, mostly of known length, whose memcpy the compiler
 * then turns into a few moves instead of a call.
 */
static inline int
buf_add(struct buf *b, const char *s, size_t len)
{
	if (len == 0)
		return 0;
	/* len > cap - b->len, written so that it cannot overflow. */
	if (b->len > b->cap || len > b->cap - b->len) {
		b->overflow = 1;
		return -1;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	return 0;
}

static inline int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* Append what fits of s[0..len): a log line is cut, not dropped whole.
 * Sets overflow when it cuts. */
static inline void
buf_addcut(struct buf *b, const char *s, size_t len)
{
	size_t room = b->len <= b->cap ? b->cap - b->len : 0;

	if (len > room) {
		len = room;
		b->overflow = 1;
	}
	(void)buf_add(b, s, len);
}

/* A string literal, its length known when compiled (no strlen). */
#define buf_addlit(b, lit) buf_add((b), "" lit "", sizeof(lit) - 1)

static inline int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_addu64(struct buf *b, uint64_t n);
/* n in lower-case hexadecimal, with leading zeros to min_digits (<= 16). */
int buf_addhex(struct buf *b, uint64_t n, size_t min_digits);
/* Append a 0 that is not counted in len; 0 or -1. */
int buf_nul(struct buf *b);

#endif
