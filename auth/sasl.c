/*
 * sasl.c: PLAIN, LOGIN and CRAM-MD5 on the server side, and strict
 * base64.  See sasl.h for the contract.  Every decoded response lands in
 * x->scratch, is split into the fields the checker needs, and the scratch
 * is wiped before returning, whatever the result.
 */
#include <stddef.h>
#include <string.h>

#include "../lib/wipe.h"
#include "../proto/ascii.h"
#include "sasl.h"

/* The LOGIN prompts: base64 of "Username:" and "Password:", the strings
 * every LOGIN client expects (draft-murchison-sasl-login-00 §2). */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASSWORD_PROMPT "UGFzc3dvcmQ6"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1 when c is not in the alphabet. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Check the whole of in; on success *declen is the decoded length. */
static int
b64_check(const char *in, size_t len, size_t *declen)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t pad = 0;
	size_t i;
	int last;

	if (len % 4 != 0)
		return -1;
	if (len == 0) {
		*declen = 0;
		return 0;
	}
	if (u[len - 1] == '=')
		pad = u[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		if (b64_value(u[i]) < 0)
			return -1;
	}
	/* RFC 4648 §3.5: the bits the padding leaves over must be zero. */
	if (pad > 0) {
		last = b64_value(u[len - pad - 1]);
		if ((pad == 2 && (last & 0x0f) != 0) ||
		    (pad == 1 && (last & 0x03) != 0))
			return -1;
	}
	*declen = len / 4 * 3 - pad;
	return 0;
}

int
sasl_base64_decode(const char *in, size_t len, void *out, size_t cap,
    size_t *outlen)
{
	unsigned char *o = out;
	size_t declen;
	size_t n = 0;
	size_t i;
	unsigned long group;
	int k;

	if (b64_check(in, len, &declen) != 0)
		return -1;
	if (declen > cap)
		return -2;
	for (i = 0; i < len; i += 4) {
		group = 0;
		for (k = 0; k < 4; k++) {
			int v = b64_value((unsigned char)in[i + (size_t)k]);

			group = group << 6 | (unsigned long)(v < 0 ? 0 : v);
		}
		if (n < declen)
			o[n++] = (unsigned char)(group >> 16);
		if (n < declen)
			o[n++] = (unsigned char)(group >> 8 & 0xff);
		if (n < declen)
			o[n++] = (unsigned char)(group & 0xff);
	}
	*outlen = declen;
	return 0;
}

int
sasl_base64_encode(const void *in, size_t len, char *out, size_t cap,
    size_t *outlen)
{
	const unsigned char *u = in;
	size_t need;
	size_t n = 0;
	size_t i;
	unsigned long group;

	if (len > ((size_t)-1 - 1) / 4 * 3 - 2)
		return -1;
	need = (len + 2) / 3 * 4;
	if (need + 1 > cap)
		return -1;
	for (i = 0; i < len; i += 3) {
		size_t left = len - i;

		group = (unsigned long)u[i] << 16;
		if (left > 1)
			group |= (unsigned long)u[i + 1] << 8;
		if (left > 2)
			group |= u[i + 2];
		out[n++] = b64_alphabet[group >> 18 & 0x3f];
		out[n++] = b64_alphabet[group >> 12 & 0x3f];
		out[n++] = left > 1 ? b64_alphabet[group >> 6 & 0x3f] : '=';
		out[n++] = left > 2 ? b64_alphabet[group & 0x3f] : '=';
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

static unsigned char
upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

static int
same_word(const char *a, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++) {
		if (upper((unsigned char)a[i]) != (unsigned char)word[i])
			return 0;
	}
	return 1;
}

enum sasl_mech
sasl_mech_parse(const char *name, size_t len)
{
	if (same_word(name, len, "PLAIN"))
		return SASL_MECH_PLAIN;
	if (same_word(name, len, "LOGIN"))
		return SASL_MECH_LOGIN;
	if (same_word(name, len, "CRAM-MD5"))
		return SASL_MECH_CRAM_MD5;
	return SASL_MECH_NONE;
}

const char *
sasl_mech_name(enum sasl_mech mech)
{
	switch (mech) {
	case SASL_MECH_PLAIN:
		return "PLAIN";
	case SASL_MECH_LOGIN:
		return "LOGIN";
	case SASL_MECH_CRAM_MD5:
		return "CRAM-MD5";
	default:
		return "";
	}
}

/* Decimal digits of n into buf (no NUL); returns the count. */
static size_t
put_decimal(char *buf, unsigned long long n)
{
	char rev[24];
	size_t k = 0;
	size_t i;

	do {
		rev[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	for (i = 0; i < k; i++)
		buf[i] = rev[k - 1 - i];
	return k;
}

static int
is_host_octet(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-';
}

size_t
sasl_cram_challenge(char *out, size_t cap, unsigned long pid,
    unsigned long long when, const char *host)
{
	size_t n = 0;
	size_t start;
	size_t i;

	if (cap < SASL_CHALLENGE_MAX + 1)
		return 0;
	/* "<" + 20 + "." + 20 + "@" leaves room for ">" and a host. */
	out[n++] = '<';
	n += put_decimal(out + n, pid);
	out[n++] = '.';
	n += put_decimal(out + n, when);
	out[n++] = '@';
	start = n;
	for (i = 0; host != NULL && host[i] != '\0' &&
	    n < SASL_CHALLENGE_MAX - 1; i++) {
		if (is_host_octet((unsigned char)host[i]))
			out[n++] = host[i];
	}
	if (n == start) {
		memcpy(out + n, "localhost", 9);
		n += 9;
	}
	out[n++] = '>';
	out[n] = '\0';
	return n;
}

/* ---------------------------------------------------------------- */
/* The exchanges.                                                    */

static enum sasl_result
refuse(struct sasl *x, const char *why)
{
	wipe(x->scratch, sizeof(x->scratch));
	wipe(x->secret, sizeof(x->secret));
	x->secret_len = 0;
	x->why = why;
	return SASL_REFUSED;
}

static enum sasl_result
challenge(struct sasl *x, const char *b64)
{
	size_t n = strlen(b64);

	memcpy(x->challenge, b64, n + 1);
	x->challenge_len = n;
	x->step++;
	return SASL_CHALLENGE;
}

/*
 * Decode one response into x->scratch; *len its length.  A response
 * longer than the scratch holds is valid base64 that no credentials we
 * accept could produce: refused, not a syntax error.
 */
static enum sasl_result
decode(struct sasl *x, const char *line, size_t len, size_t *outlen)
{
	int r = sasl_base64_decode(line, len, x->scratch, sizeof(x->scratch),
	    outlen);

	if (r == -1) {
		wipe(x->scratch, sizeof(x->scratch));
		return SASL_BAD_BASE64;
	}
	if (r == -2)
		return refuse(x, "response too long");
	return SASL_READY;
}

/* A user name: 1..SASL_USER_MAX octets, no NUL or control character
 * (they would reach the checker's and our own logs). */
static const char *
set_user(struct sasl *x, const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return "empty user name";
	if (len > SASL_USER_MAX)
		return "user name too long";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			return "control character in the user name";
	}
	memcpy(x->user, p, len);
	x->user[len] = '\0';
	x->user_len = len;
	return NULL;
}

static const char *
set_password(struct sasl *x, const char *p, size_t len)
{
	if (len == 0)
		return "empty password";
	if (len > SASL_PASSWORD_MAX)
		return "password too long";
	if (memchr(p, '\0', len) != NULL)
		return "NUL in the password";
	memcpy(x->secret, p, len);
	x->secret[len] = '\0';
	x->secret_len = len;
	return NULL;
}

/*
 * RFC 4616 §2: message = [authzid] NUL authcid NUL passwd.  We can only
 * let a user act as itself: an authzid other than the authcid is refused
 * (§2: the server "MUST verify that the authorization identity is
 * permitted"; none other is).
 */
static enum sasl_result
plain_response(struct sasl *x, const char *line, size_t len)
{
	enum sasl_result r;
	size_t n;
	const char *m;
	const char *authcid;
	const char *passwd;
	size_t zlen;
	size_t clen;
	const char *why;

	if ((r = decode(x, line, len, &n)) != SASL_READY)
		return r;
	m = x->scratch;
	authcid = memchr(m, '\0', n);
	if (authcid == NULL)
		return refuse(x, "PLAIN response without NUL separators");
	zlen = (size_t)(authcid - m);
	authcid++;
	passwd = memchr(authcid, '\0', n - zlen - 1);
	if (passwd == NULL)
		return refuse(x, "PLAIN response without a password");
	clen = (size_t)(passwd - authcid);
	passwd++;
	if ((why = set_user(x, authcid, clen)) != NULL)
		return refuse(x, why);
	if (zlen > 0 && (zlen != clen || memcmp(m, authcid, clen) != 0))
		return refuse(x, "authorization identity differs from the "
		    "user name");
	if ((why = set_password(x, passwd, n - zlen - clen - 2)) != NULL)
		return refuse(x, why);
	wipe(x->scratch, sizeof(x->scratch));
	return SASL_READY;
}

static enum sasl_result
login_user(struct sasl *x, const char *line, size_t len)
{
	enum sasl_result r;
	size_t n;
	const char *why;

	if ((r = decode(x, line, len, &n)) != SASL_READY)
		return r;
	if ((why = set_user(x, x->scratch, n)) != NULL)
		return refuse(x, why);
	wipe(x->scratch, sizeof(x->scratch));
	return challenge(x, LOGIN_PASSWORD_PROMPT);
}

static enum sasl_result
login_password(struct sasl *x, const char *line, size_t len)
{
	enum sasl_result r;
	size_t n;
	const char *why;

	if ((r = decode(x, line, len, &n)) != SASL_READY)
		return r;
	if ((why = set_password(x, x->scratch, n)) != NULL)
		return refuse(x, why);
	wipe(x->scratch, sizeof(x->scratch));
	return SASL_READY;
}

static int
hex_digit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * RFC 2195 §2: the response is the user name, a space and the digest as
 * 32 lower-case hex digits.  The name may itself hold spaces, so the
 * last space separates.  Upper-case digits are lowered: checkers compare
 * against lower-case hex.
 */
static enum sasl_result
cram_response(struct sasl *x, const char *line, size_t len)
{
	enum sasl_result r;
	size_t n;
	size_t sp;
	size_t i;
	const char *why;

	if ((r = decode(x, line, len, &n)) != SASL_READY)
		return r;
	if (n < SASL_CRAM_DIGEST_LEN + 2 ||
	    x->scratch[n - SASL_CRAM_DIGEST_LEN - 1] != ' ')
		return refuse(x, "CRAM-MD5 response is not \"user digest\"");
	sp = n - SASL_CRAM_DIGEST_LEN - 1;
	for (i = sp + 1; i < n; i++) {
		if (!hex_digit((unsigned char)x->scratch[i]))
			return refuse(x, "CRAM-MD5 digest is not hex");
		x->scratch[i] = (char)ascii_lower((unsigned char)x->scratch[i]);
	}
	if ((why = set_user(x, x->scratch, sp)) != NULL)
		return refuse(x, why);
	memcpy(x->secret, x->scratch + sp + 1, SASL_CRAM_DIGEST_LEN);
	x->secret[SASL_CRAM_DIGEST_LEN] = '\0';
	x->secret_len = SASL_CRAM_DIGEST_LEN;
	wipe(x->scratch, sizeof(x->scratch));
	return SASL_READY;
}

static enum sasl_result
cram_begin(struct sasl *x, const char *stamp)
{
	size_t n = stamp != NULL ? strlen(stamp) : 0;
	size_t blen;

	if (n == 0 || n > SASL_CHALLENGE_MAX)
		return refuse(x, "no CRAM-MD5 challenge");
	memcpy(x->stamp, stamp, n + 1);
	x->stamp_len = n;
	if (sasl_base64_encode(stamp, n, x->challenge, sizeof(x->challenge),
	    &blen) != 0)
		return refuse(x, "no CRAM-MD5 challenge");
	x->challenge_len = blen;
	x->step++;
	return SASL_CHALLENGE;
}

void
sasl_wipe(struct sasl *x)
{
	wipe(x, sizeof(*x));
	x->mech = SASL_MECH_NONE;
	x->why = NULL;
}

enum sasl_result
sasl_begin(struct sasl *x, const char *mech, size_t mech_len,
    const char *initial, size_t initial_len, int has_initial,
    const char *cram_challenge)
{
	sasl_wipe(x);
	x->mech = sasl_mech_parse(mech, mech_len);
	/* RFC 4954 §4: "=" is an initial response of zero length. */
	if (has_initial && initial_len == 1 && initial[0] == '=')
		initial_len = 0;
	switch (x->mech) {
	case SASL_MECH_PLAIN:
		if (!has_initial)
			return challenge(x, "");
		x->step++;
		return plain_response(x, initial, initial_len);
	case SASL_MECH_LOGIN:
		/* A LOGIN initial response is the user name (as Outlook
		 * and others send it). */
		if (!has_initial)
			return challenge(x, LOGIN_USER_PROMPT);
		x->step++;
		return login_user(x, initial, initial_len);
	case SASL_MECH_CRAM_MD5:
		if (has_initial)
			return SASL_NO_INITIAL;
		return cram_begin(x, cram_challenge);
	default:
		return SASL_UNKNOWN_MECH;
	}
}

enum sasl_result
sasl_step(struct sasl *x, const char *line, size_t len)
{
	switch (x->mech) {
	case SASL_MECH_PLAIN:
		if (x->step == 1)
			return plain_response(x, line, len);
		break;
	case SASL_MECH_LOGIN:
		if (x->step == 1)
			return login_user(x, line, len);
		if (x->step == 2)
			return login_password(x, line, len);
		break;
	case SASL_MECH_CRAM_MD5:
		if (x->step == 1)
			return cram_response(x, line, len);
		break;
	default:
		break;
	}
	return refuse(x, "no exchange in progress");
}
