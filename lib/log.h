/*
 * log.h: smtpd's log.  One line per write(2) on fd 2,
 *	smtpd: pid N: LEVEL: TEXT
 * (LEVEL info, warning or fatal), so that lines from many sessions
 * sharing one log never interleave; or, when fd 2 is the client's own
 * socket (xinetd; systemd without StandardError=), the same text to the
 * syslog daemon, since a diagnostic on fd 2 would reach the client.
 *
 * Client-given text in a line goes through lib/logesc.h, always: no HELO,
 * address, AUTH user, program reply or PROXY address can then hold a
 * space, a quote, '=' or a line end, nor look like another field or line
 * (smtpd.8 LOG).  A process logs for one session: the state is here.
 */
#ifndef SMTP_LOG_H
#define SMTP_LOG_H

#include <stddef.h>
#include <string.h>

#include "../proto/reply.h"
#include "buf.h"
#include "logesc.h"

/* The longest line; longer text is cut. */
#define LOG_LINE_MAX 1024

/* First, before any line: the pid each line names, and where lines go
 * (fd 2, or syslog when fd 2 is the client). */
void log_open(unsigned long pid);

/* What a child program gets as fd 2: 2, our log, or -1 (/dev/null) when
 * fd 2 is the client. */
int log_child_stderr(void);

/* One line of len octets (no '\n'), cut to fit. */
void log_put(const char *level, const char *msg, size_t len);
void log_line(const char *level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The text of an errno: ETIMEDOUT, which smtpd sets itself when TIMEOUT
 * passes, reads the same whatever the C library. */
const char *log_errno(int e);

/* LOG_ESC(buf, s): the string s escaped into the array buf. */
#define LOG_ESC(buf, s) logesc((buf), sizeof(buf), (s), strlen(s))

/* "CODE", and for a refusal " STATUS reason=WORD": the word is reason,
 * or the catalogue's for id (reply_reason). */
void log_add_reply(struct buf *b, enum reply_id id, const char *reason);

/*
 * Refusals (recipients, commands the engine refused) are logged one line
 * each up to LOG_REFUSALS_MAX a session; the rest are only counted, for
 * one line at its end, so that a client cannot turn its guesses into as
 * many log lines.  log_refusal_room says whether one more may be logged,
 * and counts it either way.
 */
#define LOG_REFUSALS_MAX 50
int log_refusal_room(void);
/* Refusals so far: logged, and left out. */
unsigned long log_refusals_logged(void);
unsigned long log_refusals_unlogged(void);

/*
 * A refused command: "SESSION: WHAT <VALUE> refused: CODE STATUS
 * reason=WORD" (a recipient smtpd refused; bracket 1) or "SESSION: VERB
 * refused: CODE STATUS reason=WORD arg=VALUE" (a command the engine
 * refused; bracket 0).
 */
void log_refusal(const char *session_id, const char *what,
    const char *value, size_t len, enum reply_id id, const char *reason,
    int bracket);

#endif
