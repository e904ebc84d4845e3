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
 * (RFC 6532 §3.2); otherwise they become '?' too.  So do, always, those
 * of a C1 control, U+2028, U+2029 or bidirectional control (RFC 5198).
 *
 * On failure a function takes back what it appended, so b is unchanged
 * apart from its overflow flag.  Lines end in LF: Maildir stores LF.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/octets.h"
#include "../proto/address.h"
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

/*
 * Is s[0..len) strict UTF-8 (proto/address.c's smtp_utf8_decode: no
 * overlong forms, no surrogates, nothing above U+10FFFF)?  Its C1
 * controls, U+2028, U+2029 and bidirectional controls (refused in
 * addresses and HELO names, so never expected here) become '?' in
 * out[0..len), octet for octet, so that no reader can see a line end.
 */
static int
header_utf8_clean(const unsigned char *s, char *out, size_t len)
{
	size_t i = 0;
	size_t n;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = smtp_utf8_decode((const char *)s + i, len - i, &cp);
		if (n == 0)
			return 0;
		if (smtp_is_forbidden_code_point(cp))
			memset(out + i, '?', n);
		i += n;
	}
	return 1;
}

/*
 * Octet c is unsafe (see the top of the file) when bit c % 64 of word
 * c / 64 is set: W0 for 0x00-0x3f, W1 for 0x40-0x7f.  No octet >= 0x80
 * is (header_add_masked decides those as UTF-8 or not).
 *	0x00-0x20, ( ) ; < > and \ DEL: any client string;
 *	also [ ], for the peer's host name inside the Received: comment,
 *	    so that a hostile PTR name cannot put a forged [IP] there;
 *	only the controls and DEL, for a quoted local part: the address
 *	    grammar (RFC 5321 §4.1.2) admits space, ( ) ; < > and \ only
 *	    there, where they must stay as the client sent them.
 */
#define HEADER_UNSAFE_W0 (0x00000001ffffffffULL | 1ULL << '(' | \
	1ULL << ')' | 1ULL << ';' | 1ULL << '<' | 1ULL << '>')
#define HEADER_UNSAFE_W1 (1ULL << ('\\' - 64) | 1ULL << (0x7f - 64))
#define HEADER_HOST_W1 (HEADER_UNSAFE_W1 | 1ULL << ('[' - 64) | \
	1ULL << (']' - 64))
#define HEADER_CONTROL_W0 0x00000000ffffffffULL
#define HEADER_CONTROL_W1 (1ULL << (0x7f - 64))

/* What each octet is written as, itself or '?' (lib/octets.h). */
#define HEADER_CLEAN(c) (unsigned char) \
	(OCTETS_IN(HEADER_UNSAFE_W0, HEADER_UNSAFE_W1, c) ? '?' : (c))
#define HEADER_CLEAN_HOST(c) (unsigned char) \
	(OCTETS_IN(HEADER_UNSAFE_W0, HEADER_HOST_W1, c) ? '?' : (c))
#define HEADER_CLEAN_QUOTED(c) (unsigned char) \
	(OCTETS_IN(HEADER_CONTROL_W0, HEADER_CONTROL_W1, c) ? '?' : (c))

static const unsigned char header_clean[256] = {
	OCTETS_TABLE(HEADER_CLEAN)
};
static const unsigned char header_clean_host[256] = {
	OCTETS_TABLE(HEADER_CLEAN_HOST)
};
static const unsigned char header_clean_quoted[256] = {
	OCTETS_TABLE(HEADER_CLEAN_QUOTED)
};

/*
 * Append at most max octets of s, sanitized (see the top of the file).
 * A NULL or empty s is written as dflt.  Nothing past s[max] is read, so
 * only the part shown has to be valid UTF-8.
 *
 * One pass finds the end of s and copies it into b, '?' for each unsafe
 * ASCII octet: for ASCII, the whole of the work.  Only a string with
 * octets >= 0x80 is looked at again, for UTF-8.  Octets copied past what
 * fits are not counted: b is unchanged but for its overflow flag.
 */
static int
header_add_masked(struct buf *b, const char *s, size_t max, const char *dflt,
    const unsigned char *map)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t room = b->len <= b->cap ? b->cap - b->len : 0;
	size_t lim = max < room ? max : room;
	unsigned char high = 0;
	unsigned char c;
	size_t n;
	size_t cut;
	size_t i;
	char *out;

	if (s == NULL || *s == '\0')
		return buf_adds(b, dflt);
	out = b->p + b->len;
	for (n = 0; n < lim && (c = u[n]) != '\0'; n++) {
		high |= c;
		out[n] = (char)map[c];
	}
	/* Stopped by the room left, with more of s to show. */
	if (n < max && u[n] != '\0') {
		b->overflow = 1;
		return -1;
	}
	if (high >= 0x80) {
		/* Cut between characters, never inside one: u[n] is
		 * readable, and not the NUL when s is longer than max. */
		cut = n;
		while (cut > 0 && u[cut] != '\0' && (u[cut] & 0xc0) == 0x80)
			cut--;
		if (header_utf8_clean(u, out, cut))
			n = cut;
		else {
			for (i = 0; i < n; i++) {
				if (u[i] >= 0x80)
					out[i] = '?';
			}
		}
	}
	b->len += n;
	return 0;
}

static int
header_add_clean(struct buf *b, const char *s, size_t max, const char *dflt)
{
	return header_add_masked(b, s, max, dflt, header_clean);
}

/* A mailbox: its quoted local part, if any, keeps what RFC 5321 §4.1.2
 * allows there (space, specials); the rest is sanitized as any name. */
static int
header_add_address(struct buf *b, const char *s, const char *dflt)
{
	size_t q = 0;
	int r;

	if (s == NULL || s[0] != '"')
		return header_add_clean(b, s, HEADER_ADDR_MAX, dflt);
	for (q = 1; s[q] != '\0' && s[q] != '"' && q < HEADER_ADDR_MAX; q++) {
		if (s[q] == '\\' && s[q + 1] != '\0')
			q++;
	}
	if (s[q] == '"')
		q++;
	r = header_add_masked(b, s, q, dflt, header_clean_quoted);
	if (q < HEADER_ADDR_MAX && s[q] != '\0')
		r |= header_add_clean(b, s + q, HEADER_ADDR_MAX - q, "");
	return r;
}

/* Two digits, zero-padded, at p. */
static void
header_put2(char *p, unsigned n)
{
	p[0] = (char)('0' + n / 10 % 10);
	p[1] = (char)('0' + n % 10);
}

/*
 * Days since 1970-01-01 to a date of the proleptic Gregorian calendar:
 * Howard Hinnant's civil_from_days ("chrono-Compatible Low-Level Date
 * Algorithms"), in 400-year eras of 146097 days counted from 0000-03-01,
 * so that a leap day is the last day of its year.  gmtime_r would do it
 * too, but glibc's reads /etc/localtime on its first call (7 system
 * calls and some 4,000 instructions per session) for a time zone we do
 * not use.
 */
static void
header_civil(int64_t days, int64_t *year, unsigned *month, unsigned *mday)
{
	int64_t z = days + 719468;	/* days since 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);	/* [0, 146096] */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) /
	    365;				/* [0, 399] */
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;	/* March is 0 */

	*mday = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (int64_t)yoe + era * 400 + (*month <= 2);
}

/* RFC 5322 §3.3 date-time in UTC with English names: no locale, no
 * strftime, no time zone file. */
static int
header_add_date(struct buf *b, time_t when)
{
	/* 1900-01-01T00:00:00Z to 9999-12-31T23:59:59Z: RFC 5322 wants a
	 * 4-digit year >= 1900; outside, the epoch is shown rather than an
	 * impossible date. */
	static const int64_t first = -2208988800LL;
	static const int64_t last = 253402300799LL;
	char date[sizeof("Sun, 29 Nov 2026 04:44:36 +0000") - 1];
	int64_t t = (int64_t)when;
	int64_t days;
	int64_t year;
	unsigned secs;
	unsigned month;
	unsigned mday;

	if (t < first || t > last)
		t = 0;
	days = t >= 0 ? t / 86400 : -((86399 - t) / 86400);
	secs = (unsigned)(t - days * 86400);
	header_civil(days, &year, &month, &mday);
	/* 1970-01-01 was a Thursday; days % 7 is in [-6, 6]. */
	memcpy(date, header_days[(days % 7 + 11) % 7], 3);
	memcpy(date + 3, ", ", 2);
	header_put2(date + 5, mday);
	date[7] = ' ';
	memcpy(date + 8, header_months[month - 1], 3);
	date[11] = ' ';
	header_put2(date + 12, (unsigned)(year / 100));
	header_put2(date + 14, (unsigned)(year % 100));
	date[16] = ' ';
	header_put2(date + 17, secs / 3600);
	date[19] = ':';
	header_put2(date + 20, secs / 60 % 60);
	date[22] = ':';
	header_put2(date + 23, secs % 60);
	memcpy(date + 25, " +0000", 6);
	return buf_add(b, date, sizeof(date));
}

/* RFC 5321 §4.1.3: an IPv6 address literal carries the "IPv6:" tag.  An
 * unknown peer (smtpd on pipes) is written without brackets: it is no
 * address literal. */
static int
header_add_ip(struct buf *b, const char *ip)
{
	int r = 0;

	if (ip == NULL || ip[0] == '\0' || strcmp(ip, "unknown") == 0)
		return buf_addlit(b, "unknown");
	r |= buf_addc(b, '[');
	if (ip != NULL && strchr(ip, ':') != NULL &&
	    strncmp(ip, "IPv6:", 5) != 0)
		r |= buf_addlit(b, "IPv6:");
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
	r |= buf_addlit(b, "Return-Path: <");
	if (env->sender != NULL && env->sender[0] != '\0')
		r |= header_add_address(b, env->sender, "");
	r |= buf_addlit(b, ">\n");
	return r != 0 ? header_undo(b, mark) : 0;
}

int
header_delivered_to(struct buf *b, const char *rcpt)
{
	size_t mark = b->len;
	int r = 0;

	r |= buf_addlit(b, "Delivered-To: ");
	r |= header_add_address(b, rcpt, "unknown");
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
 *
 * The "from" clause needs a Domain or an address literal.  A HELO name
 * that is neither (devices send "my_pc": proto/address.c
 * smtp_is_helo_arg) is not put there; as Exim does, the peer's address
 * literal is, and the name follows in a comment of its own, in the CFWS
 * that RFC 5321's By-domain allows before "by":
 *	Received: from [IP] (HOST [IP]) (helo=my_pc)
 * Inside the comment the name is sanitized like any client string: the
 * octets that could end it or escape out of it, ( ) \, and ; < > become
 * '?'.  Quoted-pairs (RFC 5322 §3.2.1) would keep the name exact, but
 * many Received: parsers do not know them, and for those a "\)" would end
 * the comment and let the rest pose as a clause; '?' means nothing to any
 * parser.  The pipe program's HELO has the name exactly as sent.
 */
int
header_received(struct buf *b, const struct envelope *env)
{
	size_t mark = b->len;
	size_t hlen = env->helo != NULL ?
	    strnlen(env->helo, HEADER_NAME_MAX + 1) : 0;
	int named = hlen == 0 || smtp_is_helo_name(env->helo, hlen, 0);
	int r = 0;

	r |= buf_addlit(b, "Received: from ");
	if (named)
		r |= header_add_clean(b, env->helo, HEADER_NAME_MAX,
		    "unknown");
	else
		r |= header_add_ip(b, env->remote_ip);
	r |= buf_addlit(b, " (");
	if (env->remote_host != NULL && env->remote_host[0] != '\0') {
		r |= header_add_masked(b, env->remote_host, HEADER_NAME_MAX,
		    "unknown", header_clean_host);
		r |= buf_addc(b, ' ');
	}
	r |= header_add_ip(b, env->remote_ip);
	r |= buf_addc(b, ')');
	if (!named) {
		r |= buf_addlit(b, " (helo=");
		r |= header_add_clean(b, env->helo, HEADER_NAME_MAX, "");
		r |= buf_addc(b, ')');
	}
	r |= buf_addlit(b, "\n\tby ");
	r |= header_add_clean(b, env->local_host, HEADER_NAME_MAX,
	    "localhost");
	r |= buf_addlit(b, " (smtpd) with ");
	r |= header_add_clean(b, env->protocol, HEADER_WORD_MAX, "SMTP");
	if (env->id != NULL && env->id[0] != '\0') {
		r |= buf_addlit(b, " id ");
		r |= header_add_clean(b, env->id, HEADER_WORD_MAX, "");
	}
	if (env->auth_user != NULL) {
		r |= buf_addlit(b, "\n\t(authenticated as ");
		r |= header_add_clean(b, env->auth_user, HEADER_NAME_MAX,
		    "unknown");
		r |= buf_addc(b, ')');
	}
	if (env->nrcpt == 1 && env->rcpts != NULL) {
		r |= buf_addlit(b, "\n\tfor <");
		r |= header_add_address(b, env->rcpts[0], "");
		r |= buf_addc(b, '>');
	}
	r |= buf_addlit(b, ";\n\t");
	r |= header_add_date(b, env->when);
	r |= buf_addc(b, '\n');
	return r != 0 ? header_undo(b, mark) : 0;
}
