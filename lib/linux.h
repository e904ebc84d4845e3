/*
 * linux.h: included before any system header by the files that use a
 * Linux system call beyond POSIX.1-2008 where there is one (pipe2,
 * O_TMPFILE, close_range, pidfd_open), each with a POSIX fallback.  glibc
 * declares them with _GNU_SOURCE only.  -DSMTPD_PORTABLE builds the
 * fallbacks on Linux too (the tests run them that way).
 */
#ifndef SMTP_LINUX_H
#define SMTP_LINUX_H

#if defined(__linux__) && !defined(SMTPD_PORTABLE)
#define SMTPD_LINUX 1
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif

#endif
