/*
 * starttls.c: STARTTLS through tlswrapper (fd 5/6) and UCSPI-TLS
 * (starttls.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "logesc.h"
#include "starttls.h"
#include "ucspitls.h"

/* tlswrapper(1) -n: "a control pipe on filedescriptor 5 for
 * child-to-parent signalling and a control pipe on filedescriptor 6 for
 * parent-to-child acknowledgement" (fd 6 only from 20260428). */
#define TLSWRAPPER_FD 5
#define TLSWRAPPER_ACK_FD 6
/* Old tlswrapper: after fd 5 is closed, input that comes within this
 * many milliseconds of the last is still taken for cleartext (a
 * handshake and the client's first command take longer), for at most
 * STARTTLS_SETTLE_MAX_MS in all. */
#define STARTTLS_SETTLE_MS 2
#define STARTTLS_SETTLE_MAX_MS 200
/* Of the UCSPI-TLS wrapper's report only the protocol and cipher are
 * logged, each cut to TLS_NAME_MAX. */
#define TLS_INFO_MAX 1024
#define TLS_NAME_MAX 64
/* Plaintext read away after STARTTLS, at most.  Through UCSPI-TLS
 * anything beyond stays where it is and makes the handshake fail;
 * through tlswrapper it ends the session. */
#define STARTTLS_DISCARD_MAX (4 * 65536)

/* A descriptor the environment names for STARTTLS: open and not 0-2.
 * It is made close-on-exec here, so that no child ever holds it. */
static int
tls_env_fd(const char *value)
{
	int fd = ucspitls_fd(value);

	if (fd <= 2)
		return -1;
	if (io_cloexec(fd) != 0)
		return -1;
	return fd;
}

/* fd 6 is tlswrapper's acknowledgement pipe (release 20260428 and
 * later): a pipe smtpd can read; made close-on-exec. */
static int
tlswrapper_ack_pipe(void)
{
	struct stat st;
	int fl = fcntl(TLSWRAPPER_ACK_FD, F_GETFL);

	if (fl == -1 || (fl & O_ACCMODE) == O_WRONLY)
		return 0;
	if (fstat(TLSWRAPPER_ACK_FD, &st) != 0 || !S_ISFIFO(st.st_mode))
		return 0;
	return io_cloexec(TLSWRAPPER_ACK_FD) == 0;
}

unsigned
starttls_configure(struct starttls *t, const struct starttls_env *env)
{
	int wrapper_fl = -1;
	int wrapper_ack = 0;

	t->mode = TLS_OFF;
	/*
	 * sslserver sets the SSL descriptors for implicit TLS too
	 * (ucspi-ssl's sslserver), so they are closed on exec whether or not
	 * STARTTLS is offered.
	 */
	t->ctl_fd = tls_env_fd(env->ssl_ctl_fd);
	t->read_fd = tls_env_fd(env->ssl_read_fd);
	t->write_fd = tls_env_fd(env->ssl_write_fd);
	if (env->tlswrapper) {
		wrapper_fl = fcntl(TLSWRAPPER_FD, F_GETFL);
		if (wrapper_fl != -1 && io_cloexec(TLSWRAPPER_FD) != 0)
			wrapper_fl = -1;
		wrapper_ack = tlswrapper_ack_pipe();
	}
	if (env->smtps)
		return SMTP_CF_TLS;
	if (env->ucspitls) {
		if (t->ctl_fd < 0 || t->read_fd < 0 || t->write_fd < 0) {
			log_line("warning", "UCSPITLS is set but SSLCTLFD, "
			    "SSLREADFD and SSLWRITEFD are not open descriptors "
			    "above 2: STARTTLS is not offered");
			return 0;
		}
		t->mode = TLS_UCSPI;
		return SMTP_CF_STARTTLS;
	}
	if (env->tlswrapper) {
		if (wrapper_fl == -1 || (wrapper_fl & O_ACCMODE) == O_RDONLY) {
			log_line("warning", "TLSWRAPPER is set but fd 5 is not "
			    "a writable control pipe (tlswrapper -n): STARTTLS "
			    "is not offered");
			return 0;
		}
		t->mode = wrapper_ack ? TLS_WRAPPER : TLS_WRAPPER_OLD;
		return SMTP_CF_STARTTLS;
	}
	return 0;
}

/* A TLS handshake record header (type 22, version 3.x) in buf. */
static int
has_tls_record(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (buf[i] == 0x16 && buf[i + 1] == 0x03)
			return 1;
	return 0;
}

/*
 * Everything the client sent after STARTTLS was sent in the clear and
 * may have been put there by someone in the path (CVE-2011-0411): read
 * it away, buffered or waiting on fd 0, adding its size to *n.  With
 * quiet_ms 0 only what waits now; else until nothing has come for
 * quiet_ms or the clock passes until_ms.  0 when nothing more waits;
 * 1 when more does (past STARTTLS_DISCARD_MAX octets or until_ms); -1
 * when the client has gone.
 */
static int
discard_cleartext(struct starttls *t, size_t *n, int quiet_ms,
    long long until_ms)
{
	ssize_t r;
	int w;

	t->saw_tls = 0;

	*n += *t->in_len - *t->in_off;
	*t->in_off = *t->in_len = 0;
	for (;;) {
		if (*n >= STARTTLS_DISCARD_MAX ||
		    (quiet_ms > 0 && io_now_ms() >= until_ms))
			return 1;
		w = io_wait(0, 0, quiet_ms);
		if (w == 0)
			return 0;
		if (w < 0)
			return -1;
		r = io_read(0, t->in, t->in_cap);
		if (r <= 0)
			return -1;
		if (!t->saw_tls)
			t->saw_tls = has_tls_record(t->in, (size_t)r);
		*n += (size_t)r;
	}
}

static void
log_discarded(struct starttls *t, size_t n)
{
	if (n > 0)
		log_line("warning", "%s: STARTTLS: discarded %zu octets the "
		    "client sent after it in the clear", t->session_id, n);
}

/* The cleartext that came with or after STARTTLS, before the 220 goes:
 * nothing waiting yet can be the client's side of the handshake. */
static int
discard_pipelined(struct starttls *t, size_t *n)
{
	return discard_cleartext(t, n, 0, 0) < 0 ? -1 : 0;
}

/* A wrapper's string, fit for the log (lib/logesc.c), bounded. */
static const char *
tls_name(char *dst, size_t cap, const char *v, size_t n)
{
	return v == NULL || n == 0 ? "unknown" : logesc(dst, cap, v, n);
}

/* UCSPI-TLS (ucspi-ssl's sslserver): 220 in the clear, 'Y', the report, then
 * SSLREADFD/SSLWRITEFD become fd 0/fd 1 for the rest of the session. */
static int
starttls_ucspi(struct starttls *t)
{
	char info[TLS_INFO_MAX];
	char protocol[TLS_NAME_MAX + 1];
	char cipher[TLS_NAME_MAX + 1];
	const char *p;
	const char *v;
	size_t len;
	size_t vlen = 0;
	size_t n = 0;
	int r;

	/* fd 0 is the client's socket: what the client sends after the
	 * discard stays there, and the wrapper reads it as the start of
	 * the handshake, which then fails.  Cleartext never reaches us. */
	smtp_answer(t->session, REPLY_STARTTLS_GO);
	r = discard_pipelined(t, &n);
	log_discarded(t, n);
	if (r != 0 || t->flush() != 0) {
		smtp_close(t->session);
		return 0;
	}
	if (ucspitls_starttls(t->ctl_fd, info, sizeof(info), &len,
	    t->budget()) != 0) {
		log_line("warning", "%s: STARTTLS: TLS handshake failed: %s",
		    t->session_id, errno == EPROTO ? "the wrapper closed "
		    "SSLCTLFD" : log_errno(errno));
		smtp_close(t->session);
		return 0;
	}
	/* The wrapper owns the network connection now: our copies of it
	 * go, and the session goes on over its pipes. */
	if (dup2(t->read_fd, 0) == -1 || dup2(t->write_fd, 1) == -1) {
		log_line("warning", "%s: STARTTLS: unable to switch to the "
		    "TLS descriptors: %s", t->session_id, log_errno(errno));
		smtp_close(t->session);
		return 0;
	}
	if (t->read_fd != t->ctl_fd)
		(void)io_close(t->read_fd);
	if (t->write_fd != t->ctl_fd &&
	    t->write_fd != t->read_fd)
		(void)io_close(t->write_fd);
	smtp_tls_started(t->session);
	v = ucspitls_get(info, len, "SSL_PROTOCOL", &vlen);
	p = tls_name(protocol, sizeof(protocol), v, vlen);
	v = ucspitls_get(info, len, "SSL_CIPHER", &vlen);
	log_line("info", "%s: STARTTLS: TLS started: protocol %s cipher %s",
	    t->session_id, p, tls_name(cipher, sizeof(cipher), v, vlen));
	return 1;
}

/* TLS is on through tlswrapper: the session starts over. */
static int
tlswrapper_started(struct starttls *t, size_t discarded)
{
	log_discarded(t, discarded);
	smtp_tls_started(t->session);
	log_line("info", "%s: STARTTLS: handed to tlswrapper (it reports "
	    "no protocol or cipher)", t->session_id);
	return 1;
}

static void
tlswrapper_failed(struct starttls *t, size_t discarded, const char *why,
    const char *detail)
{
	log_discarded(t, discarded);
	log_line("warning", "%s: STARTTLS: %s%s%s", t->session_id, why,
	    detail[0] != '\0' ? ": " : "", detail);
	smtp_close(t->session);
}

/*
 * tlswrapper -n from 20260428 (tlswrapper(1), -n): the 220 goes out on
 * fd 1, then a zero byte on fd 5; tlswrapper flushes the 220, stops
 * forwarding cleartext, and only then answers with a zero byte on
 * fd 6.  So once that byte is read, everything waiting on fd 0 is
 * cleartext, and it all goes; what comes after is decrypted.  (The
 * client's first decrypted octets can only follow a whole handshake
 * that starts after the acknowledgement, long after the few system
 * calls of the discard.)  fd 0/fd 1 stay tlswrapper's pipes.
 */
static int
starttls_tlswrapper(struct starttls *t)
{
	unsigned char ack = 0xff;
	size_t n = 0;
	ssize_t r;

	smtp_answer(t->session, REPLY_STARTTLS_GO);
	if (discard_pipelined(t, &n) != 0 || t->flush() != 0) {
		log_discarded(t, n);
		smtp_close(t->session);
		return 0;
	}
	/* The zero byte at once after the 220, no other system call
	 * between: tlswrapper sends the 220 on before it reads fd 5, and a
	 * ClientHello that reaches it first is forwarded as cleartext and
	 * lost (a window only tlswrapper can close; this keeps our part of
	 * it short).  One octet into this empty pipe does not block. */
	if (write(TLSWRAPPER_FD, "", 1) != 1 &&
	    io_write_timeout(TLSWRAPPER_FD, "", 1, t->budget()) != 0) {
		tlswrapper_failed(t, n, "unable to signal tlswrapper on fd 5",
		    log_errno(errno));
		return 0;
	}
	r = io_wait(TLSWRAPPER_ACK_FD, 0, t->budget());
	if (r == 0) {
		r = -1;
		errno = ETIMEDOUT;
	} else if (r == 1) {
		r = io_read(TLSWRAPPER_ACK_FD, &ack, 1);
	}
	if (r < 0) {
		tlswrapper_failed(t, n, "no acknowledgement from tlswrapper on "
		    "fd 6", log_errno(errno));
		return 0;
	}
	if (r == 0) {
		tlswrapper_failed(t, n, "tlswrapper closed fd 6 without "
		    "acknowledging", "");
		return 0;
	}
	if (ack != 0) {
		tlswrapper_failed(t, n, "tlswrapper acknowledged with a byte "
		    "other than zero on fd 6", "");
		return 0;
	}
	(void)io_close(TLSWRAPPER_FD);
	(void)io_close(TLSWRAPPER_ACK_FD);
	/* r < 0: the client has gone, and the next read says so */
	r = discard_cleartext(t, &n, 0, 0);
	if (r > 0) {
		tlswrapper_failed(t, n, "too much cleartext after it", "");
		return 0;
	}
	/* tlswrapper sends our 220 before it reads fd 5: a client that
	 * answers faster than that has had its ClientHello forwarded as
	 * cleartext, just discarded.  The handshake cannot happen now. */
	if (t->saw_tls) {
		tlswrapper_failed(t, n, "the client's TLS handshake came in "
		    "the clear, before tlswrapper stopped forwarding cleartext",
		    "");
		return 0;
	}
	return tlswrapper_started(t, n);
}

/*
 * tlswrapper -n before 20260428 (Debian 12's 0~20230101): the 220 goes
 * to fd 5, and its close starts TLS.  Until tlswrapper has read that
 * close it still forwards cleartext into fd 0, the pipe the decrypted
 * data will come through, and nothing tells us when it has stopped:
 * smtpd alone cannot rule injection out (SECURITY.md).  The best it
 * can do: discard what came before the 220, then, after the close,
 * what keeps coming with no pause of STARTTLS_SETTLE_MS; a handshake
 * takes longer than that.  Cleartext that tlswrapper forwards after a
 * longer pause (it was not scheduled) is read as if decrypted.
 */
static int
starttls_tlswrapper_old(struct starttls *t)
{
	const char *out;
	size_t before;
	size_t len;
	size_t n = 0;
	int r;
	int e;

	log_line("warning", "%s: STARTTLS: this tlswrapper has no "
	    "acknowledgement on fd 6 (release 20260428 and later have it): "
	    "commands injected in the clear cannot be ruled out",
	    t->session_id);
	before = smtp_output(t->session, &out);
	smtp_answer(t->session, REPLY_STARTTLS_GO);
	if (discard_pipelined(t, &n) != 0) {
		log_discarded(t, n);
		smtp_close(t->session);
		return 0;
	}
	len = smtp_output(t->session, &out);
	if (io_write_timeout(1, out, before, t->budget()) != 0) {
		log_line("info", "%s: unable to write to the client: %s",
		    t->session_id, log_errno(errno));
		smtp_output_done(t->session, len);
		log_discarded(t, n);
		smtp_close(t->session);
		return 0;
	}
	r = io_write_timeout(TLSWRAPPER_FD, out + before, len - before,
	    t->budget());
	e = errno;
	smtp_output_done(t->session, len);
	if (io_close(TLSWRAPPER_FD) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	if (r != 0) {
		tlswrapper_failed(t, n, "unable to hand the 220 to tlswrapper "
		    "(fd 5)", log_errno(e));
		return 0;
	}
	/* r < 0: the client has gone, and the next read says so */
	r = discard_cleartext(t, &n, STARTTLS_SETTLE_MS,
	    io_now_ms() + STARTTLS_SETTLE_MAX_MS);
	if (r > 0) {
		tlswrapper_failed(t, n, "too much cleartext after it", "");
		return 0;
	}
	return tlswrapper_started(t, n);
}

int
starttls_run(struct starttls *t)
{
	if (t->mode == TLS_UCSPI)
		return starttls_ucspi(t);
	if (t->mode == TLS_WRAPPER)
		return starttls_tlswrapper(t);
	if (t->mode == TLS_WRAPPER_OLD)
		return starttls_tlswrapper_old(t);
	smtp_answer(t->session, REPLY_TLS_TEMP_FAIL);
	return 0;
}
