/*
 * fmt.c: a printf subset over a bounded buffer (fmt.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fmt.h"

static void
add_number(struct buf *b, int negative, uint64_t magnitude)
{
	char mem[21];	/* '-' and the 20 digits of 2^64 - 1 */
	struct buf n;

	buf_init(&n, mem, sizeof(mem));
	if (negative)
		(void)buf_addc(&n, '-');
	(void)buf_addu64(&n, magnitude);
	buf_addcut(b, n.p, n.len);
}

static void
add_signed(struct buf *b, long long v)
{
	/* The magnitude of LLONG_MIN, without overflowing. */
	add_number(b, v < 0, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v);
}

/* One conversion, c just after its '%', its argument taken from ap:
 * returns what follows it, or NULL when it is not in the subset. */
static const char *
convert(struct buf *b, const char *c, va_list *ap)
{
	const char *s;
	int longs = 0;

	if (c[0] == '.' && c[1] == '*' && c[2] == 's') {
		int prec = va_arg(*ap, int);

		s = va_arg(*ap, const char *);
		buf_addcut(b, s, prec < 0 ? strlen(s) :
		    strnlen(s, (size_t)prec));
		return c + 3;
	}
	if (c[0] == 'z' && c[1] == 'u') {
		add_number(b, 0, va_arg(*ap, size_t));
		return c + 2;
	}
	if (c[0] == 's') {
		s = va_arg(*ap, const char *);
		buf_addcut(b, s, strlen(s));
		return c + 1;
	}
	if (c[0] == '%') {
		buf_addcut(b, "%", 1);
		return c + 1;
	}
	while (*c == 'l' && longs < 2) {
		longs++;
		c++;
	}
	if (*c == 'd')
		add_signed(b, longs == 2 ? va_arg(*ap, long long) :
		    longs == 1 ? va_arg(*ap, long) : va_arg(*ap, int));
	else if (*c == 'u')
		add_number(b, 0, longs == 2 ? va_arg(*ap, unsigned long long) :
		    longs == 1 ? va_arg(*ap, unsigned long) :
		    va_arg(*ap, unsigned));
	else
		return NULL;
	return c + 1;
}

size_t
fmt_v(char *out, size_t cap, const char *format, va_list ap)
{
	struct buf b;
	const char *p = format;
	const char *pct;
	va_list args;

	if (cap == 0)
		return 0;
	buf_init(&b, out, cap - 1);	/* room for the NUL */
	va_copy(args, ap);	/* a va_list parameter has no portable & */
	while ((pct = strchr(p, '%')) != NULL) {
		const char *next;

		buf_addcut(&b, p, (size_t)(pct - p));
		next = convert(&b, pct + 1, &args);
		if (next == NULL) {
			/* Not in the subset: the rest is copied as it stands,
			 * since which arguments follow is no longer known
			 * (tests/logs.bats checks that no format has one). */
			p = pct;
			break;
		}
		p = next;
	}
	va_end(args);
	buf_addcut(&b, p, strlen(p));
	out[b.len] = '\0';
	return b.len;
}

size_t
fmt(char *out, size_t cap, const char *format, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, format);
	n = fmt_v(out, cap, format, ap);
	va_end(ap);
	return n;
}
