/*
 * header.c: the trace fields of header.h.
 *
 * Every string here may come from the client (HELO, MAIL, RCPT, AUTH) or
 * from a PROXY header, so each is bounded and sanitized before it reaches
 * the message: an octet below 0x21 (controls, SP, CR, LF), DEL, and the
 * octets that open, close or escape a comment or an angle address or end
 * the Received: stamp ( ) \ < > ; become '?'.  No field can therefore be
 * ended early, folded or given a forged continuation (RFC 5322 §2.2).
 * Octets >= 0x80 are kept only when the whole string is valid UTF-8
 * (RFC 6532 §3.2); otherwise they become '?' too.
 *
 * On failure a function takes back what it appended, so b is unchanged
 * apart from its overflow flag.  Lines end in LF: Maildir stores LF.
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../proto/limits.h"
#include "deliver.h"
#include "header.h"

/* The longest a HELO, host name or AUTH user may show: a domain's limit
 * (RFC 5321 §4.5.3.1.2). */
#define HEADER_NAME_MAX SMTP_DOMAIN_MAX
/* A mailbox: local part, '@', domain (RFC 5321 §4.5.3.1.1-2). */
#define HEADER_ADDR_MAX (SMTP_MAILBOX_MAX - 1)
/* An IP address, the WITH keyword, the message id. */
#define HEADER_WORD_MAX 64

static const char header_days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char header_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Strict UTF-8 (RFC 3629 §4): no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
static int
header_is_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;
	size_t n;
	size_t k;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
header_is_unsafe(unsigned char c)
{
	return c < 0x21 || c == 0x7f || c == '(' || c == ')' || c == '\\' ||
	    c == '<' || c == '>' || c == ';';
}

/* Append at most max octets of s, sanitized (see the top of the file).
 * A NULL or empty s is written as dflt.  Nothing past s[max] is read, so
 * only the part shown has to be valid UTF-8. */
static int
header_add_clean(struct buf *b, const char *s, size_t max, const char *dflt)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	size_t n;
	size_t i;
	int is_utf8;
	char c;

	if (s == NULL || *s == '\0')
		return buf_adds(b, dflt);
	len = strnlen(s, max + 1);
	n = len > max ? max : len;
	/* Cut between characters, never inside one: u[n] is readable
	 * whenever n < len. */
	if (n < len) {
		while (n > 0 && (u[n] & 0xc0) == 0x80)
			n--;
	}
	is_utf8 = header_is_utf8(u, n);
	if (!is_utf8)
		n = len > max ? max : len;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (header_is_unsafe(u[i]) || (u[i] >= 0x80 && !is_utf8))
			c = '?';
		if (buf_addc(b, c) == -1)
			return -1;
	}
	return 0;
}

/* Two digits, zero-padded. */
static int
header_add2(struct buf *b, int n)
{
	char d[2];

	d[0] = (char)('0' + n / 10 % 10);
	d[1] = (char)('0' + n % 10);
	return buf_add(b, d, 2);
}

/* RFC 5322 §3.3 date-time in UTC with English names: no locale, no
 * strftime. */
static int
header_add_date(struct buf *b, time_t when)
{
	struct tm tm;
	time_t epoch = 0;
	int r = 0;

	if (gmtime_r(&when, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900) {
		/* RFC 5322 wants a 4-digit year >= 1900; show the epoch
		 * rather than an impossible date. */
		gmtime_r(&epoch, &tm);
	}
	r |= buf_adds(b, header_days[tm.tm_wday % 7]);
	r |= buf_adds(b, ", ");
	r |= header_add2(b, tm.tm_mday);
	r |= buf_addc(b, ' ');
	r |= buf_adds(b, header_months[tm.tm_mon % 12]);
	r |= buf_addc(b, ' ');
	r |= buf_addu64(b, (unsigned)(tm.tm_year + 1900));
	r |= buf_addc(b, ' ');
	r |= header_add2(b, tm.tm_hour);
	r |= buf_addc(b, ':');
	r |= header_add2(b, tm.tm_min);
	r |= buf_addc(b, ':');
	r |= header_add2(b, tm.tm_sec);
	r |= buf_adds(b, " +0000");
	return r;
}

/* RFC 5321 §4.1.3: an IPv6 address literal carries the "IPv6:" tag.  An
 * unknown peer (smtpd on pipes) is written without brackets: it is no
 * address literal. */
static int
header_add_ip(struct buf *b, const char *ip)
{
	int r = 0;

	if (ip == NULL || ip[0] == '\0' || strcmp(ip, "unknown") == 0)
		return buf_adds(b, "unknown");
	r |= buf_addc(b, '[');
	if (ip != NULL && strchr(ip, ':') != NULL &&
	    strncmp(ip, "IPv6:", 5) != 0)
		r |= buf_adds(b, "IPv6:");
	r |= header_add_clean(b, ip, HEADER_WORD_MAX, "unknown");
	r |= buf_addc(b, ']');
	return r;
}

static int
header_undo(struct buf *b, size_t mark)
{
	b->len = mark;
	b->overflow = 1;
	return -1;
}

int
header_return_path(struct buf *b, const struct envelope *env)
{
	size_t mark = b->len;
	int r = 0;

	/* RFC 5321 §4.4: the reverse-path, "<>" for the null path. */
	r |= buf_adds(b, "Return-Path: <");
	if (env->sender != NULL && env->sender[0] != '\0')
		r |= header_add_clean(b, env->sender, HEADER_ADDR_MAX, "");
	r |= buf_adds(b, ">\n");
	return r != 0 ? header_undo(b, mark) : 0;
}

int
header_delivered_to(struct buf *b, const char *rcpt)
{
	size_t mark = b->len;
	int r = 0;

	r |= buf_adds(b, "Delivered-To: ");
	r |= header_add_clean(b, rcpt, HEADER_ADDR_MAX, "unknown");
	r |= buf_addc(b, '\n');
	return r != 0 ? header_undo(b, mark) : 0;
}

/*
 * RFC 5321 §4.4 Time-stamp-line:
 *	Received: from HELO (HOST [IP])
 *		by LOCAL (smtpd) with PROTO id ID
 *		(authenticated as USER)
 *		for <RCPT>;
 *		DATE
 * "(HOST [IP])" is TCP-info; the AUTH comment is CFWS; "for" only when
 * there is exactly one recipient, so that Bcc: recipients stay private
 * (RFC 5321 §7.2).  PROTO is an RFC 3848 WITH keyword.
 */
int
header_received(struct buf *b, const struct envelope *env)
{
	size_t mark = b->len;
	int r = 0;

	r |= buf_adds(b, "Received: from ");
	r |= header_add_clean(b, env->helo, HEADER_NAME_MAX, "unknown");
	r |= buf_adds(b, " (");
	if (env->remote_host != NULL && env->remote_host[0] != '\0') {
		r |= header_add_clean(b, env->remote_host, HEADER_NAME_MAX,
		    "unknown");
		r |= buf_addc(b, ' ');
	}
	r |= header_add_ip(b, env->remote_ip);
	r |= buf_adds(b, ")\n\tby ");
	r |= header_add_clean(b, env->local_host, HEADER_NAME_MAX,
	    "localhost");
	r |= buf_adds(b, " (smtpd) with ");
	r |= header_add_clean(b, env->protocol, HEADER_WORD_MAX, "SMTP");
	if (env->id != NULL && env->id[0] != '\0') {
		r |= buf_adds(b, " id ");
		r |= header_add_clean(b, env->id, HEADER_WORD_MAX, "");
	}
	if (env->auth_user != NULL) {
		r |= buf_adds(b, "\n\t(authenticated as ");
		r |= header_add_clean(b, env->auth_user, HEADER_NAME_MAX,
		    "unknown");
		r |= buf_addc(b, ')');
	}
	if (env->nrcpt == 1 && env->rcpts != NULL) {
		r |= buf_adds(b, "\n\tfor <");
		r |= header_add_clean(b, env->rcpts[0], HEADER_ADDR_MAX,
		    "");
		r |= buf_addc(b, '>');
	}
	r |= buf_adds(b, ";\n\t");
	r |= header_add_date(b, env->when);
	r |= buf_addc(b, '\n');
	return r != 0 ? header_undo(b, mark) : 0;
}
