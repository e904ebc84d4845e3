/*
 * deliver.c: the one interface of deliver.h in front of the delivery
 * kinds (maildir.c, pipe.c, qmail_queue.c, lmtp.c).  It keeps the state every
 * kind shares (open, failed, the failed step) and maps a failure of
 * smtpd's own (an errno) to the reply smtpd sends; the kinds do the
 * work, and a program's verdict comes from the kind that ran it.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "../proto/reply.h"
#include "deliver.h"
#include "lmtp.h"
#include "maildir.h"
#include "pipe.h"
#include "qmail_queue.h"

static int
deliver_is_maildir(const struct deliver *d)
{
	return d->kind == DELIVER_MAILDIR ||
	    d->kind == DELIVER_MAILDIR_TEMPLATE;
}

/* RFC 3463 §3.4: X.3.1 "mail system full" is for a full disk or quota,
 * and still temporary (452, RFC 5321 §4.2.2); anything else is a local
 * error (451 4.3.0). */
enum reply_id
deliver_reply_for(int err)
{
	switch (err) {
	case ENOSPC:
	case EFBIG:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return REPLY_NO_STORAGE;
	default:
		return REPLY_TEMP_FAIL;
	}
}

static int
deliver_kind_open(struct deliver *d)
{
	switch (d->kind) {
	case DELIVER_PIPE:
		return pipe_open(d);
	case DELIVER_QMAIL_QUEUE:
		return qmail_queue_open(d);
	case DELIVER_LMTP:
		return lmtp_open(d);
	default:
		return maildir_open(d);
	}
}

static int
deliver_kind_write(struct deliver *d, const char *buf, size_t len)
{
	switch (d->kind) {
	case DELIVER_PIPE:
		return pipe_write(d, buf, len);
	case DELIVER_QMAIL_QUEUE:
		return qmail_queue_write(d, buf, len);
	case DELIVER_LMTP:
		return lmtp_write(d, buf, len);
	default:
		return maildir_write(d, buf, len);
	}
}

int
deliver_init(struct deliver *d, enum deliver_kind kind, const char *path,
    char *const *argv, size_t maxrcpts, int timeout_ms)
{
	/* Not carry[]: carry_len says what it holds, and its pages stay
	 * untouched (each is a page fault) until a message needs them. */
	memset(d, 0, offsetof(struct deliver, carry));
	d->kind = kind;
	d->path = path;
	d->argv = argv;
	d->maxrcpts = maxrcpts;
	d->timeout_ms = timeout_ms;
	d->fd = -1;
	d->fd2 = -1;
	d->fd3 = -1;
	d->pid = -1;
	d->child_stderr = -1;
	if (kind == DELIVER_PIPE) {
		if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
			d->what = "program";
			d->err = EINVAL;
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	if (path == NULL) {
		d->what = "path";
		d->err = EINVAL;
		errno = EINVAL;
		return -1;
	}
	if (kind == DELIVER_LMTP)
		return lmtp_init(d);
	if (kind == DELIVER_QMAIL_QUEUE) {
		if (path[0] != '\0')
			return 0;
		d->what = "program";
		d->err = EINVAL;
		errno = EINVAL;
		return -1;
	}
	return maildir_init(d);
}

enum reply_id
deliver_check_rcpt(struct deliver *d, const char *mailbox, size_t local_len,
    size_t domain_off)
{
	switch (d->kind) {
	case DELIVER_MAILDIR:
		return REPLY_RCPT_OK;
	case DELIVER_MAILDIR_TEMPLATE:
		return maildir_check_rcpt(d, mailbox, local_len, domain_off);
	case DELIVER_PIPE:
	case DELIVER_QMAIL_QUEUE:
	case DELIVER_LMTP:
		/* The program decides, at the end (or RCPTCHECK, now); the
		 * LMTP server after smtpd's own policy (deliver_rcpt). */
		return REPLY_RCPT_OK;
	default:
		return REPLY_TEMP_FAIL;
	}
}

int
deliver_rcpt(struct deliver *d, const struct deliver_mail *m,
    const char *mailbox, size_t len, struct deliver_result *res)
{
	memset(res, 0, sizeof(*res));
	res->reply = REPLY_RCPT_OK;
	res->status = -1;
	if (d->kind != DELIVER_LMTP)
		return 0;
	return lmtp_rcpt(d, m, mailbox, len, res);
}

void
deliver_reset(struct deliver *d)
{
	if (d->kind == DELIVER_LMTP)
		lmtp_reset(d);
}

int
deliver_rcpt_result(const struct deliver *d, size_t i, int *code,
    const char **status, const char **text, size_t *text_len)
{
	const struct lmtp_reply *r;

	if (d->kind != DELIVER_LMTP || (r = lmtp_result(d, i)) == NULL)
		return -1;
	*code = r->code;
	*status = r->status;
	*text = r->text;
	*text_len = r->text_len;
	return 0;
}

int
deliver_open(struct deliver *d, const struct envelope *env)
{
	/* A message left open by a caller's mistake is dropped, not
	 * delivered: nothing may remain of it. */
	if (d->is_open)
		deliver_abort(d);
	d->failed = 0;
	d->err = 0;
	d->what = NULL;
	d->written = 0;
	if (deliver_is_maildir(d) && d->targets == NULL) {
		d->what = "not initialized";
		d->err = EINVAL;
		errno = EINVAL;
		return -1;
	}
	d->env = env;
	if (deliver_kind_open(d) == -1) {
		d->env = NULL;
		errno = d->err;
		return -1;
	}
	d->is_open = 1;
	return 0;
}

int
deliver_write(struct deliver *d, const char *buf, size_t len)
{
	if (!d->is_open) {
		errno = EINVAL;
		return -1;
	}
	if (d->failed) {
		errno = d->err;
		return -1;
	}
	if (len == 0)
		return 0;
	if (deliver_kind_write(d, buf, len) == -1) {
		/* maildir_write has already removed every file, so a
		 * full disk is freed at once, not at the end of DATA. */
		d->failed = 1;
		errno = d->err;
		return -1;
	}
	d->written += len;
	return 0;
}

int
deliver_close(struct deliver *d, struct deliver_result *res)
{
	int r = 0;
	int is_program = d->kind == DELIVER_PIPE ||
	    d->kind == DELIVER_QMAIL_QUEUE;
	int is_lmtp = d->kind == DELIVER_LMTP;

	memset(res, 0, sizeof(*res));
	res->reply = REPLY_MESSAGE_ACCEPTED;
	if (!d->is_open) {
		res->reply = REPLY_TEMP_FAIL;
		res->what = "not open";
		res->err = EINVAL;
		errno = EINVAL;
		return -1;
	}
	res->status = -1;
	if (is_program) {
		/* The program's verdict fills res; REPLY_NONE is left for
		 * a failure of our own, mapped below. */
		res->reply = REPLY_NONE;
		r = d->kind == DELIVER_PIPE ? pipe_close(d, res) :
		    qmail_queue_close(d, res);
		if (r == 0)
			res->reply = REPLY_MESSAGE_ACCEPTED;
	} else if (is_lmtp) {
		/* The server's replies (or a fault) fill res. */
		r = lmtp_close(d, res);
		d->is_open = 0;
		d->env = NULL;
		errno = res->err;
		return r;
	} else if (d->failed || maildir_close(d) == -1) {
		r = -1;
	}
	d->is_open = 0;
	d->env = NULL;
	if (r == 0)
		return 0;
	if (is_program && res->reply != REPLY_NONE) {
		errno = res->err;
		return -1;
	}
	res->reply = deliver_reply_for(d->err);
	res->what = d->what;
	res->err = d->err;
	errno = d->err;
	return -1;
}

void
deliver_abort(struct deliver *d)
{
	if (!d->is_open)
		return;
	if (deliver_is_maildir(d))
		maildir_abort(d);
	else if (d->kind == DELIVER_PIPE)
		pipe_abort(d);
	else if (d->kind == DELIVER_LMTP)
		lmtp_abort(d);
	else
		qmail_queue_abort(d);
	d->is_open = 0;
	d->env = NULL;
}

void
deliver_free(struct deliver *d)
{
	deliver_abort(d);
	if (deliver_is_maildir(d))
		maildir_free(d);
	else if (d->kind == DELIVER_LMTP)
		lmtp_free(d);
}
