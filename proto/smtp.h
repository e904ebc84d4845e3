/*
 * smtp.h: the SMTP session engine.  No I/O, no allocation, no clock:
 * bytes in, reply bytes and events out.  The caller owns one
 * struct smtp_session per connection (fixed size, about 100 KB) and
 * drives it from any loop it likes:
 *
 *	smtp_init(&s, &cfg);             // queues the 220 greeting
 *	for (;;) {
 *		while ((ev = smtp_event(&s)) != NULL)
 *			smtp_answer(&s, decide(ev));     // or smtp_answer_text
 *		send smtp_output() bytes, then smtp_output_done();
 *		if (smtp_is_closed(&s)) break;
 *		if (no unconsumed input) read more (on EOF: smtp_eof);
 *		used = smtp_feed(&s, in, inlen); // drop `used` bytes of input
 *	}
 *
 * Rules of the API:
 * - smtp_feed() consumes a prefix of its input and never looks past it.
 *   It stops early when an event is raised, when the output buffer is
 *   nearly full, when the session closes, and after STARTTLS (the caller
 *   must then discard its unconsumed input: RFC 3207 §5, CVE-2011-0411).
 *   It returns 0 while an event waits for its answer: that is what keeps
 *   pipelined replies in order (RFC 2920).
 * - At most one event is pending.  smtp_event() returns it (or NULL);
 *   the pointer and everything it points to stay valid until the event
 *   is answered.  Every event must be answered exactly once.  Answering
 *   may raise the next event at once (a BODY flush before DATA_END).
 * - Replies accumulate in the session's output buffer.  The caller sends
 *   them before every blocking read; smtp_output() gives the bytes and
 *   smtp_output_done(n) drops n of them once written.
 * - Errors are counted (smtp_errors): bad commands and recipients the
 *   caller refused.  smtp_feed() returns after each one, so that the
 *   caller can slow down before the next (a tarpit); at error_limit the
 *   session closes with 421 4.7.0.
 * - Protocol decisions (sequence, syntax, limits, SIZE, hop count, bare
 *   CR/LF, MAXRCPTS, REQUIREAUTH, error count) are made here; policy and
 *   storage (which recipients, passwords, whether bytes reached the disk)
 *   are the caller's, given through the answers.
 */
#ifndef SMTP_SMTP_H
#define SMTP_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "body.h"
#include "limits.h"
#include "reply.h"

/* Configuration flags (struct smtp_config.flags). */
#define SMTP_CF_STARTTLS	0x01	/* offer STARTTLS */
#define SMTP_CF_TLS		0x02	/* the session is already encrypted */
#define SMTP_CF_CLEARTEXT_AUTH	0x04	/* offer AUTH without encryption */
#define SMTP_CF_REQUIRE_AUTH	0x08	/* MAIL needs AUTH first: 530 */
#define SMTP_CF_RELAY_CLIENT	0x10	/* trusted: REQUIREAUTH waived */
#define SMTP_CF_BARE_LF		0x20	/* accept bare LF as a line end in
					   message data (old clients) */
#define SMTP_CF_REFUSAL_EVENTS	0x40	/* raise SMTP_EV_REFUSED */

/* Read-only for the session's lifetime; strings owned by the caller and
 * valid as long as the session. */
struct smtp_config {
	const char *hostname;	/* in the greeting and the EHLO reply */
	uint64_t databytes;	/* message size limit, advertised in SIZE */
	unsigned maxrcpts;	/* recipients per message */
	const char *auth_mechs;	/* "PLAIN LOGIN"; NULL: no AUTH offered */
	unsigned flags;		/* SMTP_CF_* */
	unsigned error_limit;	/* errors before 421 4.7.0 (ERRORLIMIT);
				   0: SMTP_ERRORS_MAX */
};

enum smtp_event_type {
	SMTP_EV_HELO,		/* answer REPLY_NONE (engine replies) or a refusal;
				   like RSET and QUIT it drops any transaction,
				   so an open delivery must be aborted */
	SMTP_EV_MAIL,		/* answer REPLY_MAIL_OK or a refusal */
	SMTP_EV_RCPT,		/* answer REPLY_RCPT_OK or a refusal */
	SMTP_EV_RSET,		/* transaction dropped: answer REPLY_NONE */
	SMTP_EV_DATA,		/* open delivery: REPLY_DATA_GO or a refusal;
				   for BDAT, REPLY_DATA_GO also means go */
	SMTP_EV_BODY,		/* chunk of message: answer REPLY_NONE */
	SMTP_EV_DATA_END,	/* commit: REPLY_MESSAGE_ACCEPTED or a refusal */
	SMTP_EV_DATA_ABORT,	/* the engine refused the message (reply in
				   ev->refusal, sent by the engine; also for
				   a first BDAT chunk over DATABYTES, before
				   any DATA event, ev->size its size): abort
				   delivery, answer REPLY_NONE */
	SMTP_EV_AUTH,		/* AUTH mech [initial]: answer REPLY_AUTH_OK,
				   REPLY_AUTH_CHALLENGE (text = base64), a
				   refusal, or REPLY_AUTH_FAILED */
	SMTP_EV_AUTH_DATA,	/* one client line of a SASL exchange */
	SMTP_EV_STARTTLS,	/* answer REPLY_STARTTLS_GO (queued, then the
				   caller flushes, switches and calls
				   smtp_tls_started) or REPLY_TLS_TEMP_FAIL */
	SMTP_EV_QUIT,		/* the 221 is queued; answer REPLY_NONE */
	SMTP_EV_REFUSED		/* with SMTP_CF_REFUSAL_EVENTS only: the
				   engine refused a HELO, EHLO, MAIL or RCPT
				   itself (syntax, sequence, REQUIREAUTH,
				   MAXRCPTS, ...): ev->refusal is the reply
				   it queued, ev->verb the command, data/len
				   its argument as sent; for the caller's
				   log.  Answer REPLY_NONE */
};

/* Why a session ended (smtp_close_reason). */
enum smtp_close {
	SMTP_OPEN = 0,
	SMTP_CLOSE_QUIT,
	SMTP_CLOSE_EOF,
	SMTP_CLOSE_TIMEOUT,
	SMTP_CLOSE_ERRORS,	/* too many errors (error_limit) */
	SMTP_CLOSE_CALLER,	/* the caller answered with a closing reply */
	SMTP_CLOSE_FAILED	/* the transport failed (smtp_close) */
};

struct smtp_event {
	enum smtp_event_type type;
	/* HELO: the client's name (printable ASCII, no space, not always a
	 * domain: smtp_is_helo_arg) and whether it was EHLO. */
	const char *helo;
	size_t helo_len;
	int is_ehlo;
	/* MAIL (sender) and RCPT (recipient): the path, and MAIL's params. */
	const struct smtp_path *path;
	const struct smtp_mail_params *params;
	/* BODY: message octets with LF line ends, dot-unstuffed. */
	const char *data;
	size_t len;
	/* DATA_ABORT, REFUSED: the reply the engine sent, for the caller's
	 * log; REFUSED: the command's verb, upper-case. */
	enum reply_id refusal;
	const char *verb;
	/* AUTH: mechanism (upper-cased) and the initial response, if any;
	 * AUTH_DATA: the client's line in data/len.  Base64 still encoded. */
	const char *mech;
	size_t mech_len;
	int has_initial;
	/* DATA_END: message size in octets as stored (LF ends);
	 * DATA_ABORT: octets received so far, counted as sent (CRLF). */
	uint64_t size;
	/* DATA / DATA_END: 1 for BDAT, 0 for DATA. */
	int is_bdat;
};

/* Where the session is: the states of proto/command.c's table. */
enum smtp_state {
	SMTP_ST_GREETED = 0,	/* no HELO yet */
	SMTP_ST_READY,		/* HELO/EHLO done, no transaction */
	SMTP_ST_MAIL,		/* MAIL accepted, waiting for RCPT */
	SMTP_ST_RCPT,		/* at least one RCPT accepted (and DATA's
				   text is being read) */
	SMTP_ST_BDAT,		/* between or inside BDAT chunks */
	SMTP_ST_CLOSED
};

/* What the engine reads next: each octet goes to one of these. */
enum smtp_reading {
	SMTP_READ_COMMAND = 0,	/* command lines */
	SMTP_READ_AUTH,		/* the lines of a SASL exchange (RFC 4954) */
	SMTP_READ_DATA,		/* DATA text, to CRLF "." CRLF (body.h) */
	SMTP_READ_CHUNK,	/* a BDAT chunk's octets (bdat_left more) */
	SMTP_READ_SKIP		/* a chunk sent after a BDAT we refused:
				   dropped, then skip_refusal */
};

/* Everything below is private to the engine; fixed size, no pointers to
 * anything but itself and the config. */
struct smtp_session {
	const struct smtp_config *cfg;
	enum smtp_state state;
	enum smtp_reading reading;
	enum smtp_close close_reason;
	unsigned errors;
	unsigned nrcpt;
	int has_helo;
	int is_ehlo;
	int has_tls;
	int is_authenticated;
	int tls_started_pending;

	/* the transaction */
	struct smtp_mail_params params;
	struct smtp_path path;		/* of the pending MAIL or RCPT */
	int delivery_open;		/* the caller has the message open:
					   smtp_in_data() */
	struct body msg;		/* the message decoder (body.h) */
	int data_end_pending;		/* DATA_END after the BODY flush */

	/* BDAT (RFC 3030) */
	uint64_t bdat_left;		/* octets of the chunk still to read */
	int bdat_last;
	enum reply_id bdat_refusal;	/* the message failed: this reply
					   after each chunk */
	int abort_is_silent;		/* DATA_ABORT's reply follows later */
	enum reply_id skip_refusal;	/* SMTP_READ_SKIP: then this reply */

	/* the pending event */
	int has_event;
	struct smtp_event event;

	/* the command line being framed (AUTH lines may be long) */
	size_t cmd_len;
	int cmd_overflow;
	int fed_secret;			/* see smtp_fed_secret */

	/* queued replies; the last one (SMTP_EV_REFUSED) */
	enum reply_id last_reply;
	/* smtp_answer_relayed: the code and status rendered in place of
	 * relay_id's (relay_code 0: none) */
	enum reply_id relay_id;
	int relay_code;
	char relay_status[12];
	size_t out_len;
	/* message octets awaiting a BODY event */
	size_t body_len;

	/* The buffers last, the one every session writes first: a session
	 * touches the start of each, and each page touched is a page fault
	 * (smtp_init clears only what comes before out). */
	char out[SMTP_OUTPUT_MAX];
	char line[SMTP_AUTH_LINE_MAX];
	char body[SMTP_BODY_CHUNK_MAX + 1];	/* one spare octet */
};

/* Start a session: state GREETED, the 220 greeting queued. */
void smtp_init(struct smtp_session *s, const struct smtp_config *cfg);

/* Feed input; returns the octets consumed (a prefix of buf). */
size_t smtp_feed(struct smtp_session *s, const char *buf, size_t len);

/*
 * True when octets of an AUTH line (the command or a line of the
 * exchange, whole or in part, answered by an event or refused here) were
 * consumed since the last call, which clears it.  The engine wipes its
 * own copy; the caller must wipe the input it fed, all of it up to what
 * was consumed: a line split across reads has its first part in the
 * octets of an earlier feed.
 */
int smtp_fed_secret(struct smtp_session *s);

/* The pending event, or NULL. */
const struct smtp_event *smtp_event(const struct smtp_session *s);

/* Answer the pending event with a catalogue reply (REPLY_NONE where the
 * event type says so). */
void smtp_answer(struct smtp_session *s, enum reply_id id);

/* The same with the reply's text replaced (control characters dropped,
 * cut to SMTP_REPLY_TEXT_MAX); used for the pipe hook's first line, a
 * RCPTCHECK program's and the AUTH challenge. */
void smtp_answer_text(struct smtp_session *s, enum reply_id id,
    const char *text, size_t len);

/*
 * The same with the code and enhanced status of another server's reply
 * (an LMTP server's): id, a catalogue reply of the same class, decides
 * what the engine does (2xx accepts a recipient or ends a message, 421
 * closes, a refusal counts as an error); the line sent carries code,
 * status (NULL: id's for a 250, else 4.0.0 or 5.0.0, as RFC 2034 wants
 * one on every reply) and text (empty: id's).  When code and status do
 * not qualify (reply_is_relayable: not 421, 250 the only 2xx, the same
 * first digit as id's) id's code and status go with the text.
 */
void smtp_answer_relayed(struct smtp_session *s, enum reply_id id, int code,
    const char *status, const char *text, size_t len);

/* Queued reply bytes: *out is valid until the next call on s. */
size_t smtp_output(const struct smtp_session *s, const char **out);

/* Drop the first n queued bytes (they were written). */
void smtp_output_done(struct smtp_session *s, size_t n);

/* Transport news.  smtp_eof: the client closed its side; smtp_timeout:
 * no input for TIMEOUT (queues `why`, a 421 such as REPLY_TIMEOUT or
 * REPLY_SESSION_TOO_LONG, and closes; a pending event is dropped, so abort
 * whatever it had started first); smtp_tls_started: the
 * handshake after STARTTLS succeeded (session reset, RFC 3207 §4.2). */
void smtp_eof(struct smtp_session *s);
void smtp_timeout(struct smtp_session *s, enum reply_id why);
void smtp_tls_started(struct smtp_session *s);

/* The transport failed (a write error, a TLS handshake that did not
 * happen): end at once, without a reply.  A pending event is dropped. */
void smtp_close(struct smtp_session *s);

/* Nothing more will be consumed; send the output, then end. */
int smtp_is_closed(const struct smtp_session *s);
enum smtp_close smtp_close_reason(const struct smtp_session *s);

/* Octets of the current message received so far, counted as sent (for
 * the log line of a message cut short). */
uint64_t smtp_message_octets(const struct smtp_session *s);

/* Errors so far: bad or refused commands, and refused recipients (a RCPT
 * answered with anything but 2xx and 452 4.5.3, too many recipients,
 * which honest clients meet).  An accepted message halves the count. */
unsigned smtp_errors(const struct smtp_session *s);

/* True once AUTH succeeded (RFC 4954): relaying is allowed. */
int smtp_is_authenticated(const struct smtp_session *s);

/*
 * True while the caller has a message open that it has not yet been told
 * to finish: from the REPLY_DATA_GO answer (DATA or BDAT) until
 * SMTP_EV_DATA_END is raised (the caller commits) or the event that
 * drops the message (DATA_ABORT, HELO, RSET, QUIT) is answered.  An EOF,
 * a timeout or a transport failure while it is true must abort the
 * caller's delivery: the engine has nothing else to tell.
 */
int smtp_in_data(const struct smtp_session *s);

/* Recipients accepted in the current transaction: the index the next
 * accepted RCPT takes.  It stays readable until the event that ends the
 * transaction (DATA_END, DATA_ABORT, HELO, RSET) is answered. */
unsigned smtp_rcpt_count(const struct smtp_session *s);

/* The WITH keyword for Received: (RFC 3848, RFC 6531 §3.7.3):
 * "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", "UTF8SMTP", ... */
const char *smtp_with_protocol(const struct smtp_session *s);

#endif
