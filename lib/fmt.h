/*
 * fmt.h: the part of printf that smtpd's log lines and short texts use,
 * so that the static binary leaves out libc's printf (with its floating
 * point and stdio): its code would add a 64 KB window of text, and a
 * page fault, to the start of every session.
 *
 * Conversions: %s, %.*s, %d, %u, %ld, %lu, %lld, %llu, %zu and %%; no
 * flags, widths or other precisions.  At anything else the rest of the
 * format is copied as it stands and no more arguments are read.  The
 * format attribute has the compiler check the arguments against printf,
 * not against this subset: tests/logs.bats checks every format in the
 * source for conversions outside it.
 */
#ifndef SMTP_FMT_H
#define SMTP_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Into out[0..cap), cut to cap - 1 octets and NUL-terminated (cap > 0);
 * returns the octets written, without the NUL. */
size_t fmt_v(char *out, size_t cap, const char *format, va_list ap);
size_t fmt(char *out, size_t cap, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
