/*
 * iptext.h: the text of an IP address, as RFC 5952 writes IPv6: lower
 * case, no leading zeros, the longest run of two or more zero groups (the
 * first of equals) as "::", and an IPv4-mapped address as
 * ::ffff:192.0.2.1.  IPv4 is dotted decimal.  glibc's inet_ntop agrees
 * but for the deprecated IPv4-compatible ::a.b.c.d, which it writes in
 * mixed notation; musl's compresses the later of two equal runs when the
 * first leads the address.  Ours, not inet_ntop: musl's brings printf
 * into a static smtpd, and a page fault with it (lib/fmt.h).
 */
#ifndef SMTP_IPTEXT_H
#define SMTP_IPTEXT_H

#include <stddef.h>

/* Long enough for any address and its NUL (INET6_ADDRSTRLEN). */
#define IP_TEXT_MAX 46

/* a: 4 octets, or 16 when is_inet6; into out[0..cap), NUL-terminated.
 * Returns the length, or 0 (out untouched) when it does not fit. */
size_t ip_text(int is_inet6, const unsigned char *a, char *out, size_t cap);

#endif
