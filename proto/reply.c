/*
 * reply.c: the catalogue of every SMTP reply smtpd sends, and the one
 * function that renders a reply line.  Texts are short and plain; the
 * enhanced status codes are RFC 3463's, their class matching the code.
 */
#include <stddef.h>
#include <string.h>

#include "limits.h"
#include "reply.h"

static const struct reply_entry catalogue[REPLY_COUNT] = {
	[REPLY_NONE] = { 0, NULL, "" },
	[REPLY_GREETING] = { 220, NULL, "ESMTP smtpd" },
	[REPLY_HELO] = { 250, NULL, "Hello" },
	[REPLY_EHLO] = { 250, NULL, "Hello" },
	[REPLY_HELP] = { 214, "2.0.0",
	    "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; "
	    "see RFC 5321" },
	[REPLY_OK] = { 250, "2.0.0", "OK" },
	[REPLY_MAIL_OK] = { 250, "2.1.0", "Sender OK" },
	[REPLY_RCPT_OK] = { 250, "2.1.5", "Recipient OK" },
	[REPLY_VRFY] = { 252, "2.5.0",
	    "Cannot verify the user, but will accept the message" },
	[REPLY_DATA_GO] = { 354, NULL, "Send the message, end with CRLF.CRLF" },
	[REPLY_MESSAGE_ACCEPTED] = { 250, "2.0.0", "Message accepted" },
	[REPLY_CHUNK_OK] = { 250, "2.0.0", "Chunk received" },
	[REPLY_QUIT] = { 221, "2.0.0", "Goodbye" },
	[REPLY_STARTTLS_GO] = { 220, "2.0.0", "Ready to start TLS" },
	[REPLY_AUTH_OK] = { 235, "2.7.0", "Authentication succeeded" },
	[REPLY_AUTH_CHALLENGE] = { 334, NULL, "" },

	[REPLY_TOO_MANY_ERRORS] = { 421, "4.7.0",
	    "Too many errors, closing the connection" },
	[REPLY_AUTH_TOO_MANY_FAILURES] = { 421, "4.7.0",
	    "Too many authentication failures, closing the connection" },
	[REPLY_TIMEOUT] = { 421, "4.4.2", "Timeout, closing the connection" },
	[REPLY_SESSION_TOO_LONG] = { 421, "4.4.2",
	    "Session time limit reached, closing the connection" },
	[REPLY_SHUTDOWN] = { 421, "4.3.2", "Service shutting down" },
	[REPLY_UNAVAILABLE] = { 421, "4.3.0",
	    "Local configuration error, try again later" },
	[REPLY_TEMP_FAIL] = { 451, "4.3.0",
	    "Local error in processing, try again later" },
	[REPLY_TOO_MANY_RCPTS] = { 452, "4.5.3", "Too many recipients" },
	[REPLY_NO_STORAGE] = { 452, "4.3.1",
	    "Insufficient system storage, try again later" },
	[REPLY_AUTH_TEMP_FAIL] = { 454, "4.7.0",
	    "Temporary authentication failure" },
	[REPLY_TLS_TEMP_FAIL] = { 454, "4.7.0",
	    "TLS not available, try again later" },
	[REPLY_RCPT_TEMP_FAIL] = { 451, "4.3.0",
	    "Recipient check failed, try again later" },

	[REPLY_UNKNOWN_COMMAND] = { 500, "5.5.2", "Command not recognized" },
	[REPLY_LINE_TOO_LONG] = { 500, "5.5.6", "Line too long" },
	[REPLY_NEED_CRLF] = { 500, "5.5.2",
	    "Command lines must end with CRLF" },
	[REPLY_AUTH_TOO_LONG] = { 500, "5.5.6", "Authentication exchange line "
	    "too long" },
	[REPLY_SYNTAX] = { 501, "5.5.4", "Syntax error in parameters" },
	[REPLY_BAD_SENDER] = { 501, "5.1.7", "Bad sender address syntax" },
	[REPLY_BAD_RCPT] = { 501, "5.1.3", "Bad recipient address syntax" },
	[REPLY_PATH_TOO_LONG] = { 501, "5.1.3", "Path too long" },
	[REPLY_SENDER_TOO_LONG] = { 501, "5.1.7", "Path too long" },
	[REPLY_SENDER_BAD_CHAR] = { 501, "5.1.7", "Sender address contains a "
	    "control, line separator or bidirectional character (RFC 5198)" },
	[REPLY_RCPT_BAD_CHAR] = { 501, "5.1.3", "Recipient address contains a "
	    "control, line separator or bidirectional character (RFC 5198)" },
	[REPLY_AUTH_CANCELLED] = { 501, "5.7.0", "Authentication cancelled" },
	[REPLY_AUTH_BAD_BASE64] = { 501, "5.5.2", "Invalid base64 data" },
	[REPLY_NOT_IMPLEMENTED] = { 502, "5.5.1", "Command not implemented" },
	[REPLY_BAD_SEQUENCE] = { 503, "5.5.1", "Bad sequence of commands" },
	[REPLY_NEED_MAIL] = { 503, "5.5.1", "MAIL first" },
	[REPLY_NEED_RCPT] = { 503, "5.5.1", "RCPT first" },
	[REPLY_NEED_HELO] = { 503, "5.5.1", "EHLO or HELO first" },
	[REPLY_BINARY_NEEDS_BDAT] = { 503, "5.5.1",
	    "BODY=BINARYMIME requires BDAT, not DATA" },
	[REPLY_AUTH_MECH_UNKNOWN] = { 504, "5.5.4",
	    "Unrecognized authentication mechanism" },
	[REPLY_AUTH_REQUIRED] = { 530, "5.7.0", "Authentication required" },
	[REPLY_AUTH_FAILED] = { 535, "5.7.8",
	    "Authentication credentials invalid" },
	[REPLY_AUTH_NEEDS_TLS] = { 538, "5.7.11",
	    "Encryption required for requested authentication mechanism" },
	[REPLY_NO_MAILBOX] = { 550, "5.1.1", "No such mailbox here" },
	[REPLY_RELAY_DENIED] = { 550, "5.7.1", "Relaying denied" },
	[REPLY_UTF8_NEEDED] = { 553, "5.6.7",
	    "Non-ASCII address needs the SMTPUTF8 parameter on MAIL" },
	[REPLY_SIZE_EXCEEDED] = { 552, "5.3.4",
	    "Message size exceeds the fixed limit" },
	[REPLY_TRANSACTION_FAILED] = { 554, "5.0.0", "Transaction failed" },
	[REPLY_TOO_MANY_HOPS] = { 554, "5.4.6",
	    "Too many Received or Delivered-To header fields: mail loop" },
	[REPLY_BARE_LF] = { 554, "5.6.0", "Message refused: bare CR or LF in "
	    "the data; every line must end with CRLF (RFC 5321 2.3.8)" },
	[REPLY_NUL_BYTE] = { 554, "5.6.0",
	    "Message refused: it contains NUL bytes" },
	[REPLY_UNKNOWN_PARAM] = { 555, "5.5.4",
	    "Parameter not recognized or not implemented" },
	[REPLY_BAD_PARAM] = { 501, "5.5.4", "Invalid parameter value" },
	[REPLY_PERM_FAIL] = { 554, "5.6.0", "Message content refused" },
	[REPLY_NOUSER] = { 550, "5.1.1", "No such user" },
	[REPLY_NOPERM] = { 550, "5.7.1", "Delivery not authorized" },
	[REPLY_NOHOST] = { 550, "5.1.2", "No such domain here" },
	[REPLY_SYSTEM_REFUSED] = { 554, "5.3.0",
	    "Mail system refused the message" },
	[REPLY_ADDR_TOO_LONG] = { 554, "5.1.3", "Envelope address too long" },
	[REPLY_CONFIG_TEMP] = { 451, "4.3.5",
	    "Local configuration error, try again later" },
	[REPLY_PROGRAM_TEMP] = { 451, "4.3.0",
	    "Temporary failure in delivery, try again later" },
	[REPLY_PROGRAM_TIMEOUT] = { 451, "4.3.0",
	    "Delivery timed out, try again later" },
	[REPLY_NEXT_HOP_TEMP] = { 451, "4.4.1",
	    "Connection to the next server failed, try again later" },
	[REPLY_NEXT_HOP_FAIL] = { 451, "4.4.2",
	    "Connection to the next server broke, try again later" },
};

/* reply_reason's words: [a-z0-9-], one per cause a script may count
 * (test_smtp checks that every 4xx and 5xx reply has one). */
static const char *const reasons[REPLY_COUNT] = {
	[REPLY_TOO_MANY_ERRORS] = "too-many-errors",
	[REPLY_AUTH_TOO_MANY_FAILURES] = "auth-failures",
	[REPLY_TIMEOUT] = "timeout",
	[REPLY_SESSION_TOO_LONG] = "session-timeout",
	[REPLY_SHUTDOWN] = "shutdown",
	[REPLY_UNAVAILABLE] = "local-error",
	[REPLY_TEMP_FAIL] = "local-error",
	[REPLY_TOO_MANY_RCPTS] = "too-many-rcpts",
	[REPLY_NO_STORAGE] = "no-storage",
	[REPLY_AUTH_TEMP_FAIL] = "auth-deferred",
	[REPLY_TLS_TEMP_FAIL] = "no-tls",
	[REPLY_RCPT_TEMP_FAIL] = "rcptcheck",
	[REPLY_UNKNOWN_COMMAND] = "unknown-command",
	[REPLY_LINE_TOO_LONG] = "line-too-long",
	[REPLY_NEED_CRLF] = "bare-lf",
	[REPLY_AUTH_TOO_LONG] = "line-too-long",
	[REPLY_SYNTAX] = "syntax",
	[REPLY_BAD_SENDER] = "syntax",
	[REPLY_BAD_RCPT] = "syntax",
	[REPLY_PATH_TOO_LONG] = "too-long",
	[REPLY_SENDER_TOO_LONG] = "too-long",
	[REPLY_SENDER_BAD_CHAR] = "bad-char",
	[REPLY_RCPT_BAD_CHAR] = "bad-char",
	[REPLY_AUTH_CANCELLED] = "auth-cancelled",
	[REPLY_AUTH_BAD_BASE64] = "syntax",
	[REPLY_NOT_IMPLEMENTED] = "not-implemented",
	[REPLY_BAD_SEQUENCE] = "sequence",
	[REPLY_NEED_MAIL] = "sequence",
	[REPLY_NEED_RCPT] = "sequence",
	[REPLY_NEED_HELO] = "sequence",
	[REPLY_BINARY_NEEDS_BDAT] = "sequence",
	[REPLY_AUTH_MECH_UNKNOWN] = "auth-mech",
	[REPLY_AUTH_REQUIRED] = "auth-required",
	[REPLY_AUTH_FAILED] = "auth-failed",
	[REPLY_AUTH_NEEDS_TLS] = "auth-needs-tls",
	[REPLY_NO_MAILBOX] = "no-mailbox",
	[REPLY_RELAY_DENIED] = "relay",
	[REPLY_UTF8_NEEDED] = "utf8-needs-smtputf8",
	[REPLY_SIZE_EXCEEDED] = "size",
	[REPLY_TRANSACTION_FAILED] = "program",
	[REPLY_TOO_MANY_HOPS] = "hops",
	[REPLY_BARE_LF] = "bare-lf",
	[REPLY_NUL_BYTE] = "nul",
	[REPLY_UNKNOWN_PARAM] = "unknown-param",
	[REPLY_BAD_PARAM] = "bad-param",
	[REPLY_PERM_FAIL] = "program",
	[REPLY_NOUSER] = "program",
	[REPLY_NOPERM] = "program",
	[REPLY_NOHOST] = "program",
	[REPLY_SYSTEM_REFUSED] = "program",
	[REPLY_ADDR_TOO_LONG] = "program",
	[REPLY_CONFIG_TEMP] = "program",
	[REPLY_PROGRAM_TEMP] = "program",
	[REPLY_PROGRAM_TIMEOUT] = "program-timeout",
	[REPLY_NEXT_HOP_TEMP] = "program",
	[REPLY_NEXT_HOP_FAIL] = "program",
};

const struct reply_entry *
reply_get(enum reply_id id)
{
	if ((unsigned)id >= REPLY_COUNT)
		id = REPLY_TEMP_FAIL;
	return &catalogue[id];
}

int
reply_code(enum reply_id id)
{
	return reply_get(id)->code;
}

const char *
reply_reason(enum reply_id id)
{
	if ((unsigned)id >= REPLY_COUNT || reasons[id] == NULL)
		return "-";
	return reasons[id];
}

int
reply_closes(enum reply_id id)
{
	return reply_code(id) == 421;
}

/* Free text may not break the line: drop CR, LF and other controls. */
static int
is_text_octet(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

/* Is status an enhanced status code (RFC 3463) of class code/100:
 * "C.SSS.DDD", C one of 2, 4, 5, SSS and DDD 1 to 3 digits? */
static int
is_status_of(const char *status, int code)
{
	size_t i = 2;
	size_t n;
	int part;

	if (status == NULL || status[0] != (char)('0' + code / 100) ||
	    (code / 100 != 2 && code / 100 != 4 && code / 100 != 5) ||
	    status[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (n = 0; status[i] >= '0' && status[i] <= '9'; n++)
			i++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0 && status[i++] != '.')
			return 0;
	}
	return status[i] == '\0';
}

/* One line: "ddd-" or "ddd ", the status and a space when there is one,
 * the text (filtered unless trusted), CRLF; 0 when cap is too small. */
static size_t
render(char *out, size_t cap, int code, const char *status,
    const char *text, size_t textlen, int trusted, int more)
{
	size_t len = 0;
	size_t i;
	size_t kept = 0;

	/* "ddd-" + status + " " + text + CRLF, bounded. */
	if (cap < 4 + 16 + SMTP_REPLY_TEXT_MAX + 2)
		return 0;
	out[len++] = (char)('0' + code / 100);
	out[len++] = (char)('0' + code / 10 % 10);
	out[len++] = (char)('0' + code % 10);
	out[len++] = more ? '-' : ' ';
	if (status != NULL) {
		size_t slen = strlen(status);

		memcpy(out + len, status, slen);
		len += slen;
		if (textlen > 0)
			out[len++] = ' ';
	}
	if (trusted && textlen <= SMTP_REPLY_TEXT_MAX) {
		/* The catalogue's own texts are clean (test_reply checks). */
		memcpy(out + len, text, textlen);
		len += textlen;
	} else {
		for (i = 0; i < textlen && kept < SMTP_REPLY_TEXT_MAX; i++) {
			if (is_text_octet((unsigned char)text[i])) {
				out[len++] = text[i];
				kept++;
			}
		}
	}
	out[len++] = '\r';
	out[len++] = '\n';
	return len;
}

size_t
reply_format(char *out, size_t cap, enum reply_id id, const char *text,
    size_t textlen, int more)
{
	const struct reply_entry *e = reply_get(id);
	int trusted = text == NULL;

	if (e->code == 0)
		return 0;
	if (trusted) {
		text = e->text;
		textlen = strlen(text);
	}
	return render(out, cap, e->code, e->status, text, textlen, trusted,
	    more);
}

int
reply_is_relayable(int code, const char *status)
{
	/* 421 says the connection closes, and a 2xx other than 250 says
	 * what a message's end cannot (RFC 5321 §4.3.2: 250 only), nor a
	 * RCPT from an LMTP server (251 would say we forward; 220, 221,
	 * 235, 252 belong to other commands): such a code would tell the
	 * client something the session does not do. */
	if (code == 421 || (code / 100 == 2 && code != 250))
		return 0;
	return code >= 200 && code <= 599 &&
	    (status == NULL || is_status_of(status, code));
}

size_t
reply_format_relayed(char *out, size_t cap, int code, const char *status,
    const char *text, size_t textlen, int more)
{
	if (!reply_is_relayable(code, status))
		return 0;
	return render(out, cap, code, status, text != NULL ? text : "",
	    text != NULL ? textlen : 0, 0, more);
}
