/*
 * octets.h: a table of 256 entries, one per octet, as a constant
 * initializer built by the preprocessor: OCTETS_TABLE(F) is F(0), F(1),
 * ... F(255), for a macro F of a constant expression.  A per-octet test
 * or mapping written as masks (OCTETS_IN) then costs one load per octet
 * when it runs.
 */
#ifndef SMTP_OCTETS_H
#define SMTP_OCTETS_H

/* Is octet c in the set whose bit c % 64 is set in w0 (c < 64) or w1
 * (64 <= c < 128)?  No octet >= 128 is. */
#define OCTETS_IN(w0, w1, c) \
	((c) < 64 ? (w0) >> ((c) & 63) & 1 : \
	 (c) < 128 ? (w1) >> ((c) & 63) & 1 : 0)

#define OCTETS_T4(F, c) F(c), F((c) + 1), F((c) + 2), F((c) + 3)
#define OCTETS_T16(F, c) OCTETS_T4(F, c), OCTETS_T4(F, (c) + 4), \
	OCTETS_T4(F, (c) + 8), OCTETS_T4(F, (c) + 12)
#define OCTETS_T64(F, c) OCTETS_T16(F, c), OCTETS_T16(F, (c) + 16), \
	OCTETS_T16(F, (c) + 32), OCTETS_T16(F, (c) + 48)
#define OCTETS_TABLE(F) OCTETS_T64(F, 0), OCTETS_T64(F, 64), \
	OCTETS_T64(F, 128), OCTETS_T64(F, 192)

#endif
