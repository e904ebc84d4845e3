/*
 * iptext.c: IP addresses as text (iptext.h).
 */
#include <string.h>

#include "iptext.h"

static char *
add_decimal(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *
add_dotted(char *p, const unsigned char *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*p++ = '.';
		p = add_decimal(p, a[i]);
	}
	return p;
}

/* A group in hexadecimal without leading zeros. */
static char *
add_group(char *p, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 0xf];
	return p;
}

static int
is_v4_mapped(const unsigned char *a)
{
	static const unsigned char prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static char *
add_inet6(char *p, const unsigned char *a)
{
	unsigned g[8];
	int ngroups = is_v4_mapped(a) ? 6 : 8;
	int best = -1, best_len = 1;	/* a single zero group stays */
	int need_colon = 0;
	int i, j;

	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < ngroups; i = j + 1) {
		for (j = i; j < ngroups && g[j] == 0; j++)
			;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
	}
	for (i = 0; i < ngroups; i++) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len - 1;
			need_colon = 0;
			continue;
		}
		if (need_colon)
			*p++ = ':';
		p = add_group(p, g[i]);
		need_colon = 1;
	}
	if (ngroups == 6) {
		if (need_colon)
			*p++ = ':';
		p = add_dotted(p, a + 12);
	}
	return p;
}

size_t
ip_text(int is_inet6, const unsigned char *a, char *out, size_t cap)
{
	char text[IP_TEXT_MAX];
	char *end = is_inet6 ? add_inet6(text, a) : add_dotted(text, a);
	size_t len = (size_t)(end - text);

	if (len >= cap)
		return 0;
	memcpy(out, text, len);
	out[len] = '\0';
	return len;
}
