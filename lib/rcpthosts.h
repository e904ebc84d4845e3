/*
 * rcpthosts.h: RCPTHOSTS, the domains smtpd takes mail for, in qmail's
 * format: one domain a line; "example.com" is that domain, ".example.com"
 * any domain below it; blank lines and lines starting with '#' are
 * ignored, and so are trailing spaces, tabs and CRs.  Domains compare
 * without regard to ASCII case.  The file is read whole, once, at
 * start-up; matching is a pure function of the text.
 */
#ifndef SMTP_RCPTHOSTS_H
#define SMTP_RCPTHOSTS_H

#include <stddef.h>

/* RCPTHOSTS larger than this is a configuration error. */
#define RCPTHOSTS_MAX (4 * 1024 * 1024)

struct rcpthosts {
	char *text;		/* NULL: no RCPTHOSTS: every domain */
	size_t len;
};

/*
 * Read the file at path into h (malloc, kept for the process).  0, or -1
 * with errno (EFBIG: larger than RCPTHOSTS_MAX); h is then unchanged.
 */
int rcpthosts_read(struct rcpthosts *h, const char *path);

/* Does the list text[0..len) name domain[0..dlen)?  1 or 0. */
int rcpthosts_match(const char *text, size_t len, const char *domain,
    size_t dlen);

#endif
