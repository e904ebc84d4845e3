/*
 * policy.h: the AUTH policy (RFC 4954) between the engine's AUTH events
 * and CHECKPASSWORD.  auth/sasl.c turns the client's lines into
 * credentials, auth/checkpassword.c asks the program; this module runs
 * the exchange, counts the failures and says what came of each step as
 * an outcome.  It neither logs, answers nor sleeps: the caller (smtpd.c)
 * logs the outcome, waits AUTHDELAY before answering a failure, and
 * closes the session at the AUTH_FAILURES_MAX-th, so that guessing is
 * slow.  No password, digest or AUTH payload leaves this module: the
 * client's line is wiped in the event, the credentials once asked about.
 */
#ifndef SMTP_AUTH_POLICY_H
#define SMTP_AUTH_POLICY_H

#include <stddef.h>

#include "../proto/smtp.h"
#include "checkpassword.h"
#include "sasl.h"

/* AUTHDELAY: seconds before a failure is answered. */
#define AUTH_DELAY_DEFAULT 2
#define AUTH_DELAY_MAX 60
/* The failure that closes the session (421). */
#define AUTH_FAILURES_MAX 3

/* One per session. */
struct auth_policy {
	char *checkpassword;		/* CHECKPASSWORD; NULL: no AUTH */
	int delay_ms;			/* AUTHDELAY */
	unsigned failures;
	char mechs[32];			/* AUTHMECHS, canonical */
	char user_text[SASL_USER_MAX + 1]; /* the user, after AUTH_OK */
	struct sasl sasl;		/* the exchange in progress */
};

/* What the program and the challenge need from the world. */
struct auth_world {
	unsigned long pid;		/* the CRAM-MD5 challenge's */
	const char *local_host;		/* likewise */
	char *const *envp;		/* CHECKPASSWORD's environment */
	int child_stderr;		/* its fd 2; -1 /dev/null */
	int timeout_ms;			/* its deadline */
};

enum auth_outcome {
	AUTH_CHALLENGE,		/* 334 with the challenge */
	AUTH_OK,		/* user in policy->user_text: 235 */
	AUTH_FAILED,		/* why: 535 after AUTHDELAY; too_many 421 */
	AUTH_DEFERRED,		/* CHECKPASSWORD could not say: 454 */
	AUTH_BAD_BASE64,	/* 501 5.5.2 */
	AUTH_SYNTAX,		/* an initial response not allowed: 501 */
	AUTH_UNKNOWN_MECH	/* 504 */
};

/* One step's outcome, with what the caller logs. */
struct auth_result {
	enum auth_outcome outcome;
	int asked_program;		/* CHECKPASSWORD ran (or was to) */
	int too_many;			/* AUTH_FAILED: the last one */
	const char *why;		/* AUTH_FAILED: static text */
	const char *mech;		/* the mechanism's name */
	const char *challenge;		/* AUTH_CHALLENGE: base64 */
	size_t challenge_len;
	char user[SASL_USER_MAX + 1];	/* as the client named it */
	size_t user_len;
	struct checkpassword_detail detail; /* how the program ended */
};

/*
 * AUTHMECHS: known mechanisms only (a typo is a configuration error, not
 * a silently missing mechanism), stored in p->mechs upper-case, once
 * each.  0; -1 with *bad, *badlen the unknown name; -2 when it names
 * none.
 */
int auth_policy_mechs(struct auth_policy *p, const char *list,
    const char **bad, size_t *badlen);

/* Answer SMTP_EV_AUTH or SMTP_EV_AUTH_DATA: one step of the exchange,
 * CHECKPASSWORD once the credentials are complete.  Fills res. */
void auth_policy_step(struct auth_policy *p, const struct smtp_event *ev,
    const struct auth_world *w, struct auth_result *res);

#endif
