/*
 * usage.h: smtpd --help (usage.c).
 */
#ifndef SMTPD_USAGE_H
#define SMTPD_USAGE_H

/* The usage text, on fd 1. */
void usage(void);

#endif
