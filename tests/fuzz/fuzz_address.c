/*
 * fuzz_address.c: the path, parameter and HELO-name grammar
 * (proto/address.c) under hostile input.
 *
 * Input: [0] flags (bits 0-2: ADDR_ALLOW_*, bit 3: allow_binary and
 * allow_utf8), then the octets handed to every parser.  Invariants:
 * - smtp_parse_path: on ADDR_OK the path ran from '<' to a '>' within
 *   the input and within SMTP_PATH_MAX; the mailbox is NUL-terminated at
 *   len, within its array, has no control characters, a local part of
 *   at most 64 octets and a domain of at most 255 that is a valid
 *   domain or address literal, after an '@'; <> only with
 *   ADDR_ALLOW_NULL, a bare "postmaster" only with ADDR_ALLOW_POSTMASTER;
 *   is_utf8 says whether an octet >= 0x80 is present, which needs
 *   ADDR_ALLOW_UTF8 and is valid UTF-8 without a C1 control, U+2028,
 *   U+2029 or bidirectional control (ADDR_FORBIDDEN_CHAR).  Parsing only the consumed
 *   octets, or "<" mailbox ">" again, gives the same mailbox (the parser
 *   never looks past the '>', and what it keeps is a path itself).
 *   On failure, consumed is 0 and the mailbox is empty.
 * - smtp_parse_mail_params: on PARAM_OK the AUTH= value is a
 *   NUL-terminated printable string within its array, BINARYMIME only
 *   when allowed; the result depends on nothing but the input.
 * - smtp_parse_rcpt_params: OK only for nothing or spaces.
 * - smtp_is_helo_name: true only for 1-255 octets without controls,
 *   spaces or (unless allowed) non-ASCII; what is true without UTF-8
 *   stays true with it.
 * - smtp_is_helo_arg: true exactly for 1-255 octets of 0x21-0x7E; every
 *   ASCII HELO name is one.
 */
#include <stdint.h>
#include <string.h>

#include "../../proto/address.h"
#include "fuzz.h"

static int
has_non_ascii(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	}
	return 0;
}

/* The UTF-8 forms of the code points proto/address.c must refuse
 * (smtp_is_forbidden_code_point), matched as octets: an oracle that
 * does not share the parser's decoder. */
static int
has_forbidden(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return 1;		/* U+0080..U+009F */
		if (p[i] == 0xd8 && p[i + 1] == 0x9c)
			return 1;		/* U+061C */
		if (i + 2 >= len || p[i] != 0xe2)
			continue;
		if (p[i + 1] == 0x80 && (p[i + 2] == 0x8e || p[i + 2] == 0x8f ||
		    (p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)))
			return 1;		/* U+200E/F, U+2028..U+202E */
		if (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			return 1;		/* U+2066..U+2069 */
	}
	return 0;
}

static void
check_ok_path(const char *p, size_t len, unsigned flags,
    const struct smtp_path *out, size_t consumed)
{
	static struct smtp_path again;
	char buf[SMTP_MAILBOX_MAX + 2];
	size_t used;
	size_t dlen;

	FUZZ_CHECK(consumed >= 2 && consumed <= len, "consumed within input");
	FUZZ_CHECK(consumed <= SMTP_PATH_MAX, "path within SMTP_PATH_MAX");
	FUZZ_CHECK(p[0] == '<' && p[consumed - 1] == '>', "<...> consumed");
	FUZZ_CHECK(out->len < SMTP_MAILBOX_MAX, "mailbox within its array");
	FUZZ_CHECK(out->mailbox[out->len] == '\0' &&
	    strlen(out->mailbox) == out->len, "mailbox NUL-terminated at len");
	FUZZ_CHECK(!fuzz_has_controls(out->mailbox, out->len),
	    "no control characters in a mailbox");
	FUZZ_CHECK(out->local_len <= SMTP_LOCAL_PART_MAX, "local part bound");
	FUZZ_CHECK(out->domain_off <= out->len, "domain offset bound");
	dlen = out->len - out->domain_off;
	FUZZ_CHECK(dlen <= SMTP_DOMAIN_MAX, "domain bound");
	FUZZ_CHECK(out->is_utf8 == has_non_ascii(out->mailbox, out->len),
	    "is_utf8 says whether there is non-ASCII");
	if (out->is_utf8) {
		FUZZ_CHECK(flags & ADDR_ALLOW_UTF8, "UTF-8 only when allowed");
		FUZZ_CHECK(fuzz_is_utf8((const unsigned char *)out->mailbox,
		    out->len), "UTF-8 mailbox is valid UTF-8");
		FUZZ_CHECK(!has_forbidden((const unsigned char *)out->mailbox,
		    out->len), "no C1, line separator or bidi control");
	}
	if (out->is_null) {
		FUZZ_CHECK(flags & ADDR_ALLOW_NULL && out->len == 0 &&
		    consumed == 2, "<> only when allowed");
		return;
	}
	FUZZ_CHECK(out->len > 0, "a non-null path has a mailbox");
	if (out->domain_off == out->len) {
		FUZZ_CHECK(flags & ADDR_ALLOW_POSTMASTER &&
		    strcmp(out->mailbox, "postmaster") == 0,
		    "no domain: only <postmaster>, when allowed");
	} else {
		FUZZ_CHECK(out->domain_off == out->local_len + 1 &&
		    out->mailbox[out->local_len] == '@', "local@domain");
		FUZZ_CHECK(smtp_is_helo_name(out->mailbox + out->domain_off,
		    dlen, (flags & ADDR_ALLOW_UTF8) != 0),
		    "the domain is a domain or an address literal");
	}

	/* Only the consumed octets: the same result. */
	FUZZ_CHECK(smtp_parse_path(p, consumed, flags, &again, &used) ==
	    ADDR_OK && used == consumed && again.len == out->len &&
	    memcmp(again.mailbox, out->mailbox, out->len + 1) == 0,
	    "the parser never looks past the '>'");

	/* What it keeps is a path itself, and parses to itself. */
	buf[0] = '<';
	memcpy(buf + 1, out->mailbox, out->len);
	buf[out->len + 1] = '>';
	FUZZ_CHECK(smtp_parse_path(buf, out->len + 2, flags, &again, &used) ==
	    ADDR_OK && used == out->len + 2 && again.len == out->len &&
	    memcmp(again.mailbox, out->mailbox, out->len + 1) == 0 &&
	    again.local_len == out->local_len &&
	    again.domain_off == out->domain_off,
	    "the kept mailbox reparses to itself");
}

static void
check_path(const char *p, size_t len, unsigned flags)
{
	static struct smtp_path out;
	size_t consumed = 12345;
	enum addr_result r = smtp_parse_path(p, len, flags, &out, &consumed);

	FUZZ_CHECK(r <= ADDR_FORBIDDEN_CHAR, "a known result");
	if (r == ADDR_OK) {
		check_ok_path(p, len, flags, &out, consumed);
		return;
	}
	FUZZ_CHECK(consumed == 0 && out.len == 0 && out.mailbox[0] == '\0',
	    "nothing kept on failure");
	if (r == ADDR_UTF8_NOT_ALLOWED)
		FUZZ_CHECK(!(flags & ADDR_ALLOW_UTF8), "UTF-8 refused only "
		    "when not allowed");
	if (r == ADDR_FORBIDDEN_CHAR)
		FUZZ_CHECK(flags & ADDR_ALLOW_UTF8 &&
		    has_forbidden((const unsigned char *)p, len),
		    "a forbidden character refused only where there is one");
}

static void
check_params(const char *p, size_t len, int allow_binary)
{
	static struct smtp_mail_params a;
	static struct smtp_mail_params b;
	enum param_result r = smtp_parse_mail_params(p, len, allow_binary, &a);
	size_t n;

	FUZZ_CHECK(r <= PARAM_SIZE_OVERFLOW, "a known result");
	FUZZ_CHECK(smtp_parse_mail_params(p, len, allow_binary, &b) == r &&
	    memcmp(&a, &b, sizeof(a)) == 0, "parameters: deterministic");
	if (r != PARAM_OK)
		return;
	FUZZ_CHECK(a.body <= SMTP_BODY_BINARYMIME, "a known BODY");
	FUZZ_CHECK(allow_binary || a.body != SMTP_BODY_BINARYMIME,
	    "BINARYMIME only when CHUNKING is offered");
	n = strnlen(a.auth, sizeof(a.auth));
	FUZZ_CHECK(n < sizeof(a.auth), "AUTH= value NUL-terminated");
	FUZZ_CHECK(!fuzz_has_controls(a.auth, n) && !has_non_ascii(a.auth, n),
	    "AUTH= value printable ASCII");
	FUZZ_CHECK(a.has_auth || n == 0, "AUTH= value only with AUTH=");
	/* Without an '=' there is no SIZE value to have. */
	if (memchr(p, '=', len) == NULL)
		FUZZ_CHECK(!a.has_size && !a.has_auth, "values need an =");
}

static void
check_rcpt_params(const char *p, size_t len)
{
	enum param_result r = smtp_parse_rcpt_params(p, len);
	size_t i;

	if (r != PARAM_OK)
		return;
	for (i = 0; i < len; i++)
		FUZZ_CHECK(p[i] == ' ', "RCPT parameters: only spaces are OK");
}

static void
check_helo(const char *p, size_t len)
{
	int ascii = smtp_is_helo_name(p, len, 0);
	int utf8 = smtp_is_helo_name(p, len, 1);
	int arg = smtp_is_helo_arg(p, len);
	size_t i;
	int printable = len > 0 && len <= SMTP_HELO_MAX;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			printable = 0;
	}
	FUZZ_CHECK(arg == printable,
	    "a HELO argument is exactly 1-255 octets of 0x21-0x7E");
	if (ascii)
		FUZZ_CHECK(arg, "every ASCII HELO name is a HELO argument");
	if (ascii)
		FUZZ_CHECK(utf8, "a name valid without UTF-8 is valid with it");
	if (!utf8)
		return;
	FUZZ_CHECK(len > 0 && len <= SMTP_HELO_MAX, "HELO name length");
	FUZZ_CHECK(!fuzz_has_controls(p, len) && memchr(p, ' ', len) == NULL,
	    "no control characters or spaces in a HELO name");
	if (ascii)
		FUZZ_CHECK(!has_non_ascii(p, len), "ASCII unless allowed");
	if (has_non_ascii(p, len))
		FUZZ_CHECK(fuzz_is_utf8((const unsigned char *)p, len),
		    "a UTF-8 name is valid UTF-8");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p;
	size_t len;
	unsigned flags;
	const char *gt;

	if (size < 1)
		return 0;
	flags = data[0] & 7;
	p = (const char *)data + 1;
	len = size - 1;

	check_path(p, len, flags);
	check_path(p, len, ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER |
	    ADDR_ALLOW_UTF8);
	check_helo(p, len);
	check_params(p, len, (data[0] & 8) != 0);
	check_rcpt_params(p, len);
	/* As in the engine: the parameters follow the path's '>'. */
	gt = memchr(p, '>', len);
	if (gt != NULL) {
		size_t off = (size_t)(gt - p) + 1;

		check_params(p + off, len - off, (data[0] & 8) != 0);
		check_rcpt_params(p + off, len - off);
		check_helo(p + off, len - off);
	}
	return 0;
}
