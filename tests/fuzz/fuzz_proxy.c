/*
 * fuzz_proxy.c: the PROXY protocol v1/v2 parser (proto/proxy.c) under
 * hostile input.  The whole input is what the proxy (or an attacker
 * who reached the port) sends first.  Invariants:
 * - every result is a known one; INVALID says why;
 * - a reader that reads h.need octets at a time (proxy.h) stops exactly
 *   at the end of a valid header, never inside the client's bytes: on
 *   OK, h.len is what it read;
 * - prefixes: before a valid header's end every prefix is NEED_MORE
 *   (with need >= 1, never past the header); the header, and anything
 *   longer, parses to the same header; once INVALID, a longer input
 *   stays INVALID;
 * - on OK: version 1 (a line ending in CRLF, at most 107 octets, §2.1)
 *   or 2 (16 octets and the announced length, §2.2), within
 *   PROXY_HEADER_MAX; with addresses, the family is INET4 or INET6, the
 *   texts are NUL-terminated RFC 5952 forms of that family (what glibc's
 *   inet_ntop(3) writes, but for IPv4-compatible ::a.b.c.d, which glibc
 *   writes in mixed notation and RFC 5952 does not) and the ports fit 16
 *   bits;
 * - the same input twice gives the same header.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "../../proto/limits.h"
#include "../../proto/proxy.h"
#include "fuzz.h"

/* §2.1: "a 108-byte buffer" holds the longest v1 line and a NUL. */
#define V1_LINE_MAX 107
/* Inputs up to this long get every prefix checked. */
#define ALL_PREFIXES_MAX 300

/* ::a.b.c.d: the first 96 bits zero, not :: or ::1. */
static int
is_v4_compatible(const unsigned char *a)
{
	static const unsigned char zero[12];

	return memcmp(a, zero, sizeof(zero)) == 0 && (a[12] | a[13]) != 0;
}

static void
check_address(const char *text, enum proxy_family family)
{
	unsigned char bin[16];
	char back[PROXY_ADDR_TEXT_MAX];
	int af = family == PROXY_FAMILY_INET4 ? AF_INET : AF_INET6;
	size_t n = strnlen(text, PROXY_ADDR_TEXT_MAX);

	FUZZ_CHECK(n > 0 && n < PROXY_ADDR_TEXT_MAX,
	    "address text NUL-terminated within its array");
	FUZZ_CHECK(inet_pton(af, text, bin) == 1,
	    "address text is an address of its family");
	if (af == AF_INET6 && is_v4_compatible(bin))
		return;
	FUZZ_CHECK(inet_ntop(af, bin, back, sizeof(back)) != NULL &&
	    strcmp(back, text) == 0, "address text is canonical");
}

static void
check_ok(const char *buf, const struct proxy_header *h)
{
	FUZZ_CHECK(h->len > 0 && h->len <= PROXY_HEADER_MAX,
	    "header within PROXY_HEADER_MAX");
	if (h->version == 1) {
		FUZZ_CHECK(h->len <= V1_LINE_MAX, "v1 line within 107 octets");
		FUZZ_CHECK(h->len >= PROXY_MIN_LEN &&
		    memcmp(buf, "PROXY ", 6) == 0 && buf[h->len - 2] == '\r' &&
		    buf[h->len - 1] == '\n', "v1: PROXY ... CRLF");
	} else {
		FUZZ_CHECK(h->version == 2, "version 1 or 2");
		FUZZ_CHECK(h->len >= PROXY_V2_FIXED_LEN &&
		    h->len == PROXY_V2_FIXED_LEN +
		    ((size_t)(unsigned char)buf[14] << 8 |
		    (unsigned char)buf[15]), "v2: 16 octets and its length");
	}
	if (!h->has_addresses)
		return;
	FUZZ_CHECK(h->family == PROXY_FAMILY_INET4 ||
	    h->family == PROXY_FAMILY_INET6, "a family with addresses");
	check_address(h->src, h->family);
	check_address(h->dst, h->family);
	FUZZ_CHECK(h->src_port <= 65535 && h->dst_port <= 65535,
	    "ports fit 16 bits");
}

static enum proxy_result
parse(const char *buf, size_t len, struct proxy_header *h)
{
	enum proxy_result r;

	memset(h, 0, sizeof(*h));
	r = proxy_parse(buf, len, h);
	FUZZ_CHECK(r == PROXY_NEED_MORE || r == PROXY_OK ||
	    r == PROXY_INVALID, "a known result");
	if (r == PROXY_INVALID)
		FUZZ_CHECK(h->reason != NULL, "INVALID says why");
	if (r == PROXY_NEED_MORE)
		FUZZ_CHECK(h->need >= 1, "NEED_MORE asks for at least 1");
	if (r == PROXY_OK)
		check_ok(buf, h);
	return r;
}

static int
same_header(const struct proxy_header *a, const struct proxy_header *b)
{
	return a->len == b->len && a->version == b->version &&
	    a->has_addresses == b->has_addresses && a->family == b->family &&
	    strcmp(a->src, b->src) == 0 && strcmp(a->dst, b->dst) == 0 &&
	    a->src_port == b->src_port && a->dst_port == b->dst_port;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proxy_header whole;
	static struct proxy_header h;
	static struct proxy_header again;
	const char *buf = (const char *)data;
	enum proxy_result r;
	enum proxy_result rr;
	size_t len = 0;
	size_t m;

	r = parse(buf, size, &whole);
	rr = parse(buf, size, &again);
	FUZZ_CHECK(rr == r && (r != PROXY_OK || same_header(&whole, &again)),
	    "the same input, the same header");

	/* The reader of proxy.h: h.need octets at a time. */
	for (;;) {
		enum proxy_result step = parse(buf, len, &h);

		if (step == PROXY_OK) {
			FUZZ_CHECK(h.len == len,
			    "reading need at a time ends at the header's end");
			FUZZ_CHECK(r == PROXY_OK && same_header(&h, &whole),
			    "the header read is the header of the whole input");
			break;
		}
		if (step == PROXY_INVALID) {
			FUZZ_CHECK(r == PROXY_INVALID,
			    "once invalid, a longer input stays invalid");
			break;
		}
		if (r == PROXY_OK)
			FUZZ_CHECK(len + h.need <= whole.len,
			    "need never reaches past the header");
		if (len + h.need > size) {
			FUZZ_CHECK(r != PROXY_OK,
			    "the input ends inside a header");
			break;
		}
		len += h.need;
	}

	/* Every prefix (short inputs): NEED_MORE before a valid header's
	 * end, the same header at and after it; INVALID stays. */
	if (size <= ALL_PREFIXES_MAX) {
		int was_invalid = 0;

		for (m = 0; m <= size; m++) {
			enum proxy_result p = parse(buf, m, &h);

			if (was_invalid)
				FUZZ_CHECK(p == PROXY_INVALID,
				    "once invalid, a longer prefix stays invalid");
			if (p == PROXY_INVALID)
				was_invalid = 1;
			if (r == PROXY_OK && m < whole.len)
				FUZZ_CHECK(p == PROXY_NEED_MORE,
				    "a prefix of a valid header needs more");
			if (r == PROXY_OK && m >= whole.len)
				FUZZ_CHECK(p == PROXY_OK &&
				    same_header(&h, &whole),
				    "nothing after the header is looked at");
		}
	}
	return 0;
}
