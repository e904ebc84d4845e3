/*
 * header.h: the trace fields smtpd prepends to every message, built into
 * a caller's bounded buffer: Return-Path: (RFC 5321 §4.4), Delivered-To:
 * and Received: (RFC 5321 §4.4, RFC 3848 WITH keywords).  Client-given
 * strings (HELO, addresses, AUTH user) are sanitized: control characters,
 * parentheses, backslashes and anything that could end the field are
 * replaced, so no header can be injected.  LF line ends.
 * Each returns 0, or -1 when the buffer is too small (b->overflow set).
 */
#ifndef SMTP_HEADER_H
#define SMTP_HEADER_H

#include "../lib/buf.h"
#include "deliver.h"

int header_return_path(struct buf *b, const struct envelope *env);
int header_delivered_to(struct buf *b, const char *rcpt);
int header_received(struct buf *b, const struct envelope *env);

#endif
