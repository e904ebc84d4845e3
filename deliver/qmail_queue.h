/*
 * qmail_queue.h: delivery through a qmail-queue compatible program
 * (qmail-queue(8): the message on its fd 0, then the envelope
 * "Fsender\0Trcpt\0...\0\0" on its fd 1); private to deliver/
 * (deliver.c is the only caller).
 *
 * open starts the program (d->path) with both pipes and, as notqmail's
 * custom-error extension has it, a third on its fd 6, and writes our
 * Received: first, as qmail-smtpd does; write streams the message as it
 * arrives; close writes the envelope, waits at most d->timeout_ms and
 * maps the exit code as qmail's qmail.c does; abort closes both pipes
 * without an envelope, so the program queues nothing, and reaps it.
 *
 * State lives in the caller's struct deliver: d->fd (message), d->fd2
 * (envelope), d->fd3 (error text) and d->pid.  Nothing is allocated.
 * open and write return 0, or -1 with errno, d->what and d->err set.
 */
#ifndef SMTP_QMAIL_QUEUE_H
#define SMTP_QMAIL_QUEUE_H

#include <stddef.h>

#include "deliver.h"

int qmail_queue_open(struct deliver *d);
int qmail_queue_write(struct deliver *d, const char *buf, size_t len);
/* Envelope, wait, map: 0 when the message is queued; -1 with res filled
 * (or, for a failure of smtpd's own, res->reply left REPLY_NONE and
 * d->what, d->err set). */
int qmail_queue_close(struct deliver *d, struct deliver_result *res);
void qmail_queue_abort(struct deliver *d);

#endif
