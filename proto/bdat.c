/*
 * bdat.c: BDAT (RFC 3030 CHUNKING): the command, and the reading of its
 * chunks.  A chunk follows its BDAT line whatever the reply, so even a
 * refused BDAT has its chunk read (SMTP_READ_SKIP, or SMTP_READ_CHUNK
 * with bdat_refusal set) before the reply goes out.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ascii.h"
#include "limits.h"
#include "reply.h"
#include "session.h"
#include "smtp.h"

/*
 * "BDAT" SP chunk-size [ SP "LAST" ] (RFC 3030 §2): 0, or -1 for any
 * other line.  On -1, *size is set when a size can still be read (spaces,
 * then digits that fit, whatever follows): a lenient peer, a proxy say,
 * would send that many octets as the chunk, so they must be skipped, not
 * run as commands.
 */
static int
parse_bdat(const char *arg, size_t len, uint64_t *size, int *last,
    int *has_size)
{
	size_t i = 0;
	size_t start;
	uint64_t v = 0;

	*last = 0;
	*has_size = 0;
	while (i < len && arg[i] == ' ')
		i++;
	start = i;
	for (; i < len && arg[i] >= '0' && arg[i] <= '9'; i++) {
		unsigned d = (unsigned)(arg[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (i == start)
		return -1;
	*size = v;
	*has_size = 1;
	if (start > 0)
		return -1;
	if (i == len)
		return 0;
	if (len - i == 5 && ascii_eq_n(arg + i, " last", 5)) {
		*last = 1;
		return 0;
	}
	return -1;
}

/* Discard a chunk we will not take, then answer with why. */
static void
refuse_chunk(struct smtp_session *s, enum reply_id why)
{
	s->reading = SMTP_READ_CHUNK;
	s->bdat_refusal = why;
	s->state = SMTP_ST_BDAT;
	if (s->bdat_left == 0)
		smtp_chunk_end(s);
}

/* The chunk of a BDAT we refuse follows it whatever we answer: read
 * and drop it, then answer why (RFC 3030 §2). */
static void
skip_next_chunk(struct smtp_session *s, uint64_t size, enum reply_id why)
{
	s->bdat_left = size;
	s->bdat_last = 0;
	s->skip_refusal = why;
	if (size == 0) {
		s->reading = SMTP_READ_COMMAND;
		smtp_fail(s, why);
		return;
	}
	s->reading = SMTP_READ_SKIP;
}

/*
 * A BDAT line with a size but bad syntax: skip its chunk, then 501.
 * Before the first chunk the transaction stays (nothing is lost yet);
 * between chunks the message would miss one, so it is dropped, and the
 * chunks that follow are skipped as out of sequence.
 */
static void
bad_bdat(struct smtp_session *s, uint64_t size)
{
	int was_open = s->delivery_open;
	unsigned nrcpt = s->nrcpt;
	uint64_t octets = s->msg.wire_size;

	if (s->state == SMTP_ST_BDAT)
		smtp_reset_transaction(s);
	skip_next_chunk(s, size, REPLY_SYNTAX);
	if (was_open) {
		/* The 501 follows the chunk.  Until the abort is answered
		 * the caller still sees the message it is to drop. */
		smtp_raise_event(s, SMTP_EV_DATA_ABORT);
		s->event.refusal = REPLY_SYNTAX;
		s->event.size = octets;
		s->abort_is_silent = 1;
		s->delivery_open = 1;
		s->nrcpt = nrcpt;
	}
}

/* A chunk after the first, of an open (or failed) transaction. */
static void
next_chunk(struct smtp_session *s, uint64_t size)
{
	if (s->bdat_refusal != REPLY_NONE) {
		s->reading = SMTP_READ_CHUNK;
		if (size == 0)
			smtp_chunk_end(s);
		return;
	}
	/* wire_size + size could wrap: compare without the sum. */
	if (size > s->cfg->databytes ||
	    s->msg.wire_size > s->cfg->databytes - size) {
		/* Over the limit: the open delivery is dropped now; the
		 * 552 goes out once the chunk has been read. */
		refuse_chunk(s, REPLY_SIZE_EXCEEDED);
		if (s->delivery_open) {
			smtp_raise_event(s, SMTP_EV_DATA_ABORT);
			s->event.refusal = REPLY_SIZE_EXCEEDED;
			s->event.size = s->msg.wire_size;
			s->abort_is_silent = 1;
		}
		return;
	}
	s->reading = SMTP_READ_CHUNK;
	if (size == 0)
		smtp_chunk_end(s);
}

void
smtp_cmd_bdat(struct smtp_session *s, char *arg, size_t len)
{
	uint64_t size;
	int last;
	int has_size;

	if (parse_bdat(arg, len, &size, &last, &has_size) != 0) {
		if (has_size)
			bad_bdat(s, size);
		else
			smtp_fail(s, REPLY_SYNTAX);
		return;
	}
	/* Its own state check, after the size is known: the chunk follows
	 * whatever we answer.  The state stays as it is. */
	if (s->state != SMTP_ST_RCPT && s->state != SMTP_ST_BDAT) {
		skip_next_chunk(s, size, smtp_wrong_state(s, IN(SMTP_ST_RCPT)));
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	if (s->state == SMTP_ST_BDAT) {
		next_chunk(s, size);
		return;
	}
	smtp_reset_message(s);
	smtp_start_message(s, 0);
	s->bdat_left = size;
	s->bdat_last = last;
	if (size > s->cfg->databytes) {
		/* Refused before any DATA event: DATA_ABORT tells the
		 * caller, so that the message is logged too; the 552
		 * follows the chunk. */
		refuse_chunk(s, REPLY_SIZE_EXCEEDED);
		smtp_raise_event(s, SMTP_EV_DATA_ABORT);
		s->event.refusal = REPLY_SIZE_EXCEEDED;
		s->event.size = size;
		s->abort_is_silent = 1;
		return;
	}
	smtp_raise_event(s, SMTP_EV_DATA);
	s->event.is_bdat = 1;
}

/* The current BDAT chunk is complete (RFC 3030 §2). */
void
smtp_chunk_end(struct smtp_session *s)
{
	s->reading = SMTP_READ_COMMAND;
	if (s->bdat_refusal != REPLY_NONE) {
		smtp_queue(s, s->bdat_refusal);
		if (s->bdat_last)
			smtp_reset_transaction(s);
		return;
	}
	if (!s->bdat_last) {
		smtp_queue(s, REPLY_CHUNK_OK);
		return;
	}
	smtp_finish_message(s);
}

size_t
smtp_feed_chunk(struct smtp_session *s, const char *p, size_t len)
{
	size_t n = len;

	if (n > s->bdat_left)
		n = (size_t)s->bdat_left;
	if (s->bdat_refusal == REPLY_NONE)
		n = smtp_feed_message(s, p, n);
	s->bdat_left -= n;
	if (s->bdat_left == 0 && !s->has_event)
		smtp_chunk_end(s);
	return n;
}

/* A chunk sent after a BDAT we refused: drop it, then answer. */
size_t
smtp_skip_chunk(struct smtp_session *s, size_t len)
{
	size_t n = len;

	if (n > s->bdat_left)
		n = (size_t)s->bdat_left;
	s->bdat_left -= n;
	if (s->bdat_left == 0) {
		s->reading = SMTP_READ_COMMAND;
		smtp_fail(s, s->skip_refusal);
	}
	return n;
}
