/*
 * mail.h: a session's mail, between the engine's transaction events
 * and the delivery: HELO, MAIL, RCPT (RCPTHOSTS, the mailbox, the
 * RECIPIENTS budget, RCPTCHECK, the LMTP server), DATA, its body and its
 * end, RSET and QUIT are answered here, each with its log lines (smtpd.8
 * LOG), and so is the environment every program smtpd starts gets.
 *
 * smtpd.c owns the world: it reads the configuration, fills struct
 * mail_session once, runs the session loop and hands each event over
 * (mail_on_event).  Nothing here reads the environment or the client.
 */
#ifndef SMTP_DELIVER_MAIL_H
#define SMTP_DELIVER_MAIL_H

#include <stddef.h>

#include "../lib/deadline.h"
#include "../lib/rcpthosts.h"
#include "../proto/smtp.h"
#include "deliver.h"
#include "progenv.h"
#include "txn.h"

struct mail_session {
	/* The session's parts, set once by the caller. */
	struct smtp_session *smtp;	/* the engine */
	struct deliver *deliver;	/* after deliver_init */
	enum deliver_kind kind;
	struct txn *txn;		/* after txn_init */
	unsigned maxrcpts;		/* MAXRCPTS, as given to txn_init */
	struct progenv *progenv;
	char **parent_env;		/* environ */
	const struct peer *peer;
	const char *local_host;		/* our name, for Received: */
	const struct deadline *clock;
	const char *session_id;
	/* Recipient policy. */
	const struct rcpthosts *rcpthosts; /* text NULL: RCPTHOSTS unset */
	int is_relay_client;		/* RELAYCLIENT: any recipient */
	const char *rcptcheck;		/* RCPTCHECK, or NULL */
	const char *auth_user;		/* the AUTH user's text, for while
					   the engine counts the client as
					   authenticated */
	/* What came of the session so far. */
	unsigned long naccepted;	/* messages answered 250 */
	int in_message;			/* started, not yet logged */
};

/* Answer ev if it is the transaction's (HELO, MAIL, RCPT, RSET, QUIT,
 * DATA, BODY, DATA_END, DATA_ABORT): 1; else 0, for the caller. */
int mail_on_event(struct mail_session *m, const struct smtp_event *ev);

/* Drop an open delivery.  A message cut short this way (RSET or EHLO
 * between BDAT chunks, EOF, a timeout) still gets its log line. */
void mail_abort(struct mail_session *m);

/* SESSIONTIMEOUT has passed: drop any open delivery (a program is killed
 * and reaped), answer 421 4.4.2 in place of a pending event's reply, and
 * close. */
void mail_end_at_deadline(struct mail_session *m);

/* smtpd's own environment for the checkpassword program, with the peer
 * as a PROXY header named it (progenv_peer); what it left out is logged. */
char *const *mail_peer_env(struct mail_session *m);

#endif
