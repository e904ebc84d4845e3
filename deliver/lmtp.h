/*
 * lmtp.h: delivery to an LMTP server (RFC 2033), such as Dovecot's
 * lmtp service; private to deliver/ (deliver.c is the only caller).
 * The pure parts (reply lines, LHLO keywords, the body's wire form) are
 * in lmtp_reply.h.
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
#include "lmtp_reply.h"

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

#endif
