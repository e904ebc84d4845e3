/*
 * limits.h: every protocol limit smtpd enforces, in one place, each with
 * its source.  Overflowing any of them produces a reply, never growth.
 * Sizes count octets and, where the RFC says so, include the CRLF.
 */
#ifndef SMTP_LIMITS_H
#define SMTP_LIMITS_H

/* RFC 5321 §4.5.3.1.4: a command line, CRLF included. */
#define SMTP_COMMAND_LINE_MAX 512
/*
 * No text line limit.  RFC 5321 §4.5.3.1.6 (1000 octets, CRLF included)
 * is the least a receiver must take and what a sender should keep to;
 * §4.5.3.1 asks implementations to avoid length limits "to the maximum
 * extent possible".  The engine streams message lines and keeps only the
 * first octets of a header line (for the hop count), so a long line costs
 * no memory, and real mail has them (unwrapped HTML, long header fields):
 * a line may be as long as DATABYTES allows, in DATA and in BDAT.
 */
/* RFC 5321 §4.5.3.1.1 and §4.5.3.1.2. */
#define SMTP_LOCAL_PART_MAX 64
#define SMTP_DOMAIN_MAX 255
/* RFC 5321 §4.5.3.1.3: a reverse- or forward-path, angle brackets included. */
#define SMTP_PATH_MAX 256
/* A mailbox as text: local part, "@", domain, NUL. */
#define SMTP_MAILBOX_MAX (SMTP_LOCAL_PART_MAX + 1 + SMTP_DOMAIN_MAX + 1)
/* The HELO/EHLO argument we keep (printable ASCII, a domain's length). */
#define SMTP_HELO_MAX SMTP_DOMAIN_MAX
/* RFC 4954 §4: an AUTH line carries up to 12288 octets of base64. */
#define SMTP_AUTH_RESPONSE_MAX 12288
#define SMTP_AUTH_LINE_MAX (SMTP_AUTH_RESPONSE_MAX + 32)
/* RFC 5321 §4.5.3.1.8: recipients per message, MAXRCPTS default. */
#define SMTP_MAXRCPTS_DEFAULT 100
/* DATABYTES default: 35 MB, a common cap among large providers. */
#define SMTP_DATABYTES_DEFAULT 36700160ULL
/* RFC 5321 §6.3: a message with this many Received: (or Delivered-To:)
 * header fields is looping; 100 is the RFC's suggested threshold. */
#define SMTP_HOPS_MAX 100
/* Bad commands before 421 and close (RFC 5321 §4.3.2 lets us give up). */
#define SMTP_ERRORS_MAX 20
/* Seconds per read, write or child program (TIMEOUT default); RFC 5321
 * §4.5.3.2 asks servers to wait at least 5 minutes for a command. */
#define SMTP_TIMEOUT_DEFAULT 300
/* Whole-session limit in seconds (SESSIONTIMEOUT default): a client that
 * trickles a byte before every TIMEOUT is still cut off. */
#define SMTP_SESSION_TIMEOUT_DEFAULT 3600
/* Free-form reply text a caller may supply (pipe hook, checkpassword). */
#define SMTP_REPLY_TEXT_MAX 200
/* Bytes of queued replies; the engine stops consuming input until the
 * caller drains output below the point where the largest reply fits. */
#define SMTP_OUTPUT_MAX 4096
/* Message bytes batched into one SMTP_EV_BODY event. */
#define SMTP_BODY_CHUNK_MAX 65536

/* PROXY protocol (haproxy's doc/proxy-protocol.txt).  §2.1: a v1 line is
 * at most 107 octets, CRLF included ("PROXY UNKNOWN" with two full IPv6
 * addresses and ports). */
#define PROXY_V1_LINE_MAX 107
/* A v2 header: 16 octets and the length they announce (up to 65535, §2.2).
 * haproxy with every proxy-v2-options TLV stays well under 1 KB; a longer
 * header is refused as oversized rather than buffered. */
#define PROXY_HEADER_MAX 4096
/* §2: the receiver "may apply a short timeout ... at least 3 seconds to
 * cover a TCP retransmit": seconds allowed for the whole header (or
 * TIMEOUT, when that is shorter).  A proxy sends it on connect. */
#define PROXY_TIMEOUT 10

#endif
