/*
 * test_sasl.c: auth/sasl.c: strict base64 (RFC 4648 §10 vectors and every
 * way to be invalid), PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195 §2's
 * own example) exchanges as tables of client lines and expected results,
 * and that no secret is left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../auth/sasl.h"
#include "tap.h"

/* ---------------------------------------------------------------- */
/* base64                                                            */

static const struct {
	const char *plain;
	const char *b64;
} vectors[] = {
	/* RFC 4648 §10 */
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
	{ "Username:", "VXNlcm5hbWU6" }, { "Password:", "UGFzc3dvcmQ6" },
	{ "\xff\xfe\xfd", "//79" }, { "\xfb\xef", "++8=" },
};

static const char *const invalid[] = {
	"Zg", "Zg=", "Zm9vY", "Z===", "====", "=", "==", "Zg==Zg==",
	"Zm=v", "Zm9v====", "Zh==", "Zm9=", "Zm 9v", "Zm9v\r", " Zm9v",
	"Zm9v\n", "-_8=", "Zm9v.", "Zm\x80v",
};

/* s with control and 8-bit octets as \xNN, for a TAP line. */
static const char *
printable(const char *s)
{
	static char out[128];
	size_t n = 0;

	for (; *s != '\0' && n + 5 < sizeof(out); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(out + n, sizeof(out) - n,
			    "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

static void
test_base64(void)
{
	char out[64];
	size_t n;
	size_t i;
	size_t k;
	int r;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t plen = strlen(vectors[i].plain);

		r = sasl_base64_encode(vectors[i].plain, plen, out,
		    sizeof(out), &n);
		ok(r == 0, "encode \"%s\" succeeds", vectors[i].b64);
		is_mem(out, n, vectors[i].b64, "  ... and gives the RFC text");
		ok(out[n] == '\0', "  ... NUL-terminated");
		memset(out, 'x', sizeof(out));
		r = sasl_base64_decode(vectors[i].b64, strlen(vectors[i].b64),
		    out, sizeof(out), &n);
		ok(r == 0 && n == plen && memcmp(out, vectors[i].plain,
		    plen) == 0, "decode \"%s\"", vectors[i].b64);
	}
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		r = sasl_base64_decode(invalid[i], strlen(invalid[i]), out,
		    sizeof(out), &n);
		ok(r == -1, "invalid base64 \"%s\" is refused",
		    printable(invalid[i]));
	}
	r = sasl_base64_decode("Zg=\0", 4, out, sizeof(out), &n);
	ok(r == -1, "a NUL in place of padding is refused");
	r = sasl_base64_decode("Zm9vYmFy", 8, out, 5, &n);
	ok(r == -2, "valid base64 longer than the buffer: -2");
	r = sasl_base64_decode("Zm9vYmFy", 8, out, 6, &n);
	ok(r == 0 && n == 6, "exactly fitting: decoded");
	r = sasl_base64_encode("foobar", 6, out, 8, &n);
	ok(r == -1, "encode without room for the NUL: -1");
	r = sasl_base64_encode("foobar", 6, out, 9, &n);
	ok(r == 0 && n == 8, "encode with room for the NUL");

	/* Every octet value, every length mod 3, round trip. */
	{
		unsigned char in[256];
		char enc[400];
		unsigned char dec[256];
		int good = 1;

		for (k = 0; k < 256; k++)
			in[k] = (unsigned char)(k * 7 + 3);
		for (k = 0; k <= 256; k++) {
			size_t elen;
			size_t dlen;

			if (sasl_base64_encode(in, k, enc, sizeof(enc),
			    &elen) != 0 || elen != (k + 2) / 3 * 4 ||
			    sasl_base64_decode(enc, elen, dec, sizeof(dec),
			    &dlen) != 0 || dlen != k ||
			    memcmp(in, dec, k) != 0)
				good = 0;
		}
		ok(good, "round trip of 0..256 octets of every value");
	}
}

/* ---------------------------------------------------------------- */
/* Exchanges                                                         */

#define B64_MAX 2048

static struct sasl x;

static const char *
b64(const char *s, size_t len)
{
	static char out[4][B64_MAX];
	static int which;
	size_t n;
	char *o = out[which++ % 4];

	if (sasl_base64_encode(s, len, o, B64_MAX, &n) != 0)
		abort();
	return o;
}

#define B64(lit) b64((lit), sizeof(lit) - 1)

static enum sasl_result
begin(const char *mech, const char *initial)
{
	return sasl_begin(&x, mech, strlen(mech), initial,
	    initial ? strlen(initial) : 0, initial != NULL,
	    "<1896.697170952@postoffice.reston.mci.net>");
}

static enum sasl_result
step(const char *line)
{
	return sasl_step(&x, line, strlen(line));
}

static int
is_ready(enum sasl_result r, const char *user, const char *secret,
    size_t secret_len, const char *stamp)
{
	return r == SASL_READY && x.user_len == strlen(user) &&
	    strcmp(x.user, user) == 0 && x.secret_len == secret_len &&
	    memcmp(x.secret, secret, secret_len) == 0 &&
	    x.secret[secret_len] == '\0' && x.stamp_len == strlen(stamp) &&
	    strcmp(x.stamp, stamp) == 0;
}

static int
is_zero(const void *p, size_t len)
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
is_refused(enum sasl_result r, const char *why_part)
{
	if (r != SASL_REFUSED || x.why == NULL) {
		diag("result %d", (int)r);
		return 0;
	}
	if (strstr(x.why, why_part) == NULL) {
		diag("why: %s", x.why);
		return 0;
	}
	/* A refusal leaves no secret behind. */
	return is_zero(x.secret, sizeof(x.secret)) &&
	    is_zero(x.scratch, sizeof(x.scratch));
}

static void
test_plain(void)
{
	enum sasl_result r;
	char big[600];
	char msg[SASL_RESPONSE_MAX + 16];
	size_t n;

	r = begin("PLAIN", B64("\0alice\0wonderland"));
	ok(is_ready(r, "alice", "wonderland", 10, ""),
	    "PLAIN initial response: user, password, empty stamp");
	ok(is_zero(x.scratch, sizeof(x.scratch)),
	    "  ... the decoded response is wiped");
	sasl_wipe(&x);
	ok(is_zero(x.secret, sizeof(x.secret)) && is_zero(x.user,
	    sizeof(x.user)), "sasl_wipe erases user and password");

	r = begin("plain", B64("alice\0alice\0wonderland"));
	ok(is_ready(r, "alice", "wonderland", 10, ""),
	    "PLAIN with authzid == authcid (mechanism case-insensitive)");

	r = begin("PLAIN", NULL);
	ok(r == SASL_CHALLENGE && x.challenge_len == 0 &&
	    x.challenge[0] == '\0', "PLAIN without initial: empty 334 "
	    "(RFC 4954 §4)");
	r = step(B64("\0alice\0wonderland"));
	ok(is_ready(r, "alice", "wonderland", 10, ""),
	    "  ... the continuation carries the credentials");

	r = begin("PLAIN", "=");
	ok(is_refused(r, "NUL"), "PLAIN \"=\" (empty response) refused");
	r = begin("PLAIN", NULL);
	r = step("");
	ok(is_refused(r, "NUL"), "PLAIN empty continuation refused");
	r = begin("PLAIN", "AGFsaWNlAHdvbmRlcmxhbmQ");
	ok(r == SASL_BAD_BASE64 && is_zero(x.scratch, sizeof(x.scratch)),
	    "PLAIN bad base64 (no padding): SASL_BAD_BASE64");
	r = begin("PLAIN", NULL);
	r = step("AGFsaWNl AHdvbmRlcmxhbmQ=");
	ok(r == SASL_BAD_BASE64, "PLAIN continuation with a space: "
	    "SASL_BAD_BASE64");
	r = begin("PLAIN", B64("bob\0alice\0wonderland"));
	ok(is_refused(r, "authorization identity"),
	    "PLAIN authzid other than authcid refused");
	r = begin("PLAIN", B64("alicewonderland"));
	ok(is_refused(r, "NUL separators"), "PLAIN without NULs refused");
	r = begin("PLAIN", B64("\0alice"));
	ok(is_refused(r, "without a password"),
	    "PLAIN with one NUL refused");
	r = begin("PLAIN", B64("\0alice\0"));
	ok(is_refused(r, "empty password"), "PLAIN empty password refused");
	r = begin("PLAIN", B64("\0\0wonderland"));
	ok(is_refused(r, "empty user"), "PLAIN empty user refused");
	r = begin("PLAIN", B64("\0alice\0wonder\0land"));
	ok(is_refused(r, "NUL in the password"),
	    "PLAIN with a third NUL refused");
	r = begin("PLAIN", B64("\0ali\nce\0wonderland"));
	ok(is_refused(r, "control character"),
	    "PLAIN user with a control character refused");

	/* RFC 4616 §2: up to 255 octets each must be accepted. */
	memset(big, 'u', 255);
	big[255] = '\0';
	memset(big + 256, 'p', 255);
	msg[0] = '\0';
	memcpy(msg + 1, big, 256);
	memcpy(msg + 257, big + 256, 255);
	r = begin("PLAIN", b64(msg, 512));
	ok(r == SASL_READY && x.user_len == 255 && x.secret_len == 255,
	    "PLAIN 255-octet user and password accepted");
	msg[0] = '\0';
	memset(msg + 1, 'u', 256);
	msg[257] = '\0';
	memcpy(msg + 258, "pw", 2);
	r = begin("PLAIN", b64(msg, 260));
	ok(is_refused(r, "user name too long"), "PLAIN 256-octet user "
	    "refused");
	msg[0] = '\0';
	memcpy(msg + 1, "alice", 5);
	msg[6] = '\0';
	memset(msg + 7, 'p', 256);
	r = begin("PLAIN", b64(msg, 263));
	ok(is_refused(r, "password too long"), "PLAIN 256-octet password "
	    "refused");
	n = SASL_RESPONSE_MAX + 1;
	memset(msg, 'a', n);
	r = begin("PLAIN", b64(msg, n));
	ok(is_refused(r, "too long"), "PLAIN response longer than any "
	    "credentials: refused, not a syntax error");
	sasl_wipe(&x);
}

static void
test_login(void)
{
	enum sasl_result r;

	r = begin("LOGIN", NULL);
	ok(r == SASL_CHALLENGE && strcmp(x.challenge, "VXNlcm5hbWU6") == 0,
	    "LOGIN: 334 Username:");
	r = step(B64("alice"));
	ok(r == SASL_CHALLENGE && strcmp(x.challenge, "UGFzc3dvcmQ6") == 0,
	    "  ... then 334 Password:");
	r = step(B64("wonderland"));
	ok(is_ready(r, "alice", "wonderland", 10, ""),
	    "  ... then the credentials are ready");
	ok(is_zero(x.scratch, sizeof(x.scratch)), "  ... scratch wiped");

	r = begin("LOGIN", B64("alice"));
	ok(r == SASL_CHALLENGE && strcmp(x.challenge, "UGFzc3dvcmQ6") == 0,
	    "LOGIN with the user as initial response: 334 Password:");
	r = step(B64("wonderland"));
	ok(is_ready(r, "alice", "wonderland", 10, ""),
	    "  ... then the credentials are ready");

	r = begin("LOGIN", NULL);
	r = step("");
	ok(is_refused(r, "empty user"), "LOGIN empty user refused");
	r = begin("LOGIN", "=");
	ok(is_refused(r, "empty user"), "LOGIN \"=\" initial refused");
	r = begin("LOGIN", NULL);
	r = step(B64("alice"));
	r = step("");
	ok(is_refused(r, "empty password"), "LOGIN empty password refused");
	r = begin("LOGIN", NULL);
	r = step("YWxpY2U");
	ok(r == SASL_BAD_BASE64, "LOGIN user in bad base64");
	r = begin("LOGIN", NULL);
	r = step(B64("alice"));
	r = step("d29uZGVybGFuZA=");
	ok(r == SASL_BAD_BASE64 && is_zero(x.scratch, sizeof(x.scratch)),
	    "LOGIN password in bad base64");
	r = begin("LOGIN", NULL);
	r = step(B64("alice"));
	r = step(B64("wonder\0land"));
	ok(is_refused(r, "NUL"), "LOGIN password with a NUL refused");
	sasl_wipe(&x);
	r = step(B64("alice"));
	ok(is_refused(r, "no exchange"), "a line without an exchange is "
	    "refused");
}

static void
test_cram(void)
{
	static const char stamp[] =
	    "<1896.697170952@postoffice.reston.mci.net>";
	enum sasl_result r;
	char c[SASL_CHALLENGE_MAX + 1];
	char host[400];
	size_t n;

	/* RFC 2195 §2's example. */
	n = sasl_cram_challenge(c, sizeof(c), 1896, 697170952,
	    "postoffice.reston.mci.net");
	is_mem(c, n, stamp, "CRAM-MD5 challenge <pid.time@host>");
	r = begin("CRAM-MD5", NULL);
	ok(r == SASL_CHALLENGE && strcmp(x.challenge, "PDE4OTYuNjk3MTcwOTUy"
	    "QHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+") == 0,
	    "CRAM-MD5: 334 with RFC 2195's base64 challenge");
	r = step("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	ok(is_ready(r, "tim", "b913a602c7eda7a495b4e6e7334d3890", 32, stamp),
	    "  ... RFC 2195's response: user, hex digest, challenge");

	r = begin("CRAM-MD5", NULL);
	r = step(B64("tim B913A602C7EDA7A495B4E6E7334D3890"));
	ok(is_ready(r, "tim", "b913a602c7eda7a495b4e6e7334d3890", 32, stamp),
	    "CRAM-MD5 upper-case digest lowered");
	r = begin("CRAM-MD5", NULL);
	r = step(B64("tim tom b913a602c7eda7a495b4e6e7334d3890"));
	ok(is_ready(r, "tim tom", "b913a602c7eda7a495b4e6e7334d3890", 32,
	    stamp), "CRAM-MD5 user with a space: the last space separates");
	r = begin("CRAM-MD5", B64("tim"));
	ok(r == SASL_NO_INITIAL, "CRAM-MD5 with an initial response: "
	    "SASL_NO_INITIAL (501, RFC 4954 §4)");
	r = begin("CRAM-MD5", NULL);
	r = step(B64("tim b913a602c7eda7a495b4e6e7334d389g"));
	ok(is_refused(r, "not hex"), "CRAM-MD5 non-hex digest refused");
	r = begin("CRAM-MD5", NULL);
	r = step(B64("tim b913a602c7eda7a495b4e6e7334d389"));
	ok(is_refused(r, "user digest"), "CRAM-MD5 short digest refused");
	r = begin("CRAM-MD5", NULL);
	r = step(B64("timb913a602c7eda7a495b4e6e7334d3890"));
	ok(is_refused(r, "user digest"), "CRAM-MD5 without the space refused");
	r = begin("CRAM-MD5", NULL);
	r = step(B64(" b913a602c7eda7a495b4e6e7334d3890"));
	ok(is_refused(r, "user digest"), "CRAM-MD5 empty user refused");
	r = begin("CRAM-MD5", NULL);
	r = step("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw=");
	ok(r == SASL_BAD_BASE64, "CRAM-MD5 bad base64");
	r = sasl_begin(&x, "CRAM-MD5", 8, NULL, 0, 0, NULL);
	ok(is_refused(r, "challenge"), "CRAM-MD5 without a challenge refused");

	n = sasl_cram_challenge(c, sizeof(c), 42, 7, "bad host!\r\n_x.example");
	is_mem(c, n, "<42.7@badhostx.example>",
	    "challenge host: only letters, digits, '.', '-'");
	n = sasl_cram_challenge(c, sizeof(c), 42, 7, "");
	is_mem(c, n, "<42.7@localhost>", "challenge: empty host is "
	    "localhost");
	n = sasl_cram_challenge(c, sizeof(c), 42, 7, NULL);
	is_mem(c, n, "<42.7@localhost>", "challenge: NULL host is localhost");
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	n = sasl_cram_challenge(c, sizeof(c), 4294967295UL,
	    18446744073709551615ULL, host);
	ok(n == SASL_CHALLENGE_MAX && c[n] == '\0' && c[n - 1] == '>' &&
	    strlen(c) == n, "challenge with a long host fits "
	    "SASL_CHALLENGE_MAX (%zu)", n);
	ok(sasl_cram_challenge(c, SASL_CHALLENGE_MAX, 1, 1, "h") == 0,
	    "challenge: a short buffer gives 0");
	sasl_wipe(&x);
}

static void
test_mechs(void)
{
	ok(sasl_mech_parse("plain", 5) == SASL_MECH_PLAIN &&
	    sasl_mech_parse("Login", 5) == SASL_MECH_LOGIN &&
	    sasl_mech_parse("cram-md5", 8) == SASL_MECH_CRAM_MD5,
	    "mechanism names are case-insensitive");
	ok(sasl_mech_parse("PLAINX", 5) == SASL_MECH_PLAIN &&
	    sasl_mech_parse("PLAINX", 6) == SASL_MECH_NONE &&
	    sasl_mech_parse("", 0) == SASL_MECH_NONE &&
	    sasl_mech_parse("DIGEST-MD5", 10) == SASL_MECH_NONE,
	    "only (pointer, length) counts; unknown names are NONE");
	ok(strcmp(sasl_mech_name(SASL_MECH_CRAM_MD5), "CRAM-MD5") == 0 &&
	    strcmp(sasl_mech_name(SASL_MECH_NONE), "") == 0,
	    "canonical names");
	ok(begin("XOAUTH2", NULL) == SASL_UNKNOWN_MECH,
	    "an unknown mechanism: SASL_UNKNOWN_MECH");
}

int
main(void)
{
	test_base64();
	test_plain();
	test_login();
	test_cram();
	test_mechs();
	return tap_done();
}
