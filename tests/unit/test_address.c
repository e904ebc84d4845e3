/*
 * test_address.c: the path, HELO-name and MAIL/RCPT parameter grammar of
 * proto/address.c (RFC 5321 §4.1.2, §4.1.3, §4.5.3.1; RFC 6531; RFC 1870;
 * RFC 4954 §5), as tables of inputs and expected results.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../proto/address.h"
#include "tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NUL_OK (ADDR_ALLOW_NULL)
#define PM (ADDR_ALLOW_POSTMASTER)
#define U8 (ADDR_ALLOW_UTF8)
#define ALL (ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_UTF8)

/* A printable copy of p[0..len) for a test name: TAP lines must not
 * carry control characters or raw 8-bit octets. */
static const char *
show(const char *p, size_t len)
{
	static char buf[4][128];
	static int which;
	char *out = buf[which++ % 4];
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 < sizeof(buf[0]); i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 32 && c < 127 && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, sizeof(buf[0]) - n,
			    "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

struct path_case {
	const char *in;
	size_t in_len;		/* 0: strlen(in) */
	unsigned flags;
	enum addr_result want;
	const char *mailbox;	/* on ADDR_OK */
	size_t consumed;	/* on ADDR_OK; 0: in_len */
};

static const struct path_case path_cases[] = {
	/* plain mailboxes */
	{ "<a@b>", 0, 0, ADDR_OK, "a@b", 0 },
	{ "<user@example.com>", 0, 0, ADDR_OK, "user@example.com", 0 },
	{ "<User.Name+tag@Example.COM>", 0, 0, ADDR_OK,
	    "User.Name+tag@Example.COM", 0 },
	{ "<!#$%&'*+-/=?^_`{|}~@x.y>", 0, 0, ADDR_OK,
	    "!#$%&'*+-/=?^_`{|}~@x.y", 0 },
	{ "<a@b-c.d>", 0, 0, ADDR_OK, "a@b-c.d", 0 },
	{ "<a@b--c.d>", 0, 0, ADDR_OK, "a@b--c.d", 0 },
	{ "<a@1.2.3.4>", 0, 0, ADDR_OK, "a@1.2.3.4", 0 },
	{ "<a@0x>", 0, 0, ADDR_OK, "a@0x", 0 },
	{ "<a@b> SIZE=10", 0, 0, ADDR_OK, "a@b", 5 },
	{ "<a@b>>", 0, 0, ADDR_OK, "a@b", 5 },

	/* null path and postmaster */
	{ "<>", 0, NUL_OK, ADDR_OK, "", 0 },
	{ "<> SIZE=1", 0, NUL_OK, ADDR_OK, "", 2 },
	{ "<>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<>", 0, PM | U8, ADDR_SYNTAX, NULL, 0 },
	{ "<postmaster>", 0, PM, ADDR_OK, "postmaster", 0 },
	{ "<PostMaster>", 0, PM, ADDR_OK, "postmaster", 0 },
	{ "<POSTMASTER>", 0, PM, ADDR_OK, "postmaster", 0 },
	{ "<postmaster>", 0, NUL_OK | U8, ADDR_SYNTAX, NULL, 0 },
	{ "<postmaste>", 0, PM, ADDR_SYNTAX, NULL, 0 },
	{ "<postmasterx>", 0, PM, ADDR_SYNTAX, NULL, 0 },
	{ "<postmaster", 0, PM, ADDR_SYNTAX, NULL, 0 },
	{ "<Postmaster@Example.org>", 0, 0, ADDR_OK,
	    "Postmaster@Example.org", 0 },
	{ "<@a.example:postmaster>", 0, PM, ADDR_SYNTAX, NULL, 0 },

	/* quoted local parts keep their quotes and escapes */
	{ "<\"a b\"@c>", 0, 0, ADDR_OK, "\"a b\"@c", 0 },
	{ "<\"\"@c>", 0, 0, ADDR_OK, "\"\"@c", 0 },
	{ "<\"a\\\"b\"@c>", 0, 0, ADDR_OK, "\"a\\\"b\"@c", 0 },
	{ "<\"a\\\\b\"@c>", 0, 0, ADDR_OK, "\"a\\\\b\"@c", 0 },
	{ "<\"a\\ b\"@c>", 0, 0, ADDR_OK, "\"a\\ b\"@c", 0 },
	{ "<\"a@b>c\"@d>", 0, 0, ADDR_OK, "\"a@b>c\"@d", 0 },
	{ "<\"a.\"@d>", 0, 0, ADDR_OK, "\"a.\"@d", 0 },
	{ "<\"a\"b@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\"\"b\"@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\\\"@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\\", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\tb\"@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\\\tb\"@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\\\x7f\"@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\x7f\"@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },

	/* dot-string */
	{ "<.a@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a.@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a..b@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a(b)@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a,b@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@>", 0, 0, ADDR_SYNTAX, NULL, 0 },

	/* domains */
	{ "<a@b.>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@.b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b..c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@-b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b->", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b-.c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b_c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b c>", 0, 0, ADDR_SYNTAX, NULL, 0 },

	/* brackets and spaces */
	{ "", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "a@b", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "a@b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ " <a@b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "< a@b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b >", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a @b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a@ b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "< >", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<<a@b>>", 0, ALL, ADDR_SYNTAX, NULL, 0 },

	/* NUL and control characters, anywhere */
	{ "<a\0b@c>", 7, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<ab@c\0>", 7, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<\0>", 3, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<\"a\0\"@c>", 8, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a\r@b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b\n>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a\x1b@b>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b\x7f>", 0, ALL, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.4\x01]>", 0, ALL, ADDR_SYNTAX, NULL, 0 },

	/* source routes are parsed and dropped */
	{ "<@a.example:u@b.example>", 0, 0, ADDR_OK, "u@b.example", 0 },
	{ "<@a.example,@b.example:u@c.example>", 0, 0, ADDR_OK,
	    "u@c.example", 0 },
	{ "<@a:u@[1.2.3.4]>", 0, 0, ADDR_OK, "u@[1.2.3.4]", 0 },
	{ "<@a.example:>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@a.example u@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@a.example,u@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@a.example;@b:u@c>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@:u@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@a.:u@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@[1.2.3.4]:u@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<@a,@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a:u@b>", 0, 0, ADDR_SYNTAX, NULL, 0 },

	/* address literals */
	{ "<a@[1.2.3.4]>", 0, 0, ADDR_OK, "a@[1.2.3.4]", 0 },
	{ "<a@[0.0.0.0]>", 0, 0, ADDR_OK, "a@[0.0.0.0]", 0 },
	{ "<a@[255.255.255.255]>", 0, 0, ADDR_OK, "a@[255.255.255.255]", 0 },
	{ "<a@[01.002.000.9]>", 0, 0, ADDR_OK, "a@[01.002.000.9]", 0 },
	{ "<a@[256.1.1.1]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.256]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.0004]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.4.5]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1..2.3]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[-1.2.3.4]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.4 ]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.4>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.4]x>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[1.2.3.4].b>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[[1.2.3.4]]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[IPv6:::1]>", 0, 0, ADDR_OK, "a@[IPv6:::1]", 0 },
	{ "<a@[ipv6:2001:DB8::1]>", 0, 0, ADDR_OK, "a@[ipv6:2001:DB8::1]", 0 },
	{ "<a@[IPv6:1.2.3.4]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[IPv6:]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[IPv6:::g]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[IPv7:whatever]>", 0, 0, ADDR_OK, "a@[IPv7:whatever]", 0 },
	{ "<a@[x-1:a:b/c]>", 0, 0, ADDR_OK, "a@[x-1:a:b/c]", 0 },
	{ "<a@[x-:abc]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[:abc]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[x:]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[x_y:abc]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[x:a\\b]>", 0, 0, ADDR_SYNTAX, NULL, 0 },
	{ "<a@[x:a b]>", 0, 0, ADDR_SYNTAX, NULL, 0 },

	/* RFC 6531 UTF-8 */
	{ "<\xce\xb4\xce\xbf\xce\xba\xce\xb9\xce\xbc\xce\xae@"
	  "\xcf\x80\xce\xb1\xcf\x81\xce\xac\xce\xb4\xce\xb5\xce\xb9"
	  "\xce\xb3\xce\xbc\xce\xb1.\xce\xb4\xce\xbf\xce\xba\xce\xb9"
	  "\xce\xbc\xce\xae>", 0, U8, ADDR_OK,
	  "\xce\xb4\xce\xbf\xce\xba\xce\xb9\xce\xbc\xce\xae@"
	  "\xcf\x80\xce\xb1\xcf\x81\xce\xac\xce\xb4\xce\xb5\xce\xb9"
	  "\xce\xb3\xce\xbc\xce\xb1.\xce\xb4\xce\xbf\xce\xba\xce\xb9"
	  "\xce\xbc\xce\xae", 0 },
	{ "<\xe7\x94\xa8\xe6\x88\xb7@example.com>", 0, U8, ADDR_OK,
	    "\xe7\x94\xa8\xe6\x88\xb7@example.com", 0 },
	{ "<u@\xf0\x9f\x98\x80.example>", 0, U8, ADDR_OK,
	    "u@\xf0\x9f\x98\x80.example", 0 },
	{ "<\"\xc3\xa9 x\"@b>", 0, U8, ADDR_OK, "\"\xc3\xa9 x\"@b", 0 },
	{ "<a@b\xc3\xa9-x>", 0, U8, ADDR_OK, "a@b\xc3\xa9-x", 0 },
	{ "<\xc3\xa9@b>", 0, 0, ADDR_UTF8_NOT_ALLOWED, NULL, 0 },
	{ "<a@\xc3\xa9>", 0, NUL_OK | PM, ADDR_UTF8_NOT_ALLOWED, NULL, 0 },
	{ "<\"\xc3\xa9\"@b>", 0, 0, ADDR_UTF8_NOT_ALLOWED, NULL, 0 },
	{ "<@\xc3\xa9:a@b>", 0, 0, ADDR_UTF8_NOT_ALLOWED, NULL, 0 },
	{ "<\xe9@b>", 0, 0, ADDR_UTF8_NOT_ALLOWED, NULL, 0 },
	{ "<\xe9@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },		/* Latin-1 */
	{ "<\xc3\x28@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* bad cont. */
	{ "<\x80@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },		/* lone cont. */
	{ "<\xc0\xaf@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* overlong */
	{ "<\xc1\xbf@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* overlong */
	{ "<\xe0\x80\xaf@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* overlong */
	{ "<\xf0\x80\x80\xaf@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },
	{ "<\xed\xa0\x80@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* surrogate */
	{ "<\xf4\x90\x80\x80@b>", 0, U8, ADDR_SYNTAX, NULL, 0 }, /* > 10FFFF */
	{ "<\xf5\x80\x80\x80@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },
	{ "<\xff@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },
	{ "<a@b\xe2\x82>", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* truncated */
	{ "<a\xe2\x82", 0, U8, ADDR_SYNTAX, NULL, 0 },	/* at the end */
	{ "<\xed\x9f\xbf@b>", 0, U8, ADDR_OK, "\xed\x9f\xbf@b", 0 },
	{ "<\xf4\x8f\xbf\xbf@b>", 0, U8, ADDR_OK, "\xf4\x8f\xbf\xbf@b", 0 },
	{ "<a@[\xc3\xa9:x]>", 0, U8, ADDR_SYNTAX, NULL, 0 },
	{ "<\"\\\xc3\xa9\"@b>", 0, U8, ADDR_SYNTAX, NULL, 0 },
	{ "<a@-\xc3\xa9>", 0, U8, ADDR_SYNTAX, NULL, 0 },
};

static void
test_path_table(void)
{
	size_t i;

	for (i = 0; i < N(path_cases); i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = c->in_len ? c->in_len : strlen(c->in);
		struct smtp_path out;
		size_t consumed = 99;
		enum addr_result r;
		char name[128];

		r = smtp_parse_path(c->in, len, c->flags, &out, &consumed);
		snprintf(name, sizeof(name), "path %zu '%.60s' flags %u", i,
		    show(c->in, len), c->flags);
		if (!ok(r == c->want, "%s: result", name)) {
			diag("got %d, want %d", (int)r, (int)c->want);
			continue;
		}
		if (r != ADDR_OK)
			continue;
		is_mem(out.mailbox, out.len, c->mailbox, name);
		ok(out.len == strlen(out.mailbox), "%s: len", name);
		ok(consumed == (c->consumed ? c->consumed : len),
		    "%s: consumed %zu", name, consumed);
	}
}

/* The parts of a parse, beyond the mailbox text. */
static void
test_path_parts(void)
{
	struct smtp_path out;
	size_t consumed;
	int utf8;

	smtp_parse_path("<Joe.Q@Example.com>", 19, 0, &out, &consumed);
	ok(out.local_len == 5 && out.domain_off == 6 && !out.is_null &&
	    !out.is_utf8, "parts of a plain mailbox");
	is_mem(out.mailbox + out.domain_off, out.len - out.domain_off,
	    "Example.com", "domain keeps its case");

	smtp_parse_path("<\"a b\"@c>", 9, 0, &out, &consumed);
	ok(out.local_len == 5 && out.domain_off == 6,
	    "a quoted local part is measured with its quotes");

	smtp_parse_path("<>", 2, ADDR_ALLOW_NULL, &out, &consumed);
	ok(out.is_null && out.len == 0 && out.mailbox[0] == '\0' &&
	    out.domain_off == out.len, "null path");

	smtp_parse_path("<PostMaster>", 12, ADDR_ALLOW_POSTMASTER, &out,
	    &consumed);
	ok(!out.is_null && out.local_len == 10 && out.len == 10 &&
	    out.domain_off == out.len, "postmaster has no domain");

	smtp_parse_path("<@x.example:a@b>", 16, 0, &out, &consumed);
	ok(out.local_len == 1 && out.domain_off == 2 && consumed == 16,
	    "source route dropped from the parts");

	utf8 = smtp_parse_path("<\xc3\xa9@b>", 6, ADDR_ALLOW_UTF8, &out,
	    &consumed) == ADDR_OK;
	ok(utf8 && out.is_utf8 && out.local_len == 2 && out.domain_off == 3,
	    "UTF-8 mailbox is flagged");
	smtp_parse_path("<a@b>", 5, ADDR_ALLOW_UTF8, &out, &consumed);
	ok(!out.is_utf8, "ASCII mailbox with UTF-8 allowed is not flagged");
	smtp_parse_path("<@\xc3\xa9:a@b>", 10, ADDR_ALLOW_UTF8, &out,
	    &consumed);
	ok(!out.is_utf8 && out.len == 3,
	    "UTF-8 only in the dropped route leaves the mailbox ASCII");

	/* The parser must not read past len: the input is cut before '>'. */
	ok(smtp_parse_path("<a@b>", 4, 0, &out, &consumed) == ADDR_SYNTAX,
	    "len is honoured, not the NUL");
	ok(smtp_parse_path("<>", 1, ADDR_ALLOW_NULL, &out, &consumed) ==
	    ADDR_SYNTAX, "a lone '<' is a syntax error");
	ok(smtp_parse_path("<postmaster>", 11, ADDR_ALLOW_POSTMASTER, &out,
	    &consumed) == ADDR_SYNTAX, "postmaster cut before '>'");
}

/* Fill buf with a domain of len octets: labels of 50, no trailing dot. */
static void
fill_domain(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (i % 51 == 50) ? '.' : 'd';
	if (len > 0 && buf[len - 1] == '.')
		buf[len - 1] = 'd';
}

/* Fill buf with "<" local "@" domain ">" of the given lengths. */
static size_t
make_path(char *buf, size_t cap, size_t local_len, size_t domain_len)
{
	size_t n = 0;

	if (local_len + domain_len + 3 > cap)
		return 0;
	buf[n++] = '<';
	memset(buf + n, 'l', local_len);
	n += local_len;
	buf[n++] = '@';
	fill_domain(buf + n, domain_len);
	n += domain_len;
	buf[n++] = '>';
	return n;
}

static void
test_path_limits(void)
{
	char buf[1024];
	char tmp[300];
	char label[80];
	struct smtp_path out;
	size_t consumed, n;

	n = make_path(buf, sizeof(buf), 64, 10);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_OK &&
	    out.local_len == 64, "local part of 64 octets");
	n = make_path(buf, sizeof(buf), 65, 10);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_LOCAL_TOO_LONG, "local part of 65 octets");
	n = make_path(buf, sizeof(buf), 500, 10);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_LOCAL_TOO_LONG, "local part of 500 octets");

	/* "\"" 62 "\"" = 64 with quotes */
	n = 0;
	buf[n++] = '<';
	buf[n++] = '"';
	memset(buf + n, 'q', 62);
	n += 62;
	memcpy(buf + n, "\"@b>", 4);
	n += 4;
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_OK,
	    "quoted local part of 64 octets with its quotes");
	buf[2] = 'q';
	memmove(buf + 3, buf + 2, n - 2);
	buf[2] = 'q';
	n++;
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_LOCAL_TOO_LONG, "quoted local part of 65 octets");

	/* <L@D> is 256 octets with a 64-octet local part and 189 of domain */
	n = make_path(buf, sizeof(buf), 64, 189);
	ok(n == 256 && smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_OK && out.len == 254 && consumed == 256,
	    "path of exactly 256 octets");
	n = make_path(buf, sizeof(buf), 64, 190);
	ok(n == 257 && smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_PATH_TOO_LONG, "path of 257 octets");
	n = make_path(buf, sizeof(buf), 1, 255);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_PATH_TOO_LONG, "domain of 255 octets makes the path long");
	n = make_path(buf, sizeof(buf), 1, 256);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_DOMAIN_TOO_LONG, "domain of 256 octets");
	n = make_path(buf, sizeof(buf), 65, 256);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_LOCAL_TOO_LONG, "both too long: the local part is named");
	n = make_path(buf, sizeof(buf), 1, 900);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_DOMAIN_TOO_LONG, "domain of 900 octets");

	/* a source route counts toward the path: 63 + 193 octets */
	memcpy(buf, "<@", 2);
	n = 2;
	memset(buf + n, 'r', 60);
	n += 60;
	buf[n++] = ':';
	ok(make_path(tmp, sizeof(tmp), 64, 127) == 194, "route test setup");
	memcpy(buf + n, tmp + 1, 193);
	n += 193;
	ok(n == 256 && smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_OK && out.len == 192 && consumed == 256,
	    "path of 256 octets with a route");
	memmove(buf + 3, buf + 2, n - 2);
	n++;
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) ==
	    ADDR_PATH_TOO_LONG, "path of 257 octets with a route");

	/* labels: 63 octets at most */
	memset(label, 'x', 64);
	n = (size_t)snprintf(buf, sizeof(buf), "<a@%.63s.com>", label);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_OK,
	    "label of 63 octets");
	n = (size_t)snprintf(buf, sizeof(buf), "<a@%.64s.com>", label);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_SYNTAX,
	    "label of 64 octets");
	n = (size_t)snprintf(buf, sizeof(buf), "<a@com.%.64s>", label);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_SYNTAX,
	    "last label of 64 octets");
	n = (size_t)snprintf(buf, sizeof(buf), "<@%.64s:a@b>", label);
	ok(smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_SYNTAX,
	    "route label of 64 octets");
}

struct v6_case {
	const char *addr;
	int valid;
};

/* RFC 5321 §4.1.3 IPv6-addr, inside "[IPv6:...]". */
static const struct v6_case v6_cases[] = {
	{ "1:2:3:4:5:6:7:8", 1 },
	{ "ffff:FFFF:0:00:000:0000:abcd:ABCD", 1 },
	{ "2001:db8:0:0:0:0:0:1", 1 },
	{ "::", 1 },
	{ "::1", 1 },
	{ "1::", 1 },
	{ "1::2", 1 },
	{ "2001:db8::1", 1 },
	{ "1:2:3::4:5:6", 1 },
	{ "1:2:3:4:5:6::", 1 },
	{ "::1:2:3:4:5:6", 1 },
	{ "1:2:3:4:5:6:1.2.3.4", 1 },
	{ "::1.2.3.4", 1 },
	{ "::ffff:192.0.2.1", 1 },
	{ "1::1.2.3.4", 1 },
	{ "1:2:3:4::1.2.3.4", 1 },
	{ "::1:2:3:4:1.2.3.4", 1 },
	{ "1:2::3:4:1.2.3.4", 1 },
	{ "", 0 },
	{ ":", 0 },
	{ ":::", 0 },
	{ "1", 0 },
	{ "1:2:3:4:5:6:7", 0 },
	{ "1:2:3:4:5:6:7:8:9", 0 },
	{ "1::2::3", 0 },
	{ "::1::", 0 },
	{ ":1::", 0 },
	{ "::1:", 0 },
	{ "1:", 0 },
	{ ":1", 0 },
	{ "1:::2", 0 },
	{ "12345::", 0 },
	{ "::12345", 0 },
	{ "g::", 0 },
	{ "1:2:3:4:5:6:7::", 0 },	/* "::" must stand for 2+ groups */
	{ "::1:2:3:4:5:6:7", 0 },
	{ "1:2:3::4:5:6:7", 0 },
	{ "1:2:3:4:5::1.2.3.4", 0 },
	{ "1:2:3:4:5:6:7:1.2.3.4", 0 },
	{ "1:2:3:4:5:1.2.3.4", 0 },
	{ "1.2.3.4", 0 },
	{ "::1.2.3", 0 },
	{ "::1.2.3.256", 0 },
	{ "::1.2.3.4:1", 0 },
	{ "::1.2.3.4.5", 0 },
	{ "::a.b.c.d", 0 },
	{ "::1.2.3.4::", 0 },
	{ "1:2:3:4:5:6:7:8 ", 0 },
	{ " ::1", 0 },
	{ "::-1", 0 },
};

static void
test_ipv6(void)
{
	char buf[128];
	struct smtp_path out;
	size_t i, n, consumed;

	for (i = 0; i < N(v6_cases); i++) {
		int r, helo;

		n = (size_t)snprintf(buf, sizeof(buf), "<a@[IPv6:%s]>",
		    v6_cases[i].addr);
		r = smtp_parse_path(buf, n, 0, &out, &consumed) == ADDR_OK;
		ok(r == v6_cases[i].valid, "IPv6 '%s' %s in a path",
		    v6_cases[i].addr, v6_cases[i].valid ? "valid" : "invalid");
		n = (size_t)snprintf(buf, sizeof(buf), "[IPv6:%s]",
		    v6_cases[i].addr);
		helo = smtp_is_helo_name(buf, n, 0);
		ok(helo == v6_cases[i].valid, "IPv6 '%s' %s as HELO",
		    v6_cases[i].addr, v6_cases[i].valid ? "valid" : "invalid");
	}
}

struct helo_case {
	const char *in;
	size_t len;
	int allow_utf8;
	int valid;
};

static const struct helo_case helo_cases[] = {
	{ "localhost", 0, 0, 1 },
	{ "mail.example.com", 0, 0, 1 },
	{ "MAIL.Example.COM", 0, 0, 1 },
	{ "a", 0, 0, 1 },
	{ "1", 0, 0, 1 },
	{ "a-b.c", 0, 0, 1 },
	{ "[192.0.2.1]", 0, 0, 1 },
	{ "[IPv6:2001:db8::1]", 0, 0, 1 },
	{ "[tag:stuff]", 0, 0, 1 },
	{ "", 0, 0, 0 },
	{ "example.com.", 0, 0, 0 },
	{ ".example.com", 0, 0, 0 },
	{ "a..b", 0, 0, 0 },
	{ "-a", 0, 0, 0 },
	{ "a-", 0, 0, 0 },
	{ "a_b", 0, 0, 0 },
	{ "a b", 0, 0, 0 },
	{ "a b.c", 0, 0, 0 },
	{ "a\tb", 0, 0, 0 },
	{ "a\0b", 3, 0, 0 },
	{ "a\r", 0, 0, 0 },
	{ "192.0.2.1", 0, 0, 1 },	/* a Domain by the grammar */
	{ "[192.0.2.256]", 0, 0, 0 },
	{ "[192.0.2.1", 0, 0, 0 },
	{ "[192.0.2.1]x", 0, 0, 0 },
	{ "[]", 0, 0, 0 },
	{ "<a>", 0, 0, 0 },
	{ "user@host", 0, 0, 0 },
	{ "b\xc3\xbc" "cher.example", 0, 1, 1 },
	{ "b\xc3\xbc" "cher.example", 0, 0, 0 },
	{ "b\xfc" "cher.example", 0, 1, 0 },
	{ "\xe4\xbe\x8b\xe3\x81\x88", 0, 1, 1 },
};

static void
test_helo(void)
{
	char buf[400];
	size_t i;

	for (i = 0; i < N(helo_cases); i++) {
		const struct helo_case *c = &helo_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);

		ok(smtp_is_helo_name(c->in, len, c->allow_utf8) == c->valid,
		    "helo %zu '%s' utf8 %d", i, show(c->in, len),
		    c->allow_utf8);
	}

	fill_domain(buf, 255);
	ok(smtp_is_helo_name(buf, 255, 0), "helo name of 255 octets");
	fill_domain(buf, 256);
	ok(!smtp_is_helo_name(buf, 256, 0), "helo name of 256 octets");
	memset(buf, 'h', 64);
	ok(smtp_is_helo_name(buf, 63, 0), "helo label of 63 octets");
	ok(!smtp_is_helo_name(buf, 64, 0), "helo label of 64 octets");
	ok(smtp_is_helo_name("a.b.", 3, 0), "helo honours len ('a.b')");
	ok(!smtp_is_helo_name("[1.2.3.4]", 8, 0),
	    "helo honours len ('[1.2.3.4')");
}

/* smtp_is_helo_arg: what HELO/EHLO accept (issue 14). */
static const struct helo_case helo_arg_cases[] = {
	{ "my_pc", 0, 0, 1 },
	{ "DESKTOP-AB_12", 0, 0, 1 },
	{ "-a", 0, 0, 1 },
	{ "a-", 0, 0, 1 },
	{ "example.com.", 0, 0, 1 },
	{ "a..b", 0, 0, 1 },
	{ "[192.0.2.1", 0, 0, 1 },
	{ "user@host", 0, 0, 1 },
	{ "x)by(evil;\\\"<>", 0, 0, 1 },
	{ "!", 0, 0, 1 },
	{ "~", 0, 0, 1 },
	{ "", 0, 0, 0 },
	{ "a b", 0, 0, 0 },
	{ " a", 0, 0, 0 },
	{ "a ", 0, 0, 0 },
	{ "a\tb", 0, 0, 0 },
	{ "a\r", 0, 0, 0 },
	{ "a\n", 0, 0, 0 },
	{ "a\x7f", 0, 0, 0 },
	{ "a\x01", 0, 0, 0 },
	{ "a\0b", 3, 0, 0 },
	{ "b\xc3\xbc" "cher.example", 0, 0, 0 },
	{ "a\xc2\x85", 0, 0, 0 },	/* U+0085 NEL */
};

static void
test_helo_arg(void)
{
	char buf[400];
	size_t i;
	unsigned c;
	int all = 1;

	for (i = 0; i < N(helo_arg_cases); i++) {
		const struct helo_case *h = &helo_arg_cases[i];
		size_t len = h->len ? h->len : strlen(h->in);

		ok(smtp_is_helo_arg(h->in, len) == h->valid,
		    "helo argument '%s' %s", show(h->in, len),
		    h->valid ? "taken" : "refused");
	}
	for (c = 0; c < 256; c++) {
		buf[0] = 'a';
		buf[1] = (char)c;
		if (smtp_is_helo_arg(buf, 2) != (c >= 0x21 && c <= 0x7e))
			all = 0;
	}
	ok(all, "helo argument: exactly the octets 0x21-0x7E");
	all = 1;
	for (i = 0; i < N(helo_cases); i++) {
		const struct helo_case *h = &helo_cases[i];
		size_t len = h->len ? h->len : strlen(h->in);

		if (h->valid && !h->allow_utf8 &&
		    !smtp_is_helo_arg(h->in, len))
			all = 0;
	}
	ok(all, "every ASCII HELO name is a helo argument");
	memset(buf, '_', 256);
	ok(smtp_is_helo_arg(buf, 255), "helo argument of 255 octets");
	ok(!smtp_is_helo_arg(buf, 256), "helo argument of 256 octets");
}

struct mail_param_case {
	const char *in;
	int allow_binary;
	enum param_result want;
	/* on PARAM_OK */
	int has_size;
	uint64_t size;
	enum smtp_body_type body;
	int smtputf8;
	const char *auth;	/* NULL: no AUTH= */
};

#define B7 SMTP_BODY_7BIT
#define B8 SMTP_BODY_8BITMIME
#define BB SMTP_BODY_BINARYMIME

static const struct mail_param_case mail_param_cases[] = {
	{ "", 0, PARAM_OK, 0, 0, B7, 0, NULL },
	{ " ", 0, PARAM_OK, 0, 0, B7, 0, NULL },
	{ "   ", 0, PARAM_OK, 0, 0, B7, 0, NULL },
	{ " SIZE=0", 0, PARAM_OK, 1, 0, B7, 0, NULL },
	{ " SIZE=12345", 0, PARAM_OK, 1, 12345, B7, 0, NULL },
	{ " size=7", 0, PARAM_OK, 1, 7, B7, 0, NULL },
	{ " SiZe=7", 0, PARAM_OK, 1, 7, B7, 0, NULL },
	{ " SIZE=18446744073709551615", 0, PARAM_OK, 1, UINT64_MAX, B7, 0,
	    NULL },
	{ " SIZE=18446744073709551616", 0, PARAM_SIZE_OVERFLOW, 0, 0, B7, 0,
	    NULL },
	{ " SIZE=99999999999999999999", 0, PARAM_SIZE_OVERFLOW, 0, 0, B7, 0,
	    NULL },
	{ " SIZE=999999999999999999999999999999", 0, PARAM_SIZE_OVERFLOW, 0,
	    0, B7, 0, NULL },
	{ " SIZE=00000000000000000001", 0, PARAM_OK, 1, 1, B7, 0, NULL },
	{ " SIZE=000000000000000000001", 0, PARAM_BAD_VALUE, 0, 0, B7, 0,
	    NULL },
	{ " SIZE", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE=-1", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=+1", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=1k", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=0x10", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	/* A repeat with the same value is taken (issue 14), another
	 * value is a conflict. */
	{ " SIZE=1 SIZE=1", 0, PARAM_OK, 1, 1, B7, 0, NULL },
	{ " SIZE=1 size=01", 0, PARAM_OK, 1, 1, B7, 0, NULL },
	{ " SIZE=1 size=2", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=0 SIZE=0 SIZE=1", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=1 SIZE=x", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SIZE=1 SIZE", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },

	{ " BODY=7BIT", 0, PARAM_OK, 0, 0, B7, 0, NULL },
	{ " BODY=8BITMIME", 0, PARAM_OK, 0, 0, B8, 0, NULL },
	{ " body=8bitmime", 0, PARAM_OK, 0, 0, B8, 0, NULL },
	{ " BODY=BINARYMIME", 1, PARAM_OK, 0, 0, BB, 0, NULL },
	{ " BODY=binarymime", 1, PARAM_OK, 0, 0, BB, 0, NULL },
	{ " BODY=BINARYMIME", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY=8BIT", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY=8BITMIMEX", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY=7BIT BODY=8BITMIME", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY=8BITMIME BODY=7BIT", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY=8BITMIME body=8bitmime", 0, PARAM_OK, 0, 0, B8, 0, NULL },
	{ " BODY=7BIT BODY=7bit", 0, PARAM_OK, 0, 0, B7, 0, NULL },
	{ " BODY=BINARYMIME BODY=BinaryMIME", 1, PARAM_OK, 0, 0, BB, 0,
	    NULL },
	{ " BODY=8BITMIME BODY=BINARYMIME", 1, PARAM_BAD_VALUE, 0, 0, B7, 0,
	    NULL },
	{ " BODY=8BITMIME BODY=8BIT", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " BODY=8BITMIME BODY", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },

	{ " SMTPUTF8", 0, PARAM_OK, 0, 0, B7, 1, NULL },
	{ " smtputf8", 0, PARAM_OK, 0, 0, B7, 1, NULL },
	{ " SMTPUTF8=yes", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " SMTPUTF8 SMTPUTF8", 0, PARAM_OK, 0, 0, B7, 1, NULL },
	{ " SMTPUTF8 smtputf8 SMTPUTF8", 0, PARAM_OK, 0, 0, B7, 1, NULL },
	{ " SMTPUTF8 SMTPUTF8=yes", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	/* what Python's smtplib sends when the caller adds SMTPUTF8 or
	 * BODY=8BITMIME to what it adds itself for a non-ASCII address */
	{ " size=42 SMTPUTF8 SMTPUTF8 BODY=8BITMIME", 0, PARAM_OK, 1, 42, B8,
	    1, NULL },
	{ " size=42 BODY=8BITMIME SMTPUTF8 BODY=8BITMIME", 0, PARAM_OK, 1, 42,
	    B8, 1, NULL },

	{ " AUTH=<>", 0, PARAM_OK, 0, 0, B7, 0, "<>" },
	{ " AUTH=joe@example.com", 0, PARAM_OK, 0, 0, B7, 0,
	    "joe@example.com" },
	{ " auth=a+2Bb@c", 0, PARAM_OK, 0, 0, B7, 0, "a+b@c" },
	{ " AUTH=+3Cjoe+40x+3E", 0, PARAM_OK, 0, 0, B7, 0, "<joe@x>" },
	{ " AUTH=\"a+20b\"@c", 0, PARAM_OK, 0, 0, B7, 0, "\"a b\"@c" },
	{ " AUTH=+3D", 0, PARAM_OK, 0, 0, B7, 0, "=" },
	{ " AUTH=a+2bb@c", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=a+2", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=a+", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=+G0", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=a+00b", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=a+0Ab", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=a+7F", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=a+C3+A9", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=<> AUTH=<>", 0, PARAM_OK, 0, 0, B7, 0, "<>" },
	{ " AUTH=a+2Bb@c AUTH=a+2Bb@c", 0, PARAM_OK, 0, 0, B7, 0, "a+b@c" },
	{ " AUTH=<> AUTH=x@y", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=x@yz AUTH=x@y", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=x@y AUTH=x@yz", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },
	{ " AUTH=x@y AUTH=X@y", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },

	{ " SIZE=100 BODY=8BITMIME SMTPUTF8 AUTH=<>", 0, PARAM_OK, 1, 100, B8,
	    1, "<>" },
	{ " AUTH=x@y SMTPUTF8 body=7bit SIZE=5", 0, PARAM_OK, 1, 5, B7, 1,
	    "x@y" },
	{ "  SIZE=1   BODY=8BITMIME  ", 0, PARAM_OK, 1, 1, B8, 0, NULL },

	{ " RET=FULL", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " ENVID=abc", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " SIZE=1 FOO", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " SIZES=1", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " X-FOO=bar", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " 1=2", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " FOO SIZE=x", 0, PARAM_UNKNOWN, 0, 0, B7, 0, NULL },
	{ " SIZE=x FOO", 0, PARAM_BAD_VALUE, 0, 0, B7, 0, NULL },

	{ "SIZE=1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " -SIZE=1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE =1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE= 1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE=1=2", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE_X=1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " =1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ "\tSIZE=1", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE=1\t", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE=1\r\n", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " AUTH=a\x7f", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " AUTH=\xc3\xa9", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " FOO=1 garbage=", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
	{ " SIZE=1 ,", 0, PARAM_SYNTAX, 0, 0, B7, 0, NULL },
};

static void
test_mail_params(void)
{
	struct smtp_mail_params out;
	size_t i;
	char big[600];

	for (i = 0; i < N(mail_param_cases); i++) {
		const struct mail_param_case *c = &mail_param_cases[i];
		enum param_result r;

		r = smtp_parse_mail_params(c->in, strlen(c->in),
		    c->allow_binary, &out);
		if (!ok(r == c->want, "mail params %zu '%s' binary %d", i,
		    show(c->in, strlen(c->in)), c->allow_binary)) {
			diag("got %d, want %d", (int)r, (int)c->want);
			continue;
		}
		if (r != PARAM_OK)
			continue;
		ok(out.has_size == c->has_size && out.size == c->size &&
		    out.body == c->body && out.smtputf8 == c->smtputf8 &&
		    out.has_auth == (c->auth != NULL),
		    "mail params %zu values", i);
		if (c->auth != NULL)
			is_mem(out.auth, strlen(out.auth), c->auth,
			    "mail params AUTH value");
	}

	/* NUL inside the parameters */
	ok(smtp_parse_mail_params(" SIZE=1\0 BODY=7BIT", 18, 0, &out) ==
	    PARAM_SYNTAX, "NUL in mail params");
	/* len is honoured */
	ok(smtp_parse_mail_params(" SIZE=12345", 8, 0, &out) == PARAM_OK &&
	    out.size == 12, "mail params honour len");

	/* AUTH= decoded value: 320 octets fit, 321 do not */
	memcpy(big, " AUTH=", 6);
	memset(big + 6, 'a', 321);
	ok(smtp_parse_mail_params(big, 6 + 320, 0, &out) == PARAM_OK &&
	    strlen(out.auth) == 320, "AUTH value of 320 octets");
	ok(smtp_parse_mail_params(big, 6 + 321, 0, &out) == PARAM_BAD_VALUE,
	    "AUTH value of 321 octets");
	/* "+41" is three octets encoded, one decoded */
	for (i = 0; i < 180; i++)
		memcpy(big + 6 + 3 * i, "+41", 3);
	ok(smtp_parse_mail_params(big, 6 + 3 * 180, 0, &out) == PARAM_OK &&
	    strlen(out.auth) == 180 && out.auth[0] == 'A',
	    "AUTH value measured after decoding");
}

struct rcpt_param_case {
	const char *in;
	enum param_result want;
};

static const struct rcpt_param_case rcpt_param_cases[] = {
	{ "", PARAM_OK },
	{ " ", PARAM_OK },
	{ "    ", PARAM_OK },
	{ " NOTIFY=NEVER", PARAM_UNKNOWN },
	{ " ORCPT=rfc822;a@b", PARAM_UNKNOWN },
	{ " SIZE=1", PARAM_UNKNOWN },
	{ " FOO", PARAM_UNKNOWN },
	{ " FOO ", PARAM_UNKNOWN },
	{ "FOO", PARAM_SYNTAX },
	{ " FOO=", PARAM_SYNTAX },
	{ " =x", PARAM_SYNTAX },
	{ " FOO BAR=", PARAM_SYNTAX },
	{ "\t", PARAM_SYNTAX },
	{ " x\x01", PARAM_SYNTAX },
	{ " <a@b>", PARAM_SYNTAX },
};

static void
test_rcpt_params(void)
{
	size_t i;

	for (i = 0; i < N(rcpt_param_cases); i++) {
		const struct rcpt_param_case *c = &rcpt_param_cases[i];
		enum param_result r;

		r = smtp_parse_rcpt_params(c->in, strlen(c->in));
		if (!ok(r == c->want, "rcpt params '%s'",
		    show(c->in, strlen(c->in))))
			diag("got %d, want %d", (int)r, (int)c->want);
	}
	ok(smtp_parse_rcpt_params(" \0", 2) == PARAM_SYNTAX,
	    "NUL in rcpt params");
}

/* c as UTF-8 into out (no NUL); its length. */
static size_t
utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * issue 13 item 6: the C1 controls, U+2028, U+2029 and the bidirectional
 * controls are refused wherever UTF-8 is allowed (local part, quoted
 * local part, domain, HELO), as ADDR_FORBIDDEN_CHAR; their neighbours
 * pass.  Every code point of each range is tried in every position.
 */
static void
test_forbidden_code_points(void)
{
	static const uint32_t refused[][2] = {
		{ 0x80, 0x9f }, { 0x2028, 0x2029 }, { 0x061c, 0x061c },
		{ 0x200e, 0x200f }, { 0x202a, 0x202e }, { 0x2066, 0x2069 },
	};
	static const uint32_t allowed[] = {
		0xa0, 0xff, 0x061b, 0x061d, 0x200b, 0x200d, 0x2027,
		0x202f, 0x2065, 0x206a, 0x1f600,
	};
	static const char *const shape[] = { "<a%sb@example.org>",
	    "<\"a%sb\"@example.org>", "<victim@evil.com%sx.example.org>",
	    "<a@b%sc.example.org>" };
	char ch[8];
	char in[128];
	char helo[64];
	struct smtp_path out;
	size_t consumed, n, i, k, len;
	uint32_t c, got;
	int bad = 0;
	int tried = 0;

	for (i = 0; i < N(refused); i++) {
		for (c = refused[i][0]; c <= refused[i][1]; c++) {
			n = utf8_put(ch, c);
			ch[n] = '\0';
			ok(smtp_utf8_decode(ch, n, &got) == n && got == c &&
			    smtp_is_forbidden_code_point(c),
			    "U+%04X is a forbidden code point", (unsigned)c);
			for (k = 0; k < N(shape); k++) {
				len = (size_t)snprintf(in, sizeof(in),
				    shape[k], ch);
				tried++;
				if (smtp_parse_path(in, len, ALL, &out,
				    &consumed) != ADDR_FORBIDDEN_CHAR) {
					diag("U+%04X in '%s' not refused",
					    (unsigned)c, show(in, len));
					bad++;
				}
			}
			len = (size_t)snprintf(helo, sizeof(helo),
			    "a%sb.example", ch);
			if (smtp_is_helo_name(helo, len, 1)) {
				diag("U+%04X in a HELO name", (unsigned)c);
				bad++;
			}
		}
	}
	ok(bad == 0, "forbidden code points refused in %d paths and every "
	    "HELO name (%d not)", tried, bad);
	/* The attack of issue 13 as a test name shows it. */
	ok(smtp_parse_path("<victim@evil.com\xe2\x80\xa8x.example.org>", 31,
	    ALL, &out, &consumed) == ADDR_FORBIDDEN_CHAR,
	    "<victim@evil.com U+2028 x.example.org> is refused");
	for (i = 0; i < N(allowed); i++) {
		c = allowed[i];
		n = utf8_put(ch, c);
		ch[n] = '\0';
		ok(!smtp_is_forbidden_code_point(c) &&
		    smtp_utf8_decode(ch, n, &got) == n && got == c,
		    "U+%04X is allowed", (unsigned)c);
		for (k = 0; k < N(shape); k++) {
			len = (size_t)snprintf(in, sizeof(in), shape[k], ch);
			ok(smtp_parse_path(in, len, ALL, &out, &consumed) ==
			    ADDR_OK && consumed == len,
			    "U+%04X passes in '%s'", (unsigned)c,
			    show(in, len));
		}
		len = (size_t)snprintf(helo, sizeof(helo), "a%sb.example", ch);
		ok(smtp_is_helo_name(helo, len, 1),
		    "U+%04X passes in a UTF-8 HELO name", (unsigned)c);
	}
	/* Without SMTPUTF8 the octets are refused as non-ASCII first. */
	ok(smtp_parse_path("<a\xc2\x85@b>", 7, 0, &out, &consumed) ==
	    ADDR_UTF8_NOT_ALLOWED, "U+0085 without SMTPUTF8: 553 5.6.7");
	/* smtp_utf8_decode: ASCII and broken sequences are 0. */
	ok(smtp_utf8_decode("a", 1, &got) == 0, "decode: ASCII is 0");
	ok(smtp_utf8_decode("\xe2\x80", 2, &got) == 0,
	    "decode: truncated is 0");
	ok(smtp_utf8_decode("\xc0\x85", 2, &got) == 0,
	    "decode: overlong U+0005 is 0");
	ok(smtp_utf8_decode("", 0, &got) == 0, "decode: empty is 0");
}

int
main(void)
{
	test_path_table();
	test_path_parts();
	test_path_limits();
	test_ipv6();
	test_helo();
	test_helo_arg();
	test_mail_params();
	test_rcpt_params();
	test_forbidden_code_points();
	return tap_done();
}
