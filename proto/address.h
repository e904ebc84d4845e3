/*
 * address.h: the path and parameter grammar of RFC 5321 §4.1.2 and
 * §4.1.3, with the extensions smtpd advertises (SIZE, BODY, SMTPUTF8,
 * AUTH=).  Pure functions: they read (pointer, length) input that need
 * not be NUL-terminated and write only into the caller's structs.  The
 * results are complete copies; nothing points back into the input.
 */
#ifndef SMTP_ADDRESS_H
#define SMTP_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* A parsed path.  mailbox is NUL-terminated text "local@domain" as the
 * client wrote it (quoted local parts keep their quotes; the domain keeps
 * its case); "" for the null path <>; "postmaster" for <postmaster>.
 * Source routes (@a,@b:) are dropped, as RFC 5321 §4.1.1.3 allows. */
struct smtp_path {
	char mailbox[SMTP_MAILBOX_MAX];
	size_t len;		/* strlen(mailbox) */
	size_t local_len;	/* octets of the local part */
	size_t domain_off;	/* offset of the domain; == len when none */
	int is_null;		/* <> */
	int is_utf8;		/* contains octets >= 0x80 */
};

enum addr_result {
	ADDR_OK = 0,
	ADDR_SYNTAX,		/* not a Path per §4.1.2 */
	ADDR_LOCAL_TOO_LONG,	/* > SMTP_LOCAL_PART_MAX */
	ADDR_DOMAIN_TOO_LONG,	/* > SMTP_DOMAIN_MAX */
	ADDR_PATH_TOO_LONG,	/* > SMTP_PATH_MAX */
	ADDR_UTF8_NOT_ALLOWED,	/* non-ASCII without ADDR_ALLOW_UTF8 */
	ADDR_FORBIDDEN_CHAR	/* a code point smtp_is_forbidden_code_point
				   names, in otherwise valid UTF-8 */
};

#define ADDR_ALLOW_NULL		0x1	/* <> (MAIL FROM) */
#define ADDR_ALLOW_POSTMASTER	0x2	/* <postmaster> (RCPT TO) */
#define ADDR_ALLOW_UTF8		0x4	/* RFC 6531 after SMTPUTF8 on MAIL */

/*
 * Parse a path that starts at p[0] == '<'.  On ADDR_OK *consumed is the
 * number of octets up to and including the closing '>'.  UTF-8 octets,
 * when allowed, must form valid UTF-8 sequences.
 */
enum addr_result smtp_parse_path(const char *p, size_t len, unsigned flags,
    struct smtp_path *out, size_t *consumed);

/*
 * The well-formed UTF-8 sequence at s[0..len) (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF): its length in octets,
 * with its code point in *cp; 0 when s does not start with one (an ASCII
 * octet included).
 */
size_t smtp_utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * True for the code points refused in addresses and HELO names even in
 * valid UTF-8, because they end or reorder lines for the programs that
 * read our logs, headers and environment (RFC 5198 §2: no C1 controls;
 * line and paragraph separators are not line ends in Net-Unicode; RFC
 * 6531 §3.3 takes its UTF-8 from RFC 6532, which defers to RFC 5198):
 * the C1 controls U+0080..U+009F (NEL U+0085 among them), U+2028 LINE
 * SEPARATOR, U+2029 PARAGRAPH SEPARATOR, and the bidirectional controls
 * U+061C, U+200E, U+200F, U+202A..U+202E and U+2066..U+2069, which make
 * text display in another order than it is stored (CVE-2021-42574).
 */
int smtp_is_forbidden_code_point(uint32_t cp);

/* True when p[0..len) is a Domain (§4.1.2, one label allowed) or an
 * address literal ([1.2.3.4], [IPv6:...]).  allow_utf8 admits U-labels. */
int smtp_is_helo_name(const char *p, size_t len, int allow_utf8);

/* True when p[0..len) is an acceptable HELO/EHLO argument: 1 to
 * SMTP_HELO_MAX octets of printable ASCII (0x21-0x7E), no space.  Every
 * HELO name is one; so are the host names devices send ("my_pc"). */
int smtp_is_helo_arg(const char *p, size_t len);

enum smtp_body_type {
	SMTP_BODY_7BIT = 0,
	SMTP_BODY_8BITMIME,	/* RFC 6152 */
	SMTP_BODY_BINARYMIME	/* RFC 3030, needs CHUNKING */
};

struct smtp_mail_params {
	uint64_t size;		/* SIZE= value (RFC 1870); 0 when absent */
	int has_size;
	enum smtp_body_type body;
	int smtputf8;		/* SMTPUTF8 given (RFC 6531) */
	int has_auth;		/* AUTH= given (RFC 4954 §5) */
	char auth[SMTP_MAILBOX_MAX]; /* AUTH= value, xtext-decoded; "<>" kept */
};

enum param_result {
	PARAM_OK = 0,
	PARAM_SYNTAX,		/* not esmtp-param *(SP esmtp-param) */
	PARAM_UNKNOWN,		/* a keyword we do not know: 555 */
	PARAM_BAD_VALUE,	/* known keyword, bad or conflicting value */
	PARAM_SIZE_OVERFLOW	/* SIZE= larger than 2^64-1 */
};

/*
 * Parse the Mail-parameters after "MAIL FROM:<path>": p[0..len) is what
 * follows the '>', normally " KEY=VALUE KEY ...", possibly empty.
 * Keywords are case-insensitive.  BODY=BINARYMIME is known only with
 * allow_binary (CHUNKING offered).  A keyword repeated with the same value
 * is taken; with another value it is PARAM_BAD_VALUE.
 */
enum param_result smtp_parse_mail_params(const char *p, size_t len,
    int allow_binary, struct smtp_mail_params *out);

/* RCPT TO parameters: we support none, so any is PARAM_UNKNOWN; empty
 * or only spaces is PARAM_OK; garbage is PARAM_SYNTAX. */
enum param_result smtp_parse_rcpt_params(const char *p, size_t len);

#endif
