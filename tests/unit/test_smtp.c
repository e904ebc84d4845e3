/*
 * test_smtp.c: transcript tests of the session engine.  Each case is fed
 * whole, one octet at a time and in random pieces; the log (replies, and
 * what the caller was asked to store or abort) must be identical and equal
 * to the expected transcript.  A "\x01" in the input marks where a TLS
 * handshake completes: on STARTTLS the driver drops every octet before it,
 * as smtpd.c drops what a client pipelined in the clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/smtp.h"
#include "tap.h"

#define GREET "220 mx.test ESMTP smtpd\r\n"
#define EHLO_LIST(last) \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n" \
	"250-BINARYMIME\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n" last \
	"250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_R EHLO_LIST("")
#define MAIL_OK "250 2.1.0 Sender OK\r\n"
#define RCPT_OK "250 2.1.5 Recipient OK\r\n"
#define GO "354 Send the message, end with CRLF.CRLF\r\n"
#define ACCEPTED "250 2.0.0 Message accepted\r\n"
#define CHUNK "250 2.0.0 Chunk received\r\n"
#define BYE "221 2.0.0 Goodbye\r\n"
#define OK "250 2.0.0 OK\r\n"
#define SEQ "503 5.5.1 Bad sequence of commands\r\n"
#define SYNTAX "501 5.5.4 Syntax error in parameters\r\n"
#define BARE "554 5.6.0 Message refused: bare CR or LF in the data; every " \
	"line must end with CRLF (RFC 5321 2.3.8)\r\n"
#define TEMP "451 4.3.0 Local error in processing, try again later\r\n"
#define TXN "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n"
#define TXN_R GREET EHLO_R MAIL_OK RCPT_OK

struct transcript {
	const char *name;
	unsigned flags;
	const char *input;
	size_t input_len;	/* 0: strlen(input) */
	const char *expect;
};

static const struct transcript cases[] = {
	{ "greeting and QUIT", 0, "QUIT\r\n", 0, GREET BYE },
	{ "one message", 0,
	    TXN "DATA\r\nSubject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n", 0,
	    TXN_R GO "[msg Subject: x\n\nhello\n]" ACCEPTED BYE },
	{ "dot-unstuffing", 0,
	    TXN "DATA\r\n..a\r\n\r\n..\r\n.\r\nQUIT\r\n", 0,
	    TXN_R GO "[msg .a\n\n.\n]" ACCEPTED BYE },
	{ "empty message", 0, TXN "DATA\r\n.\r\nQUIT\r\n", 0,
	    TXN_R GO "[msg ]" ACCEPTED BYE },
	{ "HELO", 0, "HELO c.test\r\nQUIT\r\n", 0,
	    GREET "250 mx.test\r\n" BYE },
	{ "EHLO needs one argument", 0,
	    "EHLO\r\nEHLO \r\nEHLO a b\r\nEHLO a \r\nQUIT\r\n", 0,
	    GREET SYNTAX SYNTAX SYNTAX SYNTAX BYE },
	{ "HELO names of devices: any word of printable ASCII", 0,
	    "EHLO my_pc\r\nHELO DESKTOP-AB_12\r\nEHLO -bad-\r\n"
	    "EHLO x)by(evil;\\\"\r\nQUIT\r\n", 0,
	    GREET EHLO_R "250 mx.test\r\n" EHLO_R EHLO_R BYE },
	{ "HELO: control characters, tab, DEL and non-ASCII refused", 0,
	    "EHLO a\tb\r\nEHLO a\x7f\r\nEHLO \xc3\xa9.example\r\n"
	    "HELO a\x01\r\nQUIT\r\n", 0,
	    GREET SYNTAX SYNTAX SYNTAX SYNTAX BYE },
	{ "MAIL before EHLO", 0, "MAIL FROM:<a@b.test>\r\nQUIT\r\n", 0,
	    GREET "503 5.5.1 EHLO or HELO first\r\n" BYE },
	{ "RCPT before MAIL", 0, "EHLO c.test\r\nRCPT TO:<a@b.test>\r\n", 0,
	    GREET EHLO_R "503 5.5.1 MAIL first\r\n" },
	{ "DATA before RCPT", 0,
	    "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nDATA\r\n", 0,
	    GREET EHLO_R MAIL_OK "503 5.5.1 RCPT first\r\n" },
	{ "nested MAIL", 0, TXN "MAIL FROM:<a@b.test>\r\n", 0,
	    TXN_R SEQ },
	{ "null sender, postmaster, space after colon", 0,
	    "EHLO c.test\r\nMAIL FROM: <>\r\nRCPT TO:<Postmaster>\r\n", 0,
	    GREET EHLO_R MAIL_OK RCPT_OK },
	{ "bad addresses", 0,
	    "EHLO c.test\r\nMAIL FROM:a@b.test\r\nMAIL FROM:<a@>\r\n"
	    "MAIL FROM:<a@b.test>\r\nRCPT TO:<>\r\n", 0,
	    GREET EHLO_R SYNTAX "501 5.1.7 Bad sender address syntax\r\n"
	    MAIL_OK "501 5.1.3 Bad recipient address syntax\r\n" },
	{ "unknown parameter", 0,
	    "EHLO c.test\r\nMAIL FROM:<a@b.test> FOO=1\r\n", 0,
	    GREET EHLO_R
	    "555 5.5.4 Parameter not recognized or not implemented\r\n" },
	/* SMTP_CF_REFUSAL_EVENTS: what the engine refuses itself is told
	 * to the caller (for smtpd's log); what the caller refuses, and
	 * other commands, are not. */
	{ "refusal events", SMTP_CF_REFUSAL_EVENTS,
	    "EHLO a b\r\nMAIL FROM:<a@b.test>\r\nEHLO c.test\r\n"
	    "MAIL FROM:a b\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<>\r\n"
	    "RCPT TO:<bad@d.test>\r\n"
	    "RCPT TO:<v@evil.com\xe2\x80\xa8x.d.test> SMTPUTF8\r\n"
	    "NOOP x\r\nFOO\r\nQUIT\r\n", 0,
	    GREET SYNTAX "[refused EHLO syntax a b]"
	    "503 5.5.1 EHLO or HELO first\r\n"
	    "[refused MAIL sequence FROM:<a@b.test>]" EHLO_R
	    SYNTAX "[refused MAIL syntax FROM:a b]" MAIL_OK
	    "501 5.1.3 Bad recipient address syntax\r\n"
	    "[refused RCPT syntax TO:<>]"
	    "550 5.1.1 No such mailbox here\r\n"
	    "501 5.1.3 Recipient address contains a control, line separator "
	    "or bidirectional character (RFC 5198)\r\n"
	    "[refused RCPT bad-char TO:<v@evil.com\xe2\x80\xa8x.d.test>"
	    " SMTPUTF8]"
	    OK "500 5.5.2 Command not recognized\r\n" BYE },
	{ "a forbidden character in a UTF-8 recipient", SMTP_CF_REFUSAL_EVENTS,
	    "EHLO c.test\r\nMAIL FROM:<a@b.test> SMTPUTF8\r\n"
	    "RCPT TO:<v@evil.com\xe2\x80\xa8x.d.test>\r\n"
	    "RCPT TO:<\xc2\x85@d.test>\r\nRCPT TO:<\xc2\xa0@d.test>\r\n"
	    "MAIL FROM:<\xe2\x80\xae@b.test>\r\n", 0,
	    GREET EHLO_R MAIL_OK
	    "501 5.1.3 Recipient address contains a control, line separator "
	    "or bidirectional character (RFC 5198)\r\n"
	    "[refused RCPT bad-char TO:<v@evil.com\xe2\x80\xa8x.d.test>]"
	    "501 5.1.3 Recipient address contains a control, line separator "
	    "or bidirectional character (RFC 5198)\r\n"
	    "[refused RCPT bad-char TO:<\xc2\x85@d.test>]" RCPT_OK
	    SEQ "[refused MAIL sequence FROM:<\xe2\x80\xae@b.test>]" },
	{ "a forbidden character in a UTF-8 sender", SMTP_CF_REFUSAL_EVENTS,
	    "EHLO c.test\r\nMAIL FROM:<a\xe2\x80\xa9@b.test> SMTPUTF8\r\n",
	    0, GREET EHLO_R
	    "501 5.1.7 Sender address contains a control, line separator "
	    "or bidirectional character (RFC 5198)\r\n"
	    "[refused MAIL bad-char FROM:<a\xe2\x80\xa9@b.test> SMTPUTF8]" },
	{ "SIZE over the limit", 0,
	    "EHLO c.test\r\nMAIL FROM:<a@b.test> SIZE=1001\r\n"
	    "MAIL FROM:<a@b.test> SIZE=1000\r\n", 0,
	    GREET EHLO_R "552 5.3.4 Message size exceeds the fixed limit\r\n"
	    MAIL_OK },
	{ "MAIL keywords: a repeat taken, a conflict refused", 0,
	    "EHLO c.test\r\nMAIL FROM:<\xc3\xa9@b.test> SMTPUTF8 SMTPUTF8 "
	    "BODY=8BITMIME\r\nRSET\r\n"
	    "MAIL FROM:<a@b.test> BODY=7BIT BODY=8BITMIME\r\n"
	    "MAIL FROM:<a@b.test> SIZE=10 SIZE=20\r\n"
	    "MAIL FROM:<a@b.test> body=8bitmime BODY=8BITMIME SIZE=10 "
	    "SIZE=10\r\n", 0,
	    GREET EHLO_R MAIL_OK "[rset]" OK
	    "501 5.5.4 Invalid parameter value\r\n"
	    "501 5.5.4 Invalid parameter value\r\n" MAIL_OK },
	{ "UTF-8 needs SMTPUTF8", 0,
	    "EHLO c.test\r\nMAIL FROM:<\xc3\xa9@b.test>\r\n"
	    "MAIL FROM:<\xc3\xa9@b.test> SMTPUTF8\r\n", 0,
	    GREET EHLO_R "553 5.6.7 Non-ASCII address needs the SMTPUTF8 "
	    "parameter on MAIL\r\n" MAIL_OK },
	{ "too many recipients", 0,
	    TXN "RCPT TO:<x@d.test>\r\nRCPT TO:<y@d.test>\r\n"
	    "RCPT TO:<z@d.test>\r\n", 0,
	    TXN_R RCPT_OK RCPT_OK "452 4.5.3 Too many recipients\r\n" },
	{ "refused recipient is not counted", 0,
	    "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bad@d.test>\r\n"
	    "DATA\r\n", 0,
	    GREET EHLO_R MAIL_OK "550 5.1.1 No such mailbox here\r\n"
	    "503 5.5.1 RCPT first\r\n" },
	{ "RSET drops the transaction", 0,
	    TXN "RSET\r\nDATA\r\nRSET x\r\n", 0,
	    TXN_R "[rset]" OK "503 5.5.1 MAIL first\r\n" SYNTAX },
	{ "NOOP VRFY HELP unknown unimplemented", 0,
	    "NOOP\r\nVRFY x\r\nHELP\r\nFOO\r\nEXPN x\r\n", 0,
	    GREET OK "252 2.5.0 Cannot verify the user, but will accept the "
	    "message\r\n" "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT "
	    "RSET NOOP QUIT VRFY HELP; see RFC 5321\r\n"
	    "500 5.5.2 Command not recognized\r\n"
	    "502 5.5.1 Command not implemented\r\n" },
	{ "lower-case commands", 0, "ehlo c.test\r\nquit\r\n", 0,
	    GREET EHLO_R BYE },
	{ "bare LF ends no command", 0, "NOOP\nNOOP\r\n", 0,
	    GREET "500 5.5.2 Command lines must end with CRLF\r\n" OK },
	{ "control characters in a command", 0, "NOOP \x01\r\n", 0,
	    GREET SYNTAX },
	{ "NUL in a command", 0, "NO\0OP\r\nNOOP\r\n", 13,
	    GREET SYNTAX OK },
	{ "bare LF in the body", 0,
	    TXN "DATA\r\na\nb\r\n.\r\nNOOP\r\n", 0, TXN_R GO "[abort]" BARE OK },
	{ "bare CR in the body", 0,
	    TXN "DATA\r\na\rb\r\n.\r\nNOOP\r\n", 0, TXN_R GO "[abort]" BARE OK },
	{ "smuggling LF.LF", 0,
	    TXN "DATA\r\na\r\n\n.\nMAIL FROM:<x@y.test>\r\n.\r\nNOOP\r\n", 0,
	    TXN_R GO "[abort]" BARE OK },
	{ "smuggling LF.CRLF", 0,
	    TXN "DATA\r\na\n.\r\nMAIL FROM:<x@y.test>\r\n.\r\nNOOP\r\n", 0,
	    TXN_R GO "[abort]" BARE OK },
	{ "smuggling CRLF.LF", 0,
	    TXN "DATA\r\na\r\n.\nMAIL FROM:<x@y.test>\r\n.\r\nNOOP\r\n", 0,
	    TXN_R GO "[abort]" BARE OK },
	{ "smuggling CR.CR", 0,
	    TXN "DATA\r\na\r.\rMAIL FROM:<x@y.test>\r\n.\r\nNOOP\r\n", 0,
	    TXN_R GO "[abort]" BARE OK },
	{ "BARELF: bare LF is a line end", SMTP_CF_BARE_LF,
	    TXN "DATA\r\na\nb\r\n.\r\nNOOP\r\n", 0,
	    TXN_R GO "[msg a\nb\n]" ACCEPTED OK },
	{ "BARELF: LF.CRLF still does not end the data", SMTP_CF_BARE_LF,
	    TXN "DATA\r\na\n.\r\nMAIL FROM:<x@y.test>\r\n.\r\nNOOP\r\n", 0,
	    TXN_R GO "[abort]" BARE OK },
	{ "NUL in the body", 0,
	    TXN "DATA\r\na\0b\r\n.\r\nNOOP\r\n",
	    sizeof(TXN "DATA\r\na\0b\r\n.\r\nNOOP\r\n") - 1,
	    TXN_R GO "[abort]"
	    "554 5.6.0 Message refused: it contains NUL bytes\r\n" OK },
	{ "body over DATABYTES", 0,
	    TXN "DATA\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	    ".\r\nNOOP\r\n", 0,
	    TXN_R GO "[abort]"
	    "552 5.3.4 Message size exceeds the fixed limit\r\n" OK },
	{ "hop count", 0,
	    TXN "DATA\r\n"
	    "Received: x\r\nreceived: x\r\nDelivered-To: x\r\n\r\nbody\r\n"
	    ".\r\nQUIT\r\n", 0,
	    TXN_R GO "[msg Received: x\nreceived: x\nDelivered-To: x\n\nbody\n]"
	    ACCEPTED BYE },
	{ "BDAT", 0,
	    TXN "BDAT 3\r\nab\rBDAT 5 LAST\r\n\ncd\r\nQUIT\r\n", 0,
	    TXN_R CHUNK "[msg ab\ncd\n]" ACCEPTED BYE },
	{ "BDAT 0 LAST", 0,
	    TXN "BDAT 2\r\nabBDAT 0 LAST\r\nQUIT\r\n", 0,
	    TXN_R CHUNK "[msg ab]" ACCEPTED BYE },
	{ "BDAT chunk contains a dot line", 0,
	    TXN "BDAT 8 LAST\r\n.\r\nx\r\n.\rQUIT\r\n", 0,
	    TXN_R "[abort]" BARE BYE },
	/* The caller hears of it at once (to log it); the 552 follows
	 * the chunk. */
	{ "BDAT over DATABYTES", 0,
	    TXN "BDAT 1001 LAST\r\n", 0, TXN_R "[abort]" },
	/* 5 + (2^64 - 2) wraps to 3: the sum must not decide. */
	{ "BDAT: a later chunk whose size would wrap the total", 0,
	    TXN "BDAT 5\r\nabcdeBDAT 18446744073709551614\r\nxyz", 0,
	    TXN_R CHUNK "[abort]" },
	{ "BDAT without a transaction is read and refused", 0,
	    "EHLO c.test\r\nBDAT 4\r\nQUITBDAT x\r\nQUIT\r\n", 0,
	    GREET EHLO_R "503 5.5.1 MAIL first\r\n" SYNTAX BYE },
	{ "DATA after BINARYMIME", 0,
	    "EHLO c.test\r\nMAIL FROM:<a@b.test> BODY=BINARYMIME\r\n"
	    "RCPT TO:<c@d.test>\r\nDATA\r\nBDAT 5 LAST\r\na\nb\rc", 0,
	    GREET EHLO_R MAIL_OK RCPT_OK
	    "503 5.5.1 BODY=BINARYMIME requires BDAT, not DATA\r\n"
	    "[msg a\nb\rc]" ACCEPTED },
	{ "MAIL between BDAT chunks", 0,
	    TXN "BDAT 1\r\naMAIL FROM:<a@b.test>\r\nRSET\r\nQUIT\r\n", 0,
	    TXN_R CHUNK SEQ "[rset]" OK BYE },
	{ "STARTTLS not offered", 0, "EHLO c.test\r\nSTARTTLS\r\n", 0,
	    GREET EHLO_R "502 5.5.1 Command not implemented\r\n" },
	{ "STARTTLS drops pipelined commands", SMTP_CF_STARTTLS,
	    "EHLO c.test\r\nSTARTTLS\r\nRSET\r\nMAIL FROM:<a@b.test>\r\n\x01"
	    "MAIL FROM:<a@b.test>\r\nEHLO c.test\r\nSTARTTLS\r\nQUIT\r\n", 0,
	    GREET EHLO_LIST("250-STARTTLS\r\n")
	    "220 2.0.0 Ready to start TLS\r\n[tls]"
	    "503 5.5.1 EHLO or HELO first\r\n" EHLO_LIST("250-AUTH PLAIN\r\n")
	    SEQ BYE },
	{ "STARTTLS forgets a cleartext AUTH", SMTP_CF_STARTTLS |
	    SMTP_CF_CLEARTEXT_AUTH,
	    "EHLO c.test\r\nAUTH PLAIN Z29v\r\nSTARTTLS\r\n\x01" "EHLO c.test\r\n"
	    "AUTH PLAIN Z29v\r\n", 0,
	    GREET EHLO_LIST("250-STARTTLS\r\n250-AUTH PLAIN\r\n")
	    "235 2.7.0 Authentication succeeded\r\n"
	    "220 2.0.0 Ready to start TLS\r\n[tls]"
	    EHLO_LIST("250-AUTH PLAIN\r\n")
	    "235 2.7.0 Authentication succeeded\r\n" },
	{ "AUTH refused without TLS", 0, "EHLO c.test\r\nAUTH PLAIN\r\n",
	    0, GREET EHLO_R "538 5.7.11 Encryption required for requested "
	    "authentication mechanism\r\n" },
	{ "too many errors", 0,
	    "x\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\n"
	    "x\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nNOOP\r\n", 0,
	    GREET
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n500 5.5.2 Command not recognized\r\n"
	    "500 5.5.2 Command not recognized\r\n"
	    "421 4.7.0 Too many errors, closing the connection\r\n" },
	{ "nothing is read after QUIT", 0, "QUIT\r\nNOOP\r\n", 0,
	    GREET BYE },
	{ "EOF in the middle of DATA", 0, TXN "DATA\r\nabc\r\n", 0,
	    TXN_R GO "[eof-in-data]" },
	/* RFC 5321 §4.1.1: HELP, NOOP and VRFY take a string (VRFY needs
	 * one); DATA, RSET and QUIT take none. */
	{ "arguments of HELP NOOP VRFY QUIT DATA", 0,
	    "HELP DATA\r\nNOOP x y\r\nVRFY\r\nQUIT now\r\nDATA x\r\n"
	    "QUIT\r\n", 0,
	    GREET "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP "
	    "QUIT VRFY HELP; see RFC 5321\r\n" OK SYNTAX SYNTAX SYNTAX BYE },
	/* RFC 3030 §2: chunk-size is 1*DIGIT, leading zeros included. */
	{ "BDAT size with leading zeros", 0,
	    TXN "BDAT 0008 LAST\r\nab\r\ncd\r\nQUIT\r\n", 0,
	    TXN_R "[msg ab\ncd\n]" ACCEPTED BYE },
	{ "BDAT 0 (not LAST) first, then a chunk", 0,
	    TXN "BDAT 0\r\nBDAT 4 LAST\r\nab\r\nQUIT\r\n", 0,
	    TXN_R CHUNK "[msg ab\n]" ACCEPTED BYE },
	{ "BDAT: a CR that ends the last chunk is bare", 0,
	    TXN "BDAT 3 LAST\r\nab\rNOOP\r\n", 0,
	    TXN_R "[abort]" BARE OK },
	/* RFC 5321 §4.1.4: EHLO mid-transaction drops it, open delivery
	 * included; a BDAT then has no transaction and its chunk is read
	 * and dropped, never run. */
	{ "EHLO between BDAT chunks", 0,
	    TXN "BDAT 2\r\nabEHLO c.test\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n",
	    0, TXN_R CHUNK "[helo-aborts]" EHLO_R "503 5.5.1 MAIL first\r\n" OK },
	/* A DATA the caller refused (451) leaves the recipients: RSET, or
	 * BDAT, may follow; a refused BDAT's chunk is read, never run. */
	{ "RSET after a refused DATA", 0,
	    "EHLO c.test\r\nMAIL FROM:<nodata@b.test>\r\nRCPT TO:<c@d.test>\r\n"
	    "DATA\r\nRSET\r\nMAIL FROM:<a@b.test>\r\nQUIT\r\n", 0,
	    GREET EHLO_R MAIL_OK RCPT_OK TEMP "[rset]" OK MAIL_OK BYE },
	{ "BDAT after a refused DATA", 0,
	    "EHLO c.test\r\nMAIL FROM:<nodata@b.test>\r\nRCPT TO:<c@d.test>\r\n"
	    "DATA\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\nRCPT TO:<c@d.test>\r\n", 0,
	    GREET EHLO_R MAIL_OK RCPT_OK TEMP TEMP OK
	    "503 5.5.1 MAIL first\r\n" },
	/* A BDAT line whose size can be read but whose syntax is wrong:
	 * its chunk follows all the same, so it is read and dropped (never
	 * run as commands), then 501.  Before any chunk the transaction
	 * stays; between chunks the message has lost one and is dropped. */
	{ "BDAT with bad syntax but a readable size: the chunk is skipped", 0,
	    "EHLO c.test\r\nBDAT 48  LAST\r\n"
	    "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
	    "BDAT  6\r\nNOOP\r\nBDAT 6 foo\r\nNOOP\r\nBDAT 6 LAST \r\nNOOP\r\n"
	    "BDAT 6x\r\nNOOP\r\nBDAT 0 LASTX\r\nBDAT x\r\nQUIT\r\n", 0,
	    GREET EHLO_R SYNTAX SYNTAX SYNTAX SYNTAX SYNTAX SYNTAX SYNTAX BYE },
	{ "BDAT with bad syntax before the first chunk keeps the recipients",
	    0, TXN "BDAT 18 LASTX\r\nNOOP\r\nRSET\r\nNOOP\r\n"
	    "BDAT 4 LAST\r\nab\r\nQUIT\r\n", 0,
	    TXN_R SYNTAX "[msg ab\n]" ACCEPTED BYE },
	{ "BDAT with bad syntax between chunks drops the message", 0,
	    TXN "BDAT 4\r\nab\r\nBDAT 18 foo\r\nNOOP\r\nRSET\r\nNOOP\r\n"
	    "BDAT 4 LAST\r\ncd\r\nQUIT\r\n", 0,
	    TXN_R CHUNK "[abort]" SYNTAX "503 5.5.1 MAIL first\r\n" BYE },
	/* RFC 5321 §4.5.3.1.6 and RFC 1870 §4: the dot doubled for
	 * transparency counts neither in a line nor in the size. */
	{ "a stuffed dot is not counted against DATABYTES", 0,
	    TXN "DATA\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\r\n"
	    ".\r\nNOOP\r\n", 0,
	    TXN_R GO "[msg "
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567\n"
	    "]" ACCEPTED OK },
};

/* DATABYTES for run(); the EHLO_R text assumes 1000. */
static uint64_t test_databytes = 1000;

/* The test caller: a policy and a log. */
struct driver {
	int refuse_data;	/* MAIL FROM:<nodata...>: DATA gets 451 */
	char log[327680];	/* room for msg[] and the replies */
	size_t log_len;
	char msg[262144];	/* the long-line tests' 200,000-octet line */
	size_t msg_len;
};

static void
log_add(struct driver *d, const char *p, size_t n)
{
	if (n > sizeof(d->log) - d->log_len)
		n = sizeof(d->log) - d->log_len;
	memcpy(d->log + d->log_len, p, n);
	d->log_len += n;
}

static void
log_str(struct driver *d, const char *p)
{
	log_add(d, p, strlen(p));
}

static void
drain(struct smtp_session *s, struct driver *d)
{
	const char *out;
	size_t n = smtp_output(s, &out);

	log_add(d, out, n);
	smtp_output_done(s, n);
}

/* Answer one event; returns 1 when a TLS handshake must happen now. */
static int
answer(struct smtp_session *s, struct driver *d, const struct smtp_event *ev)
{
	switch (ev->type) {
	case SMTP_EV_RCPT:
		smtp_answer(s, strncmp(ev->path->mailbox, "bad", 3) == 0 ?
		    REPLY_NO_MAILBOX : REPLY_RCPT_OK);
		return 0;
	case SMTP_EV_MAIL:
		d->refuse_data = strncmp(ev->path->mailbox, "nodata", 6) == 0;
		smtp_answer(s, REPLY_MAIL_OK);
		return 0;
	case SMTP_EV_DATA:
		d->msg_len = 0;
		smtp_answer(s, d->refuse_data ? REPLY_TEMP_FAIL :
		    REPLY_DATA_GO);
		return 0;
	case SMTP_EV_HELO:
		/* HELO/EHLO drops the transaction: an open delivery must
		 * be aborted by the caller (smtp.h). */
		if (smtp_in_data(s))
			log_str(d, "[helo-aborts]");
		smtp_answer(s, REPLY_NONE);
		return 0;
	case SMTP_EV_BODY:
		if (ev->len <= sizeof(d->msg) - d->msg_len) {
			memcpy(d->msg + d->msg_len, ev->data, ev->len);
			d->msg_len += ev->len;
		}
		smtp_answer(s, REPLY_NONE);
		return 0;
	case SMTP_EV_DATA_END:
		log_str(d, "[msg ");
		log_add(d, d->msg, d->msg_len);
		log_str(d, "]");
		smtp_answer(s, REPLY_MESSAGE_ACCEPTED);
		return 0;
	case SMTP_EV_DATA_ABORT:
		log_str(d, "[abort]");
		smtp_answer(s, REPLY_NONE);
		return 0;
	case SMTP_EV_RSET:
		log_str(d, "[rset]");
		smtp_answer(s, REPLY_NONE);
		return 0;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		smtp_answer(s, ev->len == 4 && memcmp(ev->data, "Z29v", 4) == 0 ?
		    REPLY_AUTH_OK : REPLY_AUTH_FAILED);
		return 0;
	case SMTP_EV_STARTTLS:
		smtp_answer(s, REPLY_STARTTLS_GO);
		return 1;
	case SMTP_EV_REFUSED:
		log_str(d, "[refused ");
		log_str(d, ev->verb);
		log_str(d, " ");
		log_str(d, reply_reason(ev->refusal));
		log_str(d, " ");
		log_add(d, ev->data, ev->len);
		log_str(d, "]");
		smtp_answer(s, REPLY_NONE);
		return 0;
	default:
		smtp_answer(s, REPLY_NONE);
		return 0;
	}
}

/* Feed the input in pieces of `piece` octets (0: random sizes). */
static void
run(const struct transcript *t, size_t piece, struct driver *d,
    unsigned *seed)
{
	static struct smtp_session s;
	struct smtp_config cfg = { "mx.test", test_databytes, 3, "PLAIN",
	    t->flags, 0 };
	size_t len = t->input_len ? t->input_len : strlen(t->input);
	size_t off = 0;
	size_t end = 0;
	int guard = 0;

	d->log_len = 0;
	d->refuse_data = 0;
	smtp_init(&s, &cfg);
	for (;;) {
		const struct smtp_event *ev;
		int tls = 0;

		while ((ev = smtp_event(&s)) != NULL) {
			drain(&s, d);
			tls |= answer(&s, d, ev);
		}
		drain(&s, d);
		if (tls) {
			const char *mark = memchr(t->input + off, '\x01',
			    len - off);

			off = mark ? (size_t)(mark - t->input) + 1 : len;
			if (end < off)
				end = off;
			log_str(d, "[tls]");
			smtp_tls_started(&s);
		}
		if (smtp_is_closed(&s))
			break;
		if (off < end) {
			size_t n = smtp_feed(&s, t->input + off, end - off);

			off += n;
			if (n > 0 || smtp_event(&s) != NULL)
				continue;
		}
		if (end == len) {
			if (smtp_in_data(&s))
				log_str(d, "[eof-in-data]");
			smtp_eof(&s);
			drain(&s, d);
			break;
		}
		if (piece == 0)
			end += 1 + (size_t)(rand_r(seed) % 17);
		else
			end += piece;
		if (end > len)
			end = len;
		if (++guard > 1000000)
			break;
	}
}

static void
test_transcripts(void)
{
	static struct driver d;
	size_t i;
	unsigned seed = 12345;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct transcript *t = &cases[i];
		size_t len = t->input_len ? t->input_len : strlen(t->input);
		int k;

		run(t, len, &d, &seed);
		is_mem(d.log, d.log_len, t->expect, t->name);
		run(t, 1, &d, &seed);
		is_mem(d.log, d.log_len, t->expect, "  ... octet by octet");
		for (k = 0; k < 3; k++) {
			run(t, 0, &d, &seed);
			is_mem(d.log, d.log_len, t->expect,
			    "  ... in random pieces");
		}
	}
}

/* A million pipelined NOOPs: the output never overflows, replies stay
 * in order, and the engine stops consuming when its buffer is full. */
static void
test_output_backpressure(void)
{
	static struct smtp_session s;
	struct smtp_config cfg = { "mx.test", 1000, 3, NULL, 0, 0 };
	static char in[6 * 10000];
	size_t i;
	size_t off = 0;
	size_t replies = 0;
	int stalled = 0;

	for (i = 0; i < 10000; i++)
		memcpy(in + 6 * i, "NOOP\r\n", 6);
	smtp_init(&s, &cfg);
	smtp_output_done(&s, 1000);
	while (off < sizeof(in)) {
		const char *out;
		size_t n = smtp_feed(&s, in + off, sizeof(in) - off);
		size_t olen;

		off += n;
		olen = smtp_output(&s, &out);
		if (off < sizeof(in))
			stalled++;
		replies += olen / strlen(OK);
		smtp_output_done(&s, olen);
		if (n == 0 && olen == 0)
			break;
	}
	ok(off == sizeof(in), "all NOOPs consumed");
	ok(replies == 10000, "10000 replies (%zu)", replies);
	ok(stalled > 0, "the engine paused for the output to drain");
}

/* Many messages in one session: nothing accumulates. */
static void
test_many_messages(void)
{
	static struct smtp_session s;
	static struct driver d;
	struct smtp_config cfg = { "mx.test", 1000, 3, NULL, 0, 0 };
	static const char one[] = "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n"
	    "DATA\r\nx\r\n.\r\n";
	int i;
	int accepted = 0;

	smtp_init(&s, &cfg);
	smtp_feed(&s, "EHLO c.test\r\n", 13);
	for (i = 0; i < 2000; i++) {
		size_t off = 0;

		while (off < sizeof(one) - 1) {
			const struct smtp_event *ev;

			off += smtp_feed(&s, one + off, sizeof(one) - 1 - off);
			while ((ev = smtp_event(&s)) != NULL) {
				if (ev->type == SMTP_EV_DATA_END)
					accepted++;
				answer(&s, &d, ev);
			}
			drain(&s, &d);
			d.log_len = 0;
		}
	}
	ok(accepted == 2000, "2000 messages in one session (%d)", accepted);
}

/* One transcript built at run time; fed whole and octet by octet. */
static void
check_built(const char *name, const char *in, size_t len, const char *want)
{
	static struct driver d;
	struct transcript t = { name, 0, in, len, want };
	unsigned seed = 1;

	run(&t, len, &d, &seed);
	is_mem(d.log, d.log_len, want, name);
	run(&t, 1, &d, &seed);
	is_mem(d.log, d.log_len, want, "  ... octet by octet");
}

/* RFC 5321 §4.5.3.1.4: 512 octets a command line, CRLF included.  Text
 * lines have no limit but DATABYTES (limits.h). */
static void
test_line_limits(void)
{
	static char in[200000];
	size_t len;

	memcpy(in, "NOOP ", 5);
	memset(in + 5, 'x', 505);
	memcpy(in + 510, "\r\nNOOP ", 7);
	memset(in + 517, 'x', 506);
	memcpy(in + 1023, "\r\nNOOP\r\n", 8);
	check_built("command line of 512 octets, then 513", in, 1031,
	    GREET OK "500 5.5.6 Line too long\r\n" OK);

	memcpy(in, "NOOP ", 5);
	memset(in + 5, 'x', 100000);
	memcpy(in + 100005, "\r\nNOOP\r\n", 8);
	check_built("a 100 KB command line", in, 100013,
	    GREET "500 5.5.6 Line too long\r\n" OK);

	len = strlen(TXN "DATA\r\n");
	memcpy(in, TXN "DATA\r\n", len);
	memset(in + len, 'y', 999);
	memcpy(in + len + 999, "\r\n.\r\nNOOP\r\n", 11);
	{
		static char want[4096];
		static const char before[] = GREET "250-mx.test\r\n"
		    "250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
		    "250-BINARYMIME\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n"
		    "250 ENHANCEDSTATUSCODES\r\n" MAIL_OK RCPT_OK GO "[msg ";
		size_t w = sizeof(before) - 1;

		memcpy(want, before, w);
		memset(want + w, 'y', 999);
		memcpy(want + w + 999, "\n]" ACCEPTED OK,
		    sizeof("\n]" ACCEPTED OK));
		test_databytes = 100000;
		check_built("text line of 1001 octets: accepted as sent", in,
		    len + 1010, want);
		test_databytes = 1000;
	}
	/* A long line over DATABYTES: refused for the size, as any. */
	memset(in + len, 'y', 1200);
	memcpy(in + len + 1200, "\r\n.\r\nNOOP\r\n", 11);
	check_built("text line of 1202 octets over DATABYTES", in, len + 1211,
	    TXN_R GO "[abort]"
	    "552 5.3.4 Message size exceeds the fixed limit\r\n" OK);
}

/*
 * Long lines (issue 14): a 5,000- and a 200,000-octet line, in DATA and
 * in one BDAT chunk, fed whole, octet by octet and in random pieces, are
 * stored exactly as sent; a bare CR or LF inside one is still refused.
 * The 200,000-octet line spans several BODY flushes.
 */
static char long_in[262144];
static char long_want[262144];

/* Runs in[0..len) every way; the message stored must be want[0..wlen)
 * and the replies must end with tail. */
static void
check_long(const char *name, const char *in, size_t len, const char *want,
    size_t wlen, const char *tail)
{
	static struct driver d;
	struct transcript t = { name, 0, in, len, "" };
	size_t pieces[5] = { len, 1, 0, 0, 0 };
	size_t tl = strlen(tail);
	unsigned seed = 7;
	int good = 1;
	int k;

	for (k = 0; k < 5; k++) {
		run(&t, pieces[k], &d, &seed);
		if (want != NULL && (d.msg_len != wlen ||
		    memcmp(d.msg, want, wlen) != 0))
			good = 0;
		if (d.log_len < tl ||
		    memcmp(d.log + d.log_len - tl, tail, tl) != 0)
			good = 0;
		if (!good)
			printf("# %d: stored %zu of %zu; replies end '%.*s'\n",
			    k, d.msg_len, wlen, (int)(d.log_len < 80 ?
			    d.log_len : 80), d.log + d.log_len -
			    (d.log_len < 80 ? d.log_len : 80));
	}
	ok(good, "%s: whole, octet by octet, in random pieces", name);
}

/* TXN, then DATA or a BDAT header, then a one-line message of n octets
 * of text ("Subject: x", a blank line, then the line), with the octet
 * bad (unless -1) in its middle; returns the input length and sets
 * *wlen to the stored message's. */
static size_t
build_long(size_t n, int bdat, int bad, size_t *wlen)
{
	static const char head[] = "Subject: x\r\n\r\n";
	size_t len = 0;
	size_t i;
	size_t w = 0;

	memcpy(long_in, TXN, strlen(TXN));
	len = strlen(TXN);
	if (bdat)
		len += (size_t)snprintf(long_in + len, sizeof(long_in) - len,
		    "BDAT %zu LAST\r\n", sizeof(head) - 1 + n + 2);
	else
		len += (size_t)snprintf(long_in + len, sizeof(long_in) - len,
		    "DATA\r\n");
	memcpy(long_in + len, head, sizeof(head) - 1);
	len += sizeof(head) - 1;
	memcpy(long_want, "Subject: x\n\n", 12);
	w = 12;
	for (i = 0; i < n; i++) {
		/* printable text that is no dot at the line start */
		char c = (char)('a' + i % 26);

		long_in[len++] = c;
		long_want[w++] = c;
	}
	if (bad >= 0)
		long_in[len - n / 2] = (char)bad;
	memcpy(long_in + len, "\r\n", 2);
	len += 2;
	long_want[w++] = '\n';
	if (!bdat) {
		memcpy(long_in + len, ".\r\n", 3);
		len += 3;
	}
	memcpy(long_in + len, "NOOP\r\n", 6);
	len += 6;
	*wlen = w;
	return len;
}

static void
test_long_lines(void)
{
	static const size_t sizes[] = { 5000, 200000 };
	size_t i, len, wlen;
	int bdat;

	test_databytes = 1000000;
	for (i = 0; i < 2; i++) {
		for (bdat = 0; bdat < 2; bdat++) {
			char name[96];

			snprintf(name, sizeof(name), "%s: a %zu-octet line is "
			    "stored as sent", bdat ? "BDAT" : "DATA", sizes[i]);
			len = build_long(sizes[i], bdat, -1, &wlen);
			check_long(name, long_in, len, long_want, wlen,
			    ACCEPTED OK);
			snprintf(name, sizeof(name), "%s: a bare LF inside a "
			    "%zu-octet line is still 554", bdat ? "BDAT" :
			    "DATA", sizes[i]);
			len = build_long(sizes[i], bdat, '\n', &wlen);
			check_long(name, long_in, len, NULL, 0,
			    "[abort]" BARE OK);
			snprintf(name, sizeof(name), "%s: a bare CR inside a "
			    "%zu-octet line is still 554", bdat ? "BDAT" :
			    "DATA", sizes[i]);
			len = build_long(sizes[i], bdat, '\r', &wlen);
			check_long(name, long_in, len, NULL, 0,
			    "[abort]" BARE OK);
			snprintf(name, sizeof(name), "%s: a NUL inside a "
			    "%zu-octet line is still 554", bdat ? "BDAT" :
			    "DATA", sizes[i]);
			len = build_long(sizes[i], bdat, '\0', &wlen);
			check_long(name, long_in, len, NULL, 0,
			    "[abort]554 5.6.0 Message refused: it contains NUL "
			    "bytes\r\n" OK);
		}
	}
	/* Over DATABYTES, the long line is refused for its size. */
	test_databytes = 100000;
	len = build_long(200000, 0, -1, &wlen);
	check_long("DATA: a 200,000-octet line over DATABYTES is 552", long_in,
	    len, NULL, 0, "[abort]552 5.3.4 Message size exceeds the fixed "
	    "limit\r\n" OK);
	test_databytes = 1000;
}

/* RFC 5321 §6.3: 100 Received: fields mean a loop. */
static void
test_hops(void)
{
	static char in[8192];
	size_t len = strlen(TXN "DATA\r\n");
	int i;

	memcpy(in, TXN "DATA\r\n", len);
	for (i = 0; i < 100; i++) {
		memcpy(in + len, i % 2 ? "Received: x\r\n" :
		    "Delivered-To: x\r\n", i % 2 ? 13 : 17);
		len += i % 2 ? 13 : 17;
	}
	memcpy(in + len, "\r\nb\r\n.\r\nNOOP\r\n", 15);
	test_databytes = 100000;
	check_built("100 hops", in, len + 15, GREET
	    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n"
	    "250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n"
	    "250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n" MAIL_OK RCPT_OK GO
	    "[abort]554 5.4.6 Too many Received or Delivered-To header "
	    "fields: mail loop\r\n" OK);
	/* 99 are fine */
	memcpy(in + strlen(TXN "DATA\r\n"), "X-", 2);
	{
		static struct driver d;
		struct transcript t = { "99 hops", 0, in, len + 15, "" };
		unsigned seed = 1;

		run(&t, len + 15, &d, &seed);
		ok(d.log_len > strlen(ACCEPTED OK) &&
		    memcmp(d.log + d.log_len - strlen(ACCEPTED OK),
		    ACCEPTED OK, strlen(ACCEPTED OK)) == 0, "99 hops pass");
	}
	test_databytes = 1000;
}

/*
 * The hop count with long header lines (issue 14): a field is counted by
 * its name whatever its length, also when the name is split between two
 * reads (octet by octet, random pieces) or by a BODY flush.
 */
static char hop_in[1 << 20];

static size_t
hop_put(size_t len, const char *p)
{
	size_t n = strlen(p);

	memcpy(hop_in + len, p, n);
	return len + n;
}

/* A header line of n content octets that starts with name; CRLF. */
static size_t
hop_field(size_t len, const char *name, size_t n)
{
	size_t k = strlen(name);

	memcpy(hop_in + len, name, k);
	memset(hop_in + len + k, 'h', n - k);
	memcpy(hop_in + len + n, "\r\n", 2);
	return len + n + 2;
}

static size_t
hop_end(size_t len)
{
	return hop_put(len, "\r\nbody\r\n.\r\nNOOP\r\n");
}

#define HOPS_R "[abort]554 5.4.6 Too many Received or Delivered-To header " \
	"fields: mail loop\r\n" OK

static void
test_long_hops(void)
{
	size_t len;
	int i;

	test_databytes = 1000000;
	len = hop_put(0, TXN "DATA\r\n");
	for (i = 0; i < 100; i++)
		len = hop_field(len, "Received: from ", 5000);
	check_long("100 Received: fields of 5,000 octets: 554 5.4.6", hop_in,
	    hop_end(len), NULL, 0, HOPS_R);

	len = hop_put(0, TXN "DATA\r\n");
	len = hop_field(len, "X-Long: ", 200000);
	for (i = 0; i < 99; i++)
		len = hop_field(len, "Received: from ", 5000);
	check_long("a 200,000-octet field and 99 Received: of 5,000 octets: "
	    "accepted", hop_in, hop_end(len), NULL, 0, ACCEPTED OK);

	len = hop_put(0, TXN "DATA\r\n");
	for (i = 0; i < 99; i++)
		len = hop_put(len, "Received: x\r\n");
	len = hop_field(len, "Received: from ", 200000);
	check_long("99 Received: fields and one of 200,000 octets: 554 5.4.6",
	    hop_in, hop_end(len), NULL, 0, HOPS_R);

	/* "X-Pad: ..." fills the BODY buffer to 4 octets short of a flush:
	 * the next name is split "Rece" | "ived:" by the flush. */
	len = hop_put(0, TXN "DATA\r\n");
	len = hop_field(len, "X-Pad: ", SMTP_BODY_CHUNK_MAX - 4 - 1);
	for (i = 0; i < 100; i++)
		len = hop_put(len, "Received: x\r\n");
	check_long("100 Received: fields, a name split by a BODY flush: "
	    "554 5.4.6", hop_in, hop_end(len), NULL, 0, HOPS_R);
	len = hop_put(0, TXN "DATA\r\n");
	len = hop_field(len, "X-Pad: ", SMTP_BODY_CHUNK_MAX - 4 - 1);
	for (i = 0; i < 99; i++)
		len = hop_put(len, "Received: x\r\n");
	check_long("99 Received: fields, a name split by a BODY flush: "
	    "accepted", hop_in, hop_end(len), NULL, 0, ACCEPTED OK);
	test_databytes = 1000;
}

static void
test_protocol_names(void)
{
	static struct smtp_session s;
	struct smtp_config cfg = { "mx.test", 1000, 3, NULL, SMTP_CF_TLS, 0 };
	const struct smtp_event *ev;

	smtp_init(&s, &cfg);
	smtp_feed(&s, "EHLO c.test\r\n", 13);
	while ((ev = smtp_event(&s)) != NULL)
		smtp_answer(&s, REPLY_NONE);
	is_mem(smtp_with_protocol(&s), strlen(smtp_with_protocol(&s)),
	    "ESMTPS", "WITH keyword after EHLO on TLS");
}

/* "class.subject.detail", 1*3 digits each (RFC 3463 §2). */
static int
is_status(const char *p)
{
	int part;

	for (part = 0; part < 3; part++) {
		int n = 0;

		if (part > 0 && *p++ != '.')
			return 0;
		while (*p >= '0' && *p <= '9' && n < 4) {
			p++;
			n++;
		}
		if (n == 0 || n > (part == 0 ? 1 : 3))
			return 0;
	}
	return *p == '\0';
}

/*
 * The catalogue (proto/reply.h): every 2xx, 4xx and 5xx reply carries an
 * RFC 3463 code whose class is the reply's first digit; RFC 2034 §4
 * exempts only the greeting and the replies to HELO/EHLO, and 3xx.
 */
static void
test_catalogue(void)
{
	int i;
	int bad = 0;

	for (i = 1; i < REPLY_COUNT; i++) {
		const struct reply_entry *e = reply_get((enum reply_id)i);
		int cls = e->code / 100;
		int exempt = i == REPLY_GREETING || i == REPLY_HELO ||
		    i == REPLY_EHLO || cls == 3;

		if (e->code < 200 || e->code > 599 || e->text == NULL) {
			diag("reply %d: code %d", i, e->code);
			bad++;
		} else if (e->status == NULL) {
			if (!exempt) {
				diag("reply %d (%d) has no status", i, e->code);
				bad++;
			}
		} else if (cls == 3 || !is_status(e->status) ||
		    e->status[0] != '0' + cls) {
			diag("reply %d: %d %s", i, e->code, e->status);
			bad++;
		}
	}
	ok(bad == 0, "catalogue: every status code well formed, class = "
	    "first digit (%d bad)", bad);

	/* The log's reason words: one for every refusal, [a-z0-9-]. */
	bad = 0;
	for (i = 1; i < REPLY_COUNT; i++) {
		const char *w = reply_reason((enum reply_id)i);
		int code = reply_code((enum reply_id)i);

		if ((code >= 400) != (strcmp(w, "-") != 0) ||
		    strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(w) || strlen(w) > 24) {
			diag("reply %d (%d): reason '%s'", i, code, w);
			bad++;
		}
	}
	ok(bad == 0, "catalogue: every 4xx and 5xx reply has a reason word, "
	    "and no other (%d bad)", bad);

	/* reply_format copies catalogue texts as they are: they must be
	 * printable and fit SMTP_REPLY_TEXT_MAX. */
	bad = 0;
	for (i = 1; i < REPLY_COUNT; i++) {
		const char *t = reply_get((enum reply_id)i)->text;
		size_t k;

		if (strlen(t) > SMTP_REPLY_TEXT_MAX)
			bad++;
		for (k = 0; t[k] != '\0'; k++) {
			if ((unsigned char)t[k] < 0x20 || t[k] == 0x7f)
				bad++;
		}
	}
	ok(bad == 0, "catalogue: texts printable and within the limit");
}

/* Does the octet string needle occur in hay?  (memmem is not POSIX.) */
static int
contains(const void *hay, size_t len, const char *needle, size_t nlen)
{
	const char *h = hay;
	size_t i;

	for (i = 0; i + nlen <= len; i++)
		if (memcmp(h + i, needle, nlen) == 0)
			return 1;
	return 0;
}

/*
 * Secrets are wiped right after use.  Once an AUTH line (the
 * initial response, or a line of the exchange) is answered, nothing of
 * it is left in the session, where a core dump would find it.
 */
static void
test_auth_wipe(void)
{
	static struct smtp_session s;
	static struct driver d;
	struct smtp_config cfg = { "mx.test", 1000, 3, "PLAIN LOGIN",
	    SMTP_CF_CLEARTEXT_AUTH, 0 };
	static const char in[] = "EHLO c.test\r\nAUTH PLAIN c2VjcmV0MQ==\r\n"
	    "AUTH LOGIN\r\nc2VjcmV0Mg==\r\n";
	const struct smtp_event *ev;
	size_t used = 0;
	size_t n;

	smtp_init(&s, &cfg);
	do {
		n = smtp_feed(&s, in + used, sizeof(in) - 1 - used);
		used += n;
		while ((ev = smtp_event(&s)) != NULL) {
			if (ev->type == SMTP_EV_AUTH && !ev->has_initial)
				smtp_answer_text(&s, REPLY_AUTH_CHALLENGE, "", 0);
			else if (ev->type == SMTP_EV_AUTH ||
			    ev->type == SMTP_EV_AUTH_DATA)
				smtp_answer(&s, REPLY_AUTH_FAILED);
			else
				smtp_answer(&s, REPLY_NONE);
			n = 1;
		}
		drain(&s, &d);
	} while (n > 0 && used < sizeof(in) - 1);
	ok(used == sizeof(in) - 1, "AUTH lines all consumed");
	is_mem(d.log, d.log_len, GREET EHLO_LIST("250-AUTH PLAIN LOGIN\r\n")
	    "535 5.7.8 Authentication credentials invalid\r\n334 \r\n"
	    "535 5.7.8 Authentication credentials invalid\r\n",
	    "AUTH PLAIN with a response, AUTH LOGIN and a line: 535, 334, 535");
	ok(!contains(&s, sizeof(s), "c2VjcmV0", 8),
	    "no AUTH response left in the session once answered");
}

/*
 * smtp_fed_secret: every feed that consumed part of an AUTH line says so,
 * the first part of a line split across feeds included, and an AUTH line
 * the engine refuses without an event (503 after success here); other
 * lines do not.
 */
static void
test_fed_secret(void)
{
	static struct smtp_session s;
	struct smtp_config cfg = { "mx.test", 1000, 3, "PLAIN",
	    SMTP_CF_CLEARTEXT_AUTH, 0 };
	const struct smtp_event *ev;
	size_t n;

	smtp_init(&s, &cfg);
	n = smtp_feed(&s, "EHLO c.test\r\n", 13);
	while ((ev = smtp_event(&s)) != NULL)
		smtp_answer(&s, REPLY_NONE);
	ok(n == 13 && !smtp_fed_secret(&s), "EHLO: no secret");
	ok(smtp_feed(&s, "NOOP\r\nAU", 8) == 8 && !smtp_fed_secret(&s),
	    "NOOP and \"AU\": no secret yet");
	ok(smtp_feed(&s, "TH PLAIN Z2", 11) == 11 && smtp_fed_secret(&s),
	    "the first part of a split AUTH line is a secret");
	ok(!smtp_fed_secret(&s), "asking clears it");
	ok(smtp_feed(&s, "9v\r\n", 4) == 4 && smtp_fed_secret(&s),
	    "and so is its end");
	ev = smtp_event(&s);
	ok(ev != NULL && ev->type == SMTP_EV_AUTH, "AUTH event");
	smtp_answer(&s, REPLY_AUTH_OK);
	/* (smtp_feed returns after the error: the caller's tarpit.) */
	ok(smtp_feed(&s, "AUTH PLAIN Z29v\r\nNOOP\r\n", 23) == 17 &&
	    smtp_fed_secret(&s) && smtp_event(&s) == NULL,
	    "an AUTH line refused without an event (503) is a secret too");
	ok(smtp_feed(&s, "NOOP\r\n", 6) == 6 && !smtp_fed_secret(&s),
	    "NOOP after it: no secret");
}

/* Feed all of in, answering events as run() does; the log in d. */
static void
feed_all(struct smtp_session *s, struct driver *d, const char *in)
{
	size_t len = strlen(in);
	size_t off = 0;
	const struct smtp_event *ev;

	d->log_len = 0;
	for (;;) {
		while ((ev = smtp_event(s)) != NULL) {
			drain(s, d);
			(void)answer(s, d, ev);
		}
		drain(s, d);
		if (smtp_is_closed(s) || off == len)
			break;
		off += smtp_feed(s, in + off, len - off);
	}
}

#define NO_MAILBOX "550 5.1.1 No such mailbox here\r\n"
#define TOO_MANY "421 4.7.0 Too many errors, closing the connection\r\n"

/* ERRORLIMIT: refused recipients count with bad commands; 452 does not;
 * an accepted message halves the count; smtp_feed pauses after each. */
static void
test_error_count(void)
{
	static struct smtp_session s;
	static struct driver d;
	struct smtp_config cfg = { "mx.test", 1000, 3, NULL, 0, 4 };
	size_t n;

	smtp_init(&s, &cfg);
	feed_all(&s, &d, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<bad1@d.test>\r\nRCPT TO:<bad2@d.test>\r\n"
	    "RCPT TO:<bad3@d.test>\r\nRCPT TO:<bad4@d.test>\r\n"
	    "RCPT TO:<c@d.test>\r\n");
	is_mem(d.log, d.log_len, GREET EHLO_R MAIL_OK NO_MAILBOX NO_MAILBOX
	    NO_MAILBOX TOO_MANY, "the 4th refused RCPT is 421 4.7.0 "
	    "(ERRORLIMIT 4), and nothing is read after it");
	ok(smtp_close_reason(&s) == SMTP_CLOSE_ERRORS, "  ... closed for "
	    "too many errors");

	smtp_init(&s, &cfg);
	feed_all(&s, &d, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<bad1@d.test>\r\nXYZZY\r\nRCPT TO:<bad2@d.test>\r\n"
	    "NOOP\r\n");
	ok(smtp_errors(&s) == 3 && !smtp_is_closed(&s),
	    "refused RCPTs and bad commands share one count");

	smtp_init(&s, &cfg);
	feed_all(&s, &d, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<c1@d.test>\r\nRCPT TO:<c2@d.test>\r\n"
	    "RCPT TO:<c3@d.test>\r\nRCPT TO:<c4@d.test>\r\n"
	    "RCPT TO:<c5@d.test>\r\nRCPT TO:<c6@d.test>\r\nNOOP\r\n");
	ok(smtp_errors(&s) == 0 && !smtp_is_closed(&s),
	    "452 for recipients over MAXRCPTS is not counted");

	smtp_init(&s, &cfg);
	feed_all(&s, &d, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<bad1@d.test>\r\nRCPT TO:<bad2@d.test>\r\n"
	    "RCPT TO:<bad3@d.test>\r\nRCPT TO:<c@d.test>\r\n"
	    "DATA\r\nx\r\n.\r\n");
	ok(smtp_errors(&s) == 1, "an accepted message halves the count "
	    "(3 to 1)");
	feed_all(&s, &d, "MAIL FROM:<a@b.test>\r\nRCPT TO:<bad5@d.test>\r\n"
	    "RCPT TO:<bad6@d.test>\r\nRCPT TO:<bad7@d.test>\r\n"
	    "RCPT TO:<c@d.test>\r\n");
	is_mem(d.log, d.log_len, MAIL_OK NO_MAILBOX NO_MAILBOX TOO_MANY,
	    "  ... and the limit still holds after it");

	cfg.flags = SMTP_CF_REQUIRE_AUTH;
	smtp_init(&s, &cfg);
	feed_all(&s, &d, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "MAIL FROM:<a@b.test>\r\nMAIL FROM:<a@b.test>\r\n"
	    "MAIL FROM:<a@b.test>\r\nNOOP\r\n");
	is_mem(d.log, d.log_len, GREET EHLO_R
	    "530 5.7.0 Authentication required\r\n"
	    "530 5.7.0 Authentication required\r\n"
	    "530 5.7.0 Authentication required\r\n" TOO_MANY,
	    "refused commands count too: MAIL without AUTH (530)");
	cfg.flags = 0;

	smtp_init(&s, &cfg);
	drain(&s, &d);
	n = smtp_feed(&s, "XYZZY\r\nNOOP\r\nNOOP\r\n", 20);
	ok(n == 7 && smtp_errors(&s) == 1,
	    "smtp_feed returns after an error (the caller's tarpit)");
	n = smtp_feed(&s, "NOOP\r\nNOOP\r\n", 12);
	ok(n == 12, "  ... and runs on through good commands");
}

int
main(void)
{
	test_catalogue();
	test_transcripts();
	test_line_limits();
	test_long_lines();
	test_hops();
	test_long_hops();
	test_output_backpressure();
	test_many_messages();
	test_protocol_names();
	test_auth_wipe();
	test_fed_secret();
	test_error_count();
	return tap_done();
}
