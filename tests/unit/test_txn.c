/*
 * test_txn.c: what smtpd keeps of a transaction (deliver/txn.c): HELO
 * cut at its limit, MAIL's sender and parameters, the recipient tables
 * (static and malloc'd), the RECIPIENTS budget, the message id and the
 * envelope's transaction part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../deliver/progenv.h"
#include "../../deliver/txn.h"
#include "tap.h"

static struct smtp_path
path(const char *text)
{
	struct smtp_path p;
	size_t consumed;
	char wire[SMTP_MAILBOX_MAX + 2];

	snprintf(wire, sizeof(wire), "<%s>", text);
	memset(&p, 0, sizeof(p));
	if (smtp_parse_path(wire, strlen(wire), ADDR_ALLOW_NULL, &p,
	    &consumed) != ADDR_OK)
		diag("unparsed: %s", text);
	return p;
}

static void
test_helo_mail(void)
{
	static struct txn t;
	char longname[SMTP_HELO_MAX + 20];
	struct smtp_path s = path("alice@example.org");
	struct smtp_mail_params params;

	txn_helo(&t, "client.example", 14);
	ok(strcmp(t.helo, "client.example") == 0, "HELO kept");
	memset(longname, 'a', sizeof(longname));
	txn_helo(&t, longname, sizeof(longname));
	ok(strlen(t.helo) == SMTP_HELO_MAX, "HELO cut at SMTP_HELO_MAX");

	txn_mail(&t, &s, NULL);
	ok(strcmp(t.sender, "alice@example.org") == 0 &&
	    t.mail.sender == t.sender && t.mail.size == 0 &&
	    t.mail.body == 0 && t.mail.smtputf8 == 0,
	    "MAIL without parameters");
	memset(&params, 0, sizeof(params));
	params.has_size = 1;
	params.size = 1234;
	params.body = SMTP_BODY_8BITMIME;
	params.smtputf8 = 1;
	s = path("");
	txn_mail(&t, &s, &params);
	ok(strcmp(t.sender, "") == 0 && t.mail.size == 1234 &&
	    t.mail.body == (int)SMTP_BODY_8BITMIME && t.mail.smtputf8 == 1,
	    "MAIL with SIZE, BODY, SMTPUTF8 and the null sender");
	params.has_size = 0;
	txn_mail(&t, &s, &params);
	ok(t.mail.size == 0, "SIZE only when given");
}

static void
test_rcpts(size_t max, const char *name)
{
	static struct txn t;
	struct smtp_path a = path("bob@example.net");
	struct smtp_path b = path("\"c@d\"@[192.0.2.1]");
	struct envelope *env;

	memset(&t, 0, sizeof(t));
	ok(txn_init(&t, max) == 0, "%s: txn_init", name);
	txn_rcpt(&t, 0, &a);
	txn_rcpt(&t, max - 1, &b);
	ok(strcmp(t.rcpts[0], "bob@example.net") == 0 &&
	    t.rcpt_domain_off[0] == 4, "%s: the first recipient", name);
	ok(strcmp(t.rcpts[max - 1], "\"c@d\"@[192.0.2.1]") == 0 &&
	    t.rcpt_domain_off[max - 1] == 6,
	    "%s: the last slot, split where the parser split it", name);
	t.nmessages = 0;
	txn_count_message(&t, "S1");
	txn_count_message(&t, "S1");
	ok(strcmp(t.message_id, "S1.2") == 0, "%s: the message id", name);
	env = txn_envelope(&t, 1);
	ok(env->sender == t.sender && env->rcpts == t.rcpts &&
	    env->rcpt_domain_off == t.rcpt_domain_off && env->nrcpt == 1 &&
	    env->helo == t.helo && env->id == t.message_id &&
	    env->remote_ip == NULL && env->session_env == NULL,
	    "%s: the envelope's transaction part, the rest zero", name);
}

static void
test_rcpts_env(void)
{
	static struct txn t;

	ok(txn_rcpts_env_fits(&t, 0, PROGENV_RCPTS_MAX - 1),
	    "RECIPIENTS: one that fills the budget fits");
	txn_rcpts_env_add(&t, PROGENV_RCPTS_MAX - 1);
	ok(!txn_rcpts_env_fits(&t, 1, 1), "RECIPIENTS: no room for more");
	ok(txn_rcpts_env_fits(&t, 0, 1), "RECIPIENTS: the next transaction "
	    "starts over");
}

int
main(void)
{
	test_helo_mail();
	test_rcpts(SMTP_MAXRCPTS_DEFAULT, "static tables");
	test_rcpts(SMTP_MAXRCPTS_DEFAULT + 5, "malloc'd tables");
	test_rcpts_env();
	return tap_done();
}
