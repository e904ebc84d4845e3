/*
 * lmtp.h: delivery to an LMTP server (RFC 2033), such as Dovecot's
 * lmtp service; private to deliver/ (deliver.c is the only caller),
 * except the pure functions at the end, which tests/unit/test_lmtp.c
 * checks.
 *
 * The connection is opened when the first RCPT of a transaction needs
 * it (LHLO, then the server's extensions), kept for the session's next
 * transactions and ended with QUIT (lmtp_free).  Each RCPT smtpd's own
 * policy took is sent on at once, after MAIL for the first (pipelined
 * when the server offers PIPELINING), and the server's reply is the
 * client's.  The message is streamed: the trace field, then the body
 * with CRLF line ends, in BDAT chunks when the server offers CHUNKING,
 * else after DATA, dot-stuffed; a fixed buffer, whatever the size.
 * After the data the server gives one reply per recipient; they are
 * kept for the log and combined into one (lmtp_combine).
 *
 * Faults (no connection, a close, a stall past d->timeout_ms, a reply
 * that is not one) end the connection: the message is not delivered
 * anywhere (an LMTP server delivers nothing before the end of the data),
 * the reply is 451 and d->what names the server and the step.
 */
#ifndef SMTP_LMTP_H
#define SMTP_LMTP_H

#include <stddef.h>

#include "deliver.h"

/* The text kept of a server's reply: printable ASCII, bounded. */
#define LMTP_TEXT_MAX 160

struct lmtp_reply {
	int code;			/* 200-599; 0: none yet */
	char status[12];		/* "5.1.1", or "" */
	char text[LMTP_TEXT_MAX + 1];	/* after the status; safe */
	size_t text_len;
};

int lmtp_init(struct deliver *d);
int lmtp_rcpt(struct deliver *d, const struct deliver_mail *m,
    const char *mailbox, size_t len, struct deliver_result *res);
int lmtp_open(struct deliver *d);
int lmtp_write(struct deliver *d, const char *buf, size_t len);
int lmtp_close(struct deliver *d, struct deliver_result *res);
void lmtp_abort(struct deliver *d);
void lmtp_reset(struct deliver *d);
void lmtp_free(struct deliver *d);
/* After lmtp_close: recipient i's own reply (i < n), or NULL. */
const struct lmtp_reply *lmtp_result(const struct deliver *d, size_t i);

/* ---- pure functions (no I/O) ---- */

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
