/*
 * test_logesc.c: lib/logesc.c, the escaping of client text in the log
 * (issue 13 item 2): what passes, what is escaped, the bound and the cut
 * mark, and the forged line of the review that must become one word.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/logesc.h"
#include "tap.h"

static void
esc_is(const char *in, size_t len, size_t cap, const char *want)
{
	char out[1024];
	const char *got = logesc(out, cap, in, len);

	is_mem(got, strlen(got), want, want);
}

/* Reverse the escaping; -1 when the text is not a well-formed value. */
static long
unescape(const char *s, char *out)
{
	size_t n = 0;
	unsigned v;

	while (*s != '\0') {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		if (s[1] != 'x' || sscanf(s + 2, "%2x", &v) != 1)
			return -1;
		out[n++] = (char)v;
		s += 4;
	}
	return (long)n;
}

int
main(void)
{
	static const char forged[] = "\"smtpd: pid 1: warning: a: auth "
	    "failed: ip=203.0.113.9 user=\"@evil.com";
	char all[256];
	char out[1100];
	char back[300];
	struct buf b;
	size_t i;
	long n;
	int bad = 0;

	esc_is("alice@example.org", 17, 64, "alice@example.org");
	esc_is("", 0, 64, "");
	esc_is("a b", 3, 64, "a\\x20b");
	esc_is("ip=1", 4, 64, "ip\\x3d1");
	esc_is("\"q\\", 3, 64, "\\x22q\\x5c");
	esc_is("a\r\nb\tc\x7f", 7, 64, "a\\x0d\\x0ab\\x09c\\x7f");
	esc_is("a\0b", 3, 64, "a\\x00b");
	esc_is("<x>!#$%&'*+-/?^_`{|}~", 21, 64, "<x>!#$%&'*+-/?^_`{|}~");
	/* UTF-8, C1 (NEL), U+2028, a bidirectional control: all escaped */
	esc_is("\xc3\xa9", 2, 64, "\\xc3\\xa9");
	esc_is("a\xc2\x85" "b", 4, 64, "a\\xc2\\x85b");
	esc_is("evil.com\xe2\x80\xa8x.org", 16, 64,
	    "evil.com\\xe2\\x80\\xa8x.org");
	esc_is("\xe2\x80\xae", 3, 64, "\\xe2\\x80\\xae");
	/* the review's forged recipient: one word, no '=', no space */
	logesc(out, sizeof(out), forged, sizeof(forged) - 1);
	ok(strchr(out, ' ') == NULL && strchr(out, '=') == NULL &&
	    strchr(out, '"') == NULL, "a forged log line becomes one word: %s",
	    out);
	/* the bound: cut between escapes, with the mark */
	esc_is("abcdefghij", 10, 11, "abcdefghij");
	esc_is("abcdefghijk", 11, 11, "abcdef\\...");
	esc_is("abcd efgh", 9, 11, "abcd\\...");
	esc_is("ab", 2, 5, "ab");
	esc_is("abcde", 5, 5, "\\...");
	/* logesc_add appends, bounded by max and by the buffer */
	buf_init(&b, out, 12);
	buf_adds(&b, "u=");
	ok(logesc_add(&b, "x y z w v", 9, 100) == 0 && b.len == 12 &&
	    memcmp(out, "u=x\\x20y\\...", 12) == 0 && !b.overflow,
	    "logesc_add is cut to the buffer's room");
	buf_init(&b, out, 3);
	buf_adds(&b, "u=");
	ok(logesc_add(&b, "long", 4, 100) == -1 && b.overflow && b.len == 2,
	    "logesc_add without room for the mark appends nothing");
	/* every octet round-trips, and only plain ones stay as they are */
	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	logesc(out, sizeof(out), all, 256);
	n = unescape(out, back);
	ok(n == 256 && memcmp(back, all, 256) == 0,
	    "all 256 octets read back exactly");
	for (i = 0; out[i] != '\0'; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=')
			bad++;
	}
	ok(bad == 0, "escaped text holds no space, control, quote, '=' or "
	    "octet >= 0x80");
	/* every bound from 5 to 60 on a mixed value: the whole text when it
	 * fits, else the longest run of whole octets and escapes that
	 * leaves room for the mark, then the mark */
	{
		static const char mixed[] = "a b=c\xe2\x80\xa8" "d\"e\\f gh";
		char full[256];
		char want[256];
		size_t flen, cap, k, next, limit;

		logesc(full, sizeof(full), mixed, sizeof(mixed) - 1);
		flen = strlen(full);
		bad = 0;
		for (cap = 5; cap <= 60; cap++) {
			limit = cap - 1;
			if (flen <= limit) {
				memcpy(want, full, flen + 1);
			} else {
				for (k = 0; k < flen; k = next) {
					next = k + (full[k] == '\\' ? 4 : 1);
					if (next + 4 > limit)
						break;
				}
				memcpy(want, full, k);
				memcpy(want + k, "\\...", 5);
			}
			logesc(out, cap, mixed, sizeof(mixed) - 1);
			if (strcmp(out, want) != 0) {
				diag("cap %zu: got '%s', want '%s'", cap, out,
				    want);
				bad++;
			}
		}
		ok(bad == 0, "bounds 5..60: the whole value, or a cut at an "
		    "escape boundary with the mark (%d bad)", bad);
	}
	return tap_done();
}
