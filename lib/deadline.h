/*
 * deadline.h: every wait of a session (a read, a write, a program, a
 * delay) ends by TIMEOUT, and by SESSIONTIMEOUT for the session as a
 * whole.  Every timeout smtpd passes on comes from deadline_budget, so
 * that no wait outlives the session.
 */
#ifndef SMTP_DEADLINE_H
#define SMTP_DEADLINE_H

struct deadline {
	int timeout_ms;			/* TIMEOUT */
	long long session_end;		/* SESSIONTIMEOUT, io_now_ms() */
};

/* Milliseconds the next wait may take: TIMEOUT, or what is left of the
 * session when that is less; 0 once SESSIONTIMEOUT has passed. */
int deadline_budget(const struct deadline *d);

/* Has SESSIONTIMEOUT passed? */
int deadline_passed(const struct deadline *d);

/* Sleep ms, or less when the session ends sooner.  smtpd has no signal
 * handlers, so nothing interrupts the sleep; an interrupted one is only
 * shorter. */
void deadline_pause(const struct deadline *d, long long ms);

#endif
