/*
 * maildir.h: Maildir delivery, private to deliver/ (deliver.c is the only
 * caller).  The functions work on the caller's struct deliver: init fills
 * d->targets with one allocation (released only at exit), open/write/
 * close/abort use it and nothing else.  Each returns 0, or -1 with errno,
 * d->what (the failed step) and d->err set; after any -1 from open,
 * write or close nothing of the message is left in any Maildir.
 */
#ifndef SMTP_MAILDIR_H
#define SMTP_MAILDIR_H

#include <stddef.h>

#include "../proto/reply.h"
#include "deliver.h"

/* d->kind and d->path are set; allocate the targets and, for one
 * Maildir, create DIR and its tmp/ new/ cur/ when missing. */
int maildir_init(struct deliver *d);

/* Template only: REPLY_RCPT_OK, REPLY_NO_MAILBOX, REPLY_NOHOST (%d and
 * an address literal) or REPLY_TEMP_FAIL. */
enum reply_id maildir_check_rcpt(struct deliver *d, const char *mailbox,
    size_t local_len, size_t domain_off);

/* d->env is set: create a tmp/ file in every target, with the trace
 * fields written. */
int maildir_open(struct deliver *d);
int maildir_write(struct deliver *d, const char *buf, size_t len);
/* fsync, link into new/, fsync new/: all targets or none. */
int maildir_close(struct deliver *d);
/* Remove whatever the open message left in tmp/ or new/. */
void maildir_abort(struct deliver *d);
/* Give back what maildir_init took (d closed or aborted). */
void maildir_free(struct deliver *d);

#endif
