/*
 * fuzz_sasl.c: the SASL exchanges and strict base64 (auth/sasl.c) under
 * hostile input.
 *
 * Input: [0] bits 0-1 the mechanism (PLAIN, LOGIN, CRAM-MD5, or the
 * first line as its name), bit 2 an initial response (the next line),
 * bits 3-7 and [1..4] the CRAM-MD5 challenge's pid and time; then lines
 * separated by LF: the client's responses, fed to sasl_step while the
 * exchange asks for more.  Invariants:
 * - base64 is canonical (RFC 4648 §3.5): what decodes re-encodes to the
 *   very same text, and anything encodes then decodes to itself; a
 *   decode that does not fit writes nothing;
 * - every result is a known one; a challenge is NUL-terminated valid
 *   base64 within its array; SASL_READY gives a NUL-terminated user of
 *   1-255 octets without controls and a NUL-terminated secret of 1-255
 *   octets (CRAM-MD5: 32 lower-case hex digits, and the stamp is the
 *   challenge we sent);
 * - no secret is left behind: after any result but SASL_READY the
 *   secret and the scratch are all zero; after SASL_READY the scratch
 *   is; sasl_wipe() zeroes every field that held one;
 * - the same exchange twice gives the same results;
 * - sasl_mech_name and sasl_mech_parse agree; a CRAM-MD5 challenge is
 *   "<digits.digits@host>" with a clean host, within SASL_CHALLENGE_MAX.
 */
#include <stdint.h>
#include <string.h>

#include "../../auth/sasl.h"
#include "fuzz.h"

#define MAX_LINES 8
#define LINE_MAX_LEN 20000

struct line {
	const char *p;
	size_t len;
};

static int
all_zero(const void *p, size_t len)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (u[i] != 0)
			return 0;
	}
	return 1;
}

static int
is_b64_octet(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* Canonical base64 both ways. */
static void
check_base64(const char *in, size_t len)
{
	static unsigned char dec[LINE_MAX_LEN];
	static char enc[LINE_MAX_LEN * 2 + 8];
	static unsigned char small[8];
	size_t n = 0;
	size_t m = 0;
	size_t i;
	int r;

	if (len > LINE_MAX_LEN)
		return;
	r = sasl_base64_decode(in, len, dec, sizeof(dec), &n);
	FUZZ_CHECK(r == 0 || r == -1, "decode: 0 or -1 with room to spare");
	if (r == 0) {
		FUZZ_CHECK(len % 4 == 0, "valid base64 is whole groups");
		FUZZ_CHECK(n <= len / 4 * 3 && n + 2 >= len / 4 * 3,
		    "decoded length");
		for (i = 0; i < len; i++)
			FUZZ_CHECK(is_b64_octet(in[i]), "the base64 alphabet");
		FUZZ_CHECK(sasl_base64_encode(dec, n, enc, sizeof(enc), &m) ==
		    0 && m == len && memcmp(enc, in, len) == 0 &&
		    enc[m] == '\0', "valid base64 re-encodes to itself");
		/* Too small an output: -2, nothing written. */
		if (n > sizeof(small)) {
			memset(small, 0xa5, sizeof(small));
			FUZZ_CHECK(sasl_base64_decode(in, len, small,
			    sizeof(small), &m) == -2, "-2 when it does not fit");
			for (i = 0; i < sizeof(small); i++)
				FUZZ_CHECK(small[i] == 0xa5,
				    "nothing written when it does not fit");
		}
	}
	/* Any octets: encode, then decode to the same octets. */
	FUZZ_CHECK(sasl_base64_encode(in, len, enc, sizeof(enc), &m) == 0,
	    "encode fits");
	FUZZ_CHECK(m == (len + 2) / 3 * 4 && strlen(enc) == m,
	    "encoded length");
	FUZZ_CHECK(sasl_base64_decode(enc, m, dec, sizeof(dec), &n) == 0 &&
	    n == len && memcmp(dec, in, len) == 0, "encode then decode");
	FUZZ_CHECK(sasl_base64_encode(in, len, enc, m, &n) == -1,
	    "encode refuses a buffer without room for the NUL");
}

static int
is_lower_hex(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	}
	return 1;
}

static void
check_result(const struct sasl *x, enum sasl_result r, const char *stamp)
{
	static unsigned char dec[SASL_CHALLENGE_B64_MAX];
	size_t n;
	size_t i;

	FUZZ_CHECK(r <= SASL_UNKNOWN_MECH, "a known result");
	if (r == SASL_CHALLENGE) {
		FUZZ_CHECK(x->challenge_len < sizeof(x->challenge) &&
		    x->challenge[x->challenge_len] == '\0' &&
		    strlen(x->challenge) == x->challenge_len,
		    "challenge NUL-terminated within its array");
		FUZZ_CHECK(sasl_base64_decode(x->challenge, x->challenge_len,
		    dec, sizeof(dec), &n) == 0, "challenge is base64");
	}
	if (r == SASL_REFUSED)
		FUZZ_CHECK(x->why != NULL, "a refusal says why");
	if (r != SASL_READY) {
		FUZZ_CHECK(all_zero(x->secret, sizeof(x->secret)) &&
		    x->secret_len == 0, "no secret kept unless READY");
		FUZZ_CHECK(all_zero(x->scratch, sizeof(x->scratch)),
		    "scratch wiped");
		return;
	}
	FUZZ_CHECK(all_zero(x->scratch, sizeof(x->scratch)),
	    "scratch wiped when READY");
	FUZZ_CHECK(x->user_len >= 1 && x->user_len <= SASL_USER_MAX &&
	    x->user[x->user_len] == '\0' && strlen(x->user) == x->user_len,
	    "user NUL-terminated, 1-255 octets");
	for (i = 0; i < x->user_len; i++)
		FUZZ_CHECK((unsigned char)x->user[i] >= 0x20 &&
		    x->user[i] != 0x7f, "no control characters in the user");
	FUZZ_CHECK(x->secret_len >= 1 && x->secret_len <= SASL_PASSWORD_MAX &&
	    x->secret[x->secret_len] == '\0' &&
	    strlen(x->secret) == x->secret_len,
	    "secret NUL-terminated, 1-255 octets");
	if (x->mech == SASL_MECH_CRAM_MD5) {
		FUZZ_CHECK(x->secret_len == SASL_CRAM_DIGEST_LEN &&
		    is_lower_hex(x->secret, x->secret_len),
		    "CRAM-MD5 digest: 32 lower-case hex digits");
		FUZZ_CHECK(stamp != NULL && strcmp(x->stamp, stamp) == 0 &&
		    x->stamp_len == strlen(stamp), "the stamp is our challenge");
	} else {
		FUZZ_CHECK(x->stamp_len == 0 && x->stamp[0] == '\0',
		    "no stamp for PLAIN and LOGIN");
	}
}

/* The exchange; returns a digest of its results for the rerun check. */
static uint64_t
exchange(struct sasl *x, const char *mech, size_t mech_len,
    const struct line *initial, const struct line *lines, size_t nlines,
    const char *stamp)
{
	uint64_t h = FUZZ_HASH_INIT;
	enum sasl_result r;
	size_t i = 0;

	r = sasl_begin(x, mech, mech_len, initial ? initial->p : NULL,
	    initial ? initial->len : 0, initial != NULL, stamp);
	for (;;) {
		check_result(x, r, stamp);
		h = fuzz_hash(h, &r, sizeof(r));
		if (r == SASL_READY) {
			h = fuzz_hash(h, x->user, x->user_len);
			h = fuzz_hash(h, x->secret, x->secret_len);
			sasl_wipe(x);
			FUZZ_CHECK(all_zero(x->user, sizeof(x->user)) &&
			    all_zero(x->secret, sizeof(x->secret)) &&
			    all_zero(x->stamp, sizeof(x->stamp)) &&
			    all_zero(x->scratch, sizeof(x->scratch)) &&
			    x->user_len == 0 && x->secret_len == 0,
			    "sasl_wipe erases every secret");
			FUZZ_CHECK(x->mech == SASL_MECH_NONE, "wipe resets");
			break;
		}
		if (r == SASL_CHALLENGE)
			h = fuzz_hash(h, x->challenge, x->challenge_len);
		if (r != SASL_CHALLENGE || i == nlines)
			break;
		r = sasl_step(x, lines[i].p, lines[i].len);
		i++;
	}
	/* After the wipe nothing is in progress: a step is refused. */
	if (r == SASL_READY) {
		r = sasl_step(x, "AAAA", 4);
		FUZZ_CHECK(r == SASL_REFUSED, "no step outside an exchange");
		check_result(x, r, stamp);
	}
	return h;
}

static void
check_names(void)
{
	enum sasl_mech m;

	for (m = SASL_MECH_PLAIN; m <= SASL_MECH_CRAM_MD5; m++) {
		const char *name = sasl_mech_name(m);

		FUZZ_CHECK(sasl_mech_parse(name, strlen(name)) == m,
		    "mech names parse back");
	}
	FUZZ_CHECK(sasl_mech_name(SASL_MECH_NONE)[0] == '\0', "NONE is \"\"");
}

static void
check_cram_challenge(char *out, size_t cap, unsigned long pid,
    unsigned long long when, const char *host)
{
	size_t n = sasl_cram_challenge(out, cap, pid, when, host);
	size_t i = 1;

	FUZZ_CHECK(n > 0 && n <= SASL_CHALLENGE_MAX && strlen(out) == n,
	    "challenge length");
	FUZZ_CHECK(out[0] == '<' && out[n - 1] == '>', "<...>");
	while (out[i] >= '0' && out[i] <= '9')
		i++;
	FUZZ_CHECK(i > 1 && out[i] == '.', "<pid.");
	i++;
	while (out[i] >= '0' && out[i] <= '9')
		i++;
	FUZZ_CHECK(out[i] == '@' && i + 2 < n, "<pid.when@");
	for (i++; i < n - 1; i++)
		FUZZ_CHECK((out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= 'A' && out[i] <= 'Z') ||
		    (out[i] >= '0' && out[i] <= '9') || out[i] == '.' ||
		    out[i] == '-', "a clean host");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mechs[] = { "PLAIN", "login", "CRAM-MD5" };
	static struct sasl x;
	static char host[256];
	static char stamp[SASL_CHALLENGE_MAX + 1];
	struct line lines[MAX_LINES + 2];
	const struct line *initial = NULL;
	const char *mech;
	size_t mech_len;
	size_t nlines = 0;
	size_t first = 0;
	const char *p;
	const char *end;
	unsigned long pid;
	unsigned long long when;
	uint64_t h1;
	uint64_t h2;
	size_t i;
	size_t n;

	if (size < 5)
		return 0;
	check_names();
	p = (const char *)data + 5;
	end = (const char *)data + size;
	while (nlines < MAX_LINES + 2) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));

		lines[nlines].p = p;
		lines[nlines].len = lf ? (size_t)(lf - p) : (size_t)(end - p);
		nlines++;
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	for (i = 0; i < nlines; i++)
		check_base64(lines[i].p, lines[i].len);

	/* The CRAM-MD5 challenge, from the input's numbers and a host
	 * made of the last line. */
	pid = (unsigned long)data[1] << 8 | data[2];
	when = (unsigned long long)data[3] << 32 | (unsigned long long)data[4] << 3 |
	    (data[0] >> 3);
	n = lines[nlines - 1].len < sizeof(host) - 1 ?
	    lines[nlines - 1].len : sizeof(host) - 1;
	memcpy(host, lines[nlines - 1].p, n);
	host[n] = '\0';
	check_cram_challenge(stamp, sizeof(stamp), pid, when, host);
	FUZZ_CHECK(sasl_cram_challenge(stamp, SASL_CHALLENGE_MAX, pid, when,
	    host) == 0, "a short buffer is refused");
	check_cram_challenge(stamp, sizeof(stamp), pid, when, "mx.test");

	if ((data[0] & 3) == 3) {
		mech = lines[0].p;
		mech_len = lines[0].len;
		first = 1;
	} else {
		mech = mechs[data[0] & 3];
		mech_len = strlen(mech);
	}
	if (data[0] & 4 && first < nlines)
		initial = &lines[first++];
	h1 = exchange(&x, mech, mech_len, initial, lines + first,
	    nlines - first, stamp);
	h2 = exchange(&x, mech, mech_len, initial, lines + first,
	    nlines - first, stamp);
	FUZZ_CHECK(h1 == h2, "the same exchange, the same results");
	return 0;
}
