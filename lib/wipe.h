/*
 * wipe.h: erase secrets (AUTH payloads, decoded passwords) in a way the
 * compiler may not optimise away.  Call it right after the last use.
 */
#ifndef SMTP_WIPE_H
#define SMTP_WIPE_H

#include <stddef.h>

void wipe(void *p, size_t len);

#endif
