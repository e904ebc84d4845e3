/*
 * differential.c: the same random sessions through two engines, the
 * transcripts compared byte for byte (tests/fuzz/differential.sh builds
 * it).  old_diff_run and new_diff_run are diff_session.c built against
 * each engine.
 *
 *	differential [-n SESSIONS] [-s SEED] [-t SECONDS]
 *
 * Exit 0: every transcript identical; 1: the first difference is shown.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t old_diff_run(const char *in, size_t len, uint32_t seed, char *log,
    size_t cap);
size_t new_diff_run(const char *in, size_t len, uint32_t seed, char *log,
    size_t cap);

#define INPUT_MAX (1 << 20)
#define LOG_MAX (8 << 20)

static char input[INPUT_MAX];
static char log_old[LOG_MAX];
static char log_new[LOG_MAX];

static uint32_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return n == 0 ? 0 : rng % n;
}

static size_t in_len;

static void
add(const char *s, size_t n)
{
	if (n > INPUT_MAX - in_len)
		n = INPUT_MAX - in_len;
	memcpy(input + in_len, s, n);
	in_len += n;
}

static void
adds(const char *s)
{
	add(s, strlen(s));
}

/* Command lines, good and bad, as a client (or an attacker) sends them. */
static const char *const commands[] = {
	"EHLO client.example\r\n", "HELO client.example\r\n", "EHLO\r\n",
	"EHLO bad name\r\n", "ehlo x\r\n",
	"MAIL FROM:<a@example.org>\r\n", "MAIL FROM:<>\r\n",
	"MAIL FROM: <a@example.org> SIZE=100\r\n",
	"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n",
	"MAIL FROM:<a@example.org> BODY=8BITMIME SMTPUTF8\r\n",
	"MAIL FROM:<\xc3\xa9@example.org> SMTPUTF8\r\n",
	"MAIL FROM:<a@example.org> SIZE=99999999999\r\n",
	"MAIL FROM:<a@example.org> FOO=BAR\r\n", "MAIL TO:<x>\r\n",
	"RCPT TO:<b@example.net>\r\n", "RCPT TO:<postmaster>\r\n",
	"RCPT TO:<c@example.net> NOTIFY=NEVER\r\n", "RCPT TO:b@x\r\n",
	"RCPT TO:<\xc3\xa9@example.net>\r\n",
	"DATA\r\n", "DATA x\r\n", "RSET\r\n", "RSET x\r\n", "NOOP\r\n",
	"NOOP hello\r\n", "VRFY\r\n", "VRFY a\r\n", "HELP\r\n", "QUIT\r\n",
	"QUIT now\r\n", "STARTTLS\r\n", "STARTTLS x\r\n", "EXPN a\r\n",
	"XCLIENT ADDR=1.2.3.4\r\n", "TURN\r\n", "FOO\r\n", "\r\n",
	"NOOP\n", "NOOP\x01\r\n", "AUTH PLAIN\r\n", "AUTH LOGIN\r\n",
	"AUTH PLAIN AGFAYg==\r\n", "AUTH CRAM-MD5\r\n", "AUTH\r\n",
	"auth plain =\r\n", "AGFAYg==\r\n", "*\r\n", "dXNlcg==\r\n",
	"BDAT 0\r\n", "BDAT 0 LAST\r\n", "BDAT x\r\n", "BDAT  5\r\n",
	"BDAT 3 LAST junk\r\n", "BDAT 99999999999999999999999\r\n",
};

/* Message lines: the octets DATA and BDAT bodies are made of. */
static const char *const lines[] = {
	"Subject: hi\r\n", "Received: from x\r\n", "received: by y\r\n",
	"Delivered-To: a@b\r\n", "\r\n", "body text\r\n", ".\r\n",
	"..dot stuffed\r\n", ".x\r\n", "bare LF\n", ".\n", "bare\rCR\r\n",
	"CR at end\r", "\n", "\r", "NUL\0byte\r\n", ".", "..\r\n",
	"line with no end", "\xff\xfe 8bit\r\n", "\r\n.\r\n", "\n.\r\n",
	"\r\n.\n", "x\n.\r\n",
};

static void
add_line(void)
{
	const char *l = lines[rnd(sizeof(lines) / sizeof(lines[0]))];

	/* "NUL\0byte" has an octet strlen stops at. */
	if (l[0] == 'N' && l[1] == 'U')
		add(l, 12);
	else
		adds(l);
}

static void
add_long_line(void)
{
	size_t n = 1 + rnd(rnd(4) == 0 ? 70000 : 600);
	size_t i;

	for (i = 0; i < n && in_len < INPUT_MAX; i++)
		input[in_len++] = (char)('a' + i % 26);
	adds(rnd(2) ? "\r\n" : "\n");
}

static void
add_data(void)
{
	unsigned n = rnd(12);
	unsigned i;

	adds("DATA\r\n");
	for (i = 0; i < n; i++) {
		if (rnd(10) == 0)
			add_long_line();
		else
			add_line();
	}
	if (rnd(8) != 0)
		adds(rnd(6) == 0 ? "\n.\r\n" : ".\r\n");
}

static void
add_bdat(void)
{
	unsigned n = rnd(4);
	unsigned i;
	size_t start;
	char head[64];

	/* A chunk whose size is right, or (sometimes) off by a few. */
	start = in_len;
	for (i = 0; i < n; i++)
		add_line();
	if (rnd(10) == 0)
		add_long_line();
	{
		size_t body = in_len - start;
		char saved[80000];
		size_t size = body;

		if (body > sizeof(saved))
			body = sizeof(saved);
		memcpy(saved, input + start, body);
		in_len = start;
		if (rnd(8) == 0)
			size += rnd(5);
		snprintf(head, sizeof(head), "BDAT %zu%s\r\n", size,
		    rnd(3) == 0 ? " LAST" : "");
		adds(head);
		add(saved, body);
	}
}

static void
make_session(void)
{
	unsigned n = 1 + rnd(30);
	unsigned i;

	in_len = 0;
	if (rnd(4) != 0)
		adds(rnd(2) ? "EHLO client.example\r\n" : "HELO c\r\n");
	for (i = 0; i < n; i++) {
		unsigned k = rnd(20);

		if (k < 8) {
			adds(commands[rnd(sizeof(commands) /
			    sizeof(commands[0]))]);
		} else if (k < 11) {
			adds("MAIL FROM:<a@example.org>\r\n");
			adds("RCPT TO:<b@example.net>\r\n");
			if (rnd(3) == 0)
				adds("RCPT TO:<c@example.net>\r\n");
		} else if (k < 15) {
			add_data();
		} else if (k < 18) {
			add_bdat();
		} else if (k < 19) {
			add_line();
		} else {
			add_long_line();
		}
	}
	if (rnd(2))
		adds("QUIT\r\n");
}

static void
show(const char *name, const char *log, size_t len, size_t at)
{
	size_t from = at > 300 ? at - 300 : 0;
	size_t to = at + 300 < len ? at + 300 : len;

	fprintf(stderr, "--- %s (%zu octets), around %zu:\n", name, len, at);
	fwrite(log + from, 1, to - from, stderr);
	fprintf(stderr, "\n");
}

int
main(int argc, char **argv)
{
	unsigned long sessions = 3000;
	unsigned long seconds = 120;
	uint32_t seed = 1;
	unsigned long i;
	time_t start = time(NULL);
	int c;

	for (c = 1; c + 1 < argc; c += 2) {
		if (strcmp(argv[c], "-n") == 0)
			sessions = strtoul(argv[c + 1], NULL, 10);
		else if (strcmp(argv[c], "-s") == 0)
			seed = (uint32_t)strtoul(argv[c + 1], NULL, 10);
		else if (strcmp(argv[c], "-t") == 0)
			seconds = strtoul(argv[c + 1], NULL, 10);
	}
	for (i = 0; i < sessions; i++) {
		uint32_t s = seed * 2654435761u + (uint32_t)i;
		size_t a, b, at;

		if ((unsigned long)(time(NULL) - start) > seconds) {
			printf("differential: time is up after %lu sessions\n",
			    i);
			break;
		}
		rng = s | 1;
		make_session();
		a = old_diff_run(input, in_len, s, log_old, sizeof(log_old));
		b = new_diff_run(input, in_len, s, log_new, sizeof(log_new));
		if (a == b && memcmp(log_old, log_new, a) == 0)
			continue;
		for (at = 0; at < a && at < b && log_old[at] == log_new[at];
		    at++)
			;
		fprintf(stderr, "differential: session %lu (seed %u, %zu "
		    "input octets) differs\n", i, s, in_len);
		show("old", log_old, a, at);
		show("new", log_new, b, at);
		return 1;
	}
	printf("differential: %lu sessions, identical replies and events\n",
	    i);
	return 0;
}
