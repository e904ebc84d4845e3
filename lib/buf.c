/*
 * buf.c: the bounded text buffer of buf.h, its appends of numbers (the
 * rest is inline there).  Memory belongs to the caller; nothing here
 * allocates.  Every append either fits whole or changes nothing but the
 * overflow flag, so a caller may undo a failed sequence of appends by
 * restoring len.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"

int
buf_addu64(struct buf *b, uint64_t n)
{
	/* Two digits per division: "00" to "99". */
	static const char pairs[201] =
	    "00010203040506070809"
	    "10111213141516171819"
	    "20212223242526272829"
	    "30313233343536373839"
	    "40414243444546474849"
	    "50515253545556575859"
	    "60616263646566676869"
	    "70717273747576777879"
	    "80818283848586878889"
	    "90919293949596979899";
	char digits[20];	/* 2^64 - 1 has 20 decimal digits */
	size_t i = sizeof(digits);
	const char *p;

	while (n >= 100) {
		p = pairs + 2 * (n % 100);
		n /= 100;
		digits[--i] = p[1];
		digits[--i] = p[0];
	}
	if (n >= 10) {
		digits[--i] = pairs[2 * n + 1];
		digits[--i] = pairs[2 * n];
	} else {
		digits[--i] = (char)('0' + n);
	}
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
