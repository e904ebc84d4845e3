/*
 * fuzz.h: what every fuzz target shares.  A target is one .c file in
 * tests/fuzz/ that defines LLVMFuzzerTestOneInput; it is linked either
 * with libFuzzer (clang -fsanitize=fuzzer, tests/fuzz/run.sh) or with
 * tests/fuzz/replay.c (gcc + ASan/UBSan, `make check`), which feeds it
 * the committed seeds.  The input buffer is the caller's and is valid
 * for the call only; a target keeps no state between calls that changes
 * its result.
 *
 * An invariant that does not hold is reported with FUZZ_CHECK: one line
 * on stderr, then abort(), which both libFuzzer and the replay driver
 * count as a crash.
 */
#ifndef SMTP_FUZZ_H
#define SMTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, what) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n",	\
		    __FILE__, __LINE__, (what), #cond);			\
		abort();						\
	}								\
} while (0)

/* A small deterministic generator, so that a target's choices depend
 * on its input only (xorshift32; the state must not be 0). */
static inline uint32_t
fuzz_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* FNV-1a, to compare long output streams without keeping them. */
static inline uint64_t
fuzz_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= u[i];
		h *= 1099511628211ULL;
	}
	return h;
}

#define FUZZ_HASH_INIT 14695981039346656037ULL

/* Does p[0..len) hold a control character (below 0x20, or DEL)? */
static inline int
fuzz_has_controls(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

/* True when p[0..len) is well-formed UTF-8 (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static inline int
fuzz_is_utf8(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

#endif
