/*
 * lmtp_reply.c: the pure parts of the LMTP client (no I/O): LHLO's
 * keywords, reply lines, the one reply after the data, and the body's
 * wire form.  See lmtp_reply.h; tests/unit/test_lmtp.c checks them.
 */
#include <stddef.h>
#include <string.h>

#include "../proto/ascii.h"
#include "lmtp_reply.h"

static const struct {
	const char *name;
	unsigned bit;
} keywords[] = {
	{ "PIPELINING", LMTP_EXT_PIPELINING },
	{ "8BITMIME", LMTP_EXT_8BITMIME },
	{ "CHUNKING", LMTP_EXT_CHUNKING },
	{ "BINARYMIME", LMTP_EXT_BINARYMIME },
	{ "SMTPUTF8", LMTP_EXT_SMTPUTF8 },
	{ "SIZE", LMTP_EXT_SIZE },
	{ "ENHANCEDSTATUSCODES", LMTP_EXT_ENHANCED },
};

unsigned
lmtp_ext_keyword(const char *text, size_t len)
{
	size_t n = 0;
	size_t k;

	while (n < len && text[n] != ' ')
		n++;
	for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (strlen(keywords[k].name) == n &&
		    ascii_eq_n(text, keywords[k].name, n))
			return keywords[k].bit;
	return 0;
}

/* The length of an enhanced status code of class c at the start of p
 * (followed by a space or the end), or 0. */
static size_t
status_len(const char *p, size_t len, char c)
{
	size_t i = 2;
	size_t n;
	int part;

	if (len < 5 || p[0] != c || p[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && p[i] >= '0' && p[i] <= '9'; n++)
			i++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
	}
	return (i == len || p[i] == ' ') ? i : 0;
}

int
lmtp_parse_line(const char *line, size_t len, struct lmtp_reply *r)
{
	int code;
	int last;
	size_t i;
	size_t s;
	const char *t;
	size_t tlen;

	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3)
		last = 1;
	else if (line[3] == ' ')
		last = 1;
	else if (line[3] == '-')
		last = 0;
	else
		return -1;
	if (r->code != 0)
		return r->code == code ? last : -1;
	r->code = code;
	r->status[0] = '\0';
	r->text_len = 0;
	t = len > 4 ? line + 4 : line + len;
	tlen = len > 4 ? len - 4 : 0;
	s = status_len(t, tlen, line[0]);
	if (s > 0 && s < sizeof(r->status)) {
		memcpy(r->status, t, s);
		r->status[s] = '\0';
	} else {
		/* A status of another class ("550 4.1.1 ...") contradicts
		 * the code: dropped, not passed on as the text's first
		 * word, where a client would read it as the status. */
		const char *c;

		for (c = "245"; *c != '\0' && s == 0; c++)
			if (*c != line[0])
				s = status_len(t, tlen, *c);
	}
	if (s > 0) {
		t += s;
		tlen -= s;
		while (tlen > 0 && *t == ' ') {
			t++;
			tlen--;
		}
	}
	/* Printable ASCII only: the text goes to the client and the log. */
	for (i = 0; i < tlen && r->text_len < LMTP_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)t[i];

		r->text[r->text_len++] = (c >= 0x20 && c < 0x7f) ? (char)c :
		    '?';
	}
	r->text[r->text_len] = '\0';
	return last;
}

int
lmtp_combine(const struct lmtp_reply *each, size_t n,
    const struct lmtp_reply **out)
{
	size_t i;
	size_t ok = 0;

	*out = NULL;
	if (n == 0)
		return 2;
	for (i = 0; i < n; i++)
		if (each[i].code / 100 == 2)
			ok++;
	if (ok == n)
		return 0;
	if (each[0].code / 100 != 5)
		return 2;
	for (i = 1; i < n; i++)
		if (each[i].code != each[0].code ||
		    strcmp(each[i].status, each[0].status) != 0)
			return 2;
	*out = &each[0];
	return 1;
}

size_t
lmtp_encode(const char *in, size_t len, int stuff, int *at_bol, char *out,
    size_t cap, size_t *outlen)
{
	size_t i = 0;
	size_t o = 0;

	while (i < len) {
		const char *nl;
		size_t run;
		size_t dot;

		if (in[i] == '\n') {
			if (cap - o < 2)
				break;
			out[o++] = '\r';
			out[o++] = '\n';
			i++;
			*at_bol = 1;
			continue;
		}
		/* A line's leading '.' is doubled; the double and at least
		 * the '.' itself go out together. */
		dot = *at_bol && stuff && in[i] == '.';
		if (cap - o < dot + 1)
			break;
		if (dot)
			out[o++] = '.';
		nl = memchr(in + i, '\n', len - i);
		run = nl != NULL ? (size_t)(nl - (in + i)) : len - i;
		if (run > cap - o)
			run = cap - o;
		memcpy(out + o, in + i, run);
		o += run;
		i += run;
		*at_bol = 0;
	}
	*outlen = o;
	return i;
}
