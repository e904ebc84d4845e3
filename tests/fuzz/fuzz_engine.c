/*
 * fuzz_engine.c: the session engine (proto/smtp.c) under hostile input.
 *
 * Input layout (FUZZ_HEADER octets, then the client's bytes):
 *	[0]	configuration flags (SMTP_CF_*, low 6 bits; with
 *		SMTP_CF_REFUSAL_EVENTS always, as smtpd sets it); bits 6-7
 *		pick the AUTH mechanism list (none, PLAIN LOGIN, ...)
 *	[1]	bits 0-2 DATABYTES, bits 3-5 MAXRCPTS - 1, bits 6-7 the
 *		host name (plain, empty, 300 octets, with CR LF inside)
 *	[2]	bits 0-1 what ends the input (EOF, TIMEOUT, session limit,
 *		nothing), bits 2-4 the largest piece, bit 5 the caller
 *		relays an LMTP server's replies (below), bits 6-7 unused
 *	[3]	seed for the piece sizes and partial output drains
 *	[4..11]	the caller's answers: event i is answered by [4 + i % 8]
 *		(and, when relayed, [4 + (i + 4) % 8])
 * With bit 5, a RCPT or a message end whose answer has bit 4 clear is
 * answered with smtp_answer_relayed, as smtpd does with an LMTP server's
 * reply: a code (some that must not be relayed among them), a status
 * (some malformed), a text; the catalogue reply is the one of the code's
 * class that deliver/lmtp.c picks.
 * A 0x01 octet marks where a TLS handshake completes: after STARTTLS is
 * answered 220 the driver drops the input up to and including it, as
 * smtpd.c drops what was pipelined in the clear (the marker, not the
 * piece boundary, decides, so that every feeding drops the same bytes).
 *
 * The same input is run three ways: whole, draining output only when
 * the engine stops (smtpd.c's loop); in pieces, draining after every
 * call, part of the output at a time, and probing that nothing is
 * consumed while an event waits; octet by octet (inputs up to 1 KB).
 * Invariants checked:
 * - all three give identical replies, identical events (with the reply
 *   octets queued before each), the same end;
 * - every reply is a line "ddd" SP/"-" text CRLF of at most 512 octets
 *   (RFC 5321 §4.5.3.1.5), no control characters, a code from the
 *   catalogue, continuation lines with one code, an enhanced status
 *   code of the code's class (RFC 3463); the stream ends on a line end;
 * - the output never holds more than SMTP_OUTPUT_MAX octets;
 * - smtp_feed consumes a prefix; nothing after STARTTLS or QUIT (the
 *   consumed input ends with that command line), nothing while an event
 *   waits, nothing before smtp_tls_started, nothing once closed;
 * - the engine never stalls (no input taken, no event, no output);
 * - events come in a legal order: BODY, DATA_END and DATA_ABORT only
 *   while a delivery is open (DATA or BDAT answered 354); RCPT only
 *   below MAXRCPTS; DATA only with a recipient; AUTH only when offered;
 *   STARTTLS only when offered, after EHLO, outside a transaction;
 *   smtp_in_data() agrees with the caller's view;
 * - event contents: HELO names and paths are valid and bounded, stored
 *   message octets (not BINARYMIME) hold no CR or NUL and no line over
 *   998 octets, DATA messages end with a line end, DATA_END's size is
 *   the sum of the BODY chunks and within DATABYTES;
 * - the last reply matches why the session closed (221, 421);
 * - a relayed answer's reply line carries the relayed code and status
 *   when they qualify (200-599, the class of the catalogue reply, a
 *   well-formed status of that class or none), else the catalogue
 *   reply's code; or 421 4.7.0 where a refused RCPT reached the error
 *   limit; a code not in the catalogue is allowed on that line only;
 * - once an AUTH line is answered, the engine's line buffer holds no
 *   trace of it.
 * With FUZZ_TRACE set in the environment, the whole run's replies and
 * events are shown on stderr (to read a seed or a crash).
 */
#include <stdint.h>
#include <string.h>

#include "../../proto/smtp.h"
#include "fuzz.h"

#define FUZZ_HEADER 12
#define NSCRIPT 8
/* Inputs up to this long are also fed octet by octet. */
#define OCTET_RUN_MAX 1024
/* Stream prefixes kept to show the first difference. */
#define KEEP_MAX 8192
/* RFC 5321 §4.5.3.1.5: a reply line, CRLF included. */
#define REPLY_LINE_MAX 512

/* A line of reply is at least "ddd" SP CRLF: no more than this many
 * replies wait in the output. */
#define EXPECT_MAX (SMTP_OUTPUT_MAX / 6 + 1)

/* What the reply line of a relayed answer must carry. */
struct expect {
	uint64_t at;		/* its first octet's offset in the stream */
	int code;
	const char *status;	/* right after the code (NULL: not checked) */
	int counted;		/* or the error limit's 421 4.7.0 */
};

/* Reply checker: consumes the output stream octet by octet. */
struct reply_check {
	char line[REPLY_LINE_MAX];
	size_t len;
	int cr;			/* the last octet was CR */
	int cont_code;		/* code of a "ddd-" line, awaiting the end */
	int last_code;		/* code of the last complete reply */
	uint64_t off;		/* octets checked */
	uint64_t line_at;	/* offset of the current line's first octet */
	struct expect expect[EXPECT_MAX];	/* a ring, oldest first */
	size_t expect_first;
	size_t nexpect;
};

/* One run of the engine over the input. */
struct run {
	/* how */
	const struct smtp_config *cfg;
	const uint8_t *script;
	const char *in;
	size_t len;
	int eager;
	size_t piece_max;	/* 0: whole */
	uint32_t rng;
	int end_action;
	int relay;		/* RCPT and message ends may be relayed */
	int trace;		/* FUZZ_TRACE set: replies, events on stderr */
	/* results */
	uint64_t reply_hash;
	uint64_t event_hash;
	uint64_t out_total;	/* reply octets drained */
	unsigned nevents;
	enum smtp_close why;
	char kept_replies[KEEP_MAX];
	size_t nkept_replies;
	char kept_events[KEEP_MAX];
	size_t nkept_events;
	struct reply_check rc;
	/* the caller's view of the session */
	int has_tls;
	int has_ehlo;		/* EHLO answered, since the last TLS start */
	int authenticated;
	int in_sasl;		/* last AUTH answer was a challenge */
	int mail_ok;		/* MAIL accepted (the engine may since
				   have dropped it without an event) */
	unsigned nrcpt;		/* recipients accepted since MAIL */
	int open;		/* delivery open (DATA/BDAT answered 354) */
	int is_bdat;
	int binary;		/* BODY=BINARYMIME on MAIL */
	uint64_t body_total;
	char body_last;
};

static int code_allowed[1000];

static void
init_codes(void)
{
	int i;

	if (code_allowed[221])
		return;
	for (i = 1; i < REPLY_COUNT; i++)
		code_allowed[reply_code((enum reply_id)i)] = 1;
}

/* ---------------------------------------------------------------- */
/* The reply stream.                                                */

static void
keep(char *kept, size_t *n, const void *p, size_t len)
{
	if (len > KEEP_MAX - *n)
		len = KEEP_MAX - *n;
	memcpy(kept + *n, p, len);
	*n += len;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Is the line p[0..len) a last line with this code and, when not NULL,
 * this status? */
static int
line_is(const char *p, size_t len, int code, const char *status)
{
	size_t n = status != NULL ? strlen(status) : 0;

	if (p[3] != ' ' || (p[0] - '0') * 100 + (p[1] - '0') * 10 +
	    (p[2] - '0') != code)
		return 0;
	return status == NULL || (len >= 4 + n &&
	    memcmp(p + 4, status, n) == 0 && (len == 4 + n || p[4 + n] == ' '));
}

/* The line of a relayed answer, when this one is. */
static const struct expect *
expected_here(struct reply_check *rc)
{
	const struct expect *e;

	if (rc->nexpect == 0)
		return NULL;
	e = &rc->expect[rc->expect_first];
	FUZZ_CHECK(e->at >= rc->line_at,
	    "a relayed answer's reply starts a line");
	if (e->at != rc->line_at)
		return NULL;
	rc->expect_first = (rc->expect_first + 1) % EXPECT_MAX;
	rc->nexpect--;
	return e;
}

/* A complete reply line, CR LF removed. */
static void
check_reply_line(struct reply_check *rc, const char *p, size_t len)
{
	const struct expect *e = expected_here(rc);
	int code;

	FUZZ_CHECK(len >= 4, "reply line shorter than \"ddd \"");
	FUZZ_CHECK(is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]),
	    "reply code is three digits");
	FUZZ_CHECK(p[3] == ' ' || p[3] == '-', "SP or - after the code");
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (e != NULL)
		FUZZ_CHECK(line_is(p, len, e->code, e->status) ||
		    (e->counted && line_is(p, len, 421, "4.7.0")),
		    "a relayed answer: one line, the code and status that "
		    "qualify");
	FUZZ_CHECK(code_allowed[code] || (e != NULL && code == e->code),
	    "reply code is in the catalogue, or relayed on its line");
	if (rc->cont_code != 0)
		FUZZ_CHECK(code == rc->cont_code,
		    "a multi-line reply keeps one code");
	/* An enhanced status code, when present, has the code's class. */
	if (len >= 9 && is_digit(p[4]) && p[5] == '.' && is_digit(p[6]))
		FUZZ_CHECK(p[4] == p[0], "enhanced status class = code class");
	rc->cont_code = p[3] == '-' ? code : 0;
	if (p[3] == ' ')
		rc->last_code = code;
}

static void
check_replies(struct reply_check *rc, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		rc->off++;
		if (rc->cr) {
			FUZZ_CHECK(c == '\n', "CR in a reply is followed by LF");
			check_reply_line(rc, rc->line, rc->len);
			rc->len = 0;
			rc->cr = 0;
			rc->line_at = rc->off;
			continue;
		}
		if (c == '\r') {
			rc->cr = 1;
			continue;
		}
		FUZZ_CHECK(c != '\n', "no bare LF in a reply");
		FUZZ_CHECK(c >= 0x20 && c != 0x7f,
		    "no control characters in a reply");
		FUZZ_CHECK(rc->len + 2 < REPLY_LINE_MAX,
		    "reply line within 512 octets");
		rc->line[rc->len++] = (char)c;
	}
}

/* Send (some of) the queued replies. */
static void
drain(struct smtp_session *s, struct run *r, int partial)
{
	const char *out;
	size_t n = smtp_output(s, &out);

	FUZZ_CHECK(n <= SMTP_OUTPUT_MAX, "output within SMTP_OUTPUT_MAX");
	if (n == 0)
		return;
	if (partial && r->eager)
		n = 1 + fuzz_rand(&r->rng) % n;
	check_replies(&r->rc, out, n);
	if (r->trace)
		fwrite(out, 1, n, stderr);
	r->reply_hash = fuzz_hash(r->reply_hash, out, n);
	keep(r->kept_replies, &r->nkept_replies, out, n);
	r->out_total += n;
	smtp_output_done(s, n);
}

/* ---------------------------------------------------------------- */
/* Events.                                                          */

static void
log_event(struct run *r, const void *p, size_t len)
{
	r->event_hash = fuzz_hash(r->event_hash, p, len);
	keep(r->kept_events, &r->nkept_events, p, len);
}

static void
check_path(const struct smtp_path *p, int is_sender)
{
	FUZZ_CHECK(p != NULL, "a path comes with MAIL and RCPT");
	FUZZ_CHECK(p->len < SMTP_MAILBOX_MAX, "mailbox within its array");
	FUZZ_CHECK(p->mailbox[p->len] == '\0' && strlen(p->mailbox) == p->len,
	    "mailbox is NUL-terminated at len");
	FUZZ_CHECK(!fuzz_has_controls(p->mailbox, p->len),
	    "no control characters in a mailbox");
	FUZZ_CHECK(p->local_len <= SMTP_LOCAL_PART_MAX, "local part bound");
	FUZZ_CHECK(p->domain_off <= p->len, "domain offset within mailbox");
	FUZZ_CHECK(p->len - p->domain_off <= SMTP_DOMAIN_MAX, "domain bound");
	if (p->is_null) {
		FUZZ_CHECK(is_sender && p->len == 0, "<> only as the sender");
	} else if (p->domain_off < p->len) {
		FUZZ_CHECK(p->mailbox[p->domain_off - 1] == '@',
		    "an @ before the domain");
	} else {
		FUZZ_CHECK(!is_sender && strcmp(p->mailbox, "postmaster") == 0,
		    "a mailbox without a domain is <postmaster>");
	}
}

/* Stored message octets: no CR/NUL; lines of any length, but never more
 * octets than DATABYTES (limits.h: no line limit). */
static void
check_body(struct run *r, const char *p, size_t len)
{
	size_t i;

	r->body_total += len;
	FUZZ_CHECK(r->body_total <= r->cfg->databytes,
	    "stored octets within DATABYTES, however long the lines");
	if (len > 0)
		r->body_last = p[len - 1];
	if (r->binary)
		return;
	for (i = 0; i < len; i++) {
		FUZZ_CHECK(p[i] != '\r' && p[i] != '\0',
		    "no CR or NUL stored (RFC 5321 §2.3.8)");
	}
}

static int
mech_offered(const char *mechs, const char *mech, size_t len)
{
	const char *p = mechs;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, mech, n) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

/* Is mechs, upper-cased, offering mech (already upper case)? */
static int
mech_is_offered(const char *mechs, const char *mech, size_t len)
{
	char up[256];
	size_t i;

	for (i = 0; mechs[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)(mechs[i] >= 'a' && mechs[i] <= 'z' ?
		    mechs[i] - 32 : mechs[i]);
	up[i] = '\0';
	return mech_offered(up, mech, len);
}

/* Reply text a hostile helper (pipe program, checkpassword) might
 * print: it must not break the reply line. */
static const char evil_text[] = "queued as 1\r\n250 2.0.0 injected\n\0x";

static enum reply_id
pick(uint8_t b, enum reply_id yes, const enum reply_id *no, size_t nno)
{
	if (b < 0xc0 || nno == 0)
		return yes;
	return no[b % nno];
}

#define PICK(b, yes, no) pick((b), (yes), (no), sizeof(no) / sizeof(no[0]))

static const enum reply_id helo_no[] = { REPLY_NOPERM, REPLY_TEMP_FAIL,
    REPLY_SHUTDOWN };
static const enum reply_id mail_no[] = { REPLY_TEMP_FAIL, REPLY_NOPERM,
    REPLY_AUTH_REQUIRED, REPLY_SHUTDOWN };
static const enum reply_id rcpt_no[] = { REPLY_NO_MAILBOX,
    REPLY_RELAY_DENIED, REPLY_RCPT_TEMP_FAIL, REPLY_TOO_MANY_RCPTS,
    REPLY_NOUSER, REPLY_SHUTDOWN };
static const enum reply_id data_no[] = { REPLY_TEMP_FAIL, REPLY_NO_STORAGE,
    REPLY_SHUTDOWN };
static const enum reply_id end_no[] = { REPLY_TEMP_FAIL, REPLY_NO_STORAGE,
    REPLY_TRANSACTION_FAILED, REPLY_PERM_FAIL, REPLY_NOUSER, REPLY_SHUTDOWN };
static const enum reply_id auth_any[] = { REPLY_AUTH_CHALLENGE,
    REPLY_AUTH_CHALLENGE, REPLY_AUTH_OK, REPLY_AUTH_FAILED,
    REPLY_AUTH_TEMP_FAIL, REPLY_AUTH_BAD_BASE64, REPLY_SHUTDOWN };
static const enum reply_id tls_no[] = { REPLY_TLS_TEMP_FAIL, REPLY_SHUTDOWN };

/* An LMTP server's reply, passed on: the codes deliver/lmtp.c relays
 * (it picks the catalogue reply of their class), then codes with the
 * answer picked as for any caller, whose class may differ; those and
 * codes outside 200-599 must not go out. */
#define RELAY_BY_CLASS 15
static const int relay_codes[] = { 250, 250, 251, 252, 421, 450, 451, 452,
    452, 550, 550, 551, 552, 553, 554, 250, 451, 550, 354, 199, 600, 0,
    -250, 221, 235 };

/* Statuses, with the class each is well formed for (0: none). */
static const struct {
	const char *status;
	int class;
} relay_statuses[] = {
	{ NULL, 0 }, { "2.1.5", 2 }, { "2.0.0", 2 }, { "4.5.3", 4 },
	{ "4.2.2", 4 }, { "5.1.1", 5 }, { "5.7.1", 5 }, { "5.123.456", 5 },
	{ "4.999.9", 4 }, { "", 0 }, { "5.1", 0 }, { "5.1.1.1", 0 },
	{ "5.1234.1", 0 }, { "55.1.1", 0 }, { "x.1.1", 0 }, { "5.1.1 ", 0 },
	{ "3.1.1", 0 }, { "5..1", 0 }, { "5.1.", 0 },
	{ "5.1.1\r\n250 2.0.0 injected", 0 },
};

static char long_text[300];

struct relayed {
	int code;
	int by_class;		/* the catalogue reply is the code's class's */
	const char *status;
	int status_class;
	const char *text;
	size_t len;
};

/* b's bit 4 is clear: the answer is relayed; which reply, from b's other
 * bits (the status) and b2 (the code, the text). */
static void
pick_relayed(uint8_t b, uint8_t b2, struct relayed *rel)
{
	size_t ncodes = sizeof(relay_codes) / sizeof(relay_codes[0]);
	size_t nstatus = sizeof(relay_statuses) / sizeof(relay_statuses[0]);
	size_t st = ((size_t)(b & 0x0f) | (size_t)(b >> 5) << 4) % nstatus;

	rel->code = relay_codes[b2 % ncodes];
	rel->by_class = b2 % ncodes < RELAY_BY_CLASS;
	rel->status = relay_statuses[st].status;
	rel->status_class = relay_statuses[st].class;
	switch (b2 >> 6) {
	case 0:
		rel->text = NULL;
		rel->len = 0;
		break;
	case 1:
		rel->text = "Ok";
		rel->len = 2;
		break;
	case 2:
		rel->text = evil_text;
		rel->len = sizeof(evil_text) - 1;
		break;
	default:
		rel->text = long_text;
		rel->len = sizeof(long_text);
		break;
	}
}

/* The catalogue reply deliver/lmtp.c answers a RCPT with, by the
 * server's code; otherwise `other`. */
static enum reply_id
relayed_rcpt(const struct relayed *rel, enum reply_id other)
{
	if (!rel->by_class)
		return other;
	if (rel->code == 452 && rel->status != NULL &&
	    strcmp(rel->status, "4.5.3") == 0)
		return REPLY_TOO_MANY_RCPTS;
	if (rel->code >= 200 && rel->code <= 299)
		return REPLY_RCPT_OK;
	if (rel->code >= 400 && rel->code <= 499)
		return REPLY_RCPT_TEMP_FAIL;
	if (rel->code >= 500 && rel->code <= 599)
		return REPLY_NO_MAILBOX;
	return other;
}

/* The same for the end of a message. */
static enum reply_id
relayed_end(const struct relayed *rel, enum reply_id other)
{
	if (!rel->by_class)
		return other;
	if (rel->code >= 200 && rel->code <= 299)
		return REPLY_MESSAGE_ACCEPTED;
	if (rel->code >= 400 && rel->code <= 499)
		return REPLY_TEMP_FAIL;
	if (rel->code >= 500 && rel->code <= 599)
		return REPLY_TRANSACTION_FAILED;
	return other;
}

/* What the reply line of the relayed answer `id` must carry, starting
 * at `at` in the stream. */
static void
expect_relayed(struct reply_check *rc, uint64_t at,
    const struct relayed *rel, enum reply_id id, int counted)
{
	struct expect *e;
	int class = rel->code / 100;

	FUZZ_CHECK(rc->nexpect < EXPECT_MAX,
	    "no more replies wait than the output holds");
	e = &rc->expect[(rc->expect_first + rc->nexpect) % EXPECT_MAX];
	rc->nexpect++;
	e->at = at;
	e->counted = counted;
	/* Relayed: the same class as id's, not 421 (the session does not
	 * close), 250 the only 2xx, a status of the class or none; a
	 * missing status is id's for 250, else X.0.0 (RFC 2034: every
	 * reply has one). */
	if (rel->code >= 200 && rel->code <= 599 && rel->code != 421 &&
	    (class != 2 || rel->code == 250) &&
	    class == reply_code(id) / 100 &&
	    (rel->status == NULL || rel->status_class == class)) {
		e->code = rel->code;
		e->status = rel->status != NULL ? rel->status :
		    class == 2 ? reply_get(id)->status :
		    class == 4 ? "4.0.0" : "5.0.0";
	} else {
		e->code = reply_code(id);
		e->status = NULL;
	}
}

/* The caller's view when the session ends or a transaction drops. */
static void
drop_transaction(struct run *r)
{
	r->mail_ok = 0;
	r->nrcpt = 0;
	r->open = 0;
}

static void
open_message(struct run *r, int is_bdat)
{
	r->open = 1;
	r->is_bdat = is_bdat;
	r->body_total = 0;
	r->body_last = '\n';
}

/* Check an event, log it, answer it; returns 1 when a TLS handshake
 * must happen now. */
static int
on_event(struct smtp_session *s, struct run *r, const struct smtp_event *ev)
{
	uint8_t b = r->script[r->nevents % NSCRIPT];
	uint8_t b2 = r->script[(r->nevents + 4) % NSCRIPT];
	const struct smtp_config *cfg = r->cfg;
	uint64_t queued;
	const char *out;
	unsigned char rec[32];
	enum reply_id id = REPLY_NONE;
	int text = 0;
	int relayed = 0;
	struct relayed rel = { 0, 0, NULL, 0, NULL, 0 };

	/* What was queued before the event pins its place among replies. */
	queued = r->out_total + smtp_output(s, &out);
	memset(rec, 0, sizeof(rec));
	rec[0] = (unsigned char)ev->type;
	memcpy(rec + 1, &queued, sizeof(queued));
	log_event(r, rec, 1 + sizeof(queued));
	r->nevents++;
	if (r->trace)
		fprintf(stderr, "[event %d, answer %02x]\n", (int)ev->type, b);
	if (ev->type != SMTP_EV_AUTH_DATA)
		r->in_sasl = 0;

	switch (ev->type) {
	case SMTP_EV_HELO:
		FUZZ_CHECK(ev->helo != NULL && ev->helo_len > 0 &&
		    ev->helo_len <= SMTP_HELO_MAX, "HELO name bound");
		FUZZ_CHECK(smtp_is_helo_arg(ev->helo, ev->helo_len),
		    "HELO name is one word of printable ASCII");
		log_event(r, ev->helo, ev->helo_len);
		drop_transaction(r);
		id = PICK(b, REPLY_NONE, helo_no);
		if (id == REPLY_NONE)
			r->has_ehlo = ev->is_ehlo;
		break;
	case SMTP_EV_MAIL:
		FUZZ_CHECK(!r->open, "MAIL outside a message");
		FUZZ_CHECK(!(cfg->flags & SMTP_CF_REQUIRE_AUTH) ||
		    r->authenticated || cfg->flags & SMTP_CF_RELAY_CLIENT,
		    "REQUIREAUTH: MAIL only after AUTH");
		check_path(ev->path, 1);
		FUZZ_CHECK(ev->params != NULL, "MAIL has its parameters");
		FUZZ_CHECK(!ev->params->has_size ||
		    ev->params->size <= cfg->databytes,
		    "SIZE= over DATABYTES never reaches the caller");
		FUZZ_CHECK(!ev->path->is_utf8 || ev->params->smtputf8,
		    "a UTF-8 sender needs SMTPUTF8");
		log_event(r, ev->path->mailbox, ev->path->len + 1);
		log_event(r, &ev->params->body, sizeof(ev->params->body));
		drop_transaction(r);
		id = PICK(b, REPLY_MAIL_OK, mail_no);
		if (id == REPLY_MAIL_OK) {
			r->mail_ok = 1;
			r->binary = ev->params->body == SMTP_BODY_BINARYMIME;
		}
		break;
	case SMTP_EV_RCPT:
		FUZZ_CHECK(r->mail_ok && !r->open, "RCPT after MAIL");
		FUZZ_CHECK(r->nrcpt < cfg->maxrcpts, "RCPT below MAXRCPTS");
		check_path(ev->path, 0);
		log_event(r, ev->path->mailbox, ev->path->len + 1);
		id = PICK(b, REPLY_RCPT_OK, rcpt_no);
		if (r->relay && !(b & 0x10)) {
			relayed = 1;
			pick_relayed(b, b2, &rel);
			id = relayed_rcpt(&rel, id);
			/* A refusal counts toward the error limit, whose
			 * 421 then takes the reply's place; 452 4.5.3
			 * does not. */
			expect_relayed(&r->rc, queued, &rel, id,
			    reply_code(id) >= 400 &&
			    id != REPLY_TOO_MANY_RCPTS);
		}
		if (id == REPLY_RCPT_OK)
			r->nrcpt++;
		break;
	case SMTP_EV_RSET:
		drop_transaction(r);
		break;
	case SMTP_EV_DATA:
		FUZZ_CHECK(r->mail_ok && r->nrcpt > 0 && !r->open,
		    "DATA/BDAT only with a recipient");
		FUZZ_CHECK(ev->is_bdat || !r->binary,
		    "BINARYMIME only with BDAT (RFC 3030 §3)");
		log_event(r, &ev->is_bdat, sizeof(ev->is_bdat));
		id = PICK(b, REPLY_DATA_GO, data_no);
		if (id == REPLY_DATA_GO)
			open_message(r, ev->is_bdat);
		break;
	case SMTP_EV_BODY:
		FUZZ_CHECK(r->open, "BODY only inside DATA or BDAT");
		FUZZ_CHECK(ev->data != NULL && ev->len > 0 &&
		    ev->len <= SMTP_BODY_CHUNK_MAX, "BODY chunk bound");
		check_body(r, ev->data, ev->len);
		log_event(r, &ev->len, sizeof(ev->len));
		log_event(r, ev->data, ev->len);
		break;
	case SMTP_EV_DATA_END:
		FUZZ_CHECK(r->open, "DATA_END only inside DATA or BDAT");
		FUZZ_CHECK(ev->size == r->body_total,
		    "DATA_END size is the sum of the BODY chunks");
		FUZZ_CHECK(ev->size <= cfg->databytes, "message within DATABYTES");
		FUZZ_CHECK(r->is_bdat || r->binary || r->body_total == 0 ||
		    r->body_last == '\n', "a DATA message ends with a line end");
		log_event(r, &ev->size, sizeof(ev->size));
		drop_transaction(r);
		id = PICK(b, REPLY_MESSAGE_ACCEPTED, end_no);
		text = (b & 0x21) == 0x21;
		if (r->relay && !(b & 0x10)) {
			relayed = 1;
			pick_relayed(b, b2, &rel);
			id = relayed_end(&rel, id);
			expect_relayed(&r->rc, queued, &rel, id, 0);
		}
		break;
	case SMTP_EV_DATA_ABORT:
		FUZZ_CHECK(r->open || (r->mail_ok && r->nrcpt > 0 &&
		    ev->refusal == REPLY_SIZE_EXCEEDED && ev->size >
		    cfg->databytes), "DATA_ABORT only inside DATA or BDAT, "
		    "or for a first BDAT chunk over DATABYTES");
		FUZZ_CHECK(reply_code(ev->refusal) >= 400,
		    "DATA_ABORT carries a refusal");
		log_event(r, &ev->refusal, sizeof(ev->refusal));
		drop_transaction(r);
		break;
	case SMTP_EV_AUTH:
		FUZZ_CHECK(cfg->auth_mechs != NULL, "AUTH only when offered");
		FUZZ_CHECK(r->has_tls || cfg->flags & SMTP_CF_CLEARTEXT_AUTH,
		    "AUTH only over TLS unless CLEARTEXTAUTH");
		FUZZ_CHECK(r->has_ehlo && !r->authenticated,
		    "AUTH after EHLO, and once (RFC 4954 §4)");
		FUZZ_CHECK(ev->mech != NULL && ev->mech_len > 0 &&
		    mech_is_offered(cfg->auth_mechs, ev->mech, ev->mech_len),
		    "AUTH mechanism is one offered, upper-cased");
		FUZZ_CHECK(!ev->has_initial ||
		    (ev->len <= SMTP_AUTH_RESPONSE_MAX &&
		    !fuzz_has_controls(ev->data, ev->len)), "initial response bound");
		log_event(r, ev->mech, ev->mech_len);
		if (ev->has_initial)
			log_event(r, ev->data, ev->len);
		id = auth_any[b % (sizeof(auth_any) / sizeof(auth_any[0]))];
		text = id == REPLY_AUTH_CHALLENGE;
		break;
	case SMTP_EV_AUTH_DATA:
		FUZZ_CHECK(r->in_sasl, "AUTH_DATA only after a challenge");
		FUZZ_CHECK(ev->len <= SMTP_AUTH_RESPONSE_MAX &&
		    !fuzz_has_controls(ev->data, ev->len), "SASL line bound");
		log_event(r, ev->data, ev->len);
		id = auth_any[b % (sizeof(auth_any) / sizeof(auth_any[0]))];
		text = id == REPLY_AUTH_CHALLENGE;
		break;
	case SMTP_EV_STARTTLS:
		FUZZ_CHECK(cfg->flags & SMTP_CF_STARTTLS && !r->has_tls,
		    "STARTTLS only when offered, once");
		id = PICK(b, REPLY_STARTTLS_GO, tls_no);
		break;
	case SMTP_EV_QUIT:
		drop_transaction(r);
		break;
	case SMTP_EV_REFUSED:
		/* smtpd always asks for these (its log's refusal lines). */
		FUZZ_CHECK(reply_code(ev->refusal) >= 400 && ev->verb != NULL &&
		    ev->len <= SMTP_COMMAND_LINE_MAX &&
		    (ev->len == 0 || ev->data != NULL),
		    "a refusal event: a 4xx/5xx, its verb, its argument");
		FUZZ_CHECK(!fuzz_has_controls(ev->data, ev->len),
		    "a refused argument holds no control character");
		break;
	default:
		FUZZ_CHECK(0, "known event type");
	}

	if (reply_closes(id))
		drop_transaction(r);
	if (ev->type == SMTP_EV_AUTH || ev->type == SMTP_EV_AUTH_DATA) {
		r->in_sasl = id == REPLY_AUTH_CHALLENGE;
		if (id == REPLY_AUTH_OK)
			r->authenticated = 1;
	}
	if (relayed) {
		if (r->trace)
			fprintf(stderr, "[relayed %d %s, text %zu]\n",
			    rel.code, rel.status != NULL ? rel.status :
			    "(none)", rel.len);
		smtp_answer_relayed(s, id, rel.code, rel.status, rel.text,
		    rel.len);
	} else if (text) {
		smtp_answer_text(s, id, evil_text, sizeof(evil_text) - 1);
	} else {
		smtp_answer(s, id);
	}
	/* Credentials do not outlive their answer (secrets are wiped):
	 * the engine's private line buffer is checked directly. */
	if (ev->type == SMTP_EV_AUTH || ev->type == SMTP_EV_AUTH_DATA) {
		static const char zero[sizeof(s->line)];

		FUZZ_CHECK(memcmp(s->line, zero, sizeof(zero)) == 0,
		    "an AUTH line is wiped once answered");
	}
	return ev->type == SMTP_EV_STARTTLS && id == REPLY_STARTTLS_GO;
}

/* ---------------------------------------------------------------- */
/* The feeding loop.                                                */

/* Does in[0..end) end with the command line `cmd` CRLF (any case)?  The
 * engine, as many servers, takes a trailing space after a verb that has
 * no argument. */
static int
ends_with_command(const char *in, size_t end, const char *cmd)
{
	size_t n = strlen(cmd);
	size_t i;

	if (end < n + 2 || in[end - 2] != '\r' || in[end - 1] != '\n')
		return 0;
	end -= 2;
	if (end > n && in[end - 1] == ' ')
		end--;
	if (end < n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = in[end - n + i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c != cmd[i])
			return 0;
	}
	return 1;
}

/* After smtp_feed consumed in[0..off): the STARTTLS and QUIT rules. */
static void
check_stop(struct smtp_session *s, struct run *r, size_t off)
{
	const struct smtp_event *ev = smtp_event(s);

	if (ev != NULL && ev->type == SMTP_EV_STARTTLS)
		FUZZ_CHECK(ends_with_command(r->in, off, "STARTTLS"),
		    "nothing consumed after STARTTLS (RFC 3207 §5)");
	if (ev != NULL && ev->type == SMTP_EV_QUIT)
		FUZZ_CHECK(ends_with_command(r->in, off, "QUIT"),
		    "nothing consumed after QUIT");
}

/* An event waits, or the session is closed: nothing may be consumed. */
static void
probe_no_consume(struct smtp_session *s, struct run *r, size_t off,
    size_t end, const char *what)
{
	const char *out;
	size_t before = smtp_output(s, &out);

	if (off < end)
		FUZZ_CHECK(smtp_feed(s, r->in + off, end - off) == 0, what);
	FUZZ_CHECK(smtp_output(s, &out) == before, what);
}

static void
finish(struct smtp_session *s, struct run *r)
{
	switch (r->end_action) {
	case 0:
		smtp_eof(s);
		break;
	case 1:
		smtp_timeout(s, REPLY_TIMEOUT);
		break;
	case 2:
		smtp_timeout(s, REPLY_SESSION_TOO_LONG);
		break;
	default:
		break;
	}
	drain(s, r, 0);
	r->why = smtp_close_reason(s);
}

static void
run_engine(struct run *r)
{
	static struct smtp_session s;
	size_t off = 0;
	size_t end = r->piece_max ? 0 : r->len;
	unsigned long guard = 0;

	smtp_init(&s, r->cfg);
	r->reply_hash = FUZZ_HASH_INIT;
	r->event_hash = FUZZ_HASH_INIT;
	r->has_tls = (r->cfg->flags & SMTP_CF_TLS) != 0;
	for (;;) {
		const struct smtp_event *ev;
		int tls = 0;

		FUZZ_CHECK(++guard < 10 * (r->len + 100), "the loop ends");
		while ((ev = smtp_event(&s)) != NULL) {
			if (r->eager)
				probe_no_consume(&s, r, off, end,
				    "nothing consumed while an event waits");
			tls |= on_event(&s, r, ev);
			if (r->eager)
				drain(&s, r, 1);
		}
		{
			const char *out;

			FUZZ_CHECK(smtp_output(&s, &out) <= SMTP_OUTPUT_MAX,
			    "output within SMTP_OUTPUT_MAX");
		}
		if (tls) {
			const char *mark = memchr(r->in + off, '\x01',
			    r->len - off);

			probe_no_consume(&s, r, off, r->len,
			    "nothing consumed before the TLS handshake");
			off = mark ? (size_t)(mark - r->in) + 1 : r->len;
			if (end < off)
				end = off;
			log_event(r, "T", 1);
			smtp_tls_started(&s);
			r->has_tls = 1;
			r->has_ehlo = 0;
			/* RFC 3207 §4.2: a cleartext AUTH is forgotten too. */
			r->authenticated = 0;
			drop_transaction(r);
		}
		if (smtp_is_closed(&s)) {
			probe_no_consume(&s, r, off, r->len,
			    "nothing consumed once closed");
			break;
		}
		if (smtp_event(&s) == NULL)
			FUZZ_CHECK(smtp_in_data(&s) == r->open,
			    "smtp_in_data agrees with the caller");
		if (off < end) {
			size_t n = smtp_feed(&s, r->in + off, end - off);

			FUZZ_CHECK(n <= end - off, "smtp_feed consumes a prefix");
			off += n;
			check_stop(&s, r, off);
			if (r->eager)
				drain(&s, r, 1);
			if (n > 0 || smtp_event(&s) != NULL)
				continue;
			if (smtp_is_closed(&s))
				continue;
			{
				const char *out;

				FUZZ_CHECK(smtp_output(&s, &out) > 0,
				    "a stalled engine has output to send");
			}
			drain(&s, r, 0);
			continue;
		}
		/* Before every blocking read: send everything (RFC 2920). */
		drain(&s, r, 0);
		if (end == r->len) {
			finish(&s, r);
			return;
		}
		end += r->piece_max == 1 ? 1 :
		    1 + fuzz_rand(&r->rng) % r->piece_max;
		if (end > r->len)
			end = r->len;
	}
	finish(&s, r);
}

/* The last reply must say why the session closed. */
static void
check_end(const struct run *r)
{
	FUZZ_CHECK(r->rc.len == 0 && !r->rc.cr && r->rc.cont_code == 0,
	    "the reply stream ends at the end of a reply");
	switch (r->why) {
	case SMTP_CLOSE_QUIT:
		FUZZ_CHECK(r->rc.last_code == 221, "QUIT ends with 221");
		break;
	case SMTP_CLOSE_TIMEOUT:
	case SMTP_CLOSE_ERRORS:
	case SMTP_CLOSE_CALLER:
		FUZZ_CHECK(r->rc.last_code == 421, "a forced close ends with 421");
		break;
	default:
		break;
	}
}

static void
show_difference(const char *what, const char *a, size_t alen, const char *b,
    size_t blen)
{
	size_t i = 0;
	size_t from;

	while (i < alen && i < blen && a[i] == b[i])
		i++;
	from = i > 200 ? i - 200 : 0;
	fprintf(stderr, "%s differ at octet %zu\nwhole:  ", what, i);
	fwrite(a + from, 1, (alen - from) > 400 ? 400 : alen - from, stderr);
	fprintf(stderr, "\npieces: ");
	fwrite(b + from, 1, (blen - from) > 400 ? 400 : blen - from, stderr);
	fprintf(stderr, "\n");
}

static void
compare(const struct run *a, const struct run *b, const char *how)
{
	if (a->reply_hash != b->reply_hash || a->out_total != b->out_total) {
		fprintf(stderr, "replies: whole vs %s\n", how);
		show_difference("replies", a->kept_replies, a->nkept_replies,
		    b->kept_replies, b->nkept_replies);
	}
	FUZZ_CHECK(a->reply_hash == b->reply_hash &&
	    a->out_total == b->out_total, "identical replies whole and in pieces");
	if (a->event_hash != b->event_hash || a->nevents != b->nevents) {
		fprintf(stderr, "events: whole vs %s\n", how);
		show_difference("events", a->kept_events, a->nkept_events,
		    b->kept_events, b->nkept_events);
	}
	FUZZ_CHECK(a->event_hash == b->event_hash && a->nevents == b->nevents,
	    "identical events whole and in pieces");
	FUZZ_CHECK(a->why == b->why, "the same end whole and in pieces");
}

static const char *const mech_lists[] = { NULL, "PLAIN LOGIN",
    "PLAIN LOGIN CRAM-MD5", "login x-Long-Mechanism-Name" };
static const uint64_t databytes_list[] = { 1, 10, 100, 1000, 4096, 65536,
    SMTP_DATABYTES_DEFAULT, UINT64_MAX / 2 };
static const size_t piece_list[] = { 1, 2, 3, 7, 16, 64, 512, 4096 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run runs[3];
	static char long_name[301];
	const char *names[4];
	struct smtp_config cfg;
	int nruns;
	int i;

	if (size < FUZZ_HEADER)
		return 0;
	init_codes();
	memset(long_name, 'a', sizeof(long_name) - 1);
	/* Longer than a reply's text may be, control characters inside. */
	for (i = 0; i < (int)sizeof(long_text); i++)
		long_text[i] = i % 50 == 49 ? '\t' : (char)('a' + i % 26);
	names[0] = "mx.test";
	names[1] = "";
	names[2] = long_name;
	names[3] = "mx.test\r\n250 injected";

	memset(&cfg, 0, sizeof(cfg));
	cfg.flags = (data[0] & 0x3f) | SMTP_CF_REFUSAL_EVENTS;
	cfg.auth_mechs = mech_lists[data[0] >> 6];
	cfg.databytes = databytes_list[data[1] & 7];
	cfg.maxrcpts = 1 + ((data[1] >> 3) & 7);
	cfg.hostname = names[data[1] >> 6];

	for (i = 0; i < 3; i++) {
		struct run *r = &runs[i];

		memset(r, 0, sizeof(*r));
		r->cfg = &cfg;
		r->script = data + 4;
		r->in = (const char *)data + FUZZ_HEADER;
		r->len = size - FUZZ_HEADER;
		r->end_action = data[2] & 3;
		r->relay = (data[2] >> 5) & 1;
		r->rng = 0x9e3779b9u ^ data[3];
		if (r->rng == 0)
			r->rng = 1;
	}
	runs[1].eager = 1;
	runs[1].piece_max = piece_list[(data[2] >> 2) & 7];
	runs[2].piece_max = 1;
	runs[0].trace = getenv("FUZZ_TRACE") != NULL;

	/* Octet by octet costs a call per octet: long inputs get the
	 * pieces run only (which may itself be octet by octet). */
	nruns = size - FUZZ_HEADER <= OCTET_RUN_MAX ? 3 : 2;
	for (i = 0; i < nruns; i++) {
		run_engine(&runs[i]);
		check_end(&runs[i]);
	}
	compare(&runs[0], &runs[1], "pieces");
	if (nruns == 3)
		compare(&runs[0], &runs[2], "octet by octet");
	return 0;
}
