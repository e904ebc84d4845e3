/*
 * txn.c: what smtpd keeps of one SMTP transaction (txn.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "progenv.h"
#include "txn.h"

int
txn_init(struct txn *t, size_t maxrcpts)
{
	/* t's own tables up to the default MAXRCPTS (no malloc in a
	 * session: its first call costs three system calls), malloc above.
	 * Not calloc: txn_rcpt writes a slot before anything reads it, and
	 * pages never touched cost neither time nor memory. */
	if (maxrcpts <= SMTP_MAXRCPTS_DEFAULT) {
		t->rcpt_text = t->fixed_rcpt_text;
		t->rcpts = t->fixed_rcpts;
		t->rcpt_domain_off = t->fixed_domain_off;
	} else {
		t->rcpt_text = malloc(maxrcpts * sizeof(*t->rcpt_text));
		t->rcpts = malloc(maxrcpts * sizeof(*t->rcpts));
		t->rcpt_domain_off = malloc(maxrcpts *
		    sizeof(*t->rcpt_domain_off));
	}
	if (t->rcpt_text == NULL || t->rcpts == NULL ||
	    t->rcpt_domain_off == NULL)
		return -1;
	return 0;
}

void
txn_helo(struct txn *t, const char *helo, size_t len)
{
	size_t n = len < SMTP_HELO_MAX ? len : SMTP_HELO_MAX;

	memcpy(t->helo, helo, n);
	t->helo[n] = '\0';
}

void
txn_mail(struct txn *t, const struct smtp_path *sender,
    const struct smtp_mail_params *params)
{
	memcpy(t->sender, sender->mailbox, sender->len + 1);
	memset(&t->mail, 0, sizeof(t->mail));
	t->mail.sender = t->sender;
	if (params != NULL) {
		t->mail.body = (int)params->body;
		t->mail.smtputf8 = params->smtputf8;
		t->mail.size = params->has_size ? params->size : 0;
	}
}

int
txn_rcpts_env_fits(struct txn *t, size_t nrcpt, size_t len)
{
	if (nrcpt == 0)
		t->rcpts_env_len = 0;
	return t->rcpts_env_len + len + 1 <= PROGENV_RCPTS_MAX;
}

void
txn_rcpts_env_add(struct txn *t, size_t len)
{
	t->rcpts_env_len += len + 1;
}

void
txn_rcpt(struct txn *t, size_t i, const struct smtp_path *rcpt)
{
	memcpy(t->rcpt_text[i], rcpt->mailbox, rcpt->len + 1);
	t->rcpts[i] = t->rcpt_text[i];
	/* Delivery splits it where deliver_check_rcpt did. */
	t->rcpt_domain_off[i] = rcpt->domain_off;
}

void
txn_count_message(struct txn *t, const char *session_id)
{
	struct buf b;

	t->nmessages++;
	buf_init(&b, t->message_id, sizeof(t->message_id));
	buf_adds(&b, session_id);
	buf_addc(&b, '.');
	buf_addu64(&b, t->nmessages);
	buf_nul(&b);
}

struct envelope *
txn_envelope(struct txn *t, size_t nrcpt)
{
	struct envelope *env = &t->env;

	memset(env, 0, sizeof(*env));
	env->sender = t->sender;
	env->rcpts = t->rcpts;
	env->rcpt_domain_off = t->rcpt_domain_off;
	env->nrcpt = nrcpt;
	env->helo = t->helo;
	env->id = t->message_id;
	return env;
}
