/*
 * lmtp_reply.h: the pure parts of the LMTP client (no I/O), which
 * lmtp.c uses and tests/unit/test_lmtp.c checks: the server's replies,
 * its LHLO keywords, the one reply for the client after the data, and
 * the message's wire form.
 */
#ifndef SMTP_LMTP_REPLY_H
#define SMTP_LMTP_REPLY_H

#include <stddef.h>

/* The text kept of a server's reply: printable ASCII, bounded. */
#define LMTP_TEXT_MAX 160

struct lmtp_reply {
	int code;			/* 200-599; 0: none yet */
	char status[12];		/* "5.1.1", or "" */
	char text[LMTP_TEXT_MAX + 1];	/* after the status; safe */
	size_t text_len;
};

/* The server's extensions, from LHLO's reply lines. */
#define LMTP_EXT_PIPELINING	0x01
#define LMTP_EXT_8BITMIME	0x02
#define LMTP_EXT_CHUNKING	0x04
#define LMTP_EXT_BINARYMIME	0x08
#define LMTP_EXT_SMTPUTF8	0x10
#define LMTP_EXT_SIZE		0x20
#define LMTP_EXT_ENHANCED	0x40

/* The LMTP_EXT_ bit one LHLO reply line's text names (its keyword, up
 * to a space), or 0. */
unsigned lmtp_ext_keyword(const char *text, size_t len);

/*
 * One reply line (without CRLF): "ddd text", "ddd-text" or "ddd".
 * Returns 1 for the last line of a reply, 0 for a line that another
 * follows ("ddd-"), -1 for anything else.  When r->code is 0 the line
 * starts r: code, the status when the text starts with one of the
 * code's class, and the text made safe; on a later line the code must
 * be the same (else -1) and r is kept.
 */
int lmtp_parse_line(const char *line, size_t len, struct lmtp_reply *r);

/*
 * The one reply for the client after the data: every reply 2xx: 0 (the
 * caller answers 250); every reply permanent (5xx) with the same code
 * and status: 1, and *out is the first of them; anything else (a 4xx,
 * a mix, no reply): 2 (the caller answers 451 4.3.0).
 */
int lmtp_combine(const struct lmtp_reply *each, size_t n,
    const struct lmtp_reply **out);

/*
 * Message octets (LF line ends) to the wire form: CRLF line ends and,
 * with stuff, a '.' doubled at the start of a line.  *at_bol carries
 * "the last octet ended a line" between calls (1 at the start).  Writes
 * at most cap octets into out; returns how many octets of in it used
 * (all of them, or fewer when out is full: call again with the rest).
 * *outlen is set to the octets written.
 */
size_t lmtp_encode(const char *in, size_t len, int stuff, int *at_bol,
    char *out, size_t cap, size_t *outlen);

#endif
