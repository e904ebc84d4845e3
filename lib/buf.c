/*
 * buf.c: the bounded text buffer of buf.h, its appends of numbers (the
 * others are inline there).  Memory belongs to the caller; nothing here
 * allocates.  Every append either fits whole or changes nothing but the
 * overflow flag, so a caller may undo a failed sequence of appends by
 * restoring len.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = mem == NULL ? 0 : cap;
	b->overflow = 0;
}

int
buf_addu64(struct buf *b, uint64_t n)
{
	char digits[20];	/* 2^64 - 1 has 20 decimal digits */
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	return buf_add(b, digits + i, sizeof(digits) - i);
}

int
buf_addhex(struct buf *b, uint64_t n, size_t min_digits)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16];	/* 2^64 - 1 has 16 hexadecimal digits */
	size_t i = sizeof(digits);

	if (min_digits > sizeof(digits))
		min_digits = sizeof(digits);
	do {
		digits[--i] = hex[n & 0xf];
		n >>= 4;
	} while (n != 0 || sizeof(digits) - i < min_digits);
	return buf_add(b, digits + i, sizeof(digits) - i);
}

int
buf_nul(struct buf *b)
{
	if (b->len >= b->cap) {
		b->overflow = 1;
		return -1;
	}
	b->p[b->len] = '\0';
	return 0;
}
