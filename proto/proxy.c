/*
 * proxy.c: the PROXY protocol header, versions 1 and 2, parsed strictly
 * (haproxy's doc/proxy-protocol.txt; section numbers below are that
 * document's).  See proxy.h for the contract.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "iptext.h"
#include "proxy.h"

/* §2.2: the 12-octet v2 signature; it holds a NUL, so never a C string. */
static const char v2_signature[12] = {
	'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'
};
static const char v1_prefix[] = "PROXY ";
#define V1_PREFIX_LEN (sizeof(v1_prefix) - 1)

/* §2.2: the v2 command, family and transport values. */
#define V2_VERSION 0x2
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
#define V2_AF_UNSPEC 0x0
#define V2_AF_INET 0x1
#define V2_AF_INET6 0x2
#define V2_AF_UNIX 0x3
#define V2_PROTO_UNSPEC 0x0
#define V2_PROTO_STREAM 0x1
#define V2_PROTO_DGRAM 0x2
/* §2.2.3: the checksum TLV, verified when present. */
#define V2_TLV_CRC32C 0x03
#define V2_TLV_HEADER_LEN 3

/* The shortest v1 lines with addresses: "PROXY TCP4 0.0.0.0 0.0.0.0 0
 * 0\r\n" and "PROXY TCP6 :: :: 0 0\r\n"; used only to read in larger
 * steps, never to judge. */
#define V1_TCP4_MIN_LEN 32
#define V1_TCP6_MIN_LEN 22

static enum proxy_result
invalid(struct proxy_header *h, const char *reason)
{
	h->reason = reason;
	return PROXY_INVALID;
}

static enum proxy_result
need_more(struct proxy_header *h, size_t n)
{
	h->need = n > 0 ? n : 1;
	return PROXY_NEED_MORE;
}

/* Do the first len octets agree with the first octets of sig? */
static int
agrees(const char *buf, size_t len, const char *sig, size_t siglen)
{
	return len == 0 || memcmp(buf, sig, len < siglen ? len : siglen) == 0;
}

/* A v1 port (§2.1): decimal, 0..65535, no leading zero. */
static int
v1_port(const char *p, size_t len, unsigned *port)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 5 || (len > 1 && p[0] == '0'))
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		n = n * 10 + (unsigned long)(p[i] - '0');
	}
	if (n > 65535)
		return 0;
	*port = (unsigned)n;
	return 1;
}

/* A v1 IPv4 address (§2.1): exactly four decimal numbers 0..255, one dot
 * between each, no leading zeroes. */
static int
v1_inet4(const char *p, size_t len, unsigned char out[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		unsigned n = 0;

		if (part > 0) {
			if (i >= len || p[i] != '.')
				return 0;
			start = ++i;
		}
		while (i < len && p[i] >= '0' && p[i] <= '9' && i - start < 3)
			n = n * 10 + (unsigned)(p[i++] - '0');
		if (i == start || n > 255 || (i - start > 1 && p[start] == '0'))
			return 0;
		out[part] = (unsigned char)n;
	}
	return i == len;
}

/* A v1 IPv6 address (§2.1): hexadecimal groups separated by colons, at
 * most one "::", 128 bits in all.  The characters are checked here;
 * inet_pton(3), a pure conversion, checks the structure (it also takes
 * the ::ffff:a.b.c.d form a proxy may send). */
static int
v1_inet6(const char *p, size_t len, unsigned char out[16])
{
	char text[PROXY_ADDR_TEXT_MAX];
	size_t i;

	if (len == 0 || len >= sizeof(text))
		return 0;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return 0;
	}
	memcpy(text, p, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, out) == 1;
}

/* Split line[0..len) at single spaces into exactly n non-empty fields. */
static int
split_fields(const char *line, size_t len, const char **field,
    size_t *flen, size_t n)
{
	size_t i = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		const char *sp;

		if (k > 0) {
			if (i >= len || line[i] != ' ')
				return 0;
			i++;
		}
		sp = memchr(line + i, ' ', len - i);
		field[k] = line + i;
		flen[k] = sp != NULL ? (size_t)(sp - (line + i)) : len - i;
		if (flen[k] == 0)
			return 0;
		i += flen[k];
	}
	return i == len;
}

/* The line of a v1 header, CRLF excluded, after "PROXY ". */
static enum proxy_result
v1_line(const char *line, size_t len, struct proxy_header *h)
{
	const char *field[5];
	size_t flen[5];
	unsigned char src[16];
	unsigned char dst[16];
	int af;

	/* §2.1: for UNKNOWN "the receiver must ignore anything presented
	 * before the CRLF"; it then uses the real connection's endpoints. */
	if (len >= 7 && memcmp(line, "UNKNOWN", 7) == 0 &&
	    (len == 7 || line[7] == ' ')) {
		h->has_addresses = 0;
		return PROXY_OK;
	}
	if (!split_fields(line, len, field, flen, 5))
		return invalid(h, "v1: malformed line");
	if (flen[0] == 4 && memcmp(field[0], "TCP4", 4) == 0) {
		af = AF_INET;
		h->family = PROXY_FAMILY_INET4;
		if (!v1_inet4(field[1], flen[1], src) ||
		    !v1_inet4(field[2], flen[2], dst))
			return invalid(h, "v1: bad IPv4 address");
	} else if (flen[0] == 4 && memcmp(field[0], "TCP6", 4) == 0) {
		af = AF_INET6;
		h->family = PROXY_FAMILY_INET6;
		if (!v1_inet6(field[1], flen[1], src) ||
		    !v1_inet6(field[2], flen[2], dst))
			return invalid(h, "v1: bad IPv6 address");
	} else {
		return invalid(h, "v1: unknown protocol");
	}
	if (!v1_port(field[3], flen[3], &h->src_port) ||
	    !v1_port(field[4], flen[4], &h->dst_port))
		return invalid(h, "v1: bad port");
	if (ip_text(af == AF_INET6, src, h->src, sizeof(h->src)) == 0 ||
	    ip_text(af == AF_INET6, dst, h->dst, sizeof(h->dst)) == 0)
		return invalid(h, "v1: bad address");
	h->has_addresses = 1;
	return PROXY_OK;
}

/* §2.1: one line ending in CRLF, at most 107 octets with the CRLF; a lone
 * CR or LF never ends it. */
static enum proxy_result
parse_v1(const char *buf, size_t len, struct proxy_header *h)
{
	size_t scan = len < PROXY_V1_LINE_MAX ? len : PROXY_V1_LINE_MAX;
	size_t i;
	size_t min_len;

	h->version = 1;
	for (i = 0; i < scan; i++) {
		if (buf[i] == '\n')
			return invalid(h, "v1: LF without CR");
		if (buf[i] != '\r')
			continue;
		if (i + 2 > PROXY_V1_LINE_MAX)
			return invalid(h, "v1: no CRLF within 107 octets");
		if (i + 1 == len)
			return need_more(h, 1);
		if (buf[i + 1] != '\n')
			return invalid(h, "v1: CR without LF");
		h->len = i + 2;
		return v1_line(buf + V1_PREFIX_LEN, i - V1_PREFIX_LEN, h);
	}
	/* No CR yet: a CRLF is still to come. */
	if (len + 2 > PROXY_V1_LINE_MAX)
		return invalid(h, "v1: no CRLF within 107 octets");
	min_len = len + 2;
	if (len >= 11 && memcmp(buf + V1_PREFIX_LEN, "TCP4 ", 5) == 0 &&
	    min_len < V1_TCP4_MIN_LEN)
		min_len = V1_TCP4_MIN_LEN;
	if (len >= 11 && memcmp(buf + V1_PREFIX_LEN, "TCP6 ", 5) == 0 &&
	    min_len < V1_TCP6_MIN_LEN)
		min_len = V1_TCP6_MIN_LEN;
	return need_more(h, min_len - len);
}

/* CRC-32C (Castagnoli, RFC 4960 Appendix B) of the header with the
 * checksum's own four octets, at value_off, taken as zero (§2.2.3). */
static uint32_t
v2_crc32c(const unsigned char *p, size_t len, size_t value_off)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int bit;

	for (i = 0; i < len; i++) {
		unsigned char c = (i >= value_off && i < value_off + 4) ?
		    0 : p[i];

		crc ^= c;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* §2.2: the TLVs after the address block must fill the header exactly;
 * their contents are skipped, except that a CRC32C is checked. */
static enum proxy_result
v2_tlvs(const unsigned char *p, size_t off, size_t total,
    struct proxy_header *h)
{
	while (off < total) {
		size_t vlen;
		uint32_t want;

		if (total - off < V2_TLV_HEADER_LEN)
			return invalid(h, "v2: truncated TLV");
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > total - off - V2_TLV_HEADER_LEN)
			return invalid(h, "v2: TLV longer than the header");
		if (p[off] == V2_TLV_CRC32C) {
			const unsigned char *v = p + off + V2_TLV_HEADER_LEN;

			if (vlen != 4)
				return invalid(h, "v2: bad CRC32C TLV");
			want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
			    (uint32_t)v[2] << 8 | v[3];
			if (v2_crc32c(p, total, off + V2_TLV_HEADER_LEN) !=
			    want)
				return invalid(h, "v2: CRC32C mismatch");
		}
		off += V2_TLV_HEADER_LEN + vlen;
	}
	return PROXY_OK;
}

/* The size of the address block of a v2 family and transport (§2.2);
 * 0 when it has none this receiver knows. */
static size_t
v2_address_len(unsigned family, unsigned transport)
{
	if (transport != V2_PROTO_STREAM && transport != V2_PROTO_DGRAM)
		return 0;
	switch (family) {
	case V2_AF_INET:
		return 2 * 4 + 2 * 2;
	case V2_AF_INET6:
		return 2 * 16 + 2 * 2;
	case V2_AF_UNIX:
		return 2 * 108;
	default:
		return 0;
	}
}

/* The address block of TCP over IPv4 or IPv6: source and destination
 * addresses, then ports, all in network byte order (§2.2). */
static enum proxy_result
v2_addresses(const unsigned char *a, int is_inet4, struct proxy_header *h)
{
	size_t alen = is_inet4 ? 4 : 16;
	const unsigned char *ports = a + 2 * alen;

	h->family = is_inet4 ? PROXY_FAMILY_INET4 : PROXY_FAMILY_INET6;
	if (ip_text(!is_inet4, a, h->src, sizeof(h->src)) == 0 ||
	    ip_text(!is_inet4, a + alen, h->dst, sizeof(h->dst)) == 0)
		return invalid(h, "v2: bad address");
	h->src_port = (unsigned)ports[0] << 8 | ports[1];
	h->dst_port = (unsigned)ports[2] << 8 | ports[3];
	h->has_addresses = 1;
	return PROXY_OK;
}

static enum proxy_result
parse_v2(const char *buf, size_t len, struct proxy_header *h)
{
	const unsigned char *p = (const unsigned char *)buf;
	unsigned command;
	unsigned family;
	unsigned transport;
	size_t addr_len;
	size_t total;

	h->version = 2;
	if (len < PROXY_V2_FIXED_LEN)
		return need_more(h, PROXY_V2_FIXED_LEN - len);
	if (p[12] >> 4 != V2_VERSION)
		return invalid(h, "v2: version is not 2");
	command = p[12] & 0x0f;
	if (command != V2_CMD_LOCAL && command != V2_CMD_PROXY)
		return invalid(h, "v2: unknown command");
	family = p[13] >> 4;
	transport = p[13] & 0x0f;
	total = PROXY_V2_FIXED_LEN + ((size_t)p[14] << 8 | p[15]);
	if (total > PROXY_HEADER_MAX)
		return invalid(h, "v2: oversized header");
	/* §2.2: for LOCAL "the family ... is ignored"; for PROXY, values
	 * other than those listed "must be rejected as invalid". */
	if (command == V2_CMD_PROXY && family > V2_AF_UNIX)
		return invalid(h, "v2: unknown address family");
	if (command == V2_CMD_PROXY && transport > V2_PROTO_DGRAM)
		return invalid(h, "v2: unknown transport protocol");
	addr_len = family <= V2_AF_UNIX ? v2_address_len(family, transport) :
	    0;
	if (PROXY_V2_FIXED_LEN + addr_len > total)
		return invalid(h, "v2: address block too short");
	if (len < total)
		return need_more(h, total - len);
	h->len = total;
	/* §2.2: the receiver "must not assume zero is presented for LOCAL
	 * connections"; when the family says how long the addresses are,
	 * what follows must be well-formed TLVs. */
	if (addr_len > 0 &&
	    v2_tlvs(p, PROXY_V2_FIXED_LEN + addr_len, total, h) != PROXY_OK)
		return PROXY_INVALID;
	/* LOCAL, AF_UNSPEC, AF_UNIX and DGRAM: the real endpoints (§2.2:
	 * only UNSPEC is mandatory; unsupported combinations fall back to
	 * it). */
	if (command != V2_CMD_PROXY || transport != V2_PROTO_STREAM ||
	    (family != V2_AF_INET && family != V2_AF_INET6)) {
		h->has_addresses = 0;
		return PROXY_OK;
	}
	return v2_addresses(p + PROXY_V2_FIXED_LEN, family == V2_AF_INET, h);
}

enum proxy_result
proxy_parse(const char *buf, size_t len, struct proxy_header *h)
{
	memset(h, 0, sizeof(*h));
	/* §2.2 "Identifying the protocol version"; anything else is
	 * refused at its first wrong octet, so that the sender notices. */
	if (len < PROXY_MIN_LEN) {
		if (!agrees(buf, len, v2_signature, sizeof(v2_signature)) &&
		    !agrees(buf, len, v1_prefix, V1_PREFIX_LEN))
			return invalid(h, "not a PROXY protocol header");
		return need_more(h, PROXY_MIN_LEN - len);
	}
	if (memcmp(buf, v2_signature, sizeof(v2_signature)) == 0)
		return parse_v2(buf, len, h);
	if (memcmp(buf, v1_prefix, V1_PREFIX_LEN) == 0)
		return parse_v1(buf, len, h);
	return invalid(h, "not a PROXY protocol header");
}
