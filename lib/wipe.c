/*
 * wipe.c: erase secrets.  explicit_bzero and memset_s are not POSIX, and
 * a plain memset before free or return is a dead store the compiler may
 * drop; stores through a volatile pointer are observable behaviour
 * (C11 §5.1.2.3p6), so they must all happen.
 */
#include <stddef.h>

#include "wipe.h"

void
wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;

	while (len > 0) {
		*v++ = 0;
		len--;
	}
}
