/*
 * proxy.h: a parser of the PROXY protocol header that HAProxy, stunnel and
 * other proxies put before a relayed connection (haproxy's
 * doc/proxy-protocol.txt: version 1, a text line, §2.1; version 2, a
 * binary block, §2.2).  Pure: no I/O, no allocation, no global state.
 *
 *	struct proxy_header h;
 *	len = 0;
 *	while ((r = proxy_parse(buf, len, &h)) == PROXY_NEED_MORE)
 *		len += read(fd, buf + len, h.need);   // never more than need
 *	if (r == PROXY_INVALID)
 *		close the connection, log h.reason;
 *	// PROXY_OK: h.len octets are the header; the client's bytes follow
 *
 * Reading: the caller owns buf (at least PROXY_HEADER_MAX octets) and
 * the result struct.  proxy_parse() looks at buf[0..len) only.  On
 * PROXY_NEED_MORE, h.need is a count of octets that certainly still
 * belong to the header (at least 1), so a caller that reads at most
 * h.need octets at a time never reads the client's own bytes that
 * follow the header: 15 octets first (the shortest header, "PROXY
 * UNKNOWN\r\n"), then the rest of the 16-octet v2 block and its
 * announced length, or, for a v1 line, up to the CRLF in small steps.
 * That works on sockets and pipes alike, with no MSG_PEEK.
 *
 * Results: PROXY_NEED_MORE (the prefix is valid so far), PROXY_OK (h.len
 * octets form a complete, valid header), PROXY_INVALID (not a header of
 * this specification; h.reason is a static string for the log).  The
 * caller must close the connection on PROXY_INVALID (§2.1: "Any sequence
 * which does not exactly match the protocol must be discarded and cause
 * the receiver to abort the connection").
 *
 * On PROXY_OK, has_addresses says whether the header names the client:
 * 1 for v1 TCP4/TCP6 and v2 PROXY over TCP/IPv4 or TCP/IPv6; 0 for v1
 * UNKNOWN, v2 LOCAL (a health check by the proxy itself) and v2 families
 * this receiver does not use (AF_UNSPEC, AF_UNIX, DGRAM), where the spec
 * says to use the real connection's endpoints.  Addresses are rendered as
 * text in the RFC 5952 form (iptext.h); ports are numbers.
 */
#ifndef SMTP_PROXY_H
#define SMTP_PROXY_H

#include <stddef.h>

#include "limits.h"

/* The fixed part of a v2 header: signature, ver/cmd, family, length. */
#define PROXY_V2_FIXED_LEN 16
/* The shortest valid header of either version: "PROXY UNKNOWN\r\n". */
#define PROXY_MIN_LEN 15
/* Room for an address as text: INET6_ADDRSTRLEN, NUL included. */
#define PROXY_ADDR_TEXT_MAX 46

enum proxy_result {
	PROXY_NEED_MORE,
	PROXY_OK,
	PROXY_INVALID
};

enum proxy_family {
	PROXY_FAMILY_NONE = 0,	/* keep the real peer */
	PROXY_FAMILY_INET4,
	PROXY_FAMILY_INET6
};

struct proxy_header {
	size_t len;		/* PROXY_OK: octets of the header */
	size_t need;		/* PROXY_NEED_MORE: octets still to read */
	int version;		/* 1 or 2, once known */
	int has_addresses;	/* PROXY_OK: the fields below are set */
	enum proxy_family family;
	char src[PROXY_ADDR_TEXT_MAX];	/* the client */
	char dst[PROXY_ADDR_TEXT_MAX];	/* the address it connected to */
	unsigned src_port;
	unsigned dst_port;
	const char *reason;	/* PROXY_INVALID: why, for the log */
};

enum proxy_result proxy_parse(const char *buf, size_t len,
    struct proxy_header *h);

#endif
