/*
 * ucspitls.h: the program's side of the UCSPI-TLS control exchange
 * (ucspi-ssl's ucspi-tls(2), s6-networking's s6-ucspitlsd), with which a
 * wrapper such as `sslserver -n` or s6-ucspitlsd does STARTTLS for us so
 * that no key ever enters smtpd.  The wrapper passes three descriptors,
 * named by SSLCTLFD (control socket), SSLREADFD (cleartext from the
 * client once TLS is on) and SSLWRITEFD (cleartext to the client).  After
 * the 220 to STARTTLS has been sent in the clear, the program writes 'Y'
 * on the control descriptor; the wrapper does the handshake and answers
 * with the connection's parameters as "VAR=value\0" strings ended by an
 * empty string (one more '\0').  A wrapper whose handshake failed closes
 * the control descriptor instead.
 *
 * Only the exchange lives here; which descriptors to use, the switch to
 * them and the SMTP side are smtpd.c's.  Nothing allocates, prints or
 * exits.  Memory: the caller owns every buffer; returned pointers point
 * into the caller's info buffer and live as long as it does.
 */
#ifndef SMTP_UCSPITLS_H
#define SMTP_UCSPITLS_H

#include <stddef.h>

/* The wrapper's answer is read to its end but no further than this many
 * octets (s6-networking sends three short variables; client certificate
 * names make it longer): beyond it the answer is refused. */
#define UCSPITLS_ANSWER_MAX 65536

/*
 * A descriptor number as the environment gives it ("8"): decimal, no
 * sign, and open in this process.  Returns the number, or -1 when text is
 * NULL, malformed, out of range or not an open descriptor.
 */
int ucspitls_fd(const char *text);

/*
 * Ask the wrapper on ctlfd to start TLS ('Y') and read its answer within
 * timeout_ms in all.  The first cap octets of the answer are kept in
 * info, *len of them; a longer answer is read to its end and cut at the
 * last whole string that fit.  Returns 0 once the answer is complete; -1
 * with errno: ETIMEDOUT (deadline), EPROTO (the wrapper closed the control
 * descriptor first: the handshake failed), EMSGSIZE (an answer over
 * UCSPITLS_ANSWER_MAX), or the error of write/read/poll.
 */
int ucspitls_starttls(int ctlfd, char *info, size_t cap, size_t *len,
    int timeout_ms);

/*
 * The value of variable name in the answer info[0..len), or NULL; *vlen
 * is its length.  The value is not NUL-terminated within *vlen and may
 * hold any octet but NUL: it came from another program.
 */
const char *ucspitls_get(const char *info, size_t len, const char *name,
    size_t *vlen);

#endif
