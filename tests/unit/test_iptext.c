/*
 * test_iptext.c: proto/iptext.c, addresses as RFC 5952 text: the cases
 * of its sections 4.2 and 5, and random addresses with many zero groups
 * against the C library's inet_ntop.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/iptext.h"
#include "tap.h"

static void
v6_is(const char *in, const char *want)
{
	unsigned char a[16];
	char out[IP_TEXT_MAX];
	size_t n;

	if (inet_pton(AF_INET6, in, a) != 1) {
		ok(0, "inet_pton %s", in);
		return;
	}
	n = ip_text(1, a, out, sizeof(out));
	is_mem(out, n, want, in);
}

/* glibc writes ::a.b.c.d (IPv4-compatible, deprecated) in mixed form,
 * musl and RFC 5952 do not: such addresses are left out of the
 * comparison. */
static int
is_v4_compatible(const unsigned char *a)
{
	static const unsigned char zero[12];

	return memcmp(a, zero, 12) == 0 && (a[12] | a[13]) != 0;
}

int
main(void)
{
	unsigned char a[16];
	char out[IP_TEXT_MAX], want[IP_TEXT_MAX];
	static const unsigned char v4[4] = { 192, 0, 2, 255 };
	static const unsigned char v4zero[4] = { 0, 10, 100, 9 };
	int i, j, differ = 0, compared = 0;
	size_t n;

	n = ip_text(0, v4, out, sizeof(out));
	is_mem(out, n, "192.0.2.255", "IPv4");
	n = ip_text(0, v4zero, out, sizeof(out));
	is_mem(out, n, "0.10.100.9", "IPv4 with zeros");
	ok(ip_text(0, v4, out, 11) == 0, "IPv4 that does not fit");
	ok(ip_text(0, v4, out, 12) == 11, "IPv4 that just fits");

	v6_is("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1");
	v6_is("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	v6_is("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	v6_is("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");
	v6_is("2001:DB8::AbCd", "2001:db8::abcd");
	v6_is("::", "::");
	v6_is("::1", "::1");
	v6_is("1::", "1::");
	v6_is("0:1:0:1:0:1:0:1", "0:1:0:1:0:1:0:1");
	v6_is("::ffff:192.0.2.1", "::ffff:192.0.2.1");
	v6_is("::ffff:0.0.0.0", "::ffff:0.0.0.0");
	v6_is("1::ffff:192.0.2.1", "1::ffff:c000:201");
	v6_is("fe80::1:2:3:4", "fe80::1:2:3:4");
	v6_is("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	srand(5952);
	for (i = 0; i < 20000; i++) {
		for (j = 0; j < 8; j++) {
			unsigned v = rand() % 2 ? 0 : (unsigned)rand() & 0xffff;

			if (rand() % 8 == 0)
				v = (unsigned)rand() % 16;
			a[2 * j] = (unsigned char)(v >> 8);
			a[2 * j + 1] = (unsigned char)v;
		}
		if (rand() % 16 == 0) {
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
		}
		if (is_v4_compatible(a))
			continue;
		compared++;
		n = ip_text(1, a, out, sizeof(out));
		if (inet_ntop(AF_INET6, a, want, sizeof(want)) == NULL ||
		    strlen(want) != n || memcmp(out, want, n) != 0) {
			if (differ++ < 5)
				ok(0, "random: ours %s, inet_ntop %s", out, want);
		}
	}
	ok(differ == 0 && compared > 10000,
	    "%d random addresses as inet_ntop writes them", compared);
	return tap_done();
}
