/*
 * command.c: the commands.  One table (commands[] below) says for each
 * verb in which states it is allowed, what argument it takes, whether
 * it is offered, and which handler runs it (or which fixed reply answers
 * it); smtp_command() applies the checks in one order for all, so that a
 * handler only does what is its own.  A handler either replies itself or
 * raises an event; the event's answer finishes it (the *_answered
 * functions, next to their command).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "address.h"
#include "ascii.h"
#include "limits.h"
#include "reply.h"
#include "session.h"
#include "smtp.h"

#define ANY_STATE (IN(SMTP_ST_GREETED) | IN(SMTP_ST_READY) | \
	IN(SMTP_ST_MAIL) | IN(SMTP_ST_RCPT) | IN(SMTP_ST_BDAT))
/* Between BDAT chunks only BDAT, RSET, QUIT, NOOP, HELO, EHLO and HELP
 * (RFC 3030 §2). */
#define NOT_BDAT (ANY_STATE & ~IN(SMTP_ST_BDAT))

/* The argument after the verb (and its space). */
enum arg_rule {
	ARG_ANY = 0,	/* anything; the handler reads it */
	ARG_NONE,	/* nothing: else 501 */
	ARG_NEEDED	/* something: else 501 */
};

typedef void command_fn(struct smtp_session *, char *, size_t);
/* Is the command offered at all now?  REPLY_NONE, or why not. */
typedef enum reply_id offered_fn(const struct smtp_session *);

struct command {
	const char *verb;	/* upper case, as SMTP_EV_REFUSED names it */
	unsigned states;	/* where it is allowed: else smtp_wrong_state() */
	enum arg_rule arg;
	offered_fn *offered;	/* NULL: always */
	command_fn *run;	/* NULL: reply is the whole answer */
	enum reply_id reply;
	/* Flags in chars: an entry fits in 40 bytes (LP64), cheap to index. */
	unsigned char fails;	/* reply is a protocol error: counted */
	unsigned char long_line; /* may use AUTH's longer line (RFC 4954) */
	unsigned char report;	/* the engine's refusals raise SMTP_EV_REFUSED
				   (with SMTP_CF_REFUSAL_EVENTS) */
};

/* Case-insensitive: does p[0..len) start with the lower-case word? */
static int
has_prefix(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);
	size_t i;

	if (len < n)
		return 0;
	for (i = 0; i < n; i++) {
		if (ascii_lower((unsigned char)p[i]) != (unsigned char)word[i])
			return 0;
	}
	return 1;
}


/* ---------------------------------------------------------------- */
/* HELO, EHLO.                                                      */

static void
helo(struct smtp_session *s, const char *arg, size_t len, int ehlo)
{
	if (!smtp_is_helo_arg(arg, len)) {
		smtp_fail(s, REPLY_SYNTAX);
		return;
	}
	smtp_raise_event(s, SMTP_EV_HELO);
	s->event.helo = arg;
	s->event.helo_len = len;
	s->event.is_ehlo = ehlo;
}

static void
cmd_helo(struct smtp_session *s, char *arg, size_t len)
{
	helo(s, arg, len, 0);
}

static void
cmd_ehlo(struct smtp_session *s, char *arg, size_t len)
{
	helo(s, arg, len, 1);
}

static void
ehlo_line(struct smtp_session *s, const char *text, int more)
{
	smtp_queue_text(s, REPLY_EHLO, text, strlen(text), more);
}

/* The EHLO reply: the extensions we implement (RFC 5321 §4.1.1.1). */
static void
queue_ehlo(struct smtp_session *s)
{
	const struct smtp_config *cfg = s->cfg;
	char line[SMTP_REPLY_TEXT_MAX];
	size_t len;
	char digits[24];
	size_t nd = 0;
	uint64_t v = cfg->databytes;

	len = strlen(cfg->hostname);
	if (len > sizeof(line) - 1)
		len = sizeof(line) - 1;
	memcpy(line, cfg->hostname, len);
	line[len] = '\0';
	ehlo_line(s, line, 1);
	ehlo_line(s, "PIPELINING", 1);
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	memcpy(line, "SIZE ", 5);
	len = 5;
	while (nd > 0)
		line[len++] = digits[--nd];
	line[len] = '\0';
	ehlo_line(s, line, 1);
	ehlo_line(s, "8BITMIME", 1);
	ehlo_line(s, "BINARYMIME", 1);
	ehlo_line(s, "CHUNKING", 1);
	ehlo_line(s, "SMTPUTF8", 1);
	if (cfg->flags & SMTP_CF_STARTTLS && !s->has_tls)
		ehlo_line(s, "STARTTLS", 1);
	if (cfg->auth_mechs != NULL &&
	    (s->has_tls || cfg->flags & SMTP_CF_CLEARTEXT_AUTH)) {
		len = strlen(cfg->auth_mechs);
		if (len > sizeof(line) - 6)
			len = sizeof(line) - 6;
		memcpy(line, "AUTH ", 5);
		memcpy(line + 5, cfg->auth_mechs, len);
		line[5 + len] = '\0';
		ehlo_line(s, line, 1);
	}
	ehlo_line(s, "ENHANCEDSTATUSCODES", 0);
}

void
smtp_helo_answered(struct smtp_session *s, enum reply_id id)
{
	int ehlo = s->event.is_ehlo;

	/* HELO/EHLO drops any transaction (RFC 5321 §4.1.4). */
	if (id != REPLY_NONE) {
		smtp_reset_transaction(s);
		smtp_queue(s, id);
		return;
	}
	s->has_helo = 1;
	s->is_ehlo = ehlo;
	smtp_reset_transaction(s);
	if (ehlo) {
		queue_ehlo(s);
	} else {
		char line[SMTP_REPLY_TEXT_MAX];
		size_t len = strlen(s->cfg->hostname);

		if (len > sizeof(line))
			len = sizeof(line);
		memcpy(line, s->cfg->hostname, len);
		smtp_queue_text(s, REPLY_HELO, line, len, 0);
	}
}

/* ---------------------------------------------------------------- */
/* MAIL, RCPT.                                                      */

static enum reply_id
path_refusal(enum addr_result r, int is_sender)
{
	switch (r) {
	case ADDR_PATH_TOO_LONG:
	case ADDR_LOCAL_TOO_LONG:
	case ADDR_DOMAIN_TOO_LONG:
		return is_sender ? REPLY_SENDER_TOO_LONG : REPLY_PATH_TOO_LONG;
	case ADDR_UTF8_NOT_ALLOWED:
		return REPLY_UTF8_NEEDED;
	case ADDR_FORBIDDEN_CHAR:
		return is_sender ? REPLY_SENDER_BAD_CHAR : REPLY_RCPT_BAD_CHAR;
	default:
		return is_sender ? REPLY_BAD_SENDER : REPLY_BAD_RCPT;
	}
}

static enum reply_id
param_refusal(enum param_result r)
{
	switch (r) {
	case PARAM_UNKNOWN:
		return REPLY_UNKNOWN_PARAM;
	case PARAM_SIZE_OVERFLOW:
		return REPLY_SIZE_EXCEEDED;
	default:
		return REPLY_BAD_PARAM;
	}
}

/* "FROM:" / "TO:", then the path.  A space after the colon is tolerated:
 * RFC 5321 §4.1.2 has none, but widely deployed clients send one and
 * nothing is ambiguous about it. */
static int
skip_keyword(const char **arg, size_t *len, const char *keyword)
{
	size_t n = strlen(keyword);

	if (!has_prefix(*arg, *len, keyword))
		return 0;
	*arg += n;
	*len -= n;
	if (*len > 0 && **arg == ' ') {
		(*arg)++;
		(*len)--;
	}
	return *len > 0 && **arg == '<';
}

static void
cmd_mail(struct smtp_session *s, char *arg0, size_t len)
{
	const char *arg = arg0;
	size_t used;
	enum addr_result ar;
	enum param_result pr;

	if (s->cfg->flags & SMTP_CF_REQUIRE_AUTH && !s->is_authenticated &&
	    !(s->cfg->flags & SMTP_CF_RELAY_CLIENT)) {
		smtp_fail(s, REPLY_AUTH_REQUIRED);
		return;
	}
	if (!skip_keyword(&arg, &len, "from:")) {
		smtp_fail(s, REPLY_SYNTAX);
		return;
	}
	ar = smtp_parse_path(arg, len, ADDR_ALLOW_NULL | ADDR_ALLOW_UTF8,
	    &s->path, &used);
	if (ar != ADDR_OK) {
		smtp_fail(s, path_refusal(ar, 1));
		return;
	}
	pr = smtp_parse_mail_params(arg + used, len - used, 1, &s->params);
	if (pr != PARAM_OK) {
		memset(&s->params, 0, sizeof(s->params));
		smtp_fail(s, param_refusal(pr));
		return;
	}
	if (s->path.is_utf8 && !s->params.smtputf8) {
		memset(&s->params, 0, sizeof(s->params));
		smtp_fail(s, REPLY_UTF8_NEEDED);
		return;
	}
	/* RFC 1870 §6.2: refuse a declared size over the limit at once. */
	if (s->params.has_size && s->params.size > s->cfg->databytes) {
		memset(&s->params, 0, sizeof(s->params));
		smtp_fail(s, REPLY_SIZE_EXCEEDED);
		return;
	}
	smtp_raise_event(s, SMTP_EV_MAIL);
	s->event.path = &s->path;
	s->event.params = &s->params;
}

void
smtp_mail_answered(struct smtp_session *s, enum reply_id id)
{
	if (reply_code(id) / 100 == 2) {
		s->state = SMTP_ST_MAIL;
		s->nrcpt = 0;
		smtp_reset_message(s);
	} else {
		memset(&s->params, 0, sizeof(s->params));
	}
	smtp_queue(s, id);
}

static void
cmd_rcpt(struct smtp_session *s, char *arg0, size_t len)
{
	const char *arg = arg0;
	size_t used;
	unsigned flags = ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_UTF8;
	enum addr_result ar;
	enum param_result pr;

	if (!skip_keyword(&arg, &len, "to:")) {
		smtp_fail(s, REPLY_SYNTAX);
		return;
	}
	ar = smtp_parse_path(arg, len, flags, &s->path, &used);
	if (ar != ADDR_OK) {
		smtp_fail(s, path_refusal(ar, 0));
		return;
	}
	pr = smtp_parse_rcpt_params(arg + used, len - used);
	if (pr != PARAM_OK) {
		smtp_fail(s, param_refusal(pr));
		return;
	}
	if (s->path.is_utf8 && !s->params.smtputf8) {
		smtp_fail(s, REPLY_UTF8_NEEDED);
		return;
	}
	/* RFC 5321 §4.5.3.1.10: 452 for recipients over the limit. */
	if (s->nrcpt >= s->cfg->maxrcpts) {
		smtp_queue(s, REPLY_TOO_MANY_RCPTS);
		return;
	}
	smtp_raise_event(s, SMTP_EV_RCPT);
	s->event.path = &s->path;
}

void
smtp_rcpt_answered(struct smtp_session *s, enum reply_id id, const char *text,
    size_t len)
{
	if (reply_code(id) / 100 == 2) {
		s->nrcpt++;
		s->state = SMTP_ST_RCPT;
	} else if (id != REPLY_TOO_MANY_RCPTS && smtp_count_error(s)) {
		/* Refused recipients count: an attacker probing for
		 * mailboxes gets the error limit, not line rate.  452
		 * 4.5.3 does not: honest clients meet it and move on to
		 * another transaction (RFC 5321 §4.5.3.1.10). */
		return;
	}
	/* A RCPTCHECK program's own words, when the caller has them. */
	smtp_queue_text(s, id, text, len, 0);
}

/* ---------------------------------------------------------------- */
/* DATA (BDAT: bdat.c).                                            */

static void
cmd_data(struct smtp_session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	/* RFC 3030 §3: a BINARYMIME body can only be sent with BDAT. */
	if (smtp_is_binary(s)) {
		smtp_fail(s, REPLY_BINARY_NEEDS_BDAT);
		return;
	}
	smtp_reset_message(s);
	smtp_start_message(s, 1);
	smtp_raise_event(s, SMTP_EV_DATA);
}

void
smtp_data_answered(struct smtp_session *s, enum reply_id id)
{
	if (s->event.is_bdat) {
		/* BDAT has no 354: the chunk follows at once (RFC 3030). */
		s->reading = SMTP_READ_CHUNK;
		s->state = SMTP_ST_BDAT;
		if (id == REPLY_DATA_GO)
			s->delivery_open = 1;
		else
			s->bdat_refusal = id;
		if (s->bdat_left == 0)
			smtp_chunk_end(s);
		return;
	}
	smtp_queue(s, id);
	if (id == REPLY_DATA_GO) {
		s->reading = SMTP_READ_DATA;
		s->delivery_open = 1;
	}
}

/* ---------------------------------------------------------------- */
/* RSET, QUIT.  (NOOP, VRFY, HELP: a fixed reply, in the table.)    */

static void
cmd_rset(struct smtp_session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	if (smtp_in_transaction(s)) {
		smtp_raise_event(s, SMTP_EV_RSET);
		return;
	}
	smtp_reset_transaction(s);
	smtp_queue(s, REPLY_OK);
}

static void
cmd_quit(struct smtp_session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_queue(s, REPLY_QUIT);
	smtp_raise_event(s, SMTP_EV_QUIT);
	smtp_close_session(s, SMTP_CLOSE_QUIT);
}

/* ---------------------------------------------------------------- */
/* STARTTLS, AUTH.                                                  */

static enum reply_id
starttls_offered(const struct smtp_session *s)
{
	if (s->has_tls)
		return REPLY_BAD_SEQUENCE;
	if (!(s->cfg->flags & SMTP_CF_STARTTLS))
		return REPLY_NOT_IMPLEMENTED;
	return REPLY_NONE;
}

static void
cmd_starttls(struct smtp_session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_raise_event(s, SMTP_EV_STARTTLS);
}

void
smtp_starttls_answered(struct smtp_session *s, enum reply_id id)
{
	smtp_queue(s, id);
	if (id == REPLY_STARTTLS_GO)
		s->tls_started_pending = 1;
}

static enum reply_id
auth_offered(const struct smtp_session *s)
{
	if (s->cfg->auth_mechs == NULL)
		return REPLY_NOT_IMPLEMENTED;
	if (!s->has_tls && !(s->cfg->flags & SMTP_CF_CLEARTEXT_AUTH))
		return REPLY_AUTH_NEEDS_TLS;
	return REPLY_NONE;
}

/* Is mech one of the space-separated words of the configured list? */
static int
mech_offered(const char *mechs, const char *mech, size_t len)
{
	const char *p = mechs;

	while (*p != '\0') {
		size_t n = 0;

		while (p[n] != '\0' && p[n] != ' ')
			n++;
		if (n == len && n > 0 && ascii_eq_n(p, mech, n))
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static void
cmd_auth(struct smtp_session *s, char *arg, size_t len)
{
	size_t n = 0;
	size_t i;

	/* RFC 4954 §4: not before EHLO, not twice (and, by the table,
	 * not in a transaction). */
	if (!s->is_ehlo || s->is_authenticated) {
		smtp_fail(s, REPLY_BAD_SEQUENCE);
		return;
	}
	while (n < len && arg[n] != ' ')
		n++;
	if (n == 0) {
		smtp_fail(s, REPLY_SYNTAX);
		return;
	}
	if (!mech_offered(s->cfg->auth_mechs, arg, n)) {
		smtp_fail(s, REPLY_AUTH_MECH_UNKNOWN);
		return;
	}
	if (len - n > 1 + SMTP_AUTH_RESPONSE_MAX) {
		smtp_fail(s, REPLY_AUTH_TOO_LONG);
		return;
	}
	for (i = 0; i < n; i++) {
		if (arg[i] >= 'a' && arg[i] <= 'z')
			arg[i] = (char)(arg[i] - 32);
	}
	smtp_raise_event(s, SMTP_EV_AUTH);
	s->event.mech = arg;
	s->event.mech_len = n;
	if (n < len) {
		s->event.has_initial = 1;
		s->event.data = arg + n + 1;
		s->event.len = len - n - 1;
	}
}

void
smtp_auth_answered(struct smtp_session *s, enum reply_id id,
    const char *text, size_t len)
{
	if (id == REPLY_AUTH_CHALLENGE) {
		s->reading = SMTP_READ_AUTH;
		smtp_queue_text(s, id, text, len, 0);
		return;
	}
	s->reading = SMTP_READ_COMMAND;
	if (id == REPLY_AUTH_OK)
		s->is_authenticated = 1;
	smtp_queue_text(s, id, text, len, 0);
}

/* A line of a SASL exchange (RFC 4954 §4). */
void
smtp_auth_line(struct smtp_session *s, char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		s->reading = SMTP_READ_COMMAND;
		smtp_queue(s, REPLY_AUTH_CANCELLED);
		return;
	}
	if (len > SMTP_AUTH_RESPONSE_MAX) {
		s->reading = SMTP_READ_COMMAND;
		smtp_fail(s, REPLY_AUTH_TOO_LONG);
		return;
	}
	smtp_raise_event(s, SMTP_EV_AUTH_DATA);
	s->event.data = line;
	s->event.len = len;
}

/* ---------------------------------------------------------------- */
/* The table.                                                       */

/* The command verbs, recognised case-insensitively (RFC 5321 §2.4). */
enum verb {
	V_UNKNOWN = 0,
	V_EHLO, V_HELO, V_MAIL, V_RCPT, V_DATA, V_BDAT, V_RSET, V_NOOP,
	V_QUIT, V_VRFY, V_HELP, V_STARTTLS, V_AUTH, V_UNIMPLEMENTED
};

/* Verb, states, argument; then only what is not zero or NULL. */
static const struct command commands[] = {
	[V_EHLO] = { "EHLO", ANY_STATE, ARG_ANY, .run = cmd_ehlo, .report = 1 },
	[V_HELO] = { "HELO", ANY_STATE, ARG_ANY, .run = cmd_helo, .report = 1 },
	[V_MAIL] = { "MAIL", IN(SMTP_ST_READY), ARG_ANY, .run = cmd_mail,
	    .report = 1 },
	[V_RCPT] = { "RCPT", IN(SMTP_ST_MAIL) | IN(SMTP_ST_RCPT), ARG_ANY,
	    .run = cmd_rcpt, .report = 1 },
	[V_DATA] = { "DATA", IN(SMTP_ST_RCPT), ARG_NONE, .run = cmd_data },
	/* BDAT checks its state itself: its chunk must be skipped. */
	[V_BDAT] = { "BDAT", ANY_STATE, ARG_ANY, .run = smtp_cmd_bdat },
	[V_RSET] = { "RSET", ANY_STATE, ARG_NONE, .run = cmd_rset },
	[V_NOOP] = { "NOOP", ANY_STATE, ARG_ANY, .reply = REPLY_OK },
	[V_QUIT] = { "QUIT", ANY_STATE, ARG_NONE, .run = cmd_quit },
	[V_VRFY] = { "VRFY", NOT_BDAT, ARG_NEEDED, .reply = REPLY_VRFY },
	[V_HELP] = { "HELP", ANY_STATE, ARG_ANY, .reply = REPLY_HELP },
	[V_STARTTLS] = { "STARTTLS", IN(SMTP_ST_READY), ARG_NONE,
	    .offered = starttls_offered, .run = cmd_starttls },
	[V_AUTH] = { "AUTH", IN(SMTP_ST_GREETED) | IN(SMTP_ST_READY), ARG_ANY,
	    .offered = auth_offered, .run = cmd_auth, .long_line = 1 },
	/* Others implement these; we deliberately not. */
	[V_UNIMPLEMENTED] = { "", NOT_BDAT, ARG_ANY,
	    .reply = REPLY_NOT_IMPLEMENTED, .fails = 1 },
	[V_UNKNOWN] = { "", NOT_BDAT, ARG_ANY,
	    .reply = REPLY_UNKNOWN_COMMAND, .fails = 1 },
};

#define VERB4(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | \
	(uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* One switch on the four octets: the verb costs a few instructions. */
static enum verb
verb_of(const char *p, size_t n)
{
	if (n == 8 && has_prefix(p, n, "starttls"))
		return V_STARTTLS;
	if ((n == 7 && has_prefix(p, n, "xclient")) ||
	    (n == 8 && has_prefix(p, n, "xforward")))
		return V_UNIMPLEMENTED;
	if (n != 4)
		return V_UNKNOWN;
	switch (VERB4(ascii_lower((unsigned char)p[0]), ascii_lower((unsigned char)p[1]),
	    ascii_lower((unsigned char)p[2]), ascii_lower((unsigned char)p[3]))) {
	case VERB4('e', 'h', 'l', 'o'):
		return V_EHLO;
	case VERB4('h', 'e', 'l', 'o'):
		return V_HELO;
	case VERB4('m', 'a', 'i', 'l'):
		return V_MAIL;
	case VERB4('r', 'c', 'p', 't'):
		return V_RCPT;
	case VERB4('d', 'a', 't', 'a'):
		return V_DATA;
	case VERB4('b', 'd', 'a', 't'):
		return V_BDAT;
	case VERB4('r', 's', 'e', 't'):
		return V_RSET;
	case VERB4('n', 'o', 'o', 'p'):
		return V_NOOP;
	case VERB4('q', 'u', 'i', 't'):
		return V_QUIT;
	case VERB4('v', 'r', 'f', 'y'):
		return V_VRFY;
	case VERB4('h', 'e', 'l', 'p'):
		return V_HELP;
	case VERB4('a', 'u', 't', 'h'):
		return V_AUTH;
	case VERB4('e', 'x', 'p', 'n'):
	case VERB4('t', 'u', 'r', 'n'):
	case VERB4('e', 't', 'r', 'n'):
	case VERB4('a', 't', 'r', 'n'):
	case VERB4('s', 'e', 'n', 'd'):
	case VERB4('s', 'o', 'm', 'l'):
	case VERB4('s', 'a', 'm', 'l'):
	case VERB4('v', 'e', 'r', 'b'):
	case VERB4('o', 'n', 'e', 'x'):
		return V_UNIMPLEMENTED;
	default:
		return V_UNKNOWN;
	}
}

/*
 * A command in the wrong state: the reply names what is missing.  The
 * states the command needs tell: a HELO (it needs READY), a MAIL (it
 * needs MAIL or RCPT), a RCPT (it needs RCPT); else it is out of
 * sequence.
 */
enum reply_id
smtp_wrong_state(const struct smtp_session *s, unsigned allowed)
{
	enum smtp_state st = s->state;

	if (st == SMTP_ST_GREETED && allowed & IN(SMTP_ST_READY))
		return REPLY_NEED_HELO;
	if ((st == SMTP_ST_GREETED || st == SMTP_ST_READY) &&
	    allowed & (IN(SMTP_ST_MAIL) | IN(SMTP_ST_RCPT)))
		return REPLY_NEED_MAIL;
	if (st == SMTP_ST_MAIL && allowed & IN(SMTP_ST_RCPT))
		return REPLY_NEED_RCPT;
	return REPLY_BAD_SEQUENCE;
}

/*
 * SMTP_CF_REFUSAL_EVENTS: after a HELO, EHLO, MAIL or RCPT that raised
 * no event, tell the caller what the engine refused, so that its log can
 * say why (the caller refuses the others itself, with its events).
 */
static void
report_refusal(struct smtp_session *s, const struct command *c,
    const char *arg, size_t alen)
{
	enum reply_id id = s->last_reply;

	if (!(s->cfg->flags & SMTP_CF_REFUSAL_EVENTS) || s->has_event ||
	    reply_code(id) < 400)
		return;
	smtp_raise_event(s, SMTP_EV_REFUSED);
	s->event.refusal = id;
	s->event.verb = c->verb;
	s->event.data = arg;
	s->event.len = alen;
}

/* A command line (CRLF removed, no control characters). */
void
smtp_command(struct smtp_session *s, char *line, size_t len)
{
	size_t n = 0;
	char *arg;
	size_t alen;
	const struct command *c;
	enum reply_id why = REPLY_NONE;

	while (n < len && line[n] != ' ')
		n++;
	arg = line + n;
	alen = len - n;
	if (alen > 0) {
		arg++;
		alen--;
	}
	c = &commands[verb_of(line, n)];
	s->last_reply = REPLY_NONE;
	if (len + 2 > SMTP_COMMAND_LINE_MAX && !c->long_line) {
		smtp_fail(s, REPLY_LINE_TOO_LONG);
		return;
	}
	if (s->state == SMTP_ST_BDAT && !(c->states & IN(SMTP_ST_BDAT))) {
		smtp_fail(s, REPLY_BAD_SEQUENCE);
		return;
	}
	if (c->offered != NULL)
		why = c->offered(s);
	if (why == REPLY_NONE && ((c->arg == ARG_NONE && alen > 0) ||
	    (c->arg == ARG_NEEDED && alen == 0)))
		why = REPLY_SYNTAX;
	if (why == REPLY_NONE && !(c->states & IN(s->state)))
		why = smtp_wrong_state(s, c->states);
	if (why != REPLY_NONE)
		smtp_fail(s, why);
	else if (c->run != NULL)
		c->run(s, arg, alen);
	else if (c->fails)
		smtp_fail(s, c->reply);
	else
		smtp_queue(s, c->reply);
	if (c->report)
		report_refusal(s, c, arg, alen);
}
