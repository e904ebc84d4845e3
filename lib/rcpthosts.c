/*
 * rcpthosts.c: reading and matching RCPTHOSTS (rcpthosts.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../proto/ascii.h"
#include "io.h"
#include "rcpthosts.h"

int
rcpthosts_read(struct rcpthosts *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n = 0;
	size_t len = 0;
	char *text;
	int e;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (st.st_size > RCPTHOSTS_MAX) {
		errno = EFBIG;
		goto fail;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL)
		goto fail;
	while (len < (size_t)st.st_size &&
	    (n = io_read(fd, text + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		e = errno;
		free(text);
		errno = e;
		goto fail;
	}
	io_close(fd);
	h->text = text;
	h->len = len;
	return 0;

fail:
	e = errno;
	io_close(fd);
	errno = e;
	return -1;
}

static int
same_domain(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && ascii_eq_n(a, b, alen);
}

int
rcpthosts_match(const char *text, size_t len, const char *domain,
    size_t dlen)
{
	const char *p = text;
	const char *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;

		p += n + 1;
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
		    line[n - 1] == '\t'))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '.') {
			if (dlen > n && same_domain(domain + dlen - n, n, line,
			    n))
				return 1;
		} else if (same_domain(domain, dlen, line, n)) {
			return 1;
		}
	}
	return 0;
}
