/*
 * deliver.c: the one interface of deliver.h in front of the delivery
 * kinds.  It keeps the state every kind shares (open, failed, the failed
 * step) and maps a failure to the reply smtpd.c sends; the kinds do the
 * work.  Only Maildir delivery is built so far: pipe and qmail-queue
 * answer ENOSYS from deliver_init, so nothing else is ever reached.
 */
#include <errno.h>
#include <string.h>

#include "../proto/reply.h"
#include "deliver.h"
#include "maildir.h"

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

int
deliver_init(struct deliver *d, enum deliver_kind kind, const char *path,
    char *const *argv, size_t maxrcpts, int timeout_ms)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->path = path;
	d->argv = argv;
	d->maxrcpts = maxrcpts;
	d->timeout_ms = timeout_ms;
	d->fd = -1;
	d->fd2 = -1;
	d->pid = -1;
	if (!deliver_is_maildir(d)) {
		d->what = "not built";
		d->err = ENOSYS;
		errno = ENOSYS;
		return -1;
	}
	if (path == NULL) {
		d->what = "path";
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
	default:
		return REPLY_TEMP_FAIL;
	}
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
	if (!deliver_is_maildir(d) || d->targets == NULL) {
		d->what = "not built";
		d->err = ENOSYS;
		errno = ENOSYS;
		return -1;
	}
	d->env = env;
	if (maildir_open(d) == -1) {
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
	if (maildir_write(d, buf, len) == -1) {
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

	memset(res, 0, sizeof(*res));
	res->reply = REPLY_MESSAGE_ACCEPTED;
	if (!d->is_open) {
		res->reply = REPLY_TEMP_FAIL;
		res->what = "not open";
		res->err = EINVAL;
		errno = EINVAL;
		return -1;
	}
	if (d->failed || maildir_close(d) == -1)
		r = -1;
	d->is_open = 0;
	d->env = NULL;
	if (r == 0)
		return 0;
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
	d->is_open = 0;
	d->env = NULL;
}
