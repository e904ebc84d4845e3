/*
 * txn.h: what smtpd keeps of one SMTP transaction for its delivery: the
 * HELO name, the sender and MAIL's parameters, the recipients taken
 * (their text and where each one's domain starts), the RECIPIENTS
 * budget of a pipe program, and the message's id.
 *
 * The engine (proto/) owns the transaction's state: it decides, counts
 * the recipients and knows whether a message is open.  This only holds
 * the text the delivery needs, so the caller passes the engine's count
 * in (smtp_rcpt_count) and keeps no copy of it.  Nothing here does I/O.
 */
#ifndef SMTP_TXN_H
#define SMTP_TXN_H

#include <stddef.h>

#include "../proto/address.h"
#include "../proto/limits.h"
#include "deliver.h"

struct txn {
	char helo[SMTP_HELO_MAX + 1];
	char sender[SMTP_MAILBOX_MAX];
	struct deliver_mail mail;	/* the sender and MAIL's parameters,
					   for LMTP's MAIL (deliver_rcpt) */
	char (*rcpt_text)[SMTP_MAILBOX_MAX];
	const char **rcpts;
	size_t *rcpt_domain_off;	/* the parser's split of each */
	size_t rcpts_env_len;		/* RECIPIENTS so far, octets */
	unsigned long nmessages;	/* DATA/BDAT transactions started */
	char message_id[48];		/* "SESSION.N" */
	struct envelope env;
	/* The recipient tables up to the default MAXRCPTS (txn_init), the
	 * text last: a session touches only its first rows, and each page
	 * touched costs a fault at start-up, so they follow the small
	 * parts above rather than sit in pages of their own. */
	size_t fixed_domain_off[SMTP_MAXRCPTS_DEFAULT];
	const char *fixed_rcpts[SMTP_MAXRCPTS_DEFAULT];
	char fixed_rcpt_text[SMTP_MAXRCPTS_DEFAULT][SMTP_MAILBOX_MAX];
};

/* The recipient tables for maxrcpts: t's own up to the default
 * MAXRCPTS, else malloc.  0, or -1 (out of memory). */
int txn_init(struct txn *t, size_t maxrcpts);

/* HELO/EHLO's argument, cut at SMTP_HELO_MAX. */
void txn_helo(struct txn *t, const char *helo, size_t len);

/* MAIL: the sender and its parameters (params may be NULL). */
void txn_mail(struct txn *t, const struct smtp_path *sender,
    const struct smtp_mail_params *params);

/* May a pipe program's RECIPIENTS take one more of len octets, when
 * nrcpt are taken so far?  Its first recipient starts the count. */
int txn_rcpts_env_fits(struct txn *t, size_t nrcpt, size_t len);
/* It did: count it. */
void txn_rcpts_env_add(struct txn *t, size_t len);

/* Recipient i (the engine's count before it answers) is taken; i is
 * below the maxrcpts given to txn_init. */
void txn_rcpt(struct txn *t, size_t i, const struct smtp_path *rcpt);

/* A message starts (DATA, BDAT): the next number and its id
 * "SESSION.N". */
void txn_count_message(struct txn *t, const char *session_id);

/* The envelope of the message, for nrcpt recipients: the transaction's
 * part filled, the rest (the peer, protocol, time, ...) zero for the
 * caller to fill. */
struct envelope *txn_envelope(struct txn *t, size_t nrcpt);

#endif
