/*
 * test_header.c: the trace fields, exactly, and what hostile client
 * strings become in them.
 */
#include <string.h>

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
	    "Received: from a??X-Injected:?1 "
	    "(h?\?\?forged?[1.2.3.4] [192.0.2.7])\n"
	    "\tby mx.example.net (smtpd) with ESMTP?X:?y id 1795927476.42\n"
	    "\t(authenticated as u?\?\?for?\?victim@x?\?\?)\n"
	    "\tfor <\"x??Bcc:?z\"@example.net>;\n"
	    "\tSun, 29 Nov 2026 04:44:36 +0000\n",
	    "hostile received sanitized");
	ok(memchr(b.p, '\r', b.len) == NULL, "no CR anywhere");

	buf_init(&b, mem, sizeof(mem));
	header_return_path(&b, &env);
	is_mem(b.p, b.len, "Return-Path: <?a???@b>\n",
	    "hostile sender sanitized");
	buf_init(&b, mem, sizeof(mem));
	header_delivered_to(&b, evil[0]);
	is_mem(b.p, b.len, "Delivered-To: \"x??Bcc:?z\"@example.net\n",
	    "hostile rcpt sanitized");

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
	ok(memcmp(b.p, "Received: from \xc3\xa9", 17) == 0 &&
	    memcmp(b.p + 15 + 254, " (", 2) == 0,
	    "cut at a character boundary");

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

int
main(void)
{
	test_exact();
	test_hostile();
	test_bounds();
	diag("done");
	return tap_done();
}
