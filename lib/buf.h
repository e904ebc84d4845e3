/*
 * buf.h: a bounded text buffer over caller-owned memory.  Appends that do
 * not fit set `overflow` and append nothing; the buffer never grows.
 * The bytes are not NUL-terminated unless buf_nul() succeeds.
 */
#ifndef SMTP_BUF_H
#define SMTP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *p;
	size_t len;
	size_t cap;
	int overflow;
};

/* Use mem[0..cap) as an empty buffer. */
void buf_init(struct buf *b, char *mem, size_t cap);
/* Append; return 0, or -1 (and set overflow) when it does not fit. */
int buf_add(struct buf *b, const char *s, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addu64(struct buf *b, uint64_t n);
/* n in lower-case hexadecimal, with leading zeros to min_digits (<= 16). */
int buf_addhex(struct buf *b, uint64_t n, size_t min_digits);
/* Append a 0 that is not counted in len; 0 or -1. */
int buf_nul(struct buf *b);

#endif
