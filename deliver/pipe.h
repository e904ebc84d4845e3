/*
 * pipe.h: delivery to a program, the hook API
 * (smtpd.8, "THE HOOK API"); private to deliver/ (deliver.c is the only caller).
 *
 * open spools the message to a temporary file that is unlinked at once
 * (so nothing remains whatever happens), with Received: first; write
 * appends; close runs the program with the spool on stdin, the session's
 * environment (d->env->session_env) and stdout on a pipe whose first line
 * becomes the reply's text, waits at most d->timeout_ms, and maps the
 * exit status to a reply.  abort closes the spool; no program has run.
 *
 * State lives in the caller's struct deliver: d->fd is the spool.
 * Nothing is allocated.  open and write return 0, or -1 with errno,
 * d->what and d->err set.
 */
#ifndef SMTP_PIPE_H
#define SMTP_PIPE_H

#include <stddef.h>

#include "deliver.h"

int pipe_open(struct deliver *d);
int pipe_write(struct deliver *d, const char *buf, size_t len);
/* Run the program (unless the message already failed: then 451) and
 * fill res; 0 when it accepted the message, -1 otherwise. */
int pipe_close(struct deliver *d, struct deliver_result *res);
void pipe_abort(struct deliver *d);

#endif
