/*
 * address.c: the path and parameter grammar of RFC 5321 §4.1.2, with the
 * RFC 6531 UTF-8 extensions and the MAIL parameters smtpd advertises.
 *
 * A path is scanned twice: the first pass checks the syntax and measures
 * the parts without writing anything; only when every limit holds does the
 * second pass copy the mailbox into the caller's struct.  So the copy can
 * never overflow, whatever the input.  Classification is plain ASCII
 * arithmetic: <ctype.h> depends on the locale, and octets from the network
 * must mean the same thing everywhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "address.h"
#include "ascii.h"

/* RFC 1035 §2.3.4: a label is at most 63 octets. */
#define ADDR_LABEL_MAX 63
/* RFC 1870 §3: size-value ::= 1*20DIGIT. */
#define ADDR_SIZE_DIGITS_MAX 20

struct addr_scan {
	const unsigned char *p;
	size_t len;
	size_t pos;
	unsigned flags;
};

static int
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_let_dig(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static int
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 5322 §3.2.3 atext, as RFC 5321 §4.1.2 uses it for Atom. */
static int
is_atext(unsigned char c)
{
	if (is_let_dig(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5321 §4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126. */
static int
is_qtext(unsigned char c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* RFC 5321 §4.1.3 dcontent: %d33-90 / %d94-126. */
static int
is_dcontent(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']';
}

/* ASCII case-insensitive comparison of p[0..len) with the literal s. */
static int
ascii_eq(const unsigned char *p, size_t len, const char *s)
{
	return strlen(s) == len && ascii_eq_n((const char *)p, s, len);
}

size_t
smtp_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t c;
	size_t n, i;

	if (len == 0)
		return 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07u;
	} else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	*cp = c;
	return n;
}

int
smtp_is_forbidden_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||	/* C1, NEL U+0085 among them */
	    cp == 0x2028 || cp == 0x2029 ||	/* LINE, PARAGRAPH SEPARATOR */
	    cp == 0x061c ||			/* ARABIC LETTER MARK */
	    cp == 0x200e || cp == 0x200f ||	/* LRM, RLM */
	    (cp >= 0x202a && cp <= 0x202e) ||	/* LRE, RLE, PDF, LRO, RLO */
	    (cp >= 0x2066 && cp <= 0x2069);	/* LRI, RLI, FSI, PDI */
}

/*
 * Step over the UTF8-non-ascii character at sc->pos (RFC 6531 §3.3).
 * Without ADDR_ALLOW_UTF8 any octet >= 0x80 is refused as such, so that
 * the caller can answer 553 5.6.7 rather than a plain syntax error.  A
 * well-formed character that smtp_is_forbidden_code_point names is
 * refused as ADDR_FORBIDDEN_CHAR, a syntax error of its own (501, not
 * 553 5.6.7: the client's UTF-8 is welcome, this character is not).
 */
static enum addr_result
scan_utf8(struct addr_scan *sc)
{
	uint32_t cp;
	size_t n;

	if (!(sc->flags & ADDR_ALLOW_UTF8))
		return ADDR_UTF8_NOT_ALLOWED;
	n = smtp_utf8_decode((const char *)sc->p + sc->pos,
	    sc->len - sc->pos, &cp);
	if (n == 0)
		return ADDR_SYNTAX;
	if (smtp_is_forbidden_code_point(cp))
		return ADDR_FORBIDDEN_CHAR;
	sc->pos += n;
	return ADDR_OK;
}

/*
 * sub-domain = Let-dig [Ldh-str] (RFC 5321 §4.1.2), or a U-label made of
 * letters, digits, hyphens and UTF-8 characters (RFC 6531 §3.3).  No
 * leading or trailing hyphen; at most ADDR_LABEL_MAX octets.
 */
static enum addr_result
scan_label(struct addr_scan *sc)
{
	size_t start = sc->pos;
	int last_hyphen = 0;
	enum addr_result r;

	while (sc->pos < sc->len) {
		unsigned char c = sc->p[sc->pos];

		if (c >= 0x80) {
			if ((r = scan_utf8(sc)) != ADDR_OK)
				return r;
			last_hyphen = 0;
		} else if (is_let_dig(c)) {
			sc->pos++;
			last_hyphen = 0;
		} else if (c == '-' && sc->pos > start) {
			sc->pos++;
			last_hyphen = 1;
		} else
			break;
	}
	if (sc->pos == start || last_hyphen)
		return ADDR_SYNTAX;
	if (sc->pos - start > ADDR_LABEL_MAX)
		return ADDR_SYNTAX;
	return ADDR_OK;
}

/* Domain = sub-domain *("." sub-domain); a trailing dot is not allowed. */
static enum addr_result
scan_domain(struct addr_scan *sc)
{
	enum addr_result r;

	for (;;) {
		if ((r = scan_label(sc)) != ADDR_OK)
			return r;
		if (sc->pos >= sc->len || sc->p[sc->pos] != '.')
			return ADDR_OK;
		sc->pos++;
	}
}

/* IPv4-address-literal = Snum 3("." Snum), Snum 0-255 in 1*3DIGIT. */
static int
is_ipv4(const unsigned char *p, size_t len)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		unsigned value = 0;
		size_t ndigits = 0;

		if (part > 0) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
		while (i < len && is_digit(p[i]) && ndigits < 3) {
			value = value * 10 + (unsigned)(p[i] - '0');
			ndigits++;
			i++;
		}
		if (ndigits == 0 || value > 255)
			return 0;
	}
	return i == len;
}

/*
 * IPv6-addr per RFC 5321 §4.1.3: eight groups of 1-4 hex digits, or six
 * and an IPv4 tail; or, with one "::", at most six groups (counting an
 * IPv4 tail as two), since "::" there stands for at least two groups.
 * This is stricter than RFC 4291, which lets "::" replace a single group;
 * RFC 5952 §4.2.2 forbids that form in text, so real clients do not send
 * it.
 */
static int
is_ipv6(const unsigned char *p, size_t len)
{
	size_t i = 0;
	unsigned units = 0;
	int compressed = 0;

	if (len >= 2 && p[0] == ':' && p[1] == ':') {
		compressed = 1;
		i = 2;
	} else if (len >= 1 && p[0] == ':')
		return 0;
	while (i < len) {
		size_t nhex = 0;

		while (i + nhex < len && is_hex(p[i + nhex]))
			nhex++;
		if (i + nhex < len && p[i + nhex] == '.') {
			/* The IPv4 tail ends the address. */
			if (!is_ipv4(p + i, len - i))
				return 0;
			units += 2;
			break;
		}
		if (nhex == 0 || nhex > 4)
			return 0;
		units++;
		i += nhex;
		if (i == len)
			break;
		if (p[i] != ':')
			return 0;
		i++;
		if (i < len && p[i] == ':') {
			if (compressed)
				return 0;
			compressed = 1;
			i++;
		} else if (i == len)
			return 0;	/* a single trailing ':' */
		if (units > 8)
			return 0;
	}
	return compressed ? units <= 6 : units == 8;
}

/*
 * address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]" (RFC 5321 §4.1.3).  The tag "IPv6" is
 * matched case-insensitively (RFC 5234 §2.3) and must then hold a valid
 * IPv6 address: it is not available as a General-address-literal.
 * UTF-8 never appears here; RFC 6531 does not extend address literals.
 */
static enum addr_result
scan_literal(struct addr_scan *sc)
{
	const unsigned char *body;
	size_t start, blen, tag;

	sc->pos++;		/* '[' */
	start = sc->pos;
	while (sc->pos < sc->len && is_dcontent(sc->p[sc->pos]))
		sc->pos++;
	if (sc->pos >= sc->len || sc->p[sc->pos] != ']')
		return ADDR_SYNTAX;
	body = sc->p + start;
	blen = sc->pos - start;
	sc->pos++;		/* ']' */

	for (tag = 0; tag < blen && body[tag] != ':'; tag++)
		;
	if (tag == blen)
		return is_ipv4(body, blen) ? ADDR_OK : ADDR_SYNTAX;
	if (ascii_eq(body, tag, "IPv6"))
		return is_ipv6(body + tag + 1, blen - tag - 1) ? ADDR_OK :
		    ADDR_SYNTAX;
	/* Standardized-tag = Ldh-str; ":" 1*dcontent follows. */
	if (tag == 0 || tag + 1 == blen || !is_let_dig(body[tag - 1]))
		return ADDR_SYNTAX;
	for (size_t i = 0; i < tag; i++) {
		if (!is_let_dig(body[i]) && body[i] != '-')
			return ADDR_SYNTAX;
	}
	return ADDR_OK;
}

/*
 * Local-part = Dot-string / Quoted-string (RFC 5321 §4.1.2), with
 * UTF8-non-ascii in atext and qtextSMTP (RFC 6531 §3.3).  RFC 6531 does
 * not extend quoted-pairSMTP, so a backslash escapes only %d32-126.
 */
static enum addr_result
scan_local_part(struct addr_scan *sc)
{
	enum addr_result r;
	size_t atom;

	if (sc->pos < sc->len && sc->p[sc->pos] == '"') {
		sc->pos++;
		while (sc->pos < sc->len && sc->p[sc->pos] != '"') {
			unsigned char c = sc->p[sc->pos];

			if (c >= 0x80) {
				if ((r = scan_utf8(sc)) != ADDR_OK)
					return r;
			} else if (c == '\\') {
				if (sc->pos + 1 >= sc->len ||
				    sc->p[sc->pos + 1] < 32 ||
				    sc->p[sc->pos + 1] > 126)
					return ADDR_SYNTAX;
				sc->pos += 2;
			} else if (is_qtext(c))
				sc->pos++;
			else
				return ADDR_SYNTAX;
		}
		if (sc->pos >= sc->len)
			return ADDR_SYNTAX;
		sc->pos++;	/* closing '"' */
		return ADDR_OK;
	}
	for (;;) {
		atom = sc->pos;
		while (sc->pos < sc->len) {
			unsigned char c = sc->p[sc->pos];

			if (c >= 0x80) {
				if ((r = scan_utf8(sc)) != ADDR_OK)
					return r;
			} else if (is_atext(c))
				sc->pos++;
			else
				break;
		}
		if (sc->pos == atom)
			return ADDR_SYNTAX;	/* empty atom: "..", ".a", "a." */
		if (sc->pos >= sc->len || sc->p[sc->pos] != '.')
			return ADDR_OK;
		sc->pos++;
	}
}

static int
scan_peek(const struct addr_scan *sc, unsigned char c)
{
	return sc->pos < sc->len && sc->p[sc->pos] == c;
}

/*
 * A-d-l = At-domain *( "," At-domain ) ":" (RFC 5321 §4.1.2).  Sets
 * *too_long when one of its domains exceeds SMTP_DOMAIN_MAX.
 */
static enum addr_result
scan_source_route(struct addr_scan *sc, int *too_long)
{
	enum addr_result r;
	size_t start;

	for (;;) {
		if (!scan_peek(sc, '@'))
			return ADDR_SYNTAX;
		sc->pos++;
		start = sc->pos;
		if ((r = scan_domain(sc)) != ADDR_OK)
			return r;
		if (sc->pos - start > SMTP_DOMAIN_MAX)
			*too_long = 1;
		if (scan_peek(sc, ':')) {
			sc->pos++;
			return ADDR_OK;
		}
		if (!scan_peek(sc, ','))
			return ADDR_SYNTAX;
		sc->pos++;
	}
}

static void
path_set(struct smtp_path *out, const unsigned char *local, size_t local_len,
    const unsigned char *domain, size_t domain_len)
{
	size_t i;

	memcpy(out->mailbox, local, local_len);
	out->local_len = local_len;
	out->len = local_len;
	out->domain_off = local_len;
	if (domain != NULL) {
		out->mailbox[local_len] = '@';
		memcpy(out->mailbox + local_len + 1, domain, domain_len);
		out->domain_off = local_len + 1;
		out->len = local_len + 1 + domain_len;
	}
	out->mailbox[out->len] = '\0';
	for (i = 0; i < out->len; i++) {
		if ((unsigned char)out->mailbox[i] >= 0x80)
			out->is_utf8 = 1;
	}
}

enum addr_result
smtp_parse_path(const char *p, size_t len, unsigned flags,
    struct smtp_path *out, size_t *consumed)
{
	struct addr_scan sc;
	enum addr_result r;
	size_t local, local_len, domain, domain_len;
	int route_too_long = 0;

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	sc.p = (const unsigned char *)p;
	sc.len = len;
	sc.pos = 1;
	sc.flags = flags;
	if (len < 2 || p[0] != '<')
		return ADDR_SYNTAX;

	/* Reverse-path = Path / "<>" (§4.1.2). */
	if (p[1] == '>') {
		if (!(flags & ADDR_ALLOW_NULL))
			return ADDR_SYNTAX;
		out->is_null = 1;
		*consumed = 2;
		return ADDR_OK;
	}

	/* "<Postmaster>" without a domain, RCPT only (§4.1.1.3). */
	if (len >= 12 && ascii_eq(sc.p + 1, 11, "postmaster>")) {
		if (!(flags & ADDR_ALLOW_POSTMASTER))
			return ADDR_SYNTAX;
		path_set(out, (const unsigned char *)"postmaster", 10, NULL, 0);
		*consumed = 12;
		return ADDR_OK;
	}

	/* Source routes are parsed and dropped (§4.1.1.3, appendix C). */
	if (p[1] == '@' &&
	    (r = scan_source_route(&sc, &route_too_long)) != ADDR_OK)
		return r;

	local = sc.pos;
	if ((r = scan_local_part(&sc)) != ADDR_OK)
		return r;
	local_len = sc.pos - local;
	if (!scan_peek(&sc, '@'))
		return ADDR_SYNTAX;
	sc.pos++;
	domain = sc.pos;
	if (scan_peek(&sc, '['))
		r = scan_literal(&sc);
	else
		r = scan_domain(&sc);
	if (r != ADDR_OK)
		return r;
	domain_len = sc.pos - domain;
	if (!scan_peek(&sc, '>'))
		return ADDR_SYNTAX;
	sc.pos++;

	/* §4.5.3.1: checked before the copy, which they bound. */
	if (local_len > SMTP_LOCAL_PART_MAX)
		return ADDR_LOCAL_TOO_LONG;
	if (domain_len > SMTP_DOMAIN_MAX || route_too_long)
		return ADDR_DOMAIN_TOO_LONG;
	if (sc.pos > SMTP_PATH_MAX)
		return ADDR_PATH_TOO_LONG;

	path_set(out, sc.p + local, local_len, sc.p + domain, domain_len);
	*consumed = sc.pos;
	return ADDR_OK;
}

int
smtp_is_helo_name(const char *p, size_t len, int allow_utf8)
{
	struct addr_scan sc;
	enum addr_result r;

	if (len == 0 || len > SMTP_HELO_MAX)
		return 0;
	sc.p = (const unsigned char *)p;
	sc.len = len;
	sc.pos = 0;
	sc.flags = allow_utf8 ? ADDR_ALLOW_UTF8 : 0;
	if (p[0] == '[')
		r = scan_literal(&sc);
	else
		r = scan_domain(&sc);
	return r == ADDR_OK && sc.pos == len;
}

/*
 * What HELO/EHLO accept: the RFC asks for a domain or an address literal,
 * but printers, scanners, NAS boxes and Windows machines send their host
 * names ("my_pc", "DESKTOP-AB_12"), and every other receiver takes them.
 * Refusing them loses honest mail and stops no attacker, who can send a
 * valid name as easily.  So any word of printable ASCII is taken; a
 * control character, a space (a second word) or a non-ASCII octet is not,
 * and Received: shows a name that is not a domain only in a comment
 * (deliver/header.c).
 */
int
smtp_is_helo_arg(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > SMTP_HELO_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e)
			return 0;
	}
	return 1;
}

struct addr_param {
	const unsigned char *key;
	size_t key_len;
	const unsigned char *value;	/* NULL when there is no "=" */
	size_t value_len;
};

/*
 * One esmtp-param (RFC 5321 §4.1.2):
 *	esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 *	esmtp-value   = 1*(%d33-60 / %d62-126)
 * RFC 6531 §3.3 would admit UTF-8 in values, but none of the parameters
 * we know takes it, so values stay ASCII.
 *
 * Separators: the grammar asks for exactly one SP before each parameter.
 * We require at least one and accept a run of them, and trailing spaces:
 * SP occurs in no keyword or value, so this is unambiguous, and refusing
 * a doubled or trailing space would fail real clients while protecting
 * nothing.  Any other white space (TAB) is a syntax error.
 *
 * Returns 1 with a parameter, 0 at the end, -1 on a syntax error.
 */
static int
param_next(const unsigned char *p, size_t len, size_t *pos,
    struct addr_param *param)
{
	size_t i = *pos;

	if (i == len)
		return 0;
	if (p[i] != ' ')
		return -1;
	while (i < len && p[i] == ' ')
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	if (!is_let_dig(p[i]))
		return -1;
	param->key = p + i;
	while (i < len && (is_let_dig(p[i]) || p[i] == '-'))
		i++;
	param->key_len = (size_t)(p + i - param->key);
	param->value = NULL;
	param->value_len = 0;
	if (i < len && p[i] == '=') {
		i++;
		param->value = p + i;
		while (i < len && p[i] >= 33 && p[i] <= 126 && p[i] != '=')
			i++;
		param->value_len = (size_t)(p + i - param->value);
		if (param->value_len == 0)
			return -1;
	}
	if (i < len && p[i] != ' ')
		return -1;
	*pos = i;
	return 1;
}

/* Syntax first, for the whole list: garbage anywhere is PARAM_SYNTAX. */
static int
param_list_is_valid(const unsigned char *p, size_t len)
{
	struct addr_param param;
	size_t pos = 0;
	int r;

	while ((r = param_next(p, len, &pos, &param)) == 1)
		;
	return r == 0;
}

/* SIZE=1*20DIGIT (RFC 1870 §3). */
static enum param_result
param_size(const struct addr_param *param, uint64_t *size)
{
	uint64_t value = 0;
	size_t i;

	if (param->value == NULL)
		return PARAM_BAD_VALUE;
	for (i = 0; i < param->value_len; i++) {
		unsigned digit;

		if (!is_digit(param->value[i]))
			return PARAM_BAD_VALUE;
		digit = (unsigned)(param->value[i] - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return PARAM_SIZE_OVERFLOW;
		value = value * 10 + digit;
	}
	/* Leading zeros can make a small value longer than the grammar. */
	if (param->value_len > ADDR_SIZE_DIGITS_MAX)
		return PARAM_BAD_VALUE;
	*size = value;
	return PARAM_OK;
}

/* BODY=7BIT / 8BITMIME (RFC 6152 §2) / BINARYMIME (RFC 3030 §3). */
static enum param_result
param_body(const struct addr_param *param, int allow_binary,
    enum smtp_body_type *body)
{
	if (param->value == NULL)
		return PARAM_BAD_VALUE;
	if (ascii_eq(param->value, param->value_len, "7BIT"))
		*body = SMTP_BODY_7BIT;
	else if (ascii_eq(param->value, param->value_len, "8BITMIME"))
		*body = SMTP_BODY_8BITMIME;
	else if (allow_binary &&
	    ascii_eq(param->value, param->value_len, "BINARYMIME"))
		*body = SMTP_BODY_BINARYMIME;
	else
		return PARAM_BAD_VALUE;
	return PARAM_OK;
}

/* RFC 3461 §4: hexchar uses upper-case hex digits only. */
static int
is_upper_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

static unsigned
hex_value(unsigned char c)
{
	return is_digit(c) ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);
}

/*
 * AUTH=xtext (RFC 4954 §5, xtext of RFC 3461 §4): "+" and two upper-case
 * hex digits stand for one octet.  The decoded value ("<>" or an
 * addr-spec) must be printable ASCII, so that it is safe as a C string
 * and in a log line; anything else is refused rather than altered.
 */
static enum param_result
param_auth(const struct addr_param *param, char *auth, size_t cap)
{
	const unsigned char *v = param->value;
	size_t i, n = 0;

	if (v == NULL)
		return PARAM_BAD_VALUE;
	for (i = 0; i < param->value_len; i++) {
		unsigned char c = v[i];

		if (c == '+') {
			if (param->value_len - i < 3 || !is_upper_hex(v[i + 1]) ||
			    !is_upper_hex(v[i + 2]))
				return PARAM_BAD_VALUE;
			c = (unsigned char)(hex_value(v[i + 1]) * 16 +
			    hex_value(v[i + 2]));
			i += 2;
		}
		if (c < 32 || c > 126 || n + 1 >= cap)
			return PARAM_BAD_VALUE;
		auth[n++] = (char)c;
	}
	auth[n] = '\0';
	return PARAM_OK;
}

static const char *const param_known[] = { "SIZE", "BODY", "SMTPUTF8",
    "AUTH" };

/* Set the known parameter number k in out from param's value. */
static enum param_result
param_set(const struct addr_param *param, size_t k, int allow_binary,
    struct smtp_mail_params *out)
{
	switch (k) {
	case 0:
		out->has_size = 1;
		return param_size(param, &out->size);
	case 1:
		return param_body(param, allow_binary, &out->body);
	case 2:
		/* RFC 6531 §3.4: SMTPUTF8 takes no value. */
		if (param->value != NULL)
			return PARAM_BAD_VALUE;
		out->smtputf8 = 1;
		return PARAM_OK;
	default:
		out->has_auth = 1;
		return param_auth(param, out->auth, sizeof(out->auth));
	}
}

static int
params_equal(const struct smtp_mail_params *a,
    const struct smtp_mail_params *b)
{
	return a->has_size == b->has_size && a->size == b->size &&
	    a->body == b->body && a->smtputf8 == b->smtputf8 &&
	    a->has_auth == b->has_auth && strcmp(a->auth, b->auth) == 0;
}

/*
 * RFC 5321 §4.1.2 does not let a keyword appear twice, but Python's
 * smtplib adds SMTPUTF8 and BODY=8BITMIME itself for a non-ASCII address,
 * and programs that pass them in mail_options too send them twice.  A
 * repeat that means the same (keywords and enumerated values compare
 * case-insensitively, SIZE= by its number) changes nothing and is taken;
 * a different value is a conflict, PARAM_BAD_VALUE, as ever.
 */
static enum param_result
param_apply(const struct addr_param *param, int allow_binary,
    struct smtp_mail_params *out, unsigned *seen)
{
	struct smtp_mail_params again;
	enum param_result r;
	size_t k;

	for (k = 0; k < sizeof(param_known) / sizeof(param_known[0]); k++) {
		if (ascii_eq(param->key, param->key_len, param_known[k]))
			break;
	}
	if (k == sizeof(param_known) / sizeof(param_known[0]))
		return PARAM_UNKNOWN;
	if (!(*seen & 1u << k)) {
		*seen |= 1u << k;
		return param_set(param, k, allow_binary, out);
	}
	again = *out;
	if ((r = param_set(param, k, allow_binary, &again)) != PARAM_OK)
		return r;
	return params_equal(&again, out) ? PARAM_OK : PARAM_BAD_VALUE;
}

enum param_result
smtp_parse_mail_params(const char *p, size_t len, int allow_binary,
    struct smtp_mail_params *out)
{
	const unsigned char *u = (const unsigned char *)p;
	struct addr_param param;
	enum param_result r;
	size_t pos = 0;
	unsigned seen = 0;

	memset(out, 0, sizeof(*out));
	out->body = SMTP_BODY_7BIT;
	if (!param_list_is_valid(u, len))
		return PARAM_SYNTAX;
	while (param_next(u, len, &pos, &param) == 1) {
		if ((r = param_apply(&param, allow_binary, out, &seen)) !=
		    PARAM_OK)
			return r;
	}
	return PARAM_OK;
}

enum param_result
smtp_parse_rcpt_params(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	struct addr_param param;
	size_t pos = 0;

	if (!param_list_is_valid(u, len))
		return PARAM_SYNTAX;
	return param_next(u, len, &pos, &param) == 1 ? PARAM_UNKNOWN :
	    PARAM_OK;
}
