/*
 * test_header.c: the trace fields, exactly, and what hostile client
 * strings become in them.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../../deliver/header.h"
#include "../../lib/buf.h"
#include "tap.h"

static char mem[8192];

static struct envelope
base_env(const char *const *rcpts, size_t nrcpt)
{
	struct envelope env;

	memset(&env, 0, sizeof(env));
	env.sender = "alice@example.org";
	env.rcpts = rcpts;
	env.nrcpt = nrcpt;
	env.helo = "client.example.org";
	env.remote_ip = "192.0.2.7";
	env.remote_host = "mail.example.org";
	env.local_host = "mx.example.net";
	env.protocol = "ESMTPSA";
	env.auth_user = "alice";
	env.id = "1795927476.42";
	env.when = 1795927476;	/* Sun, 29 Nov 2026 04:44:36 +0000 */
	return env;
}

static void
test_exact(void)
{
	static const char *const one[] = { "bob@example.net" };
	static const char *const two[] = { "bob@example.net",
	    "carol@example.net" };
	struct envelope env;
	struct buf b;

	env = base_env(one, 1);
	buf_init(&b, mem, sizeof(mem));
	ok(header_return_path(&b, &env) == 0, "return-path");
	is_mem(b.p, b.len, "Return-Path: <alice@example.org>\n",
	    "return-path text");

	env.sender = "";
	buf_init(&b, mem, sizeof(mem));
	header_return_path(&b, &env);
	is_mem(b.p, b.len, "Return-Path: <>\n", "null sender");

	buf_init(&b, mem, sizeof(mem));
	ok(header_delivered_to(&b, "bob@example.net") == 0, "delivered-to");
	is_mem(b.p, b.len, "Delivered-To: bob@example.net\n",
	    "delivered-to text");

	env = base_env(one, 1);
	buf_init(&b, mem, sizeof(mem));
	ok(header_received(&b, &env) == 0, "received");
	is_mem(b.p, b.len,
	    "Received: from client.example.org "
	    "(mail.example.org [192.0.2.7])\n"
	    "\tby mx.example.net (smtpd) with ESMTPSA id 1795927476.42\n"
	    "\t(authenticated as alice)\n"
	    "\tfor <bob@example.net>;\n"
	    "\tSun, 29 Nov 2026 04:44:36 +0000\n",
	    "received, one rcpt, authenticated");

	env = base_env(two, 2);
	env.auth_user = NULL;
	env.remote_host = NULL;
	env.protocol = "ESMTP";
	env.when = 951868799;
	buf_init(&b, mem, sizeof(mem));
	header_received(&b, &env);
	is_mem(b.p, b.len,
	    "Received: from client.example.org ([192.0.2.7])\n"
	    "\tby mx.example.net (smtpd) with ESMTP id 1795927476.42;\n"
	    "\tTue, 29 Feb 2000 23:59:59 +0000\n",
	    "received, two rcpts, no host, no auth");

	env = base_env(one, 1);
	env.remote_ip = "2001:db8::1";
	env.auth_user = NULL;
	env.when = 1;
	buf_init(&b, mem, sizeof(mem));
	header_received(&b, &env);
	is_mem(b.p, b.len,
	    "Received: from client.example.org "
	    "(mail.example.org [IPv6:2001:db8::1])\n"
	    "\tby mx.example.net (smtpd) with ESMTPSA id 1795927476.42\n"
	    "\tfor <bob@example.net>;\n"
	    "\tThu, 01 Jan 1970 00:00:01 +0000\n",
	    "received, IPv6 literal");

	env = base_env(one, 1);
	env.remote_ip = "unknown";
	env.remote_host = NULL;
	env.auth_user = NULL;
	env.when = 1;
	buf_init(&b, mem, sizeof(mem));
	header_received(&b, &env);
	is_mem(b.p, b.len,
	    "Received: from client.example.org (unknown)\n"
	    "\tby mx.example.net (smtpd) with ESMTPSA id 1795927476.42\n"
	    "\tfor <bob@example.net>;\n"
	    "\tThu, 01 Jan 1970 00:00:01 +0000\n",
	    "received, no known peer: no address literal");
}

/* Does p[0, len) hold the string s? */
static int
contains(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);
	size_t i;

	for (i = 0; i + n <= len; i++) {
		if (memcmp(p + i, s, n) == 0)
			return 1;
	}
	return 0;
}

static void
test_hostile(void)
{
	static const char *const evil[] = {
	    "\"x\r\nBcc: z\"@example.net" };
	struct envelope env;
	struct buf b;

	env = base_env(evil, 1);
	env.helo = "a\r\nX-Injected: 1";
	env.remote_host = "h) (forged [1.2.3.4]";
	env.auth_user = "u)\n\tfor <victim@x>;\\";
	env.sender = "<a>\n;@b";
	env.protocol = "ESMTP\nX: y";
	buf_init(&b, mem, sizeof(mem));
	ok(header_received(&b, &env) == 0, "hostile received fits");
	is_mem(b.p, b.len,
	    "Received: from [192.0.2.7] "
	    "(h?\?\?forged?\?1.2.3.4\? [192.0.2.7]) (helo=a??X-Injected:?1)\n"
	    "\tby mx.example.net (smtpd) with ESMTP?X:?y id 1795927476.42\n"
	    "\t(authenticated as u?\?\?for?\?victim@x?\?\?)\n"
	    "\tfor <\"x??Bcc: z\"@example.net>;\n"
	    "\tSun, 29 Nov 2026 04:44:36 +0000\n",
	    "hostile received sanitized");
	ok(memchr(b.p, '\r', b.len) == NULL, "no CR anywhere");

	buf_init(&b, mem, sizeof(mem));
	header_return_path(&b, &env);
	is_mem(b.p, b.len, "Return-Path: <?a???@b>\n",
	    "hostile sender sanitized");
	buf_init(&b, mem, sizeof(mem));
	header_delivered_to(&b, evil[0]);
	is_mem(b.p, b.len, "Delivered-To: \"x??Bcc: z\"@example.net\n",
	    "hostile rcpt sanitized (CR LF gone, the quoted space kept)");
	/* A quoted local part keeps its space and specials (RFC 5321
	 * §4.1.2); the envelope is stored as the client gave it. */
	env.sender = "\"john (x) <doe>; \\\"q\"@example.org";
	buf_init(&b, mem, sizeof(mem));
	header_return_path(&b, &env);
	is_mem(b.p, b.len,
	    "Return-Path: <\"john (x) <doe>; \\\"q\"@example.org>\n",
	    "quoted local part kept as sent");

	/* Valid UTF-8 is kept, invalid octets are not. */
	buf_init(&b, mem, sizeof(mem));
	header_delivered_to(&b, "j\xc3\xb6rg@example.net");
	is_mem(b.p, b.len, "Delivered-To: j\xc3\xb6rg@example.net\n",
	    "valid UTF-8 kept");
	buf_init(&b, mem, sizeof(mem));
	header_delivered_to(&b, "j\xc3rg\xc0\xaf@example.net");
	is_mem(b.p, b.len, "Delivered-To: j?rg??@example.net\n",
	    "invalid UTF-8 replaced");
	buf_init(&b, mem, sizeof(mem));
	header_delivered_to(&b, "\xed\xa0\x80@x");
	is_mem(b.p, b.len, "Delivered-To: ???@x\n", "surrogate replaced");

	/* issue 13 item 6: C1 controls, U+2028, U+2029 and bidirectional
	 * controls never reach a header (proto/ refuses them; the writer
	 * does not rely on it), in valid UTF-8 that is otherwise kept. */
	buf_init(&b, mem, sizeof(mem));
	header_delivered_to(&b, "v@evil.com\xe2\x80\xa8x.\xc3\xa9.org");
	is_mem(b.p, b.len, "Delivered-To: v@evil.com???x.\xc3\xa9.org\n",
	    "U+2028 in Delivered-To: replaced, U+00E9 kept");
	env.sender = "\"a\xc2\x85\xe2\x80\xae\xe2\x80\xa9\"@b\xc2\xa0";
	buf_init(&b, mem, sizeof(mem));
	header_return_path(&b, &env);
	is_mem(b.p, b.len, "Return-Path: <\"a????????\"@b\xc2\xa0>\n",
	    "NEL, RLO, U+2029 in Return-Path: replaced, U+00A0 kept");
	env.helo = "h\xe2\x81\xa6.example";
	env.sender = "a@b";
	buf_init(&b, mem, sizeof(mem));
	/* Not a domain: the name goes to the helo= comment, replaced. */
	ok(header_received(&b, &env) == 0 &&
	    contains(b.p, b.len, "helo=h???.example)") &&
	    !contains(b.p, b.len, "\xe2\x81\xa6"),
	    "U+2066 in the HELO of Received: replaced");
}

/*
 * HELO names that are no domain (issue 14): the "from" clause gets the
 * peer's address literal, the name a comment of its own; nothing the
 * name holds can end the comment or add a clause.
 */
static void
test_helo_names(void)
{
	static const char *const one[] = { "bob@example.net" };
	static const struct {
		const char *helo;
		const char *first;	/* the first line of Received: */
	} cases[] = {
		{ "my_pc", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=my_pc)\n" },
		{ "DESKTOP-AB_12", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=DESKTOP-AB_12)\n" },
		{ "-bad-", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=-bad-)\n" },
		{ "x)by(evil.example;", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=x?by?evil.example?)\n" },
		{ "a\\)by[1.2.3.4]\\(", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=a?\?by[1.2.3.4]?\?)\n" },
		{ "<x>\"q\"=", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=?x?\"q\"=)\n" },
		{ "example.com.", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7]) (helo=example.com.)\n" },
		/* names that are a Domain or an address literal: as before */
		{ "client.example.org", "Received: from client.example.org "
		    "(mail.example.org [192.0.2.7])\n" },
		{ "PC1", "Received: from PC1 (mail.example.org [192.0.2.7])\n" },
		{ "[192.0.2.7]", "Received: from [192.0.2.7] "
		    "(mail.example.org [192.0.2.7])\n" },
		{ "[IPv6:2001:db8::1]", "Received: from [IPv6:2001:db8::1] "
		    "(mail.example.org [192.0.2.7])\n" },
	};
	struct envelope env;
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].first);

		env = base_env(one, 1);
		env.helo = cases[i].helo;
		buf_init(&b, mem, sizeof(mem));
		ok(header_received(&b, &env) == 0, "helo %s fits",
		    cases[i].helo);
		is_mem(b.p, b.len < n ? b.len : n, cases[i].first,
		    "  ... its first line");
		ok(b.len > n && memcmp(b.p + n, "\tby mx.example.net (smtpd) "
		    "with ESMTPSA id 1795927476.42\n", 50) == 0,
		    "  ... then the by clause");
	}

	/* An IPv6 peer, and no known peer at all (smtpd on pipes). */
	env = base_env(one, 1);
	env.helo = "my_pc";
	env.remote_ip = "2001:db8::1";
	env.remote_host = NULL;
	buf_init(&b, mem, sizeof(mem));
	header_received(&b, &env);
	{
		static const char want[] = "Received: from [IPv6:2001:db8::1] "
		    "([IPv6:2001:db8::1]) (helo=my_pc)\n";

		is_mem(b.p, sizeof(want) - 1, want, "helo my_pc, IPv6 peer");
	}
	env.remote_ip = "unknown";
	buf_init(&b, mem, sizeof(mem));
	header_received(&b, &env);
	{
		static const char want[] =
		    "Received: from unknown (unknown) (helo=my_pc)\n";

		is_mem(b.p, sizeof(want) - 1, want,
		    "helo my_pc, no known peer");
	}
}

static void
test_bounds(void)
{
	static const char *const one[] = { "bob@example.net" };
	char longname[2000];
	char small[40];
	struct envelope env;
	struct buf b;
	size_t i;
	int fits_nowhere = 1;

	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	env = base_env(one, 1);
	env.helo = longname;
	env.remote_host = longname;
	env.auth_user = longname;
	buf_init(&b, mem, sizeof(mem));
	ok(header_received(&b, &env) == 0, "long names fit");
	ok(b.len < 1200, "each piece is bounded (%zu)", b.len);

	/* A UTF-8 character is not cut in half at the bound. */
	for (i = 0; i + 2 < sizeof(longname); i += 2) {
		longname[i] = '\xc3';
		longname[i + 1] = '\xa9';
	}
	env.helo = longname;
	buf_init(&b, mem, sizeof(mem));
	header_received(&b, &env);
	{
		/* not a HELO name: it is in the helo= comment */
		static const char at[] = " (helo=";
		const char *h = b.p;
		size_t left = b.len;

		while (left >= sizeof(at) - 1 &&
		    memcmp(h, at, sizeof(at) - 1) != 0) {
			h++;
			left--;
		}
		ok(left > sizeof(at) + 256 &&
		    memcmp(h + 7, "\xc3\xa9", 2) == 0 &&
		    memcmp(h + 7 + 254, ")\n", 2) == 0,
		    "cut at a character boundary");
	}

	env = base_env(one, 1);
	buf_init(&b, small, sizeof(small));
	ok(header_received(&b, &env) == -1 && b.overflow && b.len == 0,
	    "too small: -1, nothing appended");
	buf_init(&b, small, sizeof(small));
	buf_adds(&b, "keep");
	ok(header_return_path(&b, &env) == 0, "return-path fits");
	ok(header_delivered_to(&b, "somebody-long@example.net") == -1 &&
	    b.len == 37, "failed header leaves earlier ones");
	for (i = 0; i < 30; i++) {
		buf_init(&b, small, i);
		fits_nowhere &= header_received(&b, &env) == -1 && b.len == 0;
	}
	ok(fits_nowhere, "every small size fails cleanly");
}

/* Dates as Python's datetime (proleptic Gregorian, UTC) writes them with
 * "%a, %d %b %Y %H:%M:%S +0000"; outside 1900-9999 the epoch.  Leap
 * days, the century rules (1900 and 2100 are not leap years, 2000 and
 * 2400 are), both ends of the range, and 40 random instants between. */
static const struct {
	long long when;
	const char *date;
} python_dates[] = {
	{ -2208988800LL, "Mon, 01 Jan 1900 00:00:00 +0000" },
	{ -2203891201LL, "Wed, 28 Feb 1900 23:59:59 +0000" },
	{ -2203891200LL, "Thu, 01 Mar 1900 00:00:00 +0000" },
	{ -2177452801LL, "Mon, 31 Dec 1900 23:59:59 +0000" },
	{ -2177452800LL, "Tue, 01 Jan 1901 00:00:00 +0000" },
	{ -2077704000LL, "Mon, 29 Feb 1904 12:00:00 +0000" },
	{ -1LL, "Wed, 31 Dec 1969 23:59:59 +0000" },
	{ 0LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 1LL, "Thu, 01 Jan 1970 00:00:01 +0000" },
	{ 68169600LL, "Tue, 29 Feb 1972 00:00:00 +0000" },
	{ 946684799LL, "Fri, 31 Dec 1999 23:59:59 +0000" },
	{ 946684800LL, "Sat, 01 Jan 2000 00:00:00 +0000" },
	{ 951782399LL, "Mon, 28 Feb 2000 23:59:59 +0000" },
	{ 951782400LL, "Tue, 29 Feb 2000 00:00:00 +0000" },
	{ 951868799LL, "Tue, 29 Feb 2000 23:59:59 +0000" },
	{ 951868800LL, "Wed, 01 Mar 2000 00:00:00 +0000" },
	{ 978307199LL, "Sun, 31 Dec 2000 23:59:59 +0000" },
	{ 978307200LL, "Mon, 01 Jan 2001 00:00:00 +0000" },
	{ 1709188200LL, "Thu, 29 Feb 2024 06:30:00 +0000" },
	{ 1795927476LL, "Sun, 29 Nov 2026 04:44:36 +0000" },
	{ 2147483647LL, "Tue, 19 Jan 2038 03:14:07 +0000" },
	{ 2147483648LL, "Tue, 19 Jan 2038 03:14:08 +0000" },
	{ 4107542399LL, "Sun, 28 Feb 2100 23:59:59 +0000" },
	{ 4107542400LL, "Mon, 01 Mar 2100 00:00:00 +0000" },
	{ 4107542401LL, "Mon, 01 Mar 2100 00:00:01 +0000" },
	{ 13574563200LL, "Tue, 29 Feb 2400 00:00:00 +0000" },
	{ 13574649600LL, "Wed, 01 Mar 2400 00:00:00 +0000" },
	{ 26197347723LL, "Tue, 29 Feb 2800 01:02:03 +0000" },
	{ 253375776000LL, "Sun, 28 Feb 9999 00:00:00 +0000" },
	{ 253375862400LL, "Mon, 01 Mar 9999 00:00:00 +0000" },
	{ 253402300799LL, "Fri, 31 Dec 9999 23:59:59 +0000" },
	{ -2208988801LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 253402300800LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ -1099511627776LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 1099511627776LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ -4611686018427387904LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 4611686018427387904LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 97548953267LL, "Fri, 15 Mar 5061 19:27:47 +0000" },
	{ 105003252007LL, "Sun, 02 Jun 5297 10:00:07 +0000" },
	{ 49873205841LL, "Sat, 03 Jun 3550 04:17:21 +0000" },
	{ 9408111450LL, "Tue, 18 Feb 2268 04:17:30 +0000" },
	{ 32516617505LL, "Fri, 30 May 3000 17:45:05 +0000" },
	{ 217897094228LL, "Mon, 19 Nov 8874 02:37:08 +0000" },
	{ 139521189084LL, "Tue, 02 Apr 6391 13:51:24 +0000" },
	{ 106064549576LL, "Fri, 19 Jan 5331 22:52:56 +0000" },
	{ 4842782444LL, "Fri, 18 Jun 2123 17:20:44 +0000" },
	{ 132906961866LL, "Mon, 27 Aug 6181 00:31:06 +0000" },
	{ 102816415284LL, "Mon, 14 Feb 5228 19:21:24 +0000" },
	{ 154535768322LL, "Sun, 16 Jan 6867 10:18:42 +0000" },
	{ 243429772224LL, "Sat, 25 Dec 9683 05:10:24 +0000" },
	{ 108732255297LL, "Fri, 04 Aug 5415 04:14:57 +0000" },
	{ 131319678804LL, "Thu, 10 May 6131 16:33:24 +0000" },
	{ 204955249556LL, "Thu, 09 Oct 8464 05:45:56 +0000" },
	{ 186855434224LL, "Thu, 19 Mar 7891 15:17:04 +0000" },
	{ 140670689474LL, "Sat, 04 Sep 6427 23:31:14 +0000" },
	{ 128390933039LL, "Mon, 19 Jul 6038 04:03:59 +0000" },
	{ 250773451008LL, "Mon, 11 Sep 9916 11:56:48 +0000" },
	{ 196987623345LL, "Thu, 16 Apr 8212 08:15:45 +0000" },
	{ 178668108239LL, "Tue, 07 Oct 7631 22:03:59 +0000" },
	{ 24670448598LL, "Thu, 11 Oct 2751 14:23:18 +0000" },
	{ 225388210445LL, "Mon, 08 Apr 9112 20:14:05 +0000" },
	{ 101141190128LL, "Tue, 14 Jan 5175 15:02:08 +0000" },
	{ 228087878977LL, "Sun, 26 Oct 9197 00:09:37 +0000" },
	{ 25180898693LL, "Thu, 14 Dec 2767 14:04:53 +0000" },
	{ 13514212899LL, "Wed, 01 Apr 2398 12:01:39 +0000" },
	{ 63669103319LL, "Wed, 05 Aug 3987 22:01:59 +0000" },
	{ 22234961030LL, "Fri, 07 Aug 2674 02:03:50 +0000" },
	{ 244741239198LL, "Tue, 17 Jul 9725 05:33:18 +0000" },
	{ 142315463977LL, "Wed, 18 Oct 6479 17:19:37 +0000" },
	{ 57496962025LL, "Tue, 03 Jan 3792 02:20:25 +0000" },
	{ 219332023740LL, "Fri, 10 May 8920 02:09:00 +0000" },
	{ 161610246414LL, "Mon, 23 Mar 7091 23:06:54 +0000" },
	{ 144096381318LL, "Mon, 26 Mar 6536 04:35:18 +0000" },
	{ 10444205770LL, "Wed, 19 Dec 2300 00:16:10 +0000" },
	{ 188868380287LL, "Sat, 01 Jan 7955 14:58:07 +0000" },
	{ 37278313468LL, "Sat, 21 Apr 3151 23:04:28 +0000" },
	{ 238077441917LL, "Sun, 17 May 9514 22:45:17 +0000" },
};

/* The date of a Received: field for when, or NULL when it is not there:
 * the text between the last "\t" and the final "\n". */
static const char *
date_of(time_t when, size_t *len)
{
	static const char *const one[] = { "bob@example.net" };
	struct envelope env;
	struct buf b;
	const char *tab;

	env = base_env(one, 1);
	env.when = when;
	buf_init(&b, mem, sizeof(mem));
	if (header_received(&b, &env) == -1 || b.len < 2 ||
	    b.p[b.len - 1] != '\n')
		return NULL;
	for (tab = b.p + b.len - 1; tab > b.p && *tab != '\t'; tab--)
		;
	*len = (size_t)(b.p + b.len - 1 - (tab + 1));
	return tab + 1;
}

static void
test_dates(void)
{
	char want[64];
	struct tm tm;
	const char *got;
	size_t len;
	size_t i;
	size_t n = 0;
	size_t bad = 0;
	long long t;

	for (i = 0; i < sizeof(python_dates) / sizeof(python_dates[0]); i++) {
		if ((long long)(time_t)python_dates[i].when !=
		    python_dates[i].when)
			continue;	/* a 32-bit time_t */
		got = date_of((time_t)python_dates[i].when, &len);
		if (got == NULL || len != strlen(python_dates[i].date) ||
		    memcmp(got, python_dates[i].date, len) != 0) {
			bad++;
			diag("%lld: got '%.*s', want '%s'",
			    python_dates[i].when, got == NULL ? 0 : (int)len,
			    got == NULL ? "" : got, python_dates[i].date);
		}
	}
	ok(bad == 0, "%zu dates as Python writes them",
	    sizeof(python_dates) / sizeof(python_dates[0]));
	if (sizeof(time_t) >= 8) {
		got = date_of((time_t)INT64_MIN, &len);
		ok(got != NULL && len == 31 &&
		    memcmp(got, "Thu, 01 Jan 1970 00:00:00 +0000", 31) == 0,
		    "the least time_t shows the epoch");
		got = date_of((time_t)INT64_MAX, &len);
		ok(got != NULL && len == 31 &&
		    memcmp(got, "Thu, 01 Jan 1970 00:00:00 +0000", 31) == 0,
		    "the greatest time_t shows the epoch");
	}

	/* Every fifth day of 1900-9999, each at another time of day,
	 * against the C library (strftime in the "C" locale). */
	bad = 0;
	for (t = -2208988800LL; t <= 253402300799LL; t += 5 * 86400 + 3607) {
		if ((long long)(time_t)t != t)
			continue;
		n++;
		if (gmtime_r(&(time_t){ (time_t)t }, &tm) == NULL ||
		    strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S +0000",
		    &tm) == 0)
			continue;
		got = date_of((time_t)t, &len);
		if (got == NULL || len != strlen(want) ||
		    memcmp(got, want, len) != 0) {
			if (bad++ < 5)
				diag("%lld: got '%.*s', want '%s'", t,
				    got == NULL ? 0 : (int)len,
				    got == NULL ? "" : got, want);
		}
	}
	ok(bad == 0 && n > 580000, "%zu instants of 1900-9999 as gmtime_r "
	    "gives them (%zu differ)", n, bad);
}

int
main(void)
{
	test_exact();
	test_hostile();
	test_helo_names();
	test_bounds();
	test_dates();
	diag("done");
	return tap_done();
}
