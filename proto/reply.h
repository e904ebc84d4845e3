/*
 * reply.h: the one catalogue of SMTP replies.  Every reply smtpd puts on
 * the wire is an entry here: a name, a three-digit code, an RFC 3463
 * enhanced status code whose class matches the code's first digit, and a
 * short text.  Callers refer to replies by name; reply_format() renders
 * one into a caller-owned buffer.  The catalogue is static and read-only.
 */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include <stddef.h>

enum reply_id {
	REPLY_NONE = 0,		/* no reply: acknowledges an event */
	REPLY_GREETING,		/* 220, text is the host name */
	REPLY_HELO,		/* 250, text is the host name */
	REPLY_EHLO,		/* 250 multi-line; built by the engine */
	REPLY_HELP,		/* 214 */
	REPLY_OK,		/* 250 2.0.0 generic (NOOP, RSET) */
	REPLY_MAIL_OK,		/* 250 2.1.0 */
	REPLY_RCPT_OK,		/* 250 2.1.5 */
	REPLY_VRFY,		/* 252 2.5.0 */
	REPLY_DATA_GO,		/* 354 */
	REPLY_MESSAGE_ACCEPTED,	/* 250 2.0.0 after DATA / BDAT LAST */
	REPLY_CHUNK_OK,		/* 250 2.0.0 after a BDAT chunk */
	REPLY_QUIT,		/* 221 2.0.0 */
	REPLY_STARTTLS_GO,	/* 220 2.0.0 */
	REPLY_AUTH_OK,		/* 235 2.7.0 */
	REPLY_AUTH_CHALLENGE,	/* 334, text is the base64 challenge */

	REPLY_TOO_MANY_ERRORS,	/* 421 4.7.0, closes */
	REPLY_AUTH_TOO_MANY_FAILURES, /* 421 4.7.0, closes */
	REPLY_TIMEOUT,		/* 421 4.4.2, closes */
	REPLY_SESSION_TOO_LONG,	/* 421 4.4.2, closes */
	REPLY_SHUTDOWN,		/* 421 4.3.2, closes */
	REPLY_UNAVAILABLE,	/* 421 4.3.0 local configuration error */
	REPLY_TEMP_FAIL,	/* 451 4.3.0 local error */
	REPLY_TOO_MANY_RCPTS,	/* 452 4.5.3 */
	REPLY_NO_STORAGE,	/* 452 4.3.1 */
	REPLY_AUTH_TEMP_FAIL,	/* 454 4.7.0 */
	REPLY_TLS_TEMP_FAIL,	/* 454 4.7.0 TLS not available now */
	REPLY_RCPT_TEMP_FAIL,	/* 451 4.3.0 recipient check deferred */

	REPLY_UNKNOWN_COMMAND,	/* 500 5.5.2 */
	REPLY_LINE_TOO_LONG,	/* 500 5.5.6 */
	REPLY_NEED_CRLF,	/* 500 5.5.2 command ended in bare LF */
	REPLY_AUTH_TOO_LONG,	/* 500 5.5.6 */
	REPLY_SYNTAX,		/* 501 5.5.4 */
	REPLY_BAD_SENDER,	/* 501 5.1.7 */
	REPLY_BAD_RCPT,		/* 501 5.1.3 */
	REPLY_PATH_TOO_LONG,	/* 501 5.1.3 */
	REPLY_SENDER_TOO_LONG,	/* 501 5.1.7 */
	REPLY_SENDER_BAD_CHAR,	/* 501 5.1.7 C1, U+2028/9, bidi control */
	REPLY_RCPT_BAD_CHAR,	/* 501 5.1.3 the same in a recipient */
	REPLY_AUTH_CANCELLED,	/* 501 5.7.0 */
	REPLY_AUTH_BAD_BASE64,	/* 501 5.5.2 */
	REPLY_NOT_IMPLEMENTED,	/* 502 5.5.1 */
	REPLY_BAD_SEQUENCE,	/* 503 5.5.1 */
	REPLY_NEED_MAIL,	/* 503 5.5.1 */
	REPLY_NEED_RCPT,	/* 503 5.5.1 */
	REPLY_NEED_HELO,	/* 503 5.5.1 */
	REPLY_BINARY_NEEDS_BDAT, /* 503 5.5.1 DATA after BODY=BINARYMIME */
	REPLY_AUTH_MECH_UNKNOWN, /* 504 5.5.4 */
	REPLY_AUTH_REQUIRED,	/* 530 5.7.0 */
	REPLY_AUTH_FAILED,	/* 535 5.7.8 */
	REPLY_AUTH_NEEDS_TLS,	/* 538 5.7.11 */
	REPLY_NO_MAILBOX,	/* 550 5.1.1 */
	REPLY_RELAY_DENIED,	/* 550 5.7.1 */
	REPLY_UTF8_NEEDED,	/* 553 5.6.7 non-ASCII address without SMTPUTF8 */
	REPLY_SIZE_EXCEEDED,	/* 552 5.3.4 */
	REPLY_TRANSACTION_FAILED, /* 554 5.0.0 permanent, from a program */
	REPLY_TOO_MANY_HOPS,	/* 554 5.4.6 */
	REPLY_BARE_LF,		/* 554 5.6.0 bare CR or LF in the data */
	REPLY_NUL_BYTE,		/* 554 5.6.0 NUL in the data */
	REPLY_UNKNOWN_PARAM,	/* 555 5.5.4 */
	REPLY_BAD_PARAM,	/* 501 5.5.4 parameter with a bad value */
	REPLY_PERM_FAIL,	/* 554 5.6.0 content refused by a program */
	REPLY_NOUSER,		/* 550 5.1.1 from a program (EX_NOUSER) */
	REPLY_NOPERM,		/* 550 5.7.1 from a program (EX_NOPERM) */
	REPLY_NOHOST,		/* 550 5.1.2 from a program (EX_NOHOST) */
	REPLY_SYSTEM_REFUSED,	/* 554 5.3.0 from a program or qmail-queue */
	REPLY_ADDR_TOO_LONG,	/* 554 5.1.3 qmail-queue exit 11 */
	REPLY_CONFIG_TEMP,	/* 451 4.3.5 program: EX_USAGE, EX_CONFIG */
	REPLY_PROGRAM_TEMP,	/* 451 4.3.0 program: 111, crash, others */
	REPLY_PROGRAM_TIMEOUT,	/* 451 4.3.0 program killed at TIMEOUT */
	REPLY_NEXT_HOP_TEMP,	/* 451 4.4.1 qmail-queue exit 72, 73 */
	REPLY_NEXT_HOP_FAIL,	/* 451 4.4.2 qmail-queue exit 74 */
	REPLY_COUNT
};

struct reply_entry {
	int code;
	const char *status;	/* RFC 3463, e.g. "5.5.1"; NULL for 220/334 */
	const char *text;
};

/* The entry for id; never NULL for id < REPLY_COUNT. */
const struct reply_entry *reply_get(enum reply_id id);

/* The three-digit code of id (0 for REPLY_NONE). */
int reply_code(enum reply_id id);

/*
 * Why a refusal (4xx, 5xx) refused, as one short fixed word for the log
 * (smtpd.8 LOG lists them): "relay", "no-mailbox", "size", "bare-lf",
 * ...; "-" for REPLY_NONE and the 2xx/3xx replies.  Never NULL.
 */
const char *reply_reason(enum reply_id id);

/* True when id closes the session after it is sent (421). */
int reply_closes(enum reply_id id);

/*
 * Render id as one reply line into out (capacity cap), CRLF included.
 * text, when not NULL, replaces the catalogue's text; its control
 * characters are dropped and it is cut to SMTP_REPLY_TEXT_MAX octets.
 * more != 0 renders a continuation line ("250-...").
 * Returns the length written, or 0 when it does not fit.
 */
size_t reply_format(char *out, size_t cap, enum reply_id id,
    const char *text, size_t textlen, int more);

/*
 * A reply another server gave (an LMTP server's, deliver/lmtp.c), passed
 * on: code 250, 400-599 but not 421, and status, when not NULL, an
 * RFC 3463 code of the same class ("5.1.1" for 550); the text is
 * filtered as above.  reply_is_relayable says whether code and status
 * are such; otherwise reply_format_relayed renders nothing (0).
 */
int reply_is_relayable(int code, const char *status);
size_t reply_format_relayed(char *out, size_t cap, int code,
    const char *status, const char *text, size_t textlen, int more);

#endif
