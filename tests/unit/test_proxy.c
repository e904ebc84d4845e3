/*
 * test_proxy.c: the PROXY protocol parser of proto/proxy.c (haproxy's
 * doc/proxy-protocol.txt, v1 §2.1 and v2 §2.2) as a table.  Each case is
 * parsed whole, with the client's first bytes after it, at every prefix
 * length (a valid header is NEED_MORE until its last octet, and never asks
 * for an octet past its end), and read the way smtpd reads it: at most
 * h.need octets at a time, in random pieces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/proxy.h"
#include "tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* §2.2's signature; "\0" and "\r" keep the hex escapes short. */
#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define AFTER "EHLO client.example\r\n"
/* The rest of a case that must be refused. */
#define BAD PROXY_INVALID, 0, 0, NULL, 0, NULL, 0

struct proxy_case {
	const char *name;
	const char *in;
	size_t in_len;		/* 0: strlen(in) */
	enum proxy_result want;
	size_t len;		/* PROXY_OK: the header's length; 0: in_len */
	int has_addresses;
	const char *src;
	unsigned src_port;
	const char *dst;
	unsigned dst_port;
};

static const char unknown_107[] = "PROXY UNKNOWN "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
static const char unknown_108[] = "PROXY UNKNOWN "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n";
static const char nocrlf_107[] = "PROXY UNKNOWN "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 6553599";

static const struct proxy_case cases[] = {
	/* v1, §2.1 */
	{ "v1 TCP4", "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n", 0,
	    PROXY_OK, 0, 1, "192.0.2.1", 56324, "198.51.100.2", 25 },
	{ "v1 TCP4 as haproxy sends it",
	    "PROXY TCP4 127.0.0.1 127.0.0.1 53514 25214\r\n", 0,
	    PROXY_OK, 0, 1, "127.0.0.1", 53514, "127.0.0.1", 25214 },
	{ "v1 TCP4 zero address and ports",
	    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", 0,
	    PROXY_OK, 0, 1, "0.0.0.0", 0, "255.255.255.255", 65535 },
	{ "v1 TCP6, upper case, made canonical",
	    "PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 587\r\n", 0,
	    PROXY_OK, 0, 1, "2001:db8::1", 1, "::1", 587 },
	{ "v1 TCP6 IPv4-mapped", "PROXY TCP6 ::ffff:192.0.2.7 :: 2 3\r\n", 0,
	    PROXY_OK, 0, 1, "::ffff:192.0.2.7", 2, "::", 3 },
	{ "v1 UNKNOWN short form", "PROXY UNKNOWN\r\n", 0,
	    PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v1 UNKNOWN with addresses (ignored)",
	    "PROXY UNKNOWN 192.0.2.1 anything at all\r\n", 0,
	    PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v1 UNKNOWN of 107 octets (the maximum)", unknown_107, 0,
	    PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v1 line of 108 octets", unknown_108, 0, BAD },
	{ "v1 107 octets without CRLF", nocrlf_107, 0, BAD },
	{ "v1 LF without CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0,
	    BAD },
	{ "v1 CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n", 0,
	    BAD },
	{ "v1 lone CR inside", "PROXY UNKNOWN a\rb\r\n", 0, BAD },
	{ "v1 leading zero in an address",
	    "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", 0, BAD },
	{ "v1 octet above 255", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 three octets", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 five octets", "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 empty octet", "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 leading zero in a port", "PROXY TCP4 1.2.3.4 5.6.7.8 025 2\r\n",
	    0, BAD },
	{ "v1 port above 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 0,
	    BAD },
	{ "v1 negative port", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", 0,
	    BAD },
	{ "v1 two spaces", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0,
	    BAD },
	{ "v1 missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0,
	    BAD },
	{ "v1 extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 0,
	    BAD },
	{ "v1 two spaces after PROXY", "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	    0, BAD },
	{ "v1 unknown protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 UNKNOWNX", "PROXY UNKNOWNX\r\n", 0, BAD },
	{ "v1 lower case proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0,
	    BAD },
	{ "v1 TCP4 with IPv6 addresses", "PROXY TCP4 ::1 ::1 1 2\r\n", 0,
	    BAD },
	{ "v1 TCP6 with IPv4 addresses", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
	    0, BAD },
	{ "v1 TCP6 with two ::", "PROXY TCP6 1::2::3 ::1 1 2\r\n", 0,
	    BAD },
	{ "v1 TCP6 group of five digits", "PROXY TCP6 12345:: ::1 1 2\r\n", 0,
	    BAD },
	{ "v1 TCP6 zone index", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", 0,
	    BAD },
	{ "v1 NUL in an address", "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33,
	    BAD },
	{ "SMTP instead of a header", "EHLO client.example\r\n", 0,
	    BAD },
	{ "HTTP instead of a header", "GET / HTTP/1.0\r\n\r\n", 0,
	    BAD },

	/* v2, §2.2 */
	{ "v2 TCP4 as haproxy sends it",
	    SIG "\x21\x11\x00\x0c" "\x7f\x00\x00\x01" "\x7f\x00\x00\x01"
	    "\x8c\x10" "\x62\x7f", 28, PROXY_OK, 0, 1,
	    "127.0.0.1", 35856, "127.0.0.1", 25215 },
	{ "v2 TCP6",
	    SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\xff\xff" "\x02\x4b",
	    52, PROXY_OK, 0, 1, "2001:db8::1", 65535, "::1", 587 },
	{ "v2 LOCAL, no addresses: the real peer",
	    SIG "\x20\x00\x00\x00", 16, PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v2 LOCAL with addresses (skipped, not used)",
	    SIG "\x20\x11\x00\x0c" "\x01\x02\x03\x04" "\x05\x06\x07\x08"
	    "\x00\x01" "\x00\x02", 28, PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v2 LOCAL ignores the family byte",
	    SIG "\x20\xff\x00\x02" "ab", 18, PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v2 PROXY AF_UNSPEC: the real peer",
	    SIG "\x21\x00\x00\x00", 16, PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v2 PROXY UDP over IPv4: the real peer",
	    SIG "\x21\x12\x00\x0c" "\x01\x02\x03\x04" "\x05\x06\x07\x08"
	    "\x00\x01" "\x00\x02", 28, PROXY_OK, 0, 0, NULL, 0, NULL, 0 },
	{ "v2 TCP4 with NOOP and UNIQUE_ID TLVs",
	    SIG "\x21\x11\x00\x17" "\xc0\x00\x02\x01" "\xc6\x33\x64\x02"
	    "\x30\x39" "\x00\x19" "\x04\x00\x02" "xx" "\x05\x00\x03" "abc",
	    39, PROXY_OK, 0, 1, "192.0.2.1", 12345, "198.51.100.2", 25 },
	{ "v2 TCP4 with an empty TLV",
	    SIG "\x21\x11\x00\x0f" "\xc0\x00\x02\x01" "\xc6\x33\x64\x02"
	    "\x30\x39" "\x00\x19" "\x04\x00\x00", 31, PROXY_OK, 0, 1,
	    "192.0.2.1", 12345, "198.51.100.2", 25 },
	{ "v2 truncated TLV",
	    SIG "\x21\x11\x00\x0e" "\xc0\x00\x02\x01" "\xc6\x33\x64\x02"
	    "\x30\x39" "\x00\x19" "\x04\x00", 30, BAD },
	{ "v2 TLV longer than the header",
	    SIG "\x21\x11\x00\x10" "\xc0\x00\x02\x01" "\xc6\x33\x64\x02"
	    "\x30\x39" "\x00\x19" "\x04\x00\x02" "x", 32, BAD },
	{ "v2 version 1", SIG "\x11\x11\x00\x0c" "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28, BAD },
	{ "v2 version 3", SIG "\x31\x11\x00\x0c" "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28, BAD },
	{ "v2 unknown command", SIG "\x22\x11\x00\x0c" "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28, BAD },
	{ "v2 unknown address family", SIG "\x21\x41\x00\x0c"
	    "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28,
	    BAD },
	{ "v2 unknown transport", SIG "\x21\x13\x00\x0c" "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28, BAD },
	{ "v2 address block too short for IPv4", SIG "\x21\x11\x00\x08"
	    "\x01\x02\x03\x04" "\x05\x06\x07\x08", 24, BAD },
	{ "v2 address block too short for IPv6", SIG "\x21\x21\x00\x0c"
	    "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28,
	    BAD },
	{ "v2 announcing 65535 octets (oversized)", SIG "\x21\x11\xff\xff",
	    16, BAD },
	{ "v2 one octet over PROXY_HEADER_MAX", SIG "\x21\x00\x0f\xf1", 16,
	    BAD },
	{ "v2 wrong signature", "\r\n\r\n\0\r\nQUIT\r\x21\x11\x00\x0c"
	    "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", 28,
	    BAD },
	{ "v2 signature cut short", "\r\n\r\n\0\r\nQUI" "\x21\x11\x00\x0c"
	    "\x01\x02\x03\x04", 19, BAD },
};

/* An independent CRC-32C (reflected 0x82F63B78), for the checksum TLV. */
static uint32_t
crc32c(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return crc ^ 0xffffffffu;
}

static size_t
case_len(const struct proxy_case *c)
{
	return c->in_len ? c->in_len : strlen(c->in);
}

static size_t
header_len(const struct proxy_case *c)
{
	return c->len ? c->len : case_len(c);
}

static int
same_result(const struct proxy_case *c, enum proxy_result r,
    const struct proxy_header *h)
{
	if (r != c->want)
		return 0;
	if (r != PROXY_OK)
		return h->reason != NULL && h->reason[0] != '\0';
	if (h->len != header_len(c) || h->has_addresses != c->has_addresses)
		return 0;
	if (!c->has_addresses)
		return 1;
	return strcmp(h->src, c->src) == 0 && strcmp(h->dst, c->dst) == 0 &&
	    h->src_port == c->src_port && h->dst_port == c->dst_port;
}

static void
explain(const struct proxy_case *c, enum proxy_result r,
    const struct proxy_header *h)
{
	diag("  result %d (want %d), len %zu (want %zu), reason %s", r,
	    c->want, h->len, header_len(c), h->reason ? h->reason : "-");
	if (r == PROXY_OK && h->has_addresses)
		diag("  src %s:%u dst %s:%u", h->src, h->src_port, h->dst,
		    h->dst_port);
}

/* Parse the case whole, and with the client's first command after it. */
static void
test_whole(const struct proxy_case *c)
{
	char buf[PROXY_HEADER_MAX + sizeof(AFTER)];
	size_t len = case_len(c);
	struct proxy_header h;
	enum proxy_result r;

	r = proxy_parse(c->in, len, &h);
	if (!ok(same_result(c, r, &h), "%s: whole", c->name))
		explain(c, r, &h);
	memcpy(buf, c->in, len);
	memcpy(buf + len, AFTER, sizeof(AFTER) - 1);
	r = proxy_parse(buf, len + sizeof(AFTER) - 1, &h);
	if (!ok(same_result(c, r, &h), "%s: with the client's bytes after it",
	    c->name))
		explain(c, r, &h);
}

/* Every proper prefix of a valid header is NEED_MORE, and asks for no
 * octet past the header's end. */
static void
test_prefixes(const struct proxy_case *c)
{
	size_t total = header_len(c);
	struct proxy_header h;
	size_t k;
	int good = 1;

	if (c->want != PROXY_OK)
		return;
	for (k = 0; k < total && good; k++) {
		enum proxy_result r = proxy_parse(c->in, k, &h);

		if (r != PROXY_NEED_MORE || h.need == 0 || k + h.need > total) {
			diag("  prefix %zu: result %d need %zu", k, r, h.need);
			good = 0;
		}
	}
	ok(good, "%s: every prefix needs more, never past the header",
	    c->name);
}

/* Read as smtpd does: at most h.need octets at a time (all of them, one,
 * or a random number), from the header followed by the client's bytes. */
static void
test_reading(const struct proxy_case *c, int mode, unsigned *seed)
{
	static const char *const how[] = { "need at a time", "octet by octet",
	    "random pieces" };
	char in[PROXY_HEADER_MAX + sizeof(AFTER)];
	size_t len = case_len(c);
	size_t avail = len + sizeof(AFTER) - 1;
	size_t have = 0;
	struct proxy_header h;
	enum proxy_result r;

	memcpy(in, c->in, len);
	memcpy(in + len, AFTER, sizeof(AFTER) - 1);
	while ((r = proxy_parse(in, have, &h)) == PROXY_NEED_MORE) {
		size_t step = h.need;

		if (mode == 1)
			step = 1;
		else if (mode == 2)
			step = 1 + (size_t)rand_r(seed) % h.need;
		if (have + step > avail)
			break;
		have += step;
	}
	if (r == PROXY_OK && have != h.len)
		r = PROXY_INVALID;	/* read past the header */
	if (!ok(same_result(c, r, &h), "%s: read %s", c->name, how[mode]))
		explain(c, r, &h);
}

/* A v2 TCP4 header with a CRC32C TLV (§2.2.3), right and wrong. */
static void
test_crc32c(void)
{
	unsigned char hdr[35] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q',
	    'U', 'I', 'T', '\n', 0x21, 0x11, 0x00, 0x13, 192, 0, 2, 1, 198, 51,
	    100, 2, 0x30, 0x39, 0x00, 0x19, 0x03, 0x00, 0x04, 0, 0, 0, 0 };
	struct proxy_header h;
	uint32_t crc;

	ok(crc32c((const unsigned char *)"123456789", 9) == 0xe3069283u,
	    "crc32c check value (RFC 3720 B.4)");
	crc = crc32c(hdr, sizeof(hdr));
	hdr[31] = (unsigned char)(crc >> 24);
	hdr[32] = (unsigned char)(crc >> 16);
	hdr[33] = (unsigned char)(crc >> 8);
	hdr[34] = (unsigned char)crc;
	ok(proxy_parse((const char *)hdr, sizeof(hdr), &h) == PROXY_OK &&
	    h.len == sizeof(hdr) && strcmp(h.src, "192.0.2.1") == 0,
	    "v2 with a correct CRC32C TLV");
	hdr[20] ^= 1;
	ok(proxy_parse((const char *)hdr, sizeof(hdr), &h) == PROXY_INVALID,
	    "v2 with a CRC32C that does not match: %s",
	    h.reason ? h.reason : "-");
	hdr[20] ^= 1;
	hdr[30] = 3;
	hdr[15] = 0x12;
	ok(proxy_parse((const char *)hdr, sizeof(hdr) - 1, &h) ==
	    PROXY_INVALID, "v2 with a CRC32C TLV of 3 octets");
}

/* Truncated headers stay NEED_MORE (the caller closes on EOF or at its
 * deadline); a wrong first octet is refused at once. */
static void
test_truncated(void)
{
	static const char v2[] = SIG "\x21\x11\x00\x0c" "\x7f\x00\x00\x01";
	static const char v1[] = "PROXY TCP4 127.0.0.1 12";
	struct proxy_header h;

	ok(proxy_parse(v2, sizeof(v2) - 1, &h) == PROXY_NEED_MORE &&
	    h.need == 8, "truncated v2 needs exactly the missing 8 octets");
	ok(proxy_parse(v1, sizeof(v1) - 1, &h) == PROXY_NEED_MORE &&
	    h.need >= 1 && h.version == 1, "truncated v1 needs more");
	ok(proxy_parse("E", 1, &h) == PROXY_INVALID,
	    "a first octet of neither version is refused at once");
	ok(proxy_parse("", 0, &h) == PROXY_NEED_MORE &&
	    h.need == PROXY_MIN_LEN, "nothing yet: read %d octets",
	    PROXY_MIN_LEN);
}

int
main(void)
{
	unsigned seed = 6;
	size_t i;
	int mode;

	for (i = 0; i < N(cases); i++) {
		test_whole(&cases[i]);
		test_prefixes(&cases[i]);
		for (mode = 0; mode < 3; mode++)
			test_reading(&cases[i], mode, &seed);
	}
	test_crc32c();
	test_truncated();
	return tap_done();
}
