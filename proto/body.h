/*
 * body.h: the message decoder.  DATA text (RFC 5321 §4.5.2: CRLF line
 * ends, dot-stuffing, the end at CRLF "." CRLF) and BDAT chunk octets
 * (RFC 3030: raw, the caller bounds each chunk) become the octets a
 * delivery stores, with LF line ends.  On the way it counts the size
 * against DATABYTES and the hops (RFC 5321 §6.3), and decides whether the
 * message must be refused (size, hops, NUL, bare CR or LF).  No I/O, no
 * allocation: octets in, octets out into a buffer the caller owns.
 *
 * Every line goes through one place, body_feed(): a line that comes
 * whole in one read is scanned once (body.c, line_run); only the octets
 * at the start of a line ('.') and a line end split between two reads
 * go through the small state machine (enum body_at).
 */
#ifndef SMTP_BODY_H
#define SMTP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "reply.h"

/* body_start flags, fixed for one message. */
#define BODY_TEXT	0x01	/* DATA: dot-stuffed text that ends at
				   CRLF "." CRLF; else a BDAT chunk */
#define BODY_BARE_LF	0x02	/* a bare LF ends a line (old clients;
				   text only, never the end line) */
#define BODY_BINARY	0x04	/* BINARYMIME: CR, LF and NUL are data */

/* Where the decoder is inside a line. */
enum body_at {
	BODY_BOL = 0,	/* at the beginning of a line */
	BODY_DOT,	/* the line began with '.', nothing after it yet */
	BODY_DOT_CR,	/* ".\r" at the beginning of a line */
	BODY_MID,	/* inside a line */
	BODY_CR,	/* inside a line, a CR was the last octet read */
	BODY_END	/* text only: the end line was read; feed no more */
};

struct body {
	uint64_t databytes;		/* the size limit, octets as sent */
	unsigned flags;			/* BODY_* */
	enum body_at at;
	int after_bare_lf;		/* the last line ended in a bare LF */
	int in_headers;
	unsigned hops;			/* Received: and Delivered-To: */
	uint64_t line_len;		/* octets of the current line: any
					   length, bounded by databytes */
	uint64_t size;			/* octets stored (LF line ends) */
	uint64_t wire_size;		/* octets as sent (CRLF), counted
					   against databytes */
	enum reply_id refusal;		/* why the message will be refused;
					   REPLY_NONE: it will not */
	int nul_read;			/* a NUL in this body_feed's octets */
	size_t hdr_name_len;
	char hdr_name[16];		/* start of the current header line */
};

/* Where decoded octets go: buf holds max + 1 octets (one spare for a
 * line end that completes a line at the limit); len of them are used. */
struct body_out {
	char *buf;
	size_t len;
	size_t max;
};

/* A new message: nothing read, nothing refused. */
void body_start(struct body *b, uint64_t databytes, unsigned flags);

/*
 * Decode input; returns the octets consumed, a prefix of p.  It stops
 * early when out is full (out->len >= out->max: the caller hands the
 * octets on, sets out->len to 0 and feeds the rest) and, for text, right
 * after the end line (b->at == BODY_END).  Once the message is refused,
 * octets are still read and counted but no longer stored.
 */
size_t body_feed(struct body *b, struct body_out *out, const char *p,
    size_t len);

/* The message is complete (the end line, or the last BDAT chunk): a CR
 * left at the end is bare.  Then b->refusal says whether to refuse it. */
void body_finish(struct body *b, struct body_out *out);

#endif
