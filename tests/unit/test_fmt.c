/*
 * test_fmt.c: lib/fmt.c, the printf subset of the log lines: each
 * conversion against the C library's snprintf, the extremes of each
 * integer type, and the cut at the buffer's end.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/fmt.h"
#include "tap.h"

#define SAME(cap, ...) do {						\
	char got_[256], want_[256];					\
	volatile size_t cap_ = (cap);	/* no truncation warning */	\
	size_t n_ = fmt(got_, cap_, __VA_ARGS__);			\
	(void)snprintf(want_, cap_, __VA_ARGS__);			\
	is_mem(got_, n_, want_, #__VA_ARGS__);				\
	ok(got_[n_] == '\0', "%s", "NUL after: " #__VA_ARGS__);	\
} while (0)

int
main(void)
{
	char out[16];

	SAME(256, "plain text");
	SAME(256, "%s: %s", "a", "bc");
	SAME(256, "[%.*s]", 3, "abcdef");
	SAME(256, "[%.*s]", 10, "abc");
	SAME(256, "%d %d %d", 0, INT_MAX, INT_MIN);
	SAME(256, "%u %u", 0u, UINT_MAX);
	SAME(256, "%ld %ld", LONG_MAX, LONG_MIN);
	SAME(256, "%lu", ULONG_MAX);
	SAME(256, "%lld %lld", LLONG_MAX, LLONG_MIN);
	SAME(256, "%llu", ULLONG_MAX);
	SAME(256, "%zu %zu", (size_t)0, SIZE_MAX);
	SAME(256, "100%% sure, %s", "yes");
	SAME(256, "%s: tarpit: %u errors (TARPITCOUNT %u), %d ms", "id",
	    7u, 5u, -1);
	/* cut at the end, as snprintf cuts */
	SAME(8, "%s", "abcdefghijkl");
	SAME(8, "ab%dcd", 123456);
	SAME(8, "%zu", (size_t)123456789);
	SAME(1, "%s", "x");

	/* At a conversion outside the subset the rest of the format is
	 * copied and no argument is read after it (which it takes is
	 * unknown): "%s" here would otherwise read the int 1 as a pointer. */
	{
		char wide[64];
		size_t n = fmt(wide, sizeof(wide), "%d: %x then %s", 7, 1, "x");

		is_mem(wide, n, "7: %x then %s", "the rest after an unknown "
		    "conversion is copied, no argument read");
	}
	ok(fmt(out, 0, "%s", "x") == 0, "cap 0 writes nothing");
	return tap_done();
}
