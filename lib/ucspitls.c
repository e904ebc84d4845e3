/*
 * ucspitls.c: the UCSPI-TLS control exchange of ucspitls.h.  The
 * protocol as the wrappers implement it (sslserver of ucspi-ssl): one command
 * octet, 'y' (start TLS) or 'Y' (start TLS and report); the report is
 * NUL-terminated "VAR=value" strings, then an empty string.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "io.h"
#include "ucspitls.h"

int
ucspitls_fd(const char *text)
{
	long n = 0;
	const char *p;

	if (text == NULL || *text == '\0')
		return -1;
	for (p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (INT_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (fcntl((int)n, F_GETFD) == -1)
		return -1;
	return (int)n;
}

/* The part of the answer kept for the caller, and where it stands. */
struct answer {
	char *info;
	size_t cap;
	size_t kept;		/* octets stored in info */
	size_t whole;		/* of which in whole strings */
	int is_full;		/* a string did not fit: keep nothing more */
	int at_string_start;	/* the next octet begins a string */
	size_t total;		/* octets read */
};

/* Take n octets of the answer; 1 at its end, 0 for more, -1 too long. */
static int
answer_take(struct answer *a, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (++a->total > UCSPITLS_ANSWER_MAX)
			return -1;
		if (p[i] == '\0' && a->at_string_start)
			return 1;	/* the empty string: the end */
		a->at_string_start = p[i] == '\0';
		if (a->is_full)
			continue;
		if (a->kept == a->cap) {
			a->is_full = 1;
			continue;
		}
		a->info[a->kept++] = p[i];
		if (p[i] == '\0')
			a->whole = a->kept;
	}
	return 0;
}

int
ucspitls_starttls(int ctlfd, char *info, size_t cap, size_t *len,
    int timeout_ms)
{
	struct answer a;
	long long deadline = io_now_ms() + timeout_ms;
	int left;
	char block[512];
	ssize_t n;
	int r;

	memset(&a, 0, sizeof(a));
	a.info = info;
	a.cap = cap;
	a.at_string_start = 1;
	*len = 0;
	if (io_write_timeout(ctlfd, "Y", 1, timeout_ms) != 0)
		return -1;
	for (;;) {
		left = io_ms_left(deadline);
		if (left == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = io_wait(ctlfd, 0, left);
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		/*
		 * Nothing follows the answer on this descriptor, so reading a
		 * block may not take anything that belongs to someone else.
		 */
		n = io_read(ctlfd, block, sizeof(block));
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EPROTO;
			return -1;
		}
		r = answer_take(&a, block, (size_t)n);
		if (r == -1) {
			errno = EMSGSIZE;
			return -1;
		}
		if (r == 1)
			break;
	}
	*len = a.whole;
	return 0;
}

const char *
ucspitls_get(const char *info, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = info;
	const char *end = info + len;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);

		if (n > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			*vlen = n - nlen - 1;
			return p + nlen + 1;
		}
		p += n + 1;
	}
	return NULL;
}
