/*
 * ascii.h: ASCII case folding, the one copy.  SMTP verbs, keywords,
 * domains and AUTH mechanisms compare case-insensitively in ASCII only
 * (RFC 5321 §2.4): never through the C locale, and UTF-8 octets pass
 * unchanged.
 */
#ifndef SMTP_ASCII_H
#define SMTP_ASCII_H

#include <stddef.h>

static inline unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Do a[0..len) and b[0..len) match, ignoring ASCII case? */
static inline int
ascii_eq_n(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	}
	return 1;
}

#endif
