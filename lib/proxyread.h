/*
 * proxyread.h: read a PROXY header (proto/proxy.h) from a descriptor,
 * exactly: never more than the octets proxy_parse() says still belong
 * to it, so that what the client sends after it stays unread.
 */
#ifndef SMTP_PROXYREAD_H
#define SMTP_PROXYREAD_H

#include <stddef.h>

#include "../proto/proxy.h"

/*
 * Read the header from fd into buf (PROXY_HEADER_MAX octets; *len of
 * them so far) and parse it into h, within timeout_ms.  0 when it is
 * read and valid; else -1 and *why says why for the log, or *why is
 * NULL and errno is the read's error.
 */
int proxy_read(int fd, int timeout_ms, char *buf, size_t *len,
    struct proxy_header *h, const char **why);

#endif
