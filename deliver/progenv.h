/*
 * progenv.h: the environment of every program smtpd starts for the
 * session (smtpd.8, "THE HOOK API"): pipe, qmail-queue, RCPTCHECK, and
 * the peer part of it for CHECKPASSWORD.  The parent never calls setenv:
 * "NAME=value" strings are written into the struct's bounded buffer and
 * the vector is handed to lib/spawn.h.  Nothing is allocated or logged;
 * a variable that does not fit is left out and named in dropped[].
 */
#ifndef SMTP_PROGENV_H
#define SMTP_PROGENV_H

#include <stddef.h>

/* Peer and local addresses as text (an IPv6 address with a zone fits). */
#define PEER_NAME_MAX 256

/*
 * Linux refuses any one variable longer than 128 KB (MAX_ARG_STRLEN) at
 * exec, so RECIPIENTS is kept below half of that: a RCPT beyond it gets
 * 452 4.5.3 and the client sends the rest in another transaction (RFC
 * 5321 §4.5.3.1.10).  The other variables are bounded by the protocol's
 * limits and fit in PROGENV_OURS_TEXT.
 */
#define PROGENV_RCPTS_MAX 65536
#define PROGENV_OURS_TEXT 8192
#define PROGENV_TEXT_MAX (PROGENV_RCPTS_MAX + PROGENV_OURS_TEXT)
/* Variables passed on from smtpd's own environment, at most. */
#define PROGENV_INHERIT_MAX 1024
#define PROGENV_OURS_MAX 16

/*
 * The peer as programs are told it.  remote_ip/remote_port are the peer;
 * after a PROXY header, the client it names (not the environment's
 * TCPREMOTEIP, which is the proxy's).
 */
struct peer {
	char remote_ip[PEER_NAME_MAX];
	char remote_port[16];
	const char *remote_host;	/* TCPREMOTEHOST, or NULL */
	/* PROXYPROTOCOL: the address the client connected to, from the
	 * header (TCPLOCALIP/TCPLOCALPORT for programs); empty otherwise. */
	char proxy_local_ip[PEER_NAME_MAX];
	char proxy_local_port[16];
	/* The local address from getsockname(0) when no launcher named it
	 * (systemd, xinetd): TCPLOCALIP/TCPLOCALPORT for programs. */
	char sock_local_ip[PEER_NAME_MAX];
	char sock_local_port[16];
};

/* The transaction as programs are told it. */
struct progenv_txn {
	const char *sender;		/* "" for <> */
	const char *const *rcpts;
	size_t nrcpt;
	const char *helo;
	const char *auth_user;		/* NULL: not authenticated */
};

struct progenv {
	char *envp[PROGENV_OURS_MAX + PROGENV_INHERIT_MAX + 1];
	char text[PROGENV_TEXT_MAX];
	/* environ without the names progenv sets: filtered once per
	 * session, not per message. */
	char *inherited[PROGENV_INHERIT_MAX];
	size_t ninherited;
	int has_inherited;
	/* Set by each call: the variables left out, too long. */
	const char *dropped[PROGENV_OURS_MAX];
	size_t ndropped;
};

/*
 * The session's variables: SENDER, RECIPIENT (rcpt for RCPTCHECK, else
 * the first), RECIPIENTS (all, one per line; not when rcpt is given),
 * HELO, AUTHUSER (when authenticated), TCPREMOTEIP, TCPREMOTEPORT,
 * TCPREMOTEHOST and, after a PROXY header, TCPLOCALIP and TCPLOCALPORT
 * as the header names them (without a launcher that sets them, as
 * getsockname gives them); then environ without the names above (PATH,
 * what envdir and tcprules set).  environ is filtered at the first call,
 * when a PROXY header (read before any command) has decided which TCP*
 * names are ours.  Valid until the next call.
 */
char *const *progenv_session(struct progenv *e, char **parent_env,
    const struct peer *peer, const struct progenv_txn *t, const char *rcpt);

/*
 * environ for the checkpassword program, with the peer as a PROXY header
 * named it: TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP and TCPLOCALPORT as
 * progenv_session gives them, the proxy's own (and its TCPREMOTEHOST,
 * TCPREMOTEINFO) left out.  Without such a header, environ itself.
 * Valid until the next call of either.
 */
char *const *progenv_peer(struct progenv *e, char **parent_env,
    const struct peer *peer);

#endif
