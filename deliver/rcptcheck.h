/*
 * rcptcheck.h: RCPTCHECK, a program asked about each recipient (as
 * qmail's RCPTCHECK patch): exit 0 accepts, 100 refuses (550 5.1.1), 111
 * and anything else, a crash or the deadline defer (451 4.3.0); for 100
 * and 111 the first line of its stdout is the reply's text.  It runs
 * through lib/spawn.h's spawn_run_line with the environment of
 * deliver/progenv.h.  Nothing is logged: the result says what happened.
 */
#ifndef SMTP_RCPTCHECK_H
#define SMTP_RCPTCHECK_H

#include <stddef.h>

#include "../proto/limits.h"
#include "../proto/reply.h"

struct rcptcheck_result {
	/* REPLY_RCPT_OK, REPLY_NO_MAILBOX or REPLY_RCPT_TEMP_FAIL */
	enum reply_id reply;
	const char *unstarted;	/* "pipe", "spawn": never ran (err) */
	int unfinished;		/* no end in time, or no wait (err) */
	int err;
	int signal;		/* killed by this signal; else 0 */
	int code;		/* its exit code, when it exited */
	char text[SMTP_REPLY_TEXT_MAX + 1];	/* exit 100 or 111: the */
	size_t text_len;			/* reply's text */
};

/* Run program for one recipient with envp (its RECIPIENT), stderr on
 * err_fd (-1: /dev/null), within timeout_ms; returns res->reply. */
enum reply_id rcptcheck_run(const char *program, char *const envp[],
    int err_fd, int timeout_ms, struct rcptcheck_result *res);

#endif
