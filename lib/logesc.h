/*
 * logesc.h: client-supplied text (HELO, addresses, the AUTH user, a
 * program's reply, PROXY and TLS names) made fit for a log line, so that
 * no value can look like another field or another line.  Octets 0x21 to
 * 0x7e pass, except '"', '\' and '='; every other octet (space, the C0
 * controls, DEL, and each octet >= 0x80: UTF-8, C1 controls, U+2028 and
 * bidirectional controls included) is written as "\xHH", two lower-case
 * hex digits.  So an escaped value is one word, with no '=', and can be
 * read back exactly.  A value cut to fit ends in "\..." (a '\' is never
 * otherwise followed by '.'); an empty one is empty.
 */
#ifndef SMTP_LOGESC_H
#define SMTP_LOGESC_H

#include <stddef.h>

#include "buf.h"

/* Room for one value in a log line: enough for a whole mailbox (RFC
 * 5321 §4.5.3.1.3) in ASCII; UTF-8 and hostile text are cut. */
#define LOGESC_MAX 384

/*
 * Append s[0..len) escaped to b, at most max octets (and no more than b
 * has room for), cut with "\..." when it does not fit.  0, or -1 (b's
 * overflow set, nothing appended) when not even the mark fits.
 */
int logesc_add(struct buf *b, const char *s, size_t len, size_t max);

/* The same into out[0..cap) as a NUL-terminated string (cap >= 5);
 * returns out. */
const char *logesc(char *out, size_t cap, const char *s, size_t len);

#endif
