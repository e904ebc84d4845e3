/*
 * session.h: the engine's inside, shared by smtp.c (reading, events,
 * answers) and command.c (the command table and its handlers).  Private
 * to proto/: not installed, not for callers.  The names carry the smtp_
 * prefix because a library has one namespace for all its files.
 */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <stddef.h>
#include <string.h>

#include "reply.h"
#include "smtp.h"


/* Replies. */
void smtp_queue_text(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len, int more);
void smtp_queue(struct smtp_session *s, enum reply_id id);
void smtp_close_session(struct smtp_session *s, enum smtp_close why);
/* An error counted: 1 when it reached the limit (421 queued, closed). */
int smtp_count_error(struct smtp_session *s);
/* A protocol error: its reply, or the 421 at the error limit. */
void smtp_fail(struct smtp_session *s, enum reply_id id);

/* The transaction and the message. */
void smtp_reset_message(struct smtp_session *s);
void smtp_reset_transaction(struct smtp_session *s);
int smtp_in_transaction(const struct smtp_session *s);
int smtp_is_binary(const struct smtp_session *s);
void smtp_start_message(struct smtp_session *s, int text);
void smtp_chunk_end(struct smtp_session *s);

/* Message octets through the decoder; a full buffer raises BODY. */
size_t smtp_feed_message(struct smtp_session *s, const char *p, size_t len);
/* The message is complete: DATA_ABORT, or BODY then DATA_END. */
void smtp_finish_message(struct smtp_session *s);

/* The one pending event: cleared, typed, is_bdat filled in. */
static inline void
smtp_raise_event(struct smtp_session *s, enum smtp_event_type type)
{
	memset(&s->event, 0, sizeof(s->event));
	s->event.type = type;
	s->event.is_bdat = s->state == SMTP_ST_BDAT ||
	    s->reading == SMTP_READ_CHUNK || s->reading == SMTP_READ_SKIP;
	s->has_event = 1;
}

/* A set of states: bits of enum smtp_state. */
#define IN(st) (1u << (st))

/* command.c: a command line (without CRLF), a SASL line, and the answers
 * to the events the commands raise. */
void smtp_command(struct smtp_session *s, char *line, size_t len);
/* The reply for a command whose states (IN() bits) exclude the current. */
enum reply_id smtp_wrong_state(const struct smtp_session *s,
    unsigned allowed);
void smtp_auth_line(struct smtp_session *s, char *line, size_t len);
void smtp_helo_answered(struct smtp_session *s, enum reply_id id);
void smtp_mail_answered(struct smtp_session *s, enum reply_id id);
void smtp_rcpt_answered(struct smtp_session *s, enum reply_id id,
    const char *text, size_t len);
void smtp_data_answered(struct smtp_session *s, enum reply_id id);
void smtp_auth_answered(struct smtp_session *s, enum reply_id id,
    const char *text, size_t len);
void smtp_starttls_answered(struct smtp_session *s, enum reply_id id);

/* bdat.c: the BDAT command, and the chunks that follow it. */
void smtp_cmd_bdat(struct smtp_session *s, char *arg, size_t len);
size_t smtp_feed_chunk(struct smtp_session *s, const char *p, size_t len);
size_t smtp_skip_chunk(struct smtp_session *s, size_t len);

#endif
