/*
 * tap.h: a tiny TAP producer for the C unit tests (no external library).
 * Include it once per test program:
 *	ok(cond, "name %d", i);   is_str(got, len, want, "name");
 *	return tap_done();        prints the plan, exits 1 on any failure
 */
#ifndef SMTP_TAP_H
#define SMTP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static int __attribute__((unused))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

/* got[0..len) must equal the NUL-terminated want; on mismatch both are
 * shown as TAP diagnostics. */
static int __attribute__((unused))
is_mem(const char *got, size_t len, const char *want, const char *name)
{
	int same = len == strlen(want) && memcmp(got, want, len) == 0;

	if (!ok(same, "%s", name)) {
		printf("#   got:  '%.*s'\n#   want: '%s'\n", (int)len, got,
		    want);
	}
	return same;
}

static void __attribute__((unused))
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
