/*
 * mail.c: the engine's transaction events answered, with their log
 * lines (mail.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/io.h"
#include "../lib/log.h"
#include "rcptcheck.h"
#include "mail.h"

/* ---------------------------------------------------------------- */
/* Programs: their environment and RCPTCHECK (smtpd.8 THE HOOK API). */

/* What progenv left out, for the log. */
static void
log_progenv_dropped(const struct mail_session *m)
{
	size_t i;

	for (i = 0; i < m->progenv->ndropped; i++)
		log_line("warning", "%s: %s left out of the program's "
		    "environment: too long", m->session_id,
		    m->progenv->dropped[i]);
}

/* The AUTH user while the engine counts the client as authenticated:
 * NULL again after STARTTLS, which forgets a cleartext AUTH. */
static const char *
auth_user(const struct mail_session *m)
{
	return smtp_is_authenticated(m->smtp) ? m->auth_user : NULL;
}

/* The programs' environment: with rcpt, RCPTCHECK's; without, the
 * message's (NULL for Maildir and LMTP delivery).  Valid until the next
 * call. */
static char *const *
program_env(struct mail_session *m, const char *rcpt)
{
	struct progenv_txn t;
	char *const *envp;

	if (rcpt == NULL && m->kind != DELIVER_PIPE &&
	    m->kind != DELIVER_QMAIL_QUEUE)
		return NULL;
	t.sender = m->txn->sender;
	t.rcpts = m->txn->rcpts;
	t.nrcpt = smtp_rcpt_count(m->smtp);
	t.helo = m->txn->helo;
	t.auth_user = auth_user(m);
	envp = progenv_session(m->progenv, m->parent_env, m->peer, &t, rcpt);
	log_progenv_dropped(m);
	return envp;
}

char *const *
mail_peer_env(struct mail_session *m)
{
	char *const *envp = progenv_peer(m->progenv, m->parent_env, m->peer);

	log_progenv_dropped(m);
	return envp;
}

/* Run RCPTCHECK for one recipient (deliver/rcptcheck.h) and log what
 * became of it; a refusal's own words go into reply's text. */
static enum reply_id
run_rcptcheck(struct mail_session *m, const struct smtp_path *p,
    struct deliver_result *reply)
{
	struct rcptcheck_result res;
	char rcpt[LOGESC_MAX + 1];

	(void)rcptcheck_run(m->rcptcheck, program_env(m, p->mailbox),
	    log_child_stderr(), deadline_budget(m->clock), &res);
	if (res.unstarted != NULL && strcmp(res.unstarted, "pipe") == 0) {
		log_line("warning", "%s: RCPTCHECK: pipe: %s", m->session_id,
		    log_errno(res.err));
	} else if (res.unstarted != NULL) {
		log_line("warning", "%s: RCPTCHECK: unable to run %s: %s",
		    m->session_id, m->rcptcheck, log_errno(res.err));
	} else if (res.unfinished) {
		log_line("warning", "%s: RCPTCHECK: <%s>: %s", m->session_id,
		    logesc(rcpt, sizeof(rcpt), p->mailbox, p->len),
		    res.err != ETIMEDOUT ? log_errno(res.err) :
		    deadline_passed(m->clock) ? "killed at SESSIONTIMEOUT" :
		    "killed at TIMEOUT");
	} else if (res.signal != 0) {
		log_line("warning", "%s: RCPTCHECK: <%s>: killed by signal %d",
		    m->session_id, logesc(rcpt, sizeof(rcpt), p->mailbox,
		    p->len), res.signal);
	} else if (res.code != 0) {
		memcpy(reply->text, res.text, res.text_len + 1);
		reply->text_len = res.text_len;
		if (log_refusals_logged() < LOG_REFUSALS_MAX)
			log_line("info", "%s: RCPTCHECK: <%s>: exit %d",
			    m->session_id, logesc(rcpt, sizeof(rcpt),
			    p->mailbox, p->len), res.code);
	}
	return res.reply;
}

/* The last check of a RCPT, after RCPTHOSTS and the mailbox: the
 * RECIPIENTS budget of a pipe program, then RCPTCHECK. */
static enum reply_id
rcpt_check_program(struct mail_session *m, const struct smtp_path *p,
    struct deliver_result *reply)
{
	enum reply_id r;
	int fits;

	fits = txn_rcpts_env_fits(m->txn, smtp_rcpt_count(m->smtp), p->len);
	if (m->kind == DELIVER_PIPE && !fits)
		return REPLY_TOO_MANY_RCPTS;
	if (m->rcptcheck != NULL) {
		r = run_rcptcheck(m, p, reply);
		if (r != REPLY_RCPT_OK)
			return r;
	}
	txn_rcpts_env_add(m->txn, p->len);
	return REPLY_RCPT_OK;
}

/* ---------------------------------------------------------------- */
/* The message's log line, and the end of a delivery.               */

/*
 * "ID: from <SENDER> rcpts N size N: CODE", a refusal's CODE followed by
 * its STATUS and reason=WORD (log_add_reply); "aborted" for REPLY_NONE
 * (the client went away, RSET).
 */
static void
log_message(struct mail_session *m, const struct deliver_result *res,
    uint64_t size, enum reply_id id, const char *reason)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	/* Without printf: this line is written for every message. */
	buf_init(&b, msg, sizeof(msg));
	buf_adds(&b, m->txn->message_id);
	buf_addlit(&b, ": from <");
	logesc_add(&b, m->txn->sender, strlen(m->txn->sender), LOGESC_MAX);
	buf_addlit(&b, "> rcpts ");
	buf_addu64(&b, smtp_rcpt_count(m->smtp));
	buf_addlit(&b, " size ");
	buf_addu64(&b, size);
	buf_addlit(&b, ": ");
	if (id == REPLY_NONE) {
		buf_addlit(&b, "aborted");
	} else if (res != NULL && res->code != 0) {
		/* An LMTP server's reply, passed on. */
		buf_addu64(&b, (uint64_t)res->code);
		if (res->status_code[0] != '\0') {
			buf_addc(&b, ' ');
			buf_adds(&b, res->status_code);
		}
		buf_addlit(&b, " reason=lmtp");
	} else {
		log_add_reply(&b, id, reason);
	}
	if (res != NULL && res->what != NULL) {
		buf_addlit(&b, " failed at ");
		buf_adds(&b, res->what);
	}
	log_put("info", msg, b.len);
	m->in_message = 0;
}

void
mail_abort(struct mail_session *m)
{
	if (!smtp_in_data(m->smtp))
		return;
	/* A qmail-queue is given what is left of the session to go. */
	m->deliver->timeout_ms = deadline_budget(m->clock);
	deliver_abort(m->deliver);
	if (m->in_message)
		log_message(m, NULL, smtp_message_octets(m->smtp), REPLY_NONE,
		    NULL);
}

void
mail_end_at_deadline(struct mail_session *m)
{
	if (smtp_is_closed(m->smtp))
		return;
	mail_abort(m);
	log_line("info", "%s: SESSIONTIMEOUT reached: closing",
	    m->session_id);
	smtp_timeout(m->smtp, REPLY_SESSION_TOO_LONG);
}

/* ---------------------------------------------------------------- */
/* LMTP (deliver/lmtp.c): the server's own replies, logged.          */

/* "SESSION: recipient <RCPT> refused: CODE STATUS reason=lmtp said=TEXT":
 * the server's code and status, not the catalogue's. */
static void
log_lmtp_refusal(const struct mail_session *m, const struct smtp_path *p,
    const struct deliver_result *res)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, msg, sizeof(msg));
	(void)buf_adds(&b, m->session_id);
	(void)buf_adds(&b, ": recipient <");
	(void)logesc_add(&b, p->mailbox, p->len, LOGESC_MAX);
	(void)buf_adds(&b, "> refused: ");
	(void)buf_addu64(&b, (uint64_t)res->code);
	if (res->status_code[0] != '\0') {
		(void)buf_addc(&b, ' ');
		(void)buf_adds(&b, res->status_code);
	}
	(void)buf_adds(&b, " reason=lmtp said=");
	(void)logesc_add(&b, res->text, res->text_len, LOGESC_MAX);
	log_put("info", msg, b.len);
}

/* After smtpd's own policy: the LMTP server's answer to the RCPT.  A
 * fault (no server, a close, a stall, garbage) is logged, naming it. */
static enum reply_id
rcpt_lmtp(struct mail_session *m, const struct smtp_path *p,
    struct deliver_result *res)
{
	/* What is left after RCPTCHECK, if it ran. */
	m->deliver->timeout_ms = deadline_budget(m->clock);
	if (deliver_rcpt(m->deliver, &m->txn->mail, p->mailbox, p->len,
	    res) == 0)
		return res->reply;
	if (res->what != NULL)
		log_line("warning", "%s: %s: %s", m->session_id, res->what,
		    log_errno(res->err));
	return res->reply;
}

/* "ID: to <RCPT>: CODE STATUS said=TEXT", one line per recipient, from
 * the LMTP server's replies after the data. */
static void
log_lmtp_results(const struct mail_session *m)
{
	char msg[LOG_LINE_MAX];
	struct buf b;
	const char *status;
	const char *text;
	size_t text_len;
	size_t i;
	int code;

	for (i = 0; deliver_rcpt_result(m->deliver, i, &code, &status,
	    &text, &text_len) == 0; i++) {
		buf_init(&b, msg, sizeof(msg));
		(void)buf_adds(&b, m->txn->message_id);
		(void)buf_adds(&b, ": to <");
		if (i < smtp_rcpt_count(m->smtp))
			(void)logesc_add(&b, m->txn->rcpts[i],
			    strlen(m->txn->rcpts[i]), LOGESC_MAX);
		(void)buf_adds(&b, ">: ");
		(void)buf_addu64(&b, (uint64_t)code);
		if (status[0] != '\0') {
			(void)buf_addc(&b, ' ');
			(void)buf_adds(&b, status);
		}
		(void)buf_adds(&b, " said=");
		(void)logesc_add(&b, text, text_len, LOGESC_MAX);
		log_put("info", msg, b.len);
	}
}

/* ---------------------------------------------------------------- */
/* The events.                                                       */

/* Answer with a relayed LMTP reply (code set), other words for it (text:
 * RCPTCHECK's, or ours for an LMTP fault), or the catalogue's. */
static void
answer(struct mail_session *m, enum reply_id r,
    const struct deliver_result *res)
{
	if (res->code != 0)		/* the LMTP server's reply */
		smtp_answer_relayed(m->smtp, r, res->code,
		    res->status_code[0] != '\0' ? res->status_code : NULL,
		    res->text, res->text_len);
	else if (res->text_len > 0)
		smtp_answer_text(m->smtp, r, res->text, res->text_len);
	else
		smtp_answer(m->smtp, r);
}

static void
on_helo(struct mail_session *m, const struct smtp_event *ev)
{
	mail_abort(m);
	deliver_reset(m->deliver);	/* LMTP: RSET theirs too */
	txn_helo(m->txn, ev->helo, ev->helo_len);
	smtp_answer(m->smtp, REPLY_NONE);
}

static void
on_mail(struct mail_session *m, const struct smtp_event *ev)
{
	/* LMTP: sends its MAIL at the first RCPT, with these. */
	txn_mail(m->txn, ev->path, ev->params);
	deliver_reset(m->deliver);
	smtp_answer(m->smtp, REPLY_MAIL_OK);
}

/* Is this recipient ours to take?  RELAYCLIENT and AUTH take any. */
static enum reply_id
rcpt_policy(const struct mail_session *m, const struct smtp_path *p)
{
	const char *domain = p->mailbox + p->domain_off;
	size_t dlen = p->len - p->domain_off;

	if (p->domain_off == p->len)	/* <postmaster>: RFC 5321 §4.5.1 */
		return REPLY_RCPT_OK;
	if (m->rcpthosts->text == NULL || m->is_relay_client ||
	    smtp_is_authenticated(m->smtp))
		return REPLY_RCPT_OK;
	return rcpthosts_match(m->rcpthosts->text, m->rcpthosts->len, domain,
	    dlen) ? REPLY_RCPT_OK : REPLY_RELAY_DENIED;
}

static void
on_rcpt(struct mail_session *m, const struct smtp_event *ev)
{
	const struct smtp_path *p = ev->path;
	enum reply_id r = rcpt_policy(m, p);
	const char *reason = NULL;	/* the catalogue's word */
	unsigned i = smtp_rcpt_count(m->smtp);
	/* The reply's words: RCPTCHECK's, or the LMTP server's. */
	struct deliver_result next;

	next.code = 0;
	next.text_len = 0;
	if (r == REPLY_RCPT_OK)
		r = deliver_check_rcpt(m->deliver, p->mailbox, p->local_len,
		    p->domain_off);
	if (r == REPLY_RCPT_OK) {
		r = rcpt_check_program(m, p, &next);
		if (r != REPLY_RCPT_OK && r != REPLY_TOO_MANY_RCPTS)
			reason = "rcptcheck";
	}
	if (r == REPLY_RCPT_OK && m->kind == DELIVER_LMTP &&
	    !deadline_passed(m->clock)) {
		r = rcpt_lmtp(m, p, &next);
		reason = "lmtp";
	}
	if ((m->rcptcheck != NULL || m->kind == DELIVER_LMTP) &&
	    deadline_passed(m->clock)) {
		/* RCPTCHECK or the LMTP server took what was left of the
		 * session. */
		mail_end_at_deadline(m);
		return;
	}
	if (r == REPLY_RCPT_OK && i < m->maxrcpts) {
		/* The engine counts it once answered. */
		txn_rcpt(m->txn, i, p);
	} else if (r != REPLY_RCPT_OK && log_refusal_room()) {
		if (next.code != 0)
			log_lmtp_refusal(m, p, &next);
		else
			log_refusal(m->session_id, "recipient", p->mailbox,
			    p->len, r, reason, 1);
	}
	answer(m, r, &next);
}

/* What the log calls the delivery target: the Maildir or the program. */
static const char *
delivery_target(const struct mail_session *m)
{
	if (m->kind == DELIVER_PIPE && m->deliver->argv != NULL)
		return m->deliver->argv[0];
	return m->deliver->path != NULL ? m->deliver->path : "?";
}

static void
on_data(struct mail_session *m)
{
	struct envelope *env;
	struct timespec now;

	txn_count_message(m->txn, m->session_id);
	m->in_message = 1;
	env = txn_envelope(m->txn, smtp_rcpt_count(m->smtp));
	env->remote_ip = m->peer->remote_ip;
	env->remote_host = m->peer->remote_host;
	env->local_host = m->local_host;
	env->protocol = smtp_with_protocol(m->smtp);
	env->auth_user = auth_user(m);
	env->session_env = program_env(m, NULL);
	if (io_clock(CLOCK_REALTIME, &now) == 0) {
		env->when = now.tv_sec;
		env->when_us = now.tv_nsec / 1000;
	}
	if (deliver_open(m->deliver, env) != 0) {
		int e = errno;
		enum reply_id r = deliver_reply_for(e);

		log_line("warning", "%s: unable to start delivery to %s: %s: %s",
		    m->txn->message_id, delivery_target(m),
		    m->deliver->what ? m->deliver->what : "open", log_errno(e));
		/* The message's own line, with its final reply, as for
		 * every other message. */
		log_message(m, NULL, 0, r, NULL);
		smtp_answer(m->smtp, r);
		return;
	}
	smtp_answer(m->smtp, REPLY_DATA_GO);
}

static void
on_data_end(struct mail_session *m, const struct smtp_event *ev)
{
	struct deliver_result res;
	char said[LOGESC_MAX + 1];
	const char *reason = NULL;
	int failed;

	memset(&res, 0, sizeof(res));
	failed = deliver_close(m->deliver, &res) != 0;
	if (failed && res.err == ETIMEDOUT && deadline_passed(m->clock)) {
		/* The program was killed at SESSIONTIMEOUT: nothing was
		 * accepted, and the session ends here. */
		log_message(m, &res, ev->size, REPLY_NONE, NULL);
		mail_end_at_deadline(m);
		return;
	}
	if (failed && res.what != NULL && res.status >= 0) {
		/* A program's verdict (pipe, qmail-queue): "exit 100", and
		 * the first line it wrote, escaped. */
		log_line("info", "%s: program %s %d: %s", m->txn->message_id,
		    res.what, res.status, logesc(said, sizeof(said), res.text,
		    res.text_len));
		reason = "program";
	} else if (res.what != NULL) {
		log_line("warning", "%s: delivery failed: %s: %s",
		    m->txn->message_id, res.what, log_errno(res.err));
	}
	if (m->kind == DELIVER_LMTP) {
		log_lmtp_results(m);	/* each recipient's own result */
		if (failed)
			reason = "lmtp";
	}
	log_message(m, &res, ev->size, res.reply, reason);
	if (reply_code(res.reply) / 100 == 2)
		m->naccepted++;
	answer(m, res.reply, &res);
}

static void
on_data_abort(struct mail_session *m, const struct smtp_event *ev)
{
	/* Logged here with the engine's reply, not as "aborted".  A first
	 * BDAT chunk over DATABYTES comes without a DATA event. */
	if (!m->in_message)
		txn_count_message(m->txn, m->session_id);
	m->in_message = 0;
	mail_abort(m);
	log_message(m, NULL, ev->size, ev->refusal, NULL);
	smtp_answer(m->smtp, REPLY_NONE);
}

int
mail_on_event(struct mail_session *m, const struct smtp_event *ev)
{
	switch (ev->type) {
	case SMTP_EV_HELO:
		on_helo(m, ev);
		return 1;
	case SMTP_EV_MAIL:
		on_mail(m, ev);
		return 1;
	case SMTP_EV_RCPT:
		on_rcpt(m, ev);
		return 1;
	case SMTP_EV_RSET:
	case SMTP_EV_QUIT:
		mail_abort(m);
		if (ev->type == SMTP_EV_RSET)
			deliver_reset(m->deliver); /* LMTP: RSET theirs */
		smtp_answer(m->smtp, REPLY_NONE);
		return 1;
	case SMTP_EV_DATA:
		on_data(m);
		return 1;
	case SMTP_EV_BODY:
		if (smtp_in_data(m->smtp))
			(void)deliver_write(m->deliver, ev->data, ev->len);
		smtp_answer(m->smtp, REPLY_NONE);
		return 1;
	case SMTP_EV_DATA_END:
		on_data_end(m, ev);
		return 1;
	case SMTP_EV_DATA_ABORT:
		on_data_abort(m, ev);
		return 1;
	default:
		return 0;
	}
}
