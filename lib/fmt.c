/*
 * fmt.c: a printf subset over a bounded buffer (fmt.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fmt.h"

/* Append what fits of s[0..len): text is cut, never dropped whole. */
static void
add_cut(struct buf *b, const char *s, size_t len)
{
	size_t room = b->cap - b->len;

	if (len > room) {
		len = room;
		b->overflow = 1;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

static void
add_number(struct buf *b, int negative, uint64_t magnitude)
{
	char mem[21];	/* '-' and the 20 digits of 2^64 - 1 */
	struct buf n;

	buf_init(&n, mem, sizeof(mem));
	if (negative)
		(void)buf_addc(&n, '-');
	(void)buf_addu64(&n, magnitude);
	add_cut(b, n.p, n.len);
}

static void
add_signed(struct buf *b, long long v)
{
	/* The magnitude of LLONG_MIN, without overflowing. */
	add_number(b, v < 0, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v);
}

size_t
fmt_v(char *out, size_t cap, const char *format, va_list ap)
{
	struct buf b;
	const char *p = format;

	if (cap == 0)
		return 0;
	buf_init(&b, out, cap - 1);	/* room for the NUL */
	while (*p != '\0') {
		const char *pct = strchr(p, '%');
		const char *conv;
		int longs = 0;

		if (pct == NULL) {
			add_cut(&b, p, strlen(p));
			break;
		}
		add_cut(&b, p, (size_t)(pct - p));
		conv = pct + 1;
		if (conv[0] == '.' && conv[1] == '*' && conv[2] == 's') {
			int prec = va_arg(ap, int);
			const char *s = va_arg(ap, const char *);
			size_t len = prec < 0 ? strlen(s) :
			    strnlen(s, (size_t)prec);

			add_cut(&b, s, len);
			p = conv + 3;
			continue;
		}
		while (*conv == 'l' && longs < 2) {
			longs++;
			conv++;
		}
		if (*conv == 'z' && longs == 0) {
			if (conv[1] == 'u') {
				add_number(&b, 0, va_arg(ap, size_t));
				p = conv + 2;
				continue;
			}
		} else if (*conv == 's' && longs == 0) {
			const char *s = va_arg(ap, const char *);

			add_cut(&b, s, strlen(s));
			p = conv + 1;
			continue;
		} else if (*conv == '%' && longs == 0) {
			add_cut(&b, "%", 1);
			p = conv + 1;
			continue;
		} else if (*conv == 'd') {
			add_signed(&b, longs == 2 ? va_arg(ap, long long) :
			    longs == 1 ? va_arg(ap, long) : va_arg(ap, int));
			p = conv + 1;
			continue;
		} else if (*conv == 'u') {
			add_number(&b, 0, longs == 2 ?
			    va_arg(ap, unsigned long long) : longs == 1 ?
			    va_arg(ap, unsigned long) : va_arg(ap, unsigned));
			p = conv + 1;
			continue;
		}
		/* Not in the subset: the rest of the format is copied as it
		 * stands, since which arguments follow is no longer known
		 * (tests/logs.bats checks that no format has one). */
		add_cut(&b, pct, strlen(pct));
		break;
	}
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
