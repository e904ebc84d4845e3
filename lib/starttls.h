/*
 * starttls.h: STARTTLS (RFC 3207) through a wrapper that holds the key:
 * UCSPI-TLS (UCSPITLS + SSLCTLFD/SSLREADFD/SSLWRITEFD: sslserver -n,
 * s6-ucspitlsd) or `tlswrapper -n` (TLSWRAPPER): from release 20260428
 * a zero byte on fd 5 and its acknowledgement on fd 6 (TLS_WRAPPER);
 * before, as in Debian 12, the 220 itself on fd 5, then its close
 * (TLS_WRAPPER_OLD).
 * SMTPS: the wrapper did the handshake before we started (implicit TLS,
 * RFC 8314: tlswrapper, stunnel, sslserver).
 *
 * The session's world (its engine, input buffer, output and deadline)
 * is the caller's: it is named in struct starttls, once.
 */
#ifndef SMTP_STARTTLS_H
#define SMTP_STARTTLS_H

#include <stddef.h>

#include "../proto/smtp.h"

enum starttls_mode {
	TLS_OFF,
	TLS_UCSPI,
	TLS_WRAPPER,		/* tlswrapper -n with fd 6 (20260428 on) */
	TLS_WRAPPER_OLD		/* tlswrapper -n without it */
};

/* The environment's say, as read by the caller (NULL, 0: unset). */
struct starttls_env {
	const char *ssl_ctl_fd;		/* SSLCTLFD */
	const char *ssl_read_fd;	/* SSLREADFD */
	const char *ssl_write_fd;	/* SSLWRITEFD */
	int ucspitls;			/* UCSPITLS set */
	int tlswrapper;			/* TLSWRAPPER set */
	int smtps;			/* SMTPS set */
};

struct starttls {
	enum starttls_mode mode;
	int ctl_fd;			/* UCSPI-TLS: SSLCTLFD */
	int read_fd;			/* UCSPI-TLS: SSLREADFD */
	int write_fd;			/* UCSPI-TLS: SSLWRITEFD */
	int saw_tls;			/* the discard met a TLS record */
	/* The caller's world, set before starttls_configure. */
	struct smtp_session *session;
	/* Its input buffer: what is buffered, in[*in_off..*in_len), is
	 * cleartext to discard. */
	char *in;
	size_t in_cap;
	size_t *in_off;
	size_t *in_len;
	const char *session_id;		/* for the log (lib/log.h) */
	int (*flush)(void);		/* send queued replies: 0 or -1 */
	int (*budget)(void);		/* ms the next wait may take */
};

/*
 * Read the mode from env and take the descriptors it names (made
 * close-on-exec: no child ever holds them).  Returns the engine flags to
 * set: SMTP_CF_TLS (SMTPS), SMTP_CF_STARTTLS, or 0 (a misconfiguration
 * is logged as a warning).
 */
unsigned starttls_configure(struct starttls *t, const struct starttls_env *env);

/*
 * Answer SMTP_EV_STARTTLS: reply, discard the cleartext, switch to the
 * wrapper and reset the engine (smtp_tls_started).  1 when TLS is on and
 * the session starts over; 0 when not (the engine has answered, or the
 * session is closed).
 */
int starttls_run(struct starttls *t);

#endif
