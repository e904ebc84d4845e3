/*
 * test_lmtp.c: the LMTP client's pure parts (deliver/lmtp_reply.h): reply
 * lines, LHLO keywords, the one reply combined from each recipient's,
 * the wire form of the body (CRLF, dot-stuffing, cut anywhere), and the
 * relayed reply's rendering (proto/reply.h).
 */
#include <stdio.h>
#include <string.h>

#include "../../deliver/lmtp_reply.h"
#include "../../proto/reply.h"
#include "../../proto/smtp.h"
#include "tap.h"

static struct lmtp_reply
parse(const char *line, int *last)
{
	struct lmtp_reply r;

	memset(&r, 0, sizeof(r));
	*last = lmtp_parse_line(line, strlen(line), &r);
	return r;
}

static void
test_parse(void)
{
	struct lmtp_reply r;
	int last;

	r = parse("550 5.1.1 <nobody> User doesn't exist: nobody", &last);
	ok(last == 1 && r.code == 550, "550: last line, code");
	is_mem(r.status, strlen(r.status), "5.1.1", "550: status");
	is_mem(r.text, r.text_len, "<nobody> User doesn't exist: nobody",
	    "550: text after the status");

	r = parse("250-vm.example", &last);
	ok(last == 0 && r.code == 250 && r.status[0] == '\0',
	    "250-: more to come, no status");
	ok(lmtp_parse_line("250 PIPELINING", 14, &r) == 1 && r.code == 250,
	    "a later line of the same code ends it");
	is_mem(r.text, r.text_len, "vm.example", "the first line's text kept");
	ok(lmtp_parse_line("251 x", 5, &r) == -1, "another code mid-reply: -1");

	r = parse("354", &last);
	ok(last == 1 && r.code == 354 && r.text_len == 0, "a bare code");
	r = parse("452 5.2.2 wrong class", &last);
	ok(r.code == 452 && r.status[0] == '\0', "a status of another class "
	    "is not the status");
	is_mem(r.text, r.text_len, "wrong class", "... nor the text's first "
	    "word");
	r = parse("550 4.1.1 x", &last);
	ok(r.status[0] == '\0' && r.text_len == 1, "550 4.1.1: dropped");
	r = parse("250 5.0.0 y", &last);
	ok(r.status[0] == '\0' && r.text_len == 1, "250 5.0.0: dropped");
	r = parse("250 2.0.0", &last);
	is_mem(r.status, strlen(r.status), "2.0.0", "status alone");
	r = parse("451 4.3.0000 x", &last);
	ok(r.status[0] == '\0', "a status part of 4 digits is not one");

	ok(parse("hello", &last).code == 0 && last == -1, "garbage: -1");
	(void)parse("25", &last);
	ok(last == -1, "too short: -1");
	(void)parse("250x", &last);
	ok(last == -1, "no separator: -1");
	(void)parse("150 x", &last);
	ok(last == -1, "1xx: -1");
	(void)parse("650 x", &last);
	ok(last == -1, "6xx: -1");

	r = parse("550 5.1.1 caf\xc3\xa9\x1b[31m\x7f!", &last);
	is_mem(r.text, r.text_len, "caf???[31m?!", "non-printable and "
	    "8-bit octets become '?'");
	{
		char line[600];

		memset(line, 'a', sizeof(line));
		memcpy(line, "250 ", 4);
		memset(&r, 0, sizeof(r));
		ok(lmtp_parse_line(line, sizeof(line), &r) == 1 &&
		    r.text_len == LMTP_TEXT_MAX, "a long text is cut to "
		    "LMTP_TEXT_MAX");
	}
}

static void
test_keywords(void)
{
	ok(lmtp_ext_keyword("PIPELINING", 10) == LMTP_EXT_PIPELINING,
	    "PIPELINING");
	ok(lmtp_ext_keyword("chunking", 8) == LMTP_EXT_CHUNKING,
	    "chunking, any case");
	ok(lmtp_ext_keyword("SIZE 1000", 9) == LMTP_EXT_SIZE, "SIZE n");
	ok(lmtp_ext_keyword("ENHANCEDSTATUSCODES", 19) == LMTP_EXT_ENHANCED,
	    "ENHANCEDSTATUSCODES");
	ok(lmtp_ext_keyword("8BITMIME", 8) == LMTP_EXT_8BITMIME, "8BITMIME");
	ok(lmtp_ext_keyword("SMTPUTF8", 8) == LMTP_EXT_SMTPUTF8, "SMTPUTF8");
	ok(lmtp_ext_keyword("PIPELININGX", 11) == 0, "a longer word: none");
	ok(lmtp_ext_keyword("PIPE", 4) == 0, "a prefix: none");
	ok(lmtp_ext_keyword("", 0) == 0, "empty: none");
}

static struct lmtp_reply
mk(int code, const char *status, const char *text)
{
	struct lmtp_reply r;

	memset(&r, 0, sizeof(r));
	r.code = code;
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.text, sizeof(r.text), "%s", text);
	r.text_len = strlen(r.text);
	return r;
}

static void
test_combine(void)
{
	struct lmtp_reply each[3];
	const struct lmtp_reply *one;

	each[0] = mk(250, "2.0.0", "<a> Saved");
	each[1] = mk(250, "2.0.0", "<b> Saved");
	ok(lmtp_combine(each, 2, &one) == 0 && one == NULL, "all 250: 0");
	ok(lmtp_combine(each, 0, &one) == 2, "no reply: 451");
	each[1] = mk(552, "5.2.2", "<b> Quota exceeded");
	ok(lmtp_combine(each, 2, &one) == 2 && one == NULL,
	    "250 and 552: 451");
	each[0] = mk(552, "5.2.2", "<a> Quota exceeded");
	ok(lmtp_combine(each, 2, &one) == 1 && one == &each[0],
	    "the same 552 5.2.2 for all: that reply");
	each[2] = mk(550, "5.1.1", "<c> no");
	ok(lmtp_combine(each, 3, &one) == 2, "two permanent replies that "
	    "differ in code: 451");
	each[2] = mk(552, "5.3.4", "<c> too big");
	ok(lmtp_combine(each, 3, &one) == 2, "... or in status: 451");
	each[0] = mk(452, "4.2.2", "<a> full");
	each[1] = mk(452, "4.2.2", "<b> full");
	ok(lmtp_combine(each, 2, &one) == 2, "all the same temporary "
	    "reply: 451 4.3.0");
	each[0] = mk(550, "5.1.1", "<a> no");
	ok(lmtp_combine(each, 1, &one) == 1 && one == &each[0],
	    "one recipient, refused: its reply");
}

/* Encode in pieces of `step` octets into a buffer of `cap`, flushing
 * as lmtp.c does; the result must not depend on step or cap. */
static size_t
encode_all(const char *in, size_t len, int stuff, size_t step, size_t cap,
    char *out, size_t outcap)
{
	char buf[64];
	size_t total = 0;
	size_t i = 0;
	int at_bol = 1;

	while (i < len) {
		size_t piece = len - i < step ? len - i : step;
		size_t used = 0;

		while (used < piece) {
			size_t n;
			size_t u = lmtp_encode(in + i + used, piece - used,
			    stuff, &at_bol, buf, cap, &n);

			if (total + n > outcap)
				return 0;
			memcpy(out + total, buf, n);
			total += n;
			used += u;
			if (u == 0 && n == 0)
				return 0;	/* no progress: a bug */
		}
		i += piece;
	}
	return total;
}

static void
test_encode(void)
{
	static const char in[] = ".a\n..b\nc.\n\n.\nx";
	static const char stuffed[] = "..a\r\n...b\r\nc.\r\n\r\n..\r\nx";
	static const char plain[] = ".a\r\n..b\r\nc.\r\n\r\n.\r\nx";
	char out[256];
	size_t n;
	size_t step;
	size_t cap;
	int good = 1;
	int good_plain = 1;

	for (step = 1; step <= sizeof(in); step++) {
		for (cap = 2; cap <= 16; cap++) {
			n = encode_all(in, sizeof(in) - 1, 1, step, cap, out,
			    sizeof(out));
			if (n != sizeof(stuffed) - 1 ||
			    memcmp(out, stuffed, n) != 0)
				good = 0;
			n = encode_all(in, sizeof(in) - 1, 0, step, cap, out,
			    sizeof(out));
			if (n != sizeof(plain) - 1 ||
			    memcmp(out, plain, n) != 0)
				good_plain = 0;
		}
	}
	ok(good, "DATA: CRLF and dot-stuffing, any piece and buffer size");
	ok(good_plain, "BDAT: CRLF only, any piece and buffer size");
	{
		int at_bol = 0;
		size_t used = lmtp_encode(".x", 2, 1, &at_bol, out, 8, &n);

		is_mem(out, n, ".x", "a '.' that does not start a line stays");
		ok(used == 2, "all used");
		at_bol = 1;
		used = lmtp_encode(".x", 2, 1, &at_bol, out, 1, &n);
		ok(used == 0 && n == 0 && at_bol == 1,
		    "no room for the '.' and its double: nothing taken");
	}
}

static void
test_relayed(void)
{
	char out[512];
	size_t n;

	n = reply_format_relayed(out, sizeof(out), 552, "5.2.2",
	    "<b> Quota exceeded", 18, 0);
	is_mem(out, n, "552 5.2.2 <b> Quota exceeded\r\n", "552 5.2.2 relayed");
	n = reply_format_relayed(out, sizeof(out), 250, NULL, "OK", 2, 0);
	is_mem(out, n, "250 OK\r\n", "no status");
	ok(reply_format_relayed(out, sizeof(out), 552, "4.2.2", "x", 1, 0)
	    == 0, "a status of another class: nothing");
	ok(reply_format_relayed(out, sizeof(out), 99, NULL, "x", 1, 0) == 0,
	    "a code out of range: nothing");
	ok(reply_format_relayed(out, sizeof(out), 550, "5.1", "x", 1, 0) == 0,
	    "a short status: nothing");
	n = reply_format_relayed(out, sizeof(out), 550, "5.1.1", "a\r\nb", 4, 0);
	is_mem(out, n, "550 5.1.1 ab\r\n", "CR LF dropped from the text");
	ok(reply_is_relayable(452, "4.5.3") && !reply_is_relayable(452, "4.5.3 "),
	    "reply_is_relayable");
	ok(!reply_is_relayable(421, "4.3.2") && !reply_is_relayable(421, NULL),
	    "421 is not relayed: the session does not close");
	ok(!reply_is_relayable(221, NULL) && !reply_is_relayable(220, NULL) &&
	    !reply_is_relayable(235, NULL) && !reply_is_relayable(251, NULL) &&
	    !reply_is_relayable(252, NULL) && reply_is_relayable(250, NULL),
	    "2xx: 250 only");
}

/* Feed in, answering events as `decide` says; the output in out. */
static struct smtp_session sess;
static struct smtp_config cfg;
static char got[8192];
static size_t got_len;

static void
engine_flush(void)
{
	const char *o;
	size_t n = smtp_output(&sess, &o);

	if (got_len + n < sizeof(got)) {
		memcpy(got + got_len, o, n);
		got_len += n;
	}
	smtp_output_done(&sess, n);
}

static const char *rcpt_text = "from the server";

static void
engine_feed(const char *in, int rcpt_code, const char *rcpt_status,
    enum reply_id rcpt_id)
{
	size_t off = 0;
	size_t len = strlen(in);
	const struct smtp_event *ev;

	for (;;) {
		while ((ev = smtp_event(&sess)) != NULL) {
			if (ev->type == SMTP_EV_MAIL)
				smtp_answer(&sess, REPLY_MAIL_OK);
			else if (ev->type == SMTP_EV_RCPT)
				smtp_answer_relayed(&sess, rcpt_id, rcpt_code,
				    rcpt_status, rcpt_text, strlen(rcpt_text));
			else
				smtp_answer(&sess, REPLY_NONE);
		}
		engine_flush();
		if (off == len)
			break;
		off += smtp_feed(&sess, in + off, len - off);
	}
}

static int
got_has(const char *want)
{
	got[got_len] = '\0';
	return strstr(got, want) != NULL;
}

/* A RCPT answered with an LMTP server's reply, and the line sent. */
static const struct {
	const char *text;		/* the server's */
	int code;
	const char *status;
	enum reply_id id;		/* what the engine makes of it */
	const char *want;
	const char *name;
} relayed[] = {
	{ "from the server", 452, "4.2.2", REPLY_NO_MAILBOX,
	    "550 5.1.1 from the server\r\n",
	    "a code of another class than id's: id's code and status" },
	{ "from the server", 250, "2.1.5", REPLY_RCPT_OK,
	    "250 2.1.5 from the server\r\n", "an accepted RCPT" },
	{ "from the server", 250, NULL, REPLY_RCPT_OK,
	    "250 2.1.5 from the server\r\n", "a server's reply without a "
	    "status gets id's (RFC 2034: every reply has one)" },
	{ "", 250, NULL, REPLY_RCPT_OK, "250 2.1.5 Recipient OK\r\n",
	    "a bare code gets id's status and text" },
	{ "will forward", 251, NULL, REPLY_RCPT_OK,
	    "250 2.1.5 will forward\r\n",
	    "a 251 is not passed on: 250 with the server's text" },
	{ "Quota exceeded", 552, NULL, REPLY_NO_MAILBOX,
	    "552 5.0.0 Quota exceeded\r\n",
	    "a refusal without a status gets 5.0.0, not id's 5.1.1" },
};

static void
test_engine(void)
{
	size_t i;

	cfg.hostname = "mx.test";
	cfg.maxrcpts = 10;
	smtp_init(&sess, &cfg);
	got_len = 0;
	engine_feed("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n", 552,
	    "5.2.2", REPLY_NO_MAILBOX);
	ok(got_has("\r\n552 5.2.2 from the server\r\n"),
	    "a refused RCPT: the server's code, status and text");
	ok(smtp_errors(&sess) == 1, "... counted as an error");
	for (i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++) {
		got_len = 0;
		rcpt_text = relayed[i].text;
		engine_feed("RCPT TO:<x@y.z>\r\n", relayed[i].code,
		    relayed[i].status, relayed[i].id);
		ok(got_has(relayed[i].want), "%s", relayed[i].name);
	}
	got_len = 0;
	rcpt_text = "shutting down";
	engine_feed("RCPT TO:<x@y.z>\r\n", 421, "4.3.2",
	    REPLY_RCPT_TEMP_FAIL);
	ok(got_has("451 4.3.0 shutting down\r\n") && !got_has("421") &&
	    !smtp_is_closed(&sess),
	    "a server's 421 is not passed on: the session stays open");
	rcpt_text = "from the server";
	got_len = 0;
	engine_feed("DATA\r\n", 0, NULL, REPLY_NONE);
	ok(got_has("503") == 0, "... counts as a recipient: DATA is not "
	    "refused for want of one");
}

int
main(void)
{
	test_engine();
	test_parse();
	test_keywords();
	test_combine();
	test_encode();
	test_relayed();
	return tap_done();
}
