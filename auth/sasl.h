/*
 * sasl.h: the server side of the SASL exchanges smtpd offers in AUTH
 * (RFC 4954): PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and
 * CRAM-MD5 (RFC 2195), with the strict base64 (RFC 4648 §4) they travel
 * in.  Pure: no I/O, no allocation, no clock.  The module never checks a
 * password; it only turns the client's lines into the three fields a
 * checkpassword program reads (auth/checkpassword.h):
 *
 *	PLAIN, LOGIN	user, password, ""         (RFC 4616 §2; the stamp is
 *						    empty, as the qmail-smtpd
 *						    AUTH patch sends it)
 *	CRAM-MD5	user, hex digest, challenge (RFC 2195 §2, the
 *						    convention of vchkpw)
 *
 * Memory: the caller owns one struct sasl per session.  Every string in it
 * is NUL-terminated and stays valid until the next call on it.  The
 * struct holds secrets once sasl_begin/sasl_step return SASL_READY: the
 * caller must call sasl_wipe() as soon as the checker has run.  Every
 * other result leaves no secret in it (the module wipes its scratch).
 *
 * Input lines are (pointer, length) pairs of base64 text as the engine
 * hands them over (SMTP_EV_AUTH, SMTP_EV_AUTH_DATA); they need no NUL.
 */
#ifndef SMTP_SASL_H
#define SMTP_SASL_H

#include <stddef.h>

/* RFC 4616 §2: a server MUST accept authcid and passwd of up to 255
 * octets; longer ones are refused.  The same bounds serve LOGIN. */
#define SASL_USER_MAX 255
#define SASL_PASSWORD_MAX 255
/* RFC 2195 §2: the digest is 16 octets sent as 32 lower-case hex digits. */
#define SASL_CRAM_DIGEST_LEN 32
/* A CRAM-MD5 challenge "<pid.time@host>" (RFC 2195 §2), host cut to fit:
 * user, digest and challenge must fit the 512 octets a checkpassword
 * program reads from fd 3 (255 + 1 + 32 + 1 + 127 + 1 < 512). */
#define SASL_CHALLENGE_MAX 127
/* base64 of a challenge, NUL included (RFC 4648 §4: 4 per 3 octets). */
#define SASL_CHALLENGE_B64_MAX ((SASL_CHALLENGE_MAX + 2) / 3 * 4 + 1)
/* The longest decoded response kept: authzid NUL authcid NUL passwd. */
#define SASL_RESPONSE_MAX (SASL_USER_MAX * 2 + SASL_PASSWORD_MAX + 2)

enum sasl_mech {
	SASL_MECH_NONE = 0,
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_CRAM_MD5
};

enum sasl_result {
	SASL_CHALLENGE,		/* send 334 with x->challenge (base64, may
				   be empty: the empty 334 of RFC 4954 §4) */
	SASL_READY,		/* user, secret and stamp are set: ask the
				   checker, then sasl_wipe() */
	SASL_BAD_BASE64,	/* the line is not base64: 501 5.5.2 */
	SASL_NO_INITIAL,	/* an initial response where the mechanism
				   has the server speak first: 501
				   (RFC 4954 §4) */
	SASL_REFUSED,		/* valid base64, but not credentials we can
				   ask about (x->why says why): 535 */
	SASL_UNKNOWN_MECH	/* not a mechanism of this module: 504 */
};

struct sasl {
	enum sasl_mech mech;
	int step;			/* exchanges answered so far */
	const char *why;		/* SASL_REFUSED: static text for the log */
	size_t user_len;
	char user[SASL_USER_MAX + 1];
	size_t secret_len;		/* password, or CRAM-MD5 hex digest */
	char secret[SASL_PASSWORD_MAX + 1];
	size_t stamp_len;		/* CRAM-MD5 challenge; else empty */
	char stamp[SASL_CHALLENGE_MAX + 1];
	size_t challenge_len;		/* the next 334's text, base64 */
	char challenge[SASL_CHALLENGE_B64_MAX];
	char scratch[SASL_RESPONSE_MAX];
};

/*
 * The mechanism named by name[0..len) (case-insensitive), or
 * SASL_MECH_NONE.  sasl_mech_name gives its canonical upper-case name
 * ("PLAIN", "LOGIN", "CRAM-MD5"; "" for NONE).
 */
enum sasl_mech sasl_mech_parse(const char *name, size_t len);
const char *sasl_mech_name(enum sasl_mech mech);

/*
 * A CRAM-MD5 challenge "<pid.when@host>" into out (capacity cap, NUL
 * included): the RFC 2195 §2 form, from values the caller reads from the
 * world.  Host octets other than letters, digits, '.' and '-' are
 * dropped and the host is cut so that the challenge fits
 * SASL_CHALLENGE_MAX; an empty host becomes "localhost".  Returns its
 * length, or 0 when cap < SASL_CHALLENGE_MAX + 1.
 */
size_t sasl_cram_challenge(char *out, size_t cap, unsigned long pid,
    unsigned long long when, const char *host);

/*
 * Start an exchange for AUTH mech[0..mech_len).  has_initial says whether
 * the AUTH command carried an initial response initial[0..initial_len)
 * ("=" is the empty response, RFC 4954 §4).  cram_challenge is the
 * NUL-terminated challenge of sasl_cram_challenge (used by CRAM-MD5 only;
 * may be NULL otherwise).  Resets x first.
 */
enum sasl_result sasl_begin(struct sasl *x, const char *mech,
    size_t mech_len, const char *initial, size_t initial_len,
    int has_initial, const char *cram_challenge);

/* The client's next line (base64) after SASL_CHALLENGE. */
enum sasl_result sasl_step(struct sasl *x, const char *line, size_t len);

/* Erase every secret and reset x (lib/wipe.h, not a plain memset). */
void sasl_wipe(struct sasl *x);

/*
 * Strict base64 (RFC 4648 §4): the alphabet A-Z a-z 0-9 + /, length a
 * multiple of 4, "=" padding only at the end, no white space, and the
 * unused bits of the last group zero (RFC 4648 §3.5), so that every
 * octet string has exactly one accepted encoding.  The empty string is
 * valid and decodes to nothing.
 *
 * sasl_base64_decode writes the octets to out (capacity cap, no NUL) and
 * *outlen.  Returns 0; -1 when in is not valid base64; -2 when it is
 * valid but decodes to more than cap octets (nothing is written then).
 *
 * sasl_base64_encode writes the encoding and a NUL to out (capacity cap)
 * and its length to *outlen.  Returns 0, or -1 when it does not fit.
 */
int sasl_base64_decode(const char *in, size_t len, void *out, size_t cap,
    size_t *outlen);
int sasl_base64_encode(const void *in, size_t len, char *out, size_t cap,
    size_t *outlen);

#endif
