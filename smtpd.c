/*
 * smtpd.c: the only part of smtpd that touches the world.  It reads argv
 * and the environment into one runtime struct, speaks one SMTP session on
 * fd 0 / fd 1 through the engine in proto/, answers the engine's events
 * with policy (RCPTHOSTS, RELAYCLIENT) and storage (deliver/), keeps the
 * deadlines with poll(), logs one line per event and chooses the exit
 * code: 0 normal end, 100 usage or permanent configuration error, 111
 * temporary failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <syslog.h>	/* LOG_MAIL, LOG_INFO, ..., _PATH_LOG */
#include <time.h>
#include <unistd.h>

#include "auth/checkpassword.h"
#include "auth/sasl.h"
#include "deliver/deliver.h"
#include "lib/buf.h"
#include "lib/io.h"
#include "lib/logesc.h"
#include "lib/logsock.h"
#include "lib/spawn.h"
#include "lib/ucspitls.h"
#include "lib/wipe.h"
#include "proto/ascii.h"
#include "proto/proxy.h"
#include "proto/smtp.h"

/* The syslog daemon's socket (<syslog.h> names it on glibc and the BSDs). */
#ifndef _PATH_LOG
#define _PATH_LOG "/dev/log"
#endif

#ifndef SMTPD_VERSION
#define SMTPD_VERSION "unknown"
#endif

#define EXIT_OK 0
#define EXIT_PERM 100
#define EXIT_TEMP 111

/* Input is read in large blocks (qmail's byte-at-a-time reads are its
 * bottleneck). */
#define INPUT_MAX 65536
/* MAXRCPTS above this is refused as a configuration error: the
 * recipient table is allocated once, at start-up. */
#define MAXRCPTS_CAP 10000
/* RCPTHOSTS is read whole at start-up. */
#define RCPTHOSTS_MAX (4 * 1024 * 1024)
#define LOG_LINE_MAX 1024
#define NAME_MAX_LEN 256
/*
 * The environment of pipe, qmail-queue and RCPTCHECK programs
 * (build_session_env).  Linux refuses any one variable longer than 128 KB
 * (MAX_ARG_STRLEN) at exec, so RECIPIENTS is kept below half of that: a
 * RCPT beyond it gets 452 4.5.3 and the client sends the rest in another
 * transaction (RFC 5321 §4.5.3.1.10).  The other variables are bounded
 * by the protocol's limits and fit in SESSION_ENV_OURS_TEXT.
 */
#define SESSION_ENV_RCPTS_MAX 65536
#define SESSION_ENV_OURS_TEXT 8192
#define SESSION_ENV_TEXT_MAX (SESSION_ENV_RCPTS_MAX + SESSION_ENV_OURS_TEXT)
/* Variables passed on from smtpd's own environment, at most. */
#define SESSION_ENV_INHERIT_MAX 1024
#define SESSION_ENV_OURS_MAX 16

/* Everything the session knows; the one mutable file-scope object. */
struct runtime {
	struct smtp_config cfg;
	struct smtp_session session;
	struct deliver deliver;
	enum deliver_kind kind;
	int use_syslog;
	int out_is_not_socket;		/* flush_output: send() said ENOTSOCK */
	unsigned long pid;
	char session_id[32];
	unsigned long nmessages;	/* DATA/BDAT transactions started */
	unsigned long naccepted;	/* of them, answered 250 */
	int in_message;			/* started, not yet logged */
	int timeout_ms;
	long long session_deadline;
	/* errors and the tarpit (configure_errors, tarpit) */
	unsigned tarpit_count;		/* TARPITCOUNT */
	int tarpit_delay_ms;		/* TARPITDELAY */
	unsigned errors_seen;		/* smtp_errors at the last look */
	int tarpit_logged;
	unsigned long refusals_logged;
	unsigned long refusals_unlogged;
	int is_relay_client;
	const char *auth_user;		/* set by a successful AUTH */
	/* AUTH (configure_auth, on_auth) */
	char *checkpassword;		/* CHECKPASSWORD; NULL: no AUTH */
	int auth_delay_ms;		/* AUTHDELAY: before each failure */
	unsigned auth_failures;
	char auth_mechs[32];		/* AUTHMECHS, checked and canonical */
	char auth_user_text[SASL_USER_MAX + 1];
	struct sasl sasl;		/* the exchange in progress */
	/* peer and local names */
	/* remote_ip/remote_port are the peer; after a PROXY header, the
	 * client it names (not the environment's TCPREMOTEIP, which is the
	 * proxy's): programs must be given these as TCPREMOTEIP/PORT. */
	char remote_ip[NAME_MAX_LEN];
	char remote_port[16];
	const char *remote_host;
	/* PROXYPROTOCOL: the address the client connected to, from the
	 * header (TCPLOCALIP/TCPLOCALPORT for programs); empty otherwise. */
	char proxy_local_ip[NAME_MAX_LEN];
	char proxy_local_port[16];
	/* The local address from getsockname(0) when no launcher named it
	 * (systemd, xinetd): TCPLOCALIP/TCPLOCALPORT for programs. */
	char sock_local_ip[NAME_MAX_LEN];
	char sock_local_port[16];
	char local_host[NAME_MAX_LEN];
	const char *greeting_host;
	/* RCPTHOSTS, read once */
	char *rcpthosts;
	size_t rcpthosts_len;
	/* the transaction */
	char helo[SMTP_HELO_MAX + 1];
	char sender[SMTP_MAILBOX_MAX];
	struct deliver_mail mail;	/* the sender and MAIL's parameters,
					   for LMTP's MAIL (deliver_rcpt) */
	char (*rcpt_text)[SMTP_MAILBOX_MAX];
	const char **rcpts;
	size_t *rcpt_domain_off;	/* the parser's split of each */
	size_t nrcpt;
	char message_id[48];
	struct envelope env;
	int delivery_open;
	/* programs (rcpt_check_program, build_session_env) */
	const char *rcptcheck;		/* RCPTCHECK, or NULL */
	char rcpt_reply[SMTP_REPLY_TEXT_MAX + 1]; /* its text for this RCPT */
	size_t rcpt_reply_len;
	size_t rcpts_env_len;		/* RECIPIENTS so far, octets */
	char *session_envp[SESSION_ENV_OURS_MAX + SESSION_ENV_INHERIT_MAX + 1];
	char session_env_text[SESSION_ENV_TEXT_MAX];
	/* environ without the names build_session_env sets: filtered once
	 * per session, not per message (inherited_env). */
	char *inherited_envp[SESSION_ENV_INHERIT_MAX];
	size_t ninherited;
	int has_inherited;
	/* STARTTLS through a wrapper (configure_tls, on_starttls) */
	int tls_mode;			/* TLS_OFF, TLS_UCSPI, TLS_WRAPPER */
	int tls_ctl_fd;			/* UCSPI-TLS: SSLCTLFD */
	int tls_read_fd;		/* UCSPI-TLS: SSLREADFD */
	int tls_write_fd;		/* UCSPI-TLS: SSLWRITEFD */
	int starttls_saw_tls;		/* discard_cleartext met a TLS record */
	/* input */
	size_t in_off;
	size_t in_len;
	char in[INPUT_MAX];
};

static struct runtime rt;
/* The recipient tables up to the default MAXRCPTS (configure). */
static char default_rcpt_text[SMTP_MAXRCPTS_DEFAULT][SMTP_MAILBOX_MAX];
static const char *default_rcpts[SMTP_MAXRCPTS_DEFAULT];
static size_t default_rcpt_domain_off[SMTP_MAXRCPTS_DEFAULT];

/* ---------------------------------------------------------------- */
/* Logging: fd 2, one line per write, unless fd 2 is the client.     */

/* One line: "smtpd: pid N: LEVEL: " and msg, cut to fit.  Built without
 * printf: a line is written for every message. */
static void
log_put(const char *level, const char *msg, size_t len)
{
	char line[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, line, sizeof(line) - 1);	/* room for '\n' or NUL */
	buf_adds(&b, "smtpd: pid ");
	buf_addu64(&b, rt.pid);
	buf_adds(&b, ": ");
	buf_adds(&b, level);
	buf_adds(&b, ": ");
	if (len > b.cap - b.len)
		len = b.cap - b.len;
	buf_add(&b, msg, len);
	if (rt.use_syslog) {
		int prio = level[0] == 'f' ? LOG_ERR :
		    level[0] == 'w' ? LOG_WARNING : LOG_INFO;

		(void)logsock_send(_PATH_LOG, LOG_MAIL | prio, "smtpd",
		    rt.pid, line, b.len);
		return;
	}
	line[b.len++] = '\n';
	(void)io_write_all(2, line, b.len);
}

static void
log_line(const char *level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	int n;
	va_list ap;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_put(level, msg, (size_t)n < sizeof(msg) ? (size_t)n :
	    sizeof(msg) - 1);
}

/*
 * Client-given text in a log line goes through lib/logesc.c, always: no
 * HELO, address, AUTH user, program reply or PROXY address can then hold
 * a space, a quote, '=' or a line end, nor look like another field or
 * line (smtpd.8 LOG).  LOG_ESC(buf, s): the string s escaped into the
 * array buf.
 */
#define LOG_ESC(buf, s) logesc((buf), sizeof(buf), (s), strlen(s))

/* "CODE", and for a refusal " STATUS reason=WORD": the word is reason,
 * or the catalogue's for id (reply_reason). */
static void
log_add_reply(struct buf *b, enum reply_id id, const char *reason)
{
	const struct reply_entry *e = reply_get(id);

	(void)buf_addu64(b, (uint64_t)e->code);
	if (e->code < 400)
		return;
	if (e->status != NULL) {
		(void)buf_addc(b, ' ');
		(void)buf_adds(b, e->status);
	}
	(void)buf_adds(b, " reason=");
	(void)buf_adds(b, reason != NULL ? reason : reply_reason(id));
}

/*
 * A refused command: "SESSION: WHAT <VALUE> refused: CODE STATUS
 * reason=WORD" (a recipient smtpd refused) or "SESSION: VERB refused:
 * CODE STATUS reason=WORD arg=VALUE" (a command the engine refused).
 */
static void
log_refusal(const char *what, const char *value, size_t len,
    enum reply_id id, const char *reason, int bracket)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, msg, sizeof(msg));
	(void)buf_adds(&b, rt.session_id);
	(void)buf_adds(&b, ": ");
	(void)buf_adds(&b, what);
	if (bracket) {
		(void)buf_adds(&b, " <");
		(void)logesc_add(&b, value, len, LOGESC_MAX);
		(void)buf_addc(&b, '>');
	}
	(void)buf_adds(&b, " refused: ");
	log_add_reply(&b, id, reason);
	if (!bracket) {
		(void)buf_adds(&b, " arg=");
		(void)logesc_add(&b, value, len, LOGESC_MAX);
	}
	log_put("info", msg, b.len);
}

/*
 * Under xinetd, and under systemd without StandardError=, fd 2 is the
 * client's own socket: a diagnostic there would reach the client.  Then
 * log to the syslog daemon (lib/logsock.c) instead.
 */
static int
stderr_is_client(void)
{
	struct stat in;
	struct stat err;

	/* fd 2 first: it is rarely a socket, and then fd 0 does not
	 * matter. */
	if (fstat(2, &err) != 0 || !S_ISSOCK(err.st_mode) ||
	    fstat(0, &in) != 0)
		return 0;
	return in.st_dev == err.st_dev && in.st_ino == err.st_ino;
}

/* The text of an errno for the log.  smtpd sets ETIMEDOUT itself when
 * TIMEOUT passes, and its text differs between C libraries ("Operation
 * timed out" in musl): one text whatever the build, for log readers. */
static const char *
errno_text(int e)
{
	return e == ETIMEDOUT ? "Connection timed out" : strerror(e);
}

static void __attribute__((noreturn))
die(int code, const char *fmt, const char *arg)
{
	log_line("fatal", fmt, arg, errno_text(errno));
	exit(code);
}

/*
 * Refusals (recipients, commands the engine refused) are logged one line
 * each up to REFUSALS_LOGGED_MAX a session; the rest are counted in one
 * line at its end, so that a client cannot turn its guesses into as many
 * log lines.
 */
#define REFUSALS_LOGGED_MAX 50

/* Is there room in the log for one more refusal?  Counts it. */
static int
refusal_logged(void)
{
	if (rt.refusals_logged < REFUSALS_LOGGED_MAX) {
		rt.refusals_logged++;
		return 1;
	}
	rt.refusals_unlogged++;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Deadlines: every wait ends by TIMEOUT and by SESSIONTIMEOUT.        */

/*
 * Milliseconds the next wait may take (a read, a write, a program, a
 * delay): TIMEOUT, or what is left of the session when that is less;
 * 0 once SESSIONTIMEOUT has passed.  Every timeout smtpd passes on comes
 * from here, so that no wait outlives the session.
 */
static int
wait_budget(void)
{
	long long left = rt.session_deadline - io_now_ms();

	if (left <= 0)
		return 0;
	return left < rt.timeout_ms ? (int)left : rt.timeout_ms;
}

static int
session_expired(void)
{
	return io_now_ms() >= rt.session_deadline;
}

/* Sleep ms, or less when the session ends sooner.  smtpd has no signal
 * handlers, so nothing interrupts the sleep; an interrupted one is only
 * shorter. */
static void
pause_ms(long long ms)
{
	struct timespec ts;
	int budget = wait_budget();

	if (ms > budget)
		ms = budget;
	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	(void)nanosleep(&ts, NULL);
}

static void end_at_deadline(void);

/* ---------------------------------------------------------------- */
/* Configuration from the environment (names in smtpd.8).            */

extern char **environ;

/*
 * One pass over environ at the first lookup: each entry's name length,
 * for the first ENV_INDEX_MAX entries, and which (name length, first
 * letter) pairs are there, 5 bits of each.  Most of the thirty-odd names
 * smtpd asks for are not set, and the pairs say so at once; a name that
 * may be there is compared with the entries of its length only, not
 * with every entry as getenv does (each getenv is a scan with strncmp).
 * smtpd never changes its environment, so one pass serves the session;
 * a larger environment than the index falls back to getenv.
 */
#define ENV_INDEX_MAX 64
static uint32_t env_seen[32];
static int env_seen_ready;
static struct {
	const char *entry;
	size_t name_len;
} env_index[ENV_INDEX_MAX];
static size_t env_count;	/* entries in env_index */
static int env_too_many;	/* environ has more: use getenv */

static void
env_scan(void)
{
	const char *eq;
	char **e;
	size_t n;

	/* A byte loop: names are short, and a word-at-a-time strchr costs
	 * more to set up than it takes (and would scan values too). */
	for (e = environ; e != NULL && *e != NULL; e++) {
		for (eq = *e; *eq != '\0' && *eq != '='; eq++)
			;
		if (*eq != '=')
			continue;
		n = (size_t)(eq - *e);
		env_seen[n & 31] |= 1u << ((unsigned char)**e & 31);
		if (env_count < ENV_INDEX_MAX) {
			env_index[env_count].entry = *e;
			env_index[env_count].name_len = n;
			env_count++;
		} else
			env_too_many = 1;
	}
	env_seen_ready = 1;
}

static char *
env_get(const char *name)
{
	size_t n;
	size_t i;

	if (!env_seen_ready)
		env_scan();
	n = strlen(name);
	if (!(env_seen[n & 31] & (1u << ((unsigned char)name[0] & 31))))
		return NULL;
	if (env_too_many)
		return getenv(name);
	for (i = 0; i < env_count; i++) {
		if (env_index[i].name_len == n &&
		    memcmp(env_index[i].entry, name, n) == 0)
			return (char *)env_index[i].entry + n + 1;
	}
	return NULL;
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = env_get(name);

	return (v != NULL && *v != '\0') ? v : fallback;
}

/* A decimal number from the environment; usage error when malformed. */
static unsigned long long
env_number(const char *name, unsigned long long fallback,
    unsigned long long min, unsigned long long max)
{
	const char *v = env_get(name);
	unsigned long long n = 0;
	const char *p;

	if (v == NULL || *v == '\0')
		return fallback;
	for (p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (ULLONG_MAX - 9) / 10) {
			log_line("fatal", "%s is not a number: %s", name, v);
			exit(EXIT_PERM);
		}
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (n < min || n > max) {
		log_line("fatal", "%s must be between %llu and %llu: %s", name,
		    min, max, v);
		exit(EXIT_PERM);
	}
	return n;
}

static void
copy_name(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The numeric address of fd 0's peer (peer != 0) or of fd 0 itself. */
static int
socket_name(int peer, char *host, size_t hostcap, char *serv, size_t servcap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *addr;
	unsigned port;
	struct buf b;
	int r = peer ? getpeername(0, (struct sockaddr *)&ss, &len) :
	    getsockname(0, (struct sockaddr *)&ss, &len);

	if (r != 0)
		return -1;
	/* inet_ntop, not getnameinfo: the same numeric text, without the
	 * resolver that getnameinfo brings into a static build. */
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;

		addr = &in->sin_addr;
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;

		addr = &in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	} else {
		return -1;
	}
	if (inet_ntop(ss.ss_family, addr, host, (socklen_t)hostcap) == NULL)
		return -1;
	buf_init(&b, serv, servcap);
	(void)buf_addu64(&b, port);
	return buf_nul(&b) == 0 && !b.overflow ? 0 : -1;
}

/* The peer, most specific source first: tcpserver, systemd,
 * xinetd/stunnel, then the socket itself. */
static void
find_peer(void)
{
	const char *ip = env_or("TCPREMOTEIP", NULL);
	const char *port = env_or("TCPREMOTEPORT", NULL);
	char host[NAME_MAX_LEN];
	char serv[32];

	if (ip == NULL) {
		ip = env_or("REMOTE_ADDR", NULL);
		port = env_or("REMOTE_PORT", NULL);
	}
	if (ip == NULL) {
		ip = env_or("REMOTE_HOST", NULL);
		port = env_or("REMOTE_PORT", NULL);
	}
	if (ip == NULL && socket_name(1, host, sizeof(host), serv,
	    sizeof(serv)) == 0) {
		ip = host;
		port = serv;
	}
	copy_name(rt.remote_ip, sizeof(rt.remote_ip), ip ? ip : "unknown");
	copy_name(rt.remote_port, sizeof(rt.remote_port), port ? port : "");
	rt.remote_host = env_or("TCPREMOTEHOST", NULL);
	/* Only tcpserver names our own address; elsewhere ask the socket. */
	if (env_or("TCPLOCALIP", NULL) == NULL && socket_name(0, host,
	    sizeof(host), serv, sizeof(serv)) == 0) {
		copy_name(rt.sock_local_ip, sizeof(rt.sock_local_ip), host);
		copy_name(rt.sock_local_port, sizeof(rt.sock_local_port),
		    serv);
	}
}

/* Our name: TCPLOCALHOST (tcpserver -l; "0" means none), else the node
 * name. */
static void
find_local_host(void)
{
	const char *name = env_or("TCPLOCALHOST", NULL);
	struct utsname u;

	if (name != NULL && strcmp(name, "0") == 0)
		name = NULL;
	if (name == NULL && uname(&u) == 0)
		name = u.nodename;
	copy_name(rt.local_host, sizeof(rt.local_host),
	    name != NULL ? name : "localhost");
}

static int
is_loopback(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
	    strncmp(ip, "::ffff:127.", 11) == 0;
}

static void
read_rcpthosts(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n = 0;
	size_t len = 0;

	if (fd < 0 || fstat(fd, &st) != 0)
		die(EXIT_TEMP, "unable to read RCPTHOSTS %s: %s", path);
	if (st.st_size > RCPTHOSTS_MAX) {
		errno = EFBIG;
		die(EXIT_PERM, "RCPTHOSTS %s is too large: %s", path);
	}
	rt.rcpthosts = malloc((size_t)st.st_size + 1);
	if (rt.rcpthosts == NULL)
		die(EXIT_TEMP, "unable to read RCPTHOSTS %s: %s", path);
	while (len < (size_t)st.st_size &&
	    (n = io_read(fd, rt.rcpthosts + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		die(EXIT_TEMP, "unable to read RCPTHOSTS %s: %s", path);
	io_close(fd);
	rt.rcpthosts_len = len;
}

static int
same_domain(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && ascii_eq_n(a, b, alen);
}

/* qmail's rcpthosts: "example.com" is that domain, ".example.com" any
 * domain below it.  Blank lines and lines starting with '#' are ignored. */
static int
is_rcpthost(const char *domain, size_t dlen)
{
	const char *p = rt.rcpthosts;
	const char *end = p + rt.rcpthosts_len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;

		p += n + 1;
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
		    line[n - 1] == '\t'))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '.') {
			if (dlen > n && same_domain(domain + dlen - n, n, line,
			    n))
				return 1;
		} else if (same_domain(domain, dlen, line, n)) {
			return 1;
		}
	}
	return 0;
}

static void
usage(void)
{
	static const char text[] =
	    "usage: smtpd [--help | --version]\n"
	    "       smtpd maildir DIR           deliver into the Maildir DIR\n"
	    "       smtpd maildir TEMPLATE      a Maildir per recipient: %l "
	    "user, %d domain\n"
	    "       smtpd pipe PROGRAM [ARG...] run PROGRAM for each message\n"
	    "       smtpd qmail-queue [PROGRAM] hand messages to qmail-queue\n"
	    "       smtpd lmtp SOCKET|IP:PORT   hand messages to an LMTP server "
	    "(Dovecot)\n"
	    "\n"
	    "One SMTP session on fd 0/fd 1 (tcpserver, xinetd, systemd "
	    "Accept=yes); one log\nline per event on fd 2, or syslog when "
	    "fd 2 is the client's socket.\n"
	    "\n"
	    "Environment (\"set\" means present, even empty):\n"
	    "  SMTPGREETING   greeting name (default TCPLOCALHOST, else the "
	    "node name)\n"
	    "  DATABYTES      message size limit in bytes (default 36700160)\n"
	    "  MAXRCPTS       recipients per message (default 100)\n"
	    "  TIMEOUT        seconds for each read, write and program "
	    "(default 300)\n"
	    "  SESSIONTIMEOUT seconds for the whole session (default 3600)\n"
	    "  ERRORLIMIT     bad commands and refused recipients before "
	    "421 (default 20)\n"
	    "  TARPITCOUNT    errors answered without delay (default 10)\n"
	    "  TARPITDELAY    seconds added to the pause after each further "
	    "error (default 1)\n"
	    "  RCPTHOSTS      file of accepted recipient domains (unset: "
	    "all)\n"
	    "  RELAYCLIENT    set: any recipient, REQUIREAUTH waived "
	    "(tcprules)\n"
	    "  BARELF         set: a bare LF ends a line of message data\n"
	    "  CHECKPASSWORD  checkpassword program; set: AUTH is offered\n"
	    "  AUTHMECHS      AUTH mechanisms offered (default PLAIN LOGIN)\n"
	    "  AUTHDELAY      seconds before answering a failed AUTH "
	    "(default 2)\n"
	    "  REQUIREAUTH    set: MAIL needs AUTH first (submission)\n"
	    "  CLEARTEXTAUTH  set: AUTH without TLS too\n"
	    "  UCSPITLS       set: STARTTLS over UCSPI-TLS, with SSLCTLFD, "
	    "SSLREADFD,\n"
	    "                 SSLWRITEFD (sslserver -n, s6-ucspitlsd)\n"
	    "  TLSWRAPPER     set: STARTTLS through tlswrapper -n (fd 5, fd 6)\n"
	    "  SMTPS          set: the session is already encrypted "
	    "(implicit TLS)\n"
	    "  PROXYPROTOCOL  set: read a PROXY v1/v2 header first; only "
	    "behind a proxy\n"
	    "  RCPTCHECK      program for each RCPT: exit 0 accept, 100 "
	    "refuse, 111 defer\n"
	    "  QMAILQUEUE     qmail-queue program (default "
	    "/var/qmail/bin/qmail-queue)\n"
	    "  TMPDIR         where pipe delivery spools a message "
	    "(default /tmp)\n"
	    "  The peer: TCPREMOTEIP TCPREMOTEPORT TCPREMOTEHOST "
	    "TCPLOCALHOST (tcpserver);\n"
	    "  else REMOTE_ADDR REMOTE_PORT (systemd); else REMOTE_HOST "
	    "(xinetd); else fd 0.\n"
	    "  Our address: TCPLOCALIP (tcpserver), else fd 0; "
	    "passed on to programs.\n"
	    "\n"
	    "Exit: 0 normal end, 100 usage or configuration error, 111 "
	    "temporary failure.\nSee smtpd(8).\n";

	(void)io_write_all(1, text, sizeof(text) - 1);
}

static void
parse_args(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		usage();
		exit(EXIT_OK);
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		static const char v[] = "smtpd " SMTPD_VERSION "\n";

		(void)io_write_all(1, v, sizeof(v) - 1);
		exit(EXIT_OK);
	}
	if (argc == 3 && strcmp(argv[1], "maildir") == 0 && argv[2][0]) {
		rt.kind = (strstr(argv[2], "%l") || strstr(argv[2], "%d")) ?
		    DELIVER_MAILDIR_TEMPLATE : DELIVER_MAILDIR;
		rt.deliver.path = argv[2];
		return;
	}
	if (argc >= 3 && strcmp(argv[1], "pipe") == 0) {
		rt.kind = DELIVER_PIPE;
		rt.deliver.argv = argv + 2;
		return;
	}
	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "qmail-queue") == 0) {
		rt.kind = DELIVER_QMAIL_QUEUE;
		rt.deliver.path = argc == 3 ? argv[2] :
		    env_or("QMAILQUEUE", "/var/qmail/bin/qmail-queue");
		return;
	}
	/* LMTP (deliver/lmtp.c): "/socket", "IPv4:PORT", "[IPv6]:PORT". */
	if (argc == 3 && strcmp(argv[1], "lmtp") == 0 && argv[2][0]) {
		rt.kind = DELIVER_LMTP;
		rt.deliver.path = argv[2];
		return;
	}
	log_line("fatal", "usage: smtpd maildir DIR | pipe PROGRAM [ARG...] "
	    "| qmail-queue [PROGRAM] | lmtp SOCKET|IP:PORT (smtpd --help)");
	exit(EXIT_PERM);
}

/* ---------------------------------------------------------------- */
/* Integration points of the features built on the core (issues 3-6). */

/*
 * AUTH (RFC 4954) through CHECKPASSWORD.  auth/sasl.c turns the client's
 * lines into credentials, auth/checkpassword.c asks the program; here are
 * the policy and the log.  A failure is answered only after AUTHDELAY
 * seconds, and the AUTH_FAILURES_MAX-th of a session closes it with 421,
 * so that guessing is slow; each failure is logged as
 *	warning: SESSION: auth failed: ip=IP user=USER mech=MECH: WHY
 * for fail2ban (smtpd.8 has the filter).  No password, digest or AUTH
 * payload is ever logged.
 */
#define AUTH_DELAY_DEFAULT 2
#define AUTH_DELAY_MAX 60
#define AUTH_FAILURES_MAX 3
/* The checkpassword interface runs a subprogram on success; AUTH only
 * needs its exit status. */
#define CHECKPASSWORD_SUBPROGRAM "/bin/true"

/* AUTHMECHS: known mechanisms only (a typo is a configuration error, not
 * a silently missing mechanism), stored upper-case, once each. */
static void
parse_auth_mechs(const char *list)
{
	struct buf b;
	const char *p = list;
	unsigned seen = 0;

	buf_init(&b, rt.auth_mechs, sizeof(rt.auth_mechs));
	while (*p != '\0') {
		size_t n = strcspn(p, " \t,");
		enum sasl_mech m;

		if (n == 0) {
			p++;
			continue;
		}
		m = sasl_mech_parse(p, n);
		if (m == SASL_MECH_NONE) {
			log_line("fatal", "AUTHMECHS: unknown mechanism: %.*s "
			    "(PLAIN, LOGIN and CRAM-MD5 are)", (int)n, p);
			exit(EXIT_PERM);
		}
		if (!(seen & 1u << m)) {
			seen |= 1u << m;
			if (b.len > 0)
				(void)buf_addc(&b, ' ');
			(void)buf_adds(&b, sasl_mech_name(m));
		}
		p += n;
	}
	if (b.len == 0 || buf_nul(&b) != 0) {
		log_line("fatal", "AUTHMECHS names no mechanism: %s", list);
		exit(EXIT_PERM);
	}
}

/* Read CHECKPASSWORD, AUTHMECHS, CLEARTEXTAUTH, REQUIREAUTH, AUTHDELAY. */
static void
configure_auth(void)
{
	char *prog = env_get("CHECKPASSWORD");

	if (env_get("CLEARTEXTAUTH") != NULL)
		rt.cfg.flags |= SMTP_CF_CLEARTEXT_AUTH;
	if (env_get("REQUIREAUTH") != NULL)
		rt.cfg.flags |= SMTP_CF_REQUIRE_AUTH;
	rt.auth_delay_ms = (int)env_number("AUTHDELAY", AUTH_DELAY_DEFAULT, 0,
	    AUTH_DELAY_MAX) * 1000;
	if (prog == NULL || *prog == '\0') {
		if (rt.cfg.flags & SMTP_CF_REQUIRE_AUTH)
			log_line("warning", "REQUIREAUTH is set but "
			    "CHECKPASSWORD is not: only RELAYCLIENT clients "
			    "can send");
		return;
	}
	parse_auth_mechs(env_or("AUTHMECHS", "PLAIN LOGIN"));
	rt.checkpassword = prog;
	/* The engine offers AUTH only with TLS or CLEARTEXTAUTH. */
	rt.cfg.auth_mechs = rt.auth_mechs;
}

static void
auth_failed(const struct sasl *x, const char *why)
{
	char user[LOGESC_MAX + 1];
	char ip[LOGESC_MAX + 1];

	rt.auth_failures++;
	log_line("warning", "%s: auth failed: ip=%s user=%s mech=%s: %s",
	    rt.session_id, LOG_ESC(ip, rt.remote_ip),
	    logesc(user, sizeof(user), x->user, x->user_len),
	    sasl_mech_name(x->mech), why);
	/* AUTHDELAY before a failure is answered, within the session. */
	pause_ms(rt.auth_delay_ms);
	if (session_expired()) {
		end_at_deadline();
		return;
	}
	if (rt.auth_failures >= AUTH_FAILURES_MAX) {
		log_line("warning", "%s: too many authentication failures: "
		    "ip=%s: closing", rt.session_id, ip);
		smtp_answer(&rt.session, REPLY_AUTH_TOO_MANY_FAILURES);
		return;
	}
	smtp_answer(&rt.session, REPLY_AUTH_FAILED);
}

/* What became of the checkpassword program, for the log. */
static const char *
checkpassword_said(char *out, size_t cap,
    const struct checkpassword_detail *d)
{
	if (strcmp(d->what, "exit") == 0)
		(void)snprintf(out, cap, "exit %d", d->code);
	else if (strcmp(d->what, "signal") == 0)
		(void)snprintf(out, cap, "killed by signal %d", d->code);
	else if (strcmp(d->what, "timeout") == 0)
		(void)snprintf(out, cap, "no answer within TIMEOUT, killed");
	else
		(void)snprintf(out, cap, "%s: %s", d->what, errno_text(d->err));
	return out;
}

static char *const *peer_env(void);

/* Ask CHECKPASSWORD about the credentials in x and answer. */
static void
auth_check(const struct sasl *x)
{
	char subprogram[] = CHECKPASSWORD_SUBPROGRAM;
	char *argv[3];
	char user[LOGESC_MAX + 1];
	char ip[LOGESC_MAX + 1];
	char said[64];
	struct checkpassword_detail d;
	enum checkpassword_result r;

	argv[0] = rt.checkpassword;
	argv[1] = subprogram;
	argv[2] = NULL;
	r = checkpassword_run(argv, peer_env(), rt.use_syslog ? -1 : 2, x->user,
	    x->user_len, x->secret, x->secret_len, x->stamp, x->stamp_len,
	    wait_budget(), &d);
	if (r != CHECKPASSWORD_OK && session_expired()) {
		/* Killed at SESSIONTIMEOUT, or it took all that was left. */
		end_at_deadline();
		return;
	}
	switch (r) {
	case CHECKPASSWORD_OK:
		memcpy(rt.auth_user_text, x->user, x->user_len + 1);
		rt.auth_user = rt.auth_user_text;
		log_line("info", "%s: auth ok: ip=%s user=%s mech=%s",
		    rt.session_id, LOG_ESC(ip, rt.remote_ip),
		    logesc(user, sizeof(user), x->user, x->user_len),
		    sasl_mech_name(x->mech));
		smtp_answer(&rt.session, REPLY_AUTH_OK);
		break;
	case CHECKPASSWORD_BAD:
		auth_failed(x, strcmp(d.what, "exit") == 0 ?
		    "rejected by CHECKPASSWORD" :
		    "credentials too long for CHECKPASSWORD");
		break;
	case CHECKPASSWORD_TEMP:
		log_line("warning", "%s: auth deferred: ip=%s user=%s mech=%s: "
		    "CHECKPASSWORD %s: %s", rt.session_id,
		    LOG_ESC(ip, rt.remote_ip),
		    logesc(user, sizeof(user), x->user, x->user_len),
		    sasl_mech_name(x->mech), rt.checkpassword,
		    checkpassword_said(said, sizeof(said), &d));
		smtp_answer(&rt.session, REPLY_AUTH_TEMP_FAIL);
		break;
	}
}

/*
 * Erase the client's AUTH line where it was framed (the session struct
 * is ours, and the engine does not read the line again once it raised
 * the event).  Where it was read, run_session wipes it as it is fed.
 */
static void
forget_auth_line(const struct smtp_event *ev)
{
	if (ev->data != NULL && ev->len > 0)
		wipe((void *)(uintptr_t)ev->data, ev->len);
}

/* Answer SMTP_EV_AUTH and SMTP_EV_AUTH_DATA. */
static void
on_auth(const struct smtp_event *ev)
{
	struct sasl *x = &rt.sasl;
	char stamp[SASL_CHALLENGE_MAX + 1];
	char ip[LOGESC_MAX + 1];
	struct timespec now;
	enum sasl_result r;

	if (ev->type == SMTP_EV_AUTH) {
		/* RFC 2195 §2: "<pid.time@host>", time in microseconds so
		 * that two challenges of one second differ. */
		clock_gettime(CLOCK_REALTIME, &now);
		(void)sasl_cram_challenge(stamp, sizeof(stamp), rt.pid,
		    (unsigned long long)now.tv_sec * 1000000ULL +
		    (unsigned long long)now.tv_nsec / 1000, rt.local_host);
		r = sasl_begin(x, ev->mech, ev->mech_len, ev->data, ev->len,
		    ev->has_initial, stamp);
	} else {
		r = sasl_step(x, ev->data, ev->len);
	}
	forget_auth_line(ev);
	switch (r) {
	case SASL_CHALLENGE:
		smtp_answer_text(&rt.session, REPLY_AUTH_CHALLENGE,
		    x->challenge, x->challenge_len);
		return;
	case SASL_READY:
		auth_check(x);
		break;
	case SASL_REFUSED:
		auth_failed(x, x->why);
		break;
	case SASL_BAD_BASE64:
		log_line("info", "%s: auth aborted: ip=%s mech=%s: invalid "
		    "base64", rt.session_id, LOG_ESC(ip, rt.remote_ip),
		    sasl_mech_name(x->mech));
		smtp_answer(&rt.session, REPLY_AUTH_BAD_BASE64);
		break;
	case SASL_NO_INITIAL:
		/* RFC 4954 §4: an initial response the mechanism does not
		 * allow gets 501. */
		smtp_answer(&rt.session, REPLY_SYNTAX);
		break;
	case SASL_UNKNOWN_MECH:
		smtp_answer(&rt.session, REPLY_AUTH_MECH_UNKNOWN);
		break;
	}
	sasl_wipe(x);
}

/*
 * STARTTLS (RFC 3207) through a wrapper that holds the key: UCSPI-TLS
 * (UCSPITLS + SSLCTLFD/SSLREADFD/SSLWRITEFD: sslserver -n, s6-ucspitlsd)
 * or `tlswrapper -n` (TLSWRAPPER): from release 20260428 a zero byte on
 * fd 5 and its acknowledgement on fd 6 (TLS_WRAPPER); before, as in
 * Debian 12, the 220 itself on fd 5, then its close (TLS_WRAPPER_OLD).
 * SMTPS: the wrapper did the handshake before we started (implicit TLS,
 * RFC 8314: tlswrapper, stunnel, sslserver).
 */
#define TLS_OFF 0
#define TLS_UCSPI 1
#define TLS_WRAPPER 2
#define TLS_WRAPPER_OLD 3
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
#define STARTTLS_DISCARD_MAX (4 * INPUT_MAX)

static int flush_output(void);

/* A descriptor the environment names for STARTTLS: open and not 0-2.
 * It is made close-on-exec here, so that no child ever holds it. */
static int
tls_env_fd(const char *name)
{
	int fd = ucspitls_fd(env_get(name));

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

static void
configure_tls(void)
{
	int wrapper_fl = -1;
	int wrapper_ack = 0;

	rt.tls_mode = TLS_OFF;
	/*
	 * sslserver sets the SSL descriptors for implicit TLS too
	 * (ucspi-ssl's sslserver), so they are closed on exec whether or not
	 * STARTTLS is offered.
	 */
	rt.tls_ctl_fd = tls_env_fd("SSLCTLFD");
	rt.tls_read_fd = tls_env_fd("SSLREADFD");
	rt.tls_write_fd = tls_env_fd("SSLWRITEFD");
	if (env_get("TLSWRAPPER") != NULL) {
		wrapper_fl = fcntl(TLSWRAPPER_FD, F_GETFL);
		if (wrapper_fl != -1 && io_cloexec(TLSWRAPPER_FD) != 0)
			wrapper_fl = -1;
		wrapper_ack = tlswrapper_ack_pipe();
	}
	if (env_get("SMTPS") != NULL) {
		rt.cfg.flags |= SMTP_CF_TLS;
		return;
	}
	if (env_get("UCSPITLS") != NULL) {
		if (rt.tls_ctl_fd < 0 || rt.tls_read_fd < 0 ||
		    rt.tls_write_fd < 0) {
			log_line("warning", "UCSPITLS is set but SSLCTLFD, "
			    "SSLREADFD and SSLWRITEFD are not open descriptors "
			    "above 2: STARTTLS is not offered");
			return;
		}
		rt.tls_mode = TLS_UCSPI;
		rt.cfg.flags |= SMTP_CF_STARTTLS;
		return;
	}
	if (env_get("TLSWRAPPER") != NULL) {
		if (wrapper_fl == -1 || (wrapper_fl & O_ACCMODE) == O_RDONLY) {
			log_line("warning", "TLSWRAPPER is set but fd 5 is not "
			    "a writable control pipe (tlswrapper -n): STARTTLS "
			    "is not offered");
			return;
		}
		rt.tls_mode = wrapper_ack ? TLS_WRAPPER : TLS_WRAPPER_OLD;
		rt.cfg.flags |= SMTP_CF_STARTTLS;
	}
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
discard_cleartext(size_t *n, int quiet_ms, long long until_ms)
{
	ssize_t r;
	int w;

	rt.starttls_saw_tls = 0;

	*n += rt.in_len - rt.in_off;
	rt.in_off = rt.in_len = 0;
	for (;;) {
		if (*n >= STARTTLS_DISCARD_MAX ||
		    (quiet_ms > 0 && io_now_ms() >= until_ms))
			return 1;
		w = io_wait(0, 0, quiet_ms);
		if (w == 0)
			return 0;
		if (w < 0)
			return -1;
		r = io_read(0, rt.in, sizeof(rt.in));
		if (r <= 0)
			return -1;
		if (!rt.starttls_saw_tls)
			rt.starttls_saw_tls = has_tls_record(rt.in, (size_t)r);
		*n += (size_t)r;
	}
}

static void
log_discarded(size_t n)
{
	if (n > 0)
		log_line("warning", "%s: STARTTLS: discarded %zu octets the "
		    "client sent after it in the clear", rt.session_id, n);
}

/* The cleartext that came with or after STARTTLS, before the 220 goes:
 * nothing waiting yet can be the client's side of the handshake. */
static int
discard_pipelined(size_t *n)
{
	return discard_cleartext(n, 0, 0) < 0 ? -1 : 0;
}

/* A wrapper's string, fit for the log (lib/logesc.c), bounded. */
static const char *
tls_name(char *dst, size_t cap, const char *v, size_t n)
{
	return v == NULL || n == 0 ? "unknown" : logesc(dst, cap, v, n);
}

/* UCSPI-TLS (ucspi-ssl's sslserver): 220 in the clear, 'Y', the report, then
 * SSLREADFD/SSLWRITEFD become fd 0/fd 1 for the rest of the session. */
static void
starttls_ucspi(void)
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
	smtp_answer(&rt.session, REPLY_STARTTLS_GO);
	r = discard_pipelined(&n);
	log_discarded(n);
	if (r != 0 || flush_output() != 0) {
		smtp_close(&rt.session);
		return;
	}
	if (ucspitls_starttls(rt.tls_ctl_fd, info, sizeof(info), &len,
	    wait_budget()) != 0) {
		log_line("warning", "%s: STARTTLS: TLS handshake failed: %s",
		    rt.session_id, errno == EPROTO ? "the wrapper closed "
		    "SSLCTLFD" : errno_text(errno));
		smtp_close(&rt.session);
		return;
	}
	/* The wrapper owns the network connection now: our copies of it
	 * go, and the session goes on over its pipes. */
	if (dup2(rt.tls_read_fd, 0) == -1 || dup2(rt.tls_write_fd, 1) == -1) {
		log_line("warning", "%s: STARTTLS: unable to switch to the "
		    "TLS descriptors: %s", rt.session_id, errno_text(errno));
		smtp_close(&rt.session);
		return;
	}
	if (rt.tls_read_fd != rt.tls_ctl_fd)
		(void)io_close(rt.tls_read_fd);
	if (rt.tls_write_fd != rt.tls_ctl_fd &&
	    rt.tls_write_fd != rt.tls_read_fd)
		(void)io_close(rt.tls_write_fd);
	smtp_tls_started(&rt.session);
	rt.auth_user = NULL;	/* RFC 3207 §4.2: forget a cleartext AUTH */
	v = ucspitls_get(info, len, "SSL_PROTOCOL", &vlen);
	p = tls_name(protocol, sizeof(protocol), v, vlen);
	v = ucspitls_get(info, len, "SSL_CIPHER", &vlen);
	log_line("info", "%s: STARTTLS: TLS started: protocol %s cipher %s",
	    rt.session_id, p, tls_name(cipher, sizeof(cipher), v, vlen));
}

/* TLS is on through tlswrapper: the session starts over. */
static void
tlswrapper_started(size_t discarded)
{
	log_discarded(discarded);
	smtp_tls_started(&rt.session);
	rt.auth_user = NULL;	/* RFC 3207 §4.2: forget a cleartext AUTH */
	log_line("info", "%s: STARTTLS: handed to tlswrapper (it reports "
	    "no protocol or cipher)", rt.session_id);
}

static void
tlswrapper_failed(size_t discarded, const char *why, const char *detail)
{
	log_discarded(discarded);
	log_line("warning", "%s: STARTTLS: %s%s%s", rt.session_id, why,
	    detail[0] != '\0' ? ": " : "", detail);
	smtp_close(&rt.session);
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
static void
starttls_tlswrapper(void)
{
	unsigned char ack = 0xff;
	size_t n = 0;
	ssize_t r;

	smtp_answer(&rt.session, REPLY_STARTTLS_GO);
	if (discard_pipelined(&n) != 0 || flush_output() != 0) {
		log_discarded(n);
		smtp_close(&rt.session);
		return;
	}
	/* The zero byte at once after the 220, no other system call
	 * between: tlswrapper sends the 220 on before it reads fd 5, and a
	 * ClientHello that reaches it first is forwarded as cleartext and
	 * lost (a window only tlswrapper can close; this keeps our part of
	 * it short).  One octet into this empty pipe does not block. */
	if (write(TLSWRAPPER_FD, "", 1) != 1 &&
	    io_write_timeout(TLSWRAPPER_FD, "", 1, wait_budget()) != 0) {
		tlswrapper_failed(n, "unable to signal tlswrapper on fd 5",
		    errno_text(errno));
		return;
	}
	r = io_wait(TLSWRAPPER_ACK_FD, 0, wait_budget());
	if (r == 0) {
		r = -1;
		errno = ETIMEDOUT;
	} else if (r == 1) {
		r = io_read(TLSWRAPPER_ACK_FD, &ack, 1);
	}
	if (r < 0) {
		tlswrapper_failed(n, "no acknowledgement from tlswrapper on "
		    "fd 6", errno_text(errno));
		return;
	}
	if (r == 0) {
		tlswrapper_failed(n, "tlswrapper closed fd 6 without "
		    "acknowledging", "");
		return;
	}
	if (ack != 0) {
		tlswrapper_failed(n, "tlswrapper acknowledged with a byte "
		    "other than zero on fd 6", "");
		return;
	}
	(void)io_close(TLSWRAPPER_FD);
	(void)io_close(TLSWRAPPER_ACK_FD);
	/* r < 0: the client has gone, and the next read says so */
	r = discard_cleartext(&n, 0, 0);
	if (r > 0) {
		tlswrapper_failed(n, "too much cleartext after it", "");
		return;
	}
	/* tlswrapper sends our 220 before it reads fd 5: a client that
	 * answers faster than that has had its ClientHello forwarded as
	 * cleartext, just discarded.  The handshake cannot happen now. */
	if (rt.starttls_saw_tls) {
		tlswrapper_failed(n, "the client's TLS handshake came in the "
		    "clear, before tlswrapper stopped forwarding cleartext",
		    "");
		return;
	}
	tlswrapper_started(n);
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
static void
starttls_tlswrapper_old(void)
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
	    rt.session_id);
	before = smtp_output(&rt.session, &out);
	smtp_answer(&rt.session, REPLY_STARTTLS_GO);
	if (discard_pipelined(&n) != 0) {
		log_discarded(n);
		smtp_close(&rt.session);
		return;
	}
	len = smtp_output(&rt.session, &out);
	if (io_write_timeout(1, out, before, wait_budget()) != 0) {
		log_line("info", "%s: unable to write to the client: %s",
		    rt.session_id, errno_text(errno));
		smtp_output_done(&rt.session, len);
		log_discarded(n);
		smtp_close(&rt.session);
		return;
	}
	r = io_write_timeout(TLSWRAPPER_FD, out + before, len - before,
	    wait_budget());
	e = errno;
	smtp_output_done(&rt.session, len);
	if (io_close(TLSWRAPPER_FD) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	if (r != 0) {
		tlswrapper_failed(n, "unable to hand the 220 to tlswrapper "
		    "(fd 5)", errno_text(e));
		return;
	}
	/* r < 0: the client has gone, and the next read says so */
	r = discard_cleartext(&n, STARTTLS_SETTLE_MS,
	    io_now_ms() + STARTTLS_SETTLE_MAX_MS);
	if (r > 0) {
		tlswrapper_failed(n, "too much cleartext after it", "");
		return;
	}
	tlswrapper_started(n);
}

/* Answer SMTP_EV_STARTTLS: reply, switch the descriptors, reset. */
static void
on_starttls(void)
{
	if (rt.tls_mode == TLS_UCSPI)
		starttls_ucspi();
	else if (rt.tls_mode == TLS_WRAPPER)
		starttls_tlswrapper();
	else if (rt.tls_mode == TLS_WRAPPER_OLD)
		starttls_tlswrapper_old();
	else
		smtp_answer(&rt.session, REPLY_TLS_TEMP_FAIL);
}

/* Read a PROXY header within PROXY_TIMEOUT (or TIMEOUT): NULL, or why
 * not, for the log. */
static const char *
proxy_read(char *buf, size_t *len, struct proxy_header *h)
{
	long long deadline = io_now_ms() + (rt.timeout_ms < PROXY_TIMEOUT *
	    1000 ? rt.timeout_ms : PROXY_TIMEOUT * 1000);
	enum proxy_result r;

	while ((r = proxy_parse(buf, *len, h)) == PROXY_NEED_MORE) {
		long long left = deadline - io_now_ms();
		ssize_t n = -1;
		int w = left > 0 ? io_wait(0, 0, (int)left) : 0;

		if (w == 0)
			return "no complete header in time";
		if (h->need > PROXY_HEADER_MAX - *len)
			return "header too long";
		if (w > 0)
			n = io_read(0, buf + *len, h->need);
		if (n == 0)
			return "connection closed before the end of the header";
		if (n < 0)
			return errno_text(errno);
		*len += (size_t)n;
	}
	return r == PROXY_OK ? NULL : h->reason;
}

/*
 * PROXYPROTOCOL (haproxy's doc/proxy-protocol.txt): a proxy's header
 * comes before the greeting.  Opt-in, because with it anyone who reaches
 * the port names their own address (§2: the receiver "MUST not try to
 * guess").  The header is read exactly: never more than the octets
 * proxy_parse() says still belong to it, so the client's own bytes stay
 * unread on fd 0, socket or pipe.  A bad, truncated, late or missing
 * header closes the connection without a reply (§2.1: abort).  Its
 * source becomes the peer (rt.remote_ip: the log, Received:, TCPREMOTEIP
 * for programs); LOCAL and UNKNOWN keep the connection's own addresses.
 * 0, or -1 when the connection must be closed.
 */
static int
read_proxy_header(void)
{
	char buf[PROXY_HEADER_MAX];
	char src[LOGESC_MAX + 1];
	char dst[LOGESC_MAX + 1];
	char via[LOGESC_MAX + 1];
	struct proxy_header h;
	size_t len = 0;
	const char *why;

	if (env_get("PROXYPROTOCOL") == NULL)
		return 0;
	why = proxy_read(buf, &len, &h);
	if (why != NULL) {
		log_line("warning", "%s: PROXY header refused after %zu "
		    "octets: %s; closing", rt.session_id, len, why);
		return -1;
	}
	if (!h.has_addresses) {
		log_line("info", "%s: PROXY v%d %s: the connection's own "
		    "addresses stand", rt.session_id, h.version,
		    h.version == 1 ? "UNKNOWN" : "LOCAL or unspecified");
		return 0;
	}
	log_line("info", "%s: PROXY v%d: client %s port %u, to %s port %u, "
	    "via %s", rt.session_id, h.version, LOG_ESC(src, h.src),
	    h.src_port, LOG_ESC(dst, h.dst), h.dst_port,
	    LOG_ESC(via, rt.remote_ip));
	copy_name(rt.remote_ip, sizeof(rt.remote_ip), h.src);
	snprintf(rt.remote_port, sizeof(rt.remote_port), "%u", h.src_port);
	copy_name(rt.proxy_local_ip, sizeof(rt.proxy_local_ip), h.dst);
	snprintf(rt.proxy_local_port, sizeof(rt.proxy_local_port), "%u",
	    h.dst_port);
	/* TCPREMOTEHOST named the proxy. */
	rt.remote_host = NULL;
	return 0;
}

/*
 * Programs: RCPTCHECK and the environment of every program smtpd starts
 * for a message (smtpd.8, "THE HOOK API").  The parent never calls
 * setenv: build_session_env writes "NAME=value" strings into rt's
 * bounded buffer and returns the vector for spawn_start.
 */

/* The names build_session_env sets; inherited ones are dropped, the
 * after_proxy ones only when a PROXY header gave them (else tcpserver's
 * values pass on). */
static const struct session_env_name {
	const char *name;
	size_t len;
	int after_proxy;
} session_env_names[] = {
#define SESSION_ENV_NAME(s, p) { s, sizeof(s) - 1, p }
	SESSION_ENV_NAME("SENDER", 0), SESSION_ENV_NAME("RECIPIENT", 0),
	SESSION_ENV_NAME("RECIPIENTS", 0), SESSION_ENV_NAME("HELO", 0),
	SESSION_ENV_NAME("AUTHUSER", 0), SESSION_ENV_NAME("TCPREMOTEIP", 0),
	SESSION_ENV_NAME("TCPREMOTEPORT", 0),
	SESSION_ENV_NAME("TCPREMOTEHOST", 0),
	SESSION_ENV_NAME("TCPREMOTEINFO", 1),
	SESSION_ENV_NAME("TCPLOCALIP", 1), SESSION_ENV_NAME("TCPLOCALPORT", 1)
#undef SESSION_ENV_NAME
};

/* Is environ's "NAME=value" entry one of ours, to be dropped?  (Names
 * are compared by length first: this runs for every inherited entry.) */
static int
is_session_env_name(const char *entry, int proxied)
{
	const char *eq = strchr(entry, '=');
	size_t n;
	size_t i;

	if (eq == NULL)
		return 0;
	n = (size_t)(eq - entry);
	for (i = 0; i < sizeof(session_env_names) /
	    sizeof(session_env_names[0]); i++) {
		if (session_env_names[i].len == n &&
		    memcmp(entry, session_env_names[i].name, n) == 0)
			return proxied || !session_env_names[i].after_proxy;
	}
	return 0;
}

/* Client-given text as a variable's value: a control character (none
 * should have passed proto/) becomes '?', and so does a C1 control,
 * U+2028, U+2029 or a bidirectional control (refused by proto/address.c
 * too), so that no value can hold a line break, not even for a program
 * that splits lines the Unicode way (Python's splitlines); other octets
 * >= 0x80 (SMTPUTF8) pass. */
static void
env_add_clean(struct buf *b, const char *s)
{
	const char *run = s;
	unsigned char c;
	uint32_t cp;
	size_t n;

	/* Runs of clean octets are copied whole. */
	for (;; s += n) {
		c = (unsigned char)*s;
		n = 1;
		if (c >= 0x20 && c < 0x7f)
			continue;
		if (c >= 0x80) {
			n = smtp_utf8_decode(s, strnlen(s, 4), &cp);
			if (n == 0)
				n = 1;
			if (n == 1 || !smtp_is_forbidden_code_point(cp))
				continue;
		}
		(void)buf_add(b, run, (size_t)(s - run));
		if (c == '\0')
			return;
		(void)buf_addc(b, '?');
		run = s + n;
	}
}

/* Start a variable; its value follows; env_end finishes it. */
static size_t
env_begin(struct buf *b, const char *name)
{
	size_t mark = b->len;

	(void)buf_adds(b, name);
	(void)buf_addc(b, '=');
	return mark;
}

static void
env_end(struct buf *b, size_t mark, size_t *n)
{
	if (b->overflow || buf_addc(b, '\0') == -1) {
		/* A pipe program's RECIPIENTS is budgeted at RCPT time, so
		 * only qmail-queue's can get here: it has the envelope. */
		const char *eq = memchr(b->p + mark, '=', b->len - mark);

		log_line("warning", "%s: %.*s left out of the program's "
		    "environment: too long", rt.session_id,
		    (int)(eq != NULL ? (size_t)(eq - (b->p + mark)) :
		    b->len - mark), b->p + mark);
		b->len = mark;
		b->overflow = 0;
		return;
	}
	rt.session_envp[(*n)++] = b->p + mark;
}

static void
env_set(struct buf *b, size_t *n, const char *name, const char *value)
{
	size_t mark = env_begin(b, name);

	env_add_clean(b, value);
	env_end(b, mark, n);
}

/*
 * The part of the programs' environment that comes from smtpd's own: the
 * same for every program of the session, so environ is filtered once, at
 * the first RCPTCHECK or message, when a PROXY header (read before any
 * command) has decided which TCP* names are ours.
 */
static void
inherited_env(void)
{
	char **e;

	rt.ninherited = 0;
	for (e = environ; e != NULL && *e != NULL; e++) {
		if (rt.ninherited >= SESSION_ENV_INHERIT_MAX)
			break;
		if (is_session_env_name(*e, rt.proxy_local_ip[0] != '\0'))
			continue;
		rt.inherited_envp[rt.ninherited++] = *e;
	}
	rt.has_inherited = 1;
}

/*
 * The session's variables for pipe, qmail-queue and RCPTCHECK programs:
 * SENDER ("" for <>), RECIPIENT (rcpt for RCPTCHECK, else the first),
 * RECIPIENTS (all, one per line; not for RCPTCHECK), HELO, AUTHUSER
 * (when authenticated), TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST and,
 * after a PROXY header, TCPLOCALIP and TCPLOCALPORT as the header names
 * them (without a launcher that sets them, as getsockname gives them);
 * then smtpd's own environment (PATH, what envdir and tcprules
 * set), without the names above.  NULL for Maildir delivery.  Valid
 * until the next call.
 */
static char *const *
build_session_env(const char *rcpt)
{
	struct buf b;
	size_t n = 0;
	size_t mark;
	size_t i;

	if (rcpt == NULL && rt.kind != DELIVER_PIPE &&
	    rt.kind != DELIVER_QMAIL_QUEUE)
		return NULL;
	buf_init(&b, rt.session_env_text, sizeof(rt.session_env_text));
	env_set(&b, &n, "SENDER", rt.sender);
	env_set(&b, &n, "RECIPIENT", rcpt != NULL ? rcpt :
	    rt.nrcpt > 0 ? rt.rcpts[0] : "");
	if (rcpt == NULL) {
		mark = env_begin(&b, "RECIPIENTS");
		for (i = 0; i < rt.nrcpt; i++) {
			if (i > 0)
				(void)buf_addc(&b, '\n');
			env_add_clean(&b, rt.rcpts[i]);
		}
		env_end(&b, mark, &n);
	}
	env_set(&b, &n, "HELO", rt.helo);
	if (rt.auth_user != NULL)
		env_set(&b, &n, "AUTHUSER", rt.auth_user);
	env_set(&b, &n, "TCPREMOTEIP", rt.remote_ip);
	if (rt.remote_port[0] != '\0')
		env_set(&b, &n, "TCPREMOTEPORT", rt.remote_port);
	if (rt.remote_host != NULL)
		env_set(&b, &n, "TCPREMOTEHOST", rt.remote_host);
	if (rt.proxy_local_ip[0] != '\0') {
		env_set(&b, &n, "TCPLOCALIP", rt.proxy_local_ip);
		env_set(&b, &n, "TCPLOCALPORT", rt.proxy_local_port);
	} else if (rt.sock_local_ip[0] != '\0') {
		env_set(&b, &n, "TCPLOCALIP", rt.sock_local_ip);
		env_set(&b, &n, "TCPLOCALPORT", rt.sock_local_port);
	}
	if (!rt.has_inherited)
		inherited_env();
	/* n <= SESSION_ENV_OURS_MAX: there is room for all of them. */
	memcpy(&rt.session_envp[n], rt.inherited_envp,
	    rt.ninherited * sizeof(rt.inherited_envp[0]));
	n += rt.ninherited;
	rt.session_envp[n] = NULL;
	return rt.session_envp;
}

/*
 * smtpd's own environment for the checkpassword program, with the peer as
 * a PROXY header named it: TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP and
 * TCPLOCALPORT as build_session_env gives them, the proxy's own (and its
 * TCPREMOTEHOST, TCPREMOTEINFO) left out.  Without such a header,
 * environ itself.  Valid until the next call of either.
 */
static char *const *
peer_env(void)
{
	struct buf b;
	size_t n = 0;
	char **e;

	if (rt.proxy_local_ip[0] == '\0')
		return environ;
	buf_init(&b, rt.session_env_text, sizeof(rt.session_env_text));
	env_set(&b, &n, "TCPREMOTEIP", rt.remote_ip);
	env_set(&b, &n, "TCPREMOTEPORT", rt.remote_port);
	env_set(&b, &n, "TCPLOCALIP", rt.proxy_local_ip);
	env_set(&b, &n, "TCPLOCALPORT", rt.proxy_local_port);
	for (e = environ; e != NULL && *e != NULL; e++) {
		if (n >= SESSION_ENV_OURS_MAX + SESSION_ENV_INHERIT_MAX)
			break;
		if (!is_session_env_name(*e, 1))
			rt.session_envp[n++] = *e;
	}
	rt.session_envp[n] = NULL;
	return rt.session_envp;
}

/* RCPTCHECK; QMAILQUEUE is read with the arguments.  When any program
 * may run, what smtpd inherited beyond 0-2 becomes close-on-exec, so
 * that a child gets exactly its fd plan, and SIGCHLD is at its default
 * (lib/spawn.h). */
static void
configure_programs(void)
{
	rt.rcptcheck = env_or("RCPTCHECK", NULL);
	if (rt.rcptcheck != NULL || rt.checkpassword != NULL ||
	    rt.kind == DELIVER_PIPE || rt.kind == DELIVER_QMAIL_QUEUE) {
		(void)spawn_cloexec_from(3);
		/* A launcher may pass SIGCHLD ignored; then the system
		 * would reap our children and waitpid could not tell how
		 * they ended (lib/spawn.h). */
		signal(SIGCHLD, SIG_DFL);
	}
}

/* After deliver_init: what the delivery programs need from us. */
static void
configure_delivery_programs(void)
{
	/* A child's diagnostics join ours on fd 2, unless fd 2 is the
	 * client (then /dev/null: nothing may reach the client). */
	rt.deliver.child_stderr = rt.use_syslog ? -1 : 2;
	rt.deliver.spool_dir = env_or("TMPDIR", "/tmp");
	/* LMTP: our name in LHLO. */
	rt.deliver.local_name = rt.local_host;
}

/* Run RCPTCHECK for one recipient (as qmail's RCPTCHECK patch): exit 0
 * accepts, 100 refuses (550 5.1.1), 111 and anything else, a crash or
 * TIMEOUT defer (451 4.3.0); the first line of its stdout, for 100 and
 * 111, is the reply's text. */
static enum reply_id
run_rcptcheck(const struct smtp_path *p)
{
	char *argv[2];
	struct spawn_fd plan[3];
	char line[SMTP_REPLY_TEXT_MAX + 1];
	char rcpt[LOGESC_MAX + 1];
	size_t len = 0;
	pid_t pid;
	int out[2];
	int status = 0;
	int code;

	argv[0] = (char *)rt.rcptcheck;
	argv[1] = NULL;
	if (io_pipe(out) == -1) {
		log_line("warning", "%s: RCPTCHECK: pipe: %s", rt.session_id,
		    errno_text(errno));
		return REPLY_RCPT_TEMP_FAIL;
	}
	plan[0].child_fd = 0;
	plan[0].parent_fd = -1;
	plan[1].child_fd = 1;
	plan[1].parent_fd = out[1];
	plan[2].child_fd = 2;
	plan[2].parent_fd = rt.use_syslog ? -1 : 2;
	if (spawn_start(&pid, argv, build_session_env(p->mailbox), plan,
	    3) == -1) {
		log_line("warning", "%s: RCPTCHECK: unable to run %s: %s",
		    rt.session_id, rt.rcptcheck, errno_text(errno));
		(void)io_close(out[0]);
		(void)io_close(out[1]);
		return REPLY_RCPT_TEMP_FAIL;
	}
	(void)io_close(out[1]);
	if (spawn_collect(pid, out[0], wait_budget(), line, sizeof(line), &len,
	    &status) == -1) {
		(void)io_close(out[0]);
		log_line("warning", "%s: RCPTCHECK: <%s>: %s", rt.session_id,
		    logesc(rcpt, sizeof(rcpt), p->mailbox, p->len),
		    errno != ETIMEDOUT ? errno_text(errno) :
		    session_expired() ? "killed at SESSIONTIMEOUT" :
		    "killed at TIMEOUT");
		return REPLY_RCPT_TEMP_FAIL;
	}
	(void)io_close(out[0]);
	if (WIFSIGNALED(status)) {
		log_line("warning", "%s: RCPTCHECK: <%s>: killed by signal %d",
		    rt.session_id, logesc(rcpt, sizeof(rcpt), p->mailbox,
		    p->len), WTERMSIG(status));
		return REPLY_RCPT_TEMP_FAIL;
	}
	code = WEXITSTATUS(status);
	if (code == 0)
		return REPLY_RCPT_OK;
	if (code == 100 || code == 111) {
		memcpy(rt.rcpt_reply, line, len + 1);
		rt.rcpt_reply_len = len;
	}
	if (rt.refusals_logged < REFUSALS_LOGGED_MAX)
		log_line("info", "%s: RCPTCHECK: <%s>: exit %d", rt.session_id,
		    logesc(rcpt, sizeof(rcpt), p->mailbox, p->len), code);
	return code == 100 ? REPLY_NO_MAILBOX : REPLY_RCPT_TEMP_FAIL;
}

/* The last check of a RCPT, after RCPTHOSTS and the mailbox: the
 * RECIPIENTS budget of a pipe program, then RCPTCHECK. */
static enum reply_id
rcpt_check_program(const struct smtp_path *p)
{
	enum reply_id r;

	rt.rcpt_reply_len = 0;
	if (rt.nrcpt == 0)
		rt.rcpts_env_len = 0;
	if (rt.kind == DELIVER_PIPE &&
	    rt.rcpts_env_len + p->len + 1 > SESSION_ENV_RCPTS_MAX)
		return REPLY_TOO_MANY_RCPTS;
	if (rt.rcptcheck != NULL) {
		r = run_rcptcheck(p);
		if (r != REPLY_RCPT_OK)
			return r;
	}
	rt.rcpts_env_len += p->len + 1;
	return REPLY_RCPT_OK;
}

/*
 * Errors (bad commands and refused recipients, counted by proto/) and
 * the tarpit.  Postfix answers the first smtpd_soft_error_limit (10)
 * errors at once, then sleeps smtpd_error_sleep_time (1 s) before each
 * reply and closes at smtpd_hard_error_limit (20); qmail's tarpit patch
 * sleeps TARPITDELAY (5 s) for each RCPT after TARPITCOUNT of them.
 * Ours: ERRORLIMIT 20 as Postfix; 10 errors answered at once, so that a
 * message to a list with a few dead addresses is never slowed; after
 * that a delay that grows by TARPITDELAY (1 s) with each error, so that
 * a client guessing mailboxes gets 20 guesses a connection and waits
 * most of a minute for them, while a connection held in the tarpit is
 * still given back soon.  An accepted message halves the count (proto/).
 */
#define ERRORLIMIT_MAX 100000
#define TARPIT_COUNT_DEFAULT 10
#define TARPIT_DELAY_DEFAULT 1
#define TARPIT_DELAY_MAX 60

static void
configure_errors(void)
{
	rt.cfg.error_limit = (unsigned)env_number("ERRORLIMIT",
	    SMTP_ERRORS_MAX, 1, ERRORLIMIT_MAX);
	rt.tarpit_count = (unsigned)env_number("TARPITCOUNT",
	    TARPIT_COUNT_DEFAULT, 0, ERRORLIMIT_MAX);
	rt.tarpit_delay_ms = (int)env_number("TARPITDELAY",
	    TARPIT_DELAY_DEFAULT, 0, TARPIT_DELAY_MAX) * 1000;
}

static void
configure(void)
{
	unsigned long long timeout;
	unsigned long long session;
	const char *rcpthosts;

	rt.cfg.databytes = env_number("DATABYTES", SMTP_DATABYTES_DEFAULT, 1,
	    UINT64_MAX / 2);
	rt.cfg.maxrcpts = (unsigned)env_number("MAXRCPTS",
	    SMTP_MAXRCPTS_DEFAULT, 1, MAXRCPTS_CAP);
	timeout = env_number("TIMEOUT", SMTP_TIMEOUT_DEFAULT, 1, 86400);
	session = env_number("SESSIONTIMEOUT", SMTP_SESSION_TIMEOUT_DEFAULT, 1,
	    7 * 86400);
	rt.timeout_ms = (int)(timeout * 1000);
	rt.session_deadline = io_now_ms() + (long long)session * 1000;
	configure_errors();
	rt.is_relay_client = env_get("RELAYCLIENT") != NULL;
	if (rt.is_relay_client)
		rt.cfg.flags |= SMTP_CF_RELAY_CLIENT;
	if (env_get("BARELF") != NULL)
		rt.cfg.flags |= SMTP_CF_BARE_LF;
	/* The engine's own refusals, for the log. */
	rt.cfg.flags |= SMTP_CF_REFUSAL_EVENTS;
	find_peer();
	find_local_host();
	rt.greeting_host = env_or("SMTPGREETING", rt.local_host);
	rt.cfg.hostname = rt.greeting_host;
	configure_auth();
	configure_tls();
	configure_programs();
	rcpthosts = env_or("RCPTHOSTS", NULL);
	if (rcpthosts != NULL)
		read_rcpthosts(rcpthosts);
	/* Static tables up to the default MAXRCPTS (no malloc in a
	 * session: its first call costs three system calls), malloc above.
	 * Not calloc: on_rcpt writes a slot before anything reads it, and
	 * pages never touched cost neither time nor memory. */
	if (rt.cfg.maxrcpts <= SMTP_MAXRCPTS_DEFAULT) {
		rt.rcpt_text = default_rcpt_text;
		rt.rcpts = default_rcpts;
		rt.rcpt_domain_off = default_rcpt_domain_off;
	} else {
		rt.rcpt_text = malloc(rt.cfg.maxrcpts *
		    sizeof(*rt.rcpt_text));
		rt.rcpts = malloc(rt.cfg.maxrcpts * sizeof(*rt.rcpts));
		rt.rcpt_domain_off = malloc(rt.cfg.maxrcpts *
		    sizeof(*rt.rcpt_domain_off));
	}
	if (rt.rcpt_text == NULL || rt.rcpts == NULL ||
	    rt.rcpt_domain_off == NULL)
		die(EXIT_TEMP, "out of memory%s: %s", "");
}

/* ---------------------------------------------------------------- */
/* Answers to the engine's events: policy and storage.               */

static void
log_message(const struct deliver_result *res, uint64_t size,
    enum reply_id id, const char *reason);

/* Drop an open delivery.  A message cut short this way (RSET or EHLO
 * between BDAT chunks, EOF, a timeout) still gets its log line. */
static void
abort_delivery(void)
{
	if (!rt.delivery_open)
		return;
	/* A qmail-queue is given what is left of the session to go. */
	rt.deliver.timeout_ms = wait_budget();
	deliver_abort(&rt.deliver);
	rt.delivery_open = 0;
	if (rt.in_message)
		log_message(NULL, smtp_message_octets(&rt.session),
		    REPLY_NONE, NULL);
}

/* SESSIONTIMEOUT has passed: drop any open delivery (a program is
 * killed and reaped), answer 421 4.4.2 in place of a pending event's
 * reply, and close. */
static void
end_at_deadline(void)
{
	if (smtp_is_closed(&rt.session))
		return;
	abort_delivery();
	log_line("info", "%s: SESSIONTIMEOUT reached: closing", rt.session_id);
	smtp_timeout(&rt.session, REPLY_SESSION_TOO_LONG);
}

static void
on_helo(const struct smtp_event *ev)
{
	size_t n = ev->helo_len < SMTP_HELO_MAX ? ev->helo_len : SMTP_HELO_MAX;

	abort_delivery();
	deliver_reset(&rt.deliver);	/* LMTP: RSET theirs too */
	rt.nrcpt = 0;
	memcpy(rt.helo, ev->helo, n);
	rt.helo[n] = '\0';
	smtp_answer(&rt.session, REPLY_NONE);
}

static void
on_mail(const struct smtp_event *ev)
{
	memcpy(rt.sender, ev->path->mailbox, ev->path->len + 1);
	rt.nrcpt = 0;
	/* LMTP: sends its MAIL at the first RCPT, with these. */
	deliver_reset(&rt.deliver);
	memset(&rt.mail, 0, sizeof(rt.mail));
	rt.mail.sender = rt.sender;
	if (ev->params != NULL) {
		rt.mail.body = (int)ev->params->body;
		rt.mail.smtputf8 = ev->params->smtputf8;
		rt.mail.size = ev->params->has_size ? ev->params->size : 0;
	}
	smtp_answer(&rt.session, REPLY_MAIL_OK);
}

/* Is this recipient ours to take?  RELAYCLIENT and AUTH take any. */
static enum reply_id
rcpt_policy(const struct smtp_path *p)
{
	const char *domain = p->mailbox + p->domain_off;
	size_t dlen = p->len - p->domain_off;

	if (p->domain_off == p->len)	/* <postmaster>: RFC 5321 §4.5.1 */
		return REPLY_RCPT_OK;
	if (rt.rcpthosts == NULL || rt.is_relay_client ||
	    smtp_is_authenticated(&rt.session))
		return REPLY_RCPT_OK;
	return is_rcpthost(domain, dlen) ? REPLY_RCPT_OK : REPLY_RELAY_DENIED;
}

/* ---- LMTP (deliver/lmtp.c): the server's own replies, logged. ---- */

/* "SESSION: recipient <RCPT> refused: CODE STATUS reason=lmtp said=TEXT":
 * the server's code and status, not the catalogue's. */
static void
log_lmtp_refusal(const struct smtp_path *p, const struct deliver_result *res)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, msg, sizeof(msg));
	(void)buf_adds(&b, rt.session_id);
	(void)buf_adds(&b, ": recipient <");
	(void)logesc_add(&b, p->mailbox, p->len, LOGESC_MAX);
	(void)buf_adds(&b, "> refused: ");
	(void)buf_addu64(&b, (uint64_t)res->code);
	if (res->status_code[0] != '\0') {
		(void)buf_addc(&b, ' ');
		(void)buf_adds(&b, res->status_code);
	}
	(void)buf_adds(&b, " reason=lmtp said=");
	(void)logesc_add(&b, res->text, res->text_len, LOGESC_MAX);
	log_put("info", msg, b.len);
}

/* After smtpd's own policy: the LMTP server's answer to the RCPT.  A
 * fault (no server, a close, a stall, garbage) is logged, naming it. */
static enum reply_id
rcpt_lmtp(const struct smtp_path *p, struct deliver_result *res)
{
	/* What is left after RCPTCHECK, if it ran. */
	rt.deliver.timeout_ms = wait_budget();
	if (deliver_rcpt(&rt.deliver, &rt.mail, p->mailbox, p->len,
	    res) == 0)
		return res->reply;
	if (res->what != NULL)
		log_line("warning", "%s: %s: %s", rt.session_id, res->what,
		    errno_text(res->err));
	return res->reply;
}

/* "ID: to <RCPT>: CODE STATUS said=TEXT", one line per recipient, from
 * the LMTP server's replies after the data. */
static void
log_lmtp_results(void)
{
	char msg[LOG_LINE_MAX];
	struct buf b;
	const char *status;
	const char *text;
	size_t text_len;
	size_t i;
	int code;

	for (i = 0; deliver_rcpt_result(&rt.deliver, i, &code, &status,
	    &text, &text_len) == 0; i++) {
		buf_init(&b, msg, sizeof(msg));
		(void)buf_adds(&b, rt.message_id);
		(void)buf_adds(&b, ": to <");
		if (i < rt.nrcpt)
			(void)logesc_add(&b, rt.rcpts[i], strlen(rt.rcpts[i]),
			    LOGESC_MAX);
		(void)buf_adds(&b, ">: ");
		(void)buf_addu64(&b, (uint64_t)code);
		if (status[0] != '\0') {
			(void)buf_addc(&b, ' ');
			(void)buf_adds(&b, status);
		}
		(void)buf_adds(&b, " said=");
		(void)logesc_add(&b, text, text_len, LOGESC_MAX);
		log_put("info", msg, b.len);
	}
}

/* ---- end of LMTP ---- */

static void
on_rcpt(const struct smtp_event *ev)
{
	const struct smtp_path *p = ev->path;
	enum reply_id r = rcpt_policy(p);
	const char *reason = NULL;	/* the catalogue's word */
	struct deliver_result next;	/* LMTP: the server's reply */

	next.code = 0;
	next.text_len = 0;
	rt.rcpt_reply_len = 0;
	if (r == REPLY_RCPT_OK)
		r = deliver_check_rcpt(&rt.deliver, p->mailbox, p->local_len,
		    p->domain_off);
	if (r == REPLY_RCPT_OK) {
		r = rcpt_check_program(p);
		if (r != REPLY_RCPT_OK && r != REPLY_TOO_MANY_RCPTS)
			reason = "rcptcheck";
	}
	if (r == REPLY_RCPT_OK && rt.kind == DELIVER_LMTP &&
	    !session_expired()) {
		r = rcpt_lmtp(p, &next);
		reason = "lmtp";
	}
	if ((rt.rcptcheck != NULL || rt.kind == DELIVER_LMTP) &&
	    session_expired()) {
		/* RCPTCHECK or the LMTP server took what was left of the
		 * session. */
		end_at_deadline();
		return;
	}
	if (r == REPLY_RCPT_OK && rt.nrcpt < rt.cfg.maxrcpts) {
		memcpy(rt.rcpt_text[rt.nrcpt], p->mailbox, p->len + 1);
		rt.rcpts[rt.nrcpt] = rt.rcpt_text[rt.nrcpt];
		/* Delivery splits it where deliver_check_rcpt did. */
		rt.rcpt_domain_off[rt.nrcpt] = p->domain_off;
		rt.nrcpt++;
	} else if (r != REPLY_RCPT_OK && refusal_logged()) {
		if (next.code != 0)
			log_lmtp_refusal(p, &next);
		else
			log_refusal("recipient", p->mailbox, p->len, r, reason,
			    1);
	}
	if (next.code != 0)		/* the LMTP server's reply */
		smtp_answer_relayed(&rt.session, r, next.code,
		    next.status_code[0] != '\0' ? next.status_code : NULL,
		    next.text, next.text_len);
	else if (next.text_len > 0)	/* LMTP: our words for it */
		smtp_answer_text(&rt.session, r, next.text, next.text_len);
	else if (rt.rcpt_reply_len > 0)	/* RCPTCHECK's own words */
		smtp_answer_text(&rt.session, r, rt.rcpt_reply,
		    rt.rcpt_reply_len);
	else
		smtp_answer(&rt.session, r);
}


/* What the log calls the delivery target: the Maildir or the program. */
static const char *
delivery_target(void)
{
	if (rt.kind == DELIVER_PIPE && rt.deliver.argv != NULL)
		return rt.deliver.argv[0];
	return rt.deliver.path != NULL ? rt.deliver.path : "?";
}

/* A message starts (DATA, BDAT): its number and id "SESSION.N". */
static void
count_message(void)
{
	struct buf b;

	rt.nmessages++;
	buf_init(&b, rt.message_id, sizeof(rt.message_id));
	buf_adds(&b, rt.session_id);
	buf_addc(&b, '.');
	buf_addu64(&b, rt.nmessages);
	buf_nul(&b);
}

static void
on_data(void)
{
	struct envelope *env = &rt.env;

	count_message();
	rt.in_message = 1;
	memset(env, 0, sizeof(*env));
	env->sender = rt.sender;
	env->rcpts = rt.rcpts;
	env->rcpt_domain_off = rt.rcpt_domain_off;
	env->nrcpt = rt.nrcpt;
	env->helo = rt.helo;
	env->remote_ip = rt.remote_ip;
	env->remote_host = rt.remote_host;
	env->local_host = rt.local_host;
	env->protocol = smtp_with_protocol(&rt.session);
	env->auth_user = rt.auth_user;
	env->session_env = build_session_env(NULL);
	env->id = rt.message_id;
	env->when = time(NULL);
	if (deliver_open(&rt.deliver, env) != 0) {
		int e = errno;
		enum reply_id r = deliver_reply_for(e);

		log_line("warning", "%s: unable to start delivery to %s: %s: %s",
		    rt.message_id, delivery_target(),
		    rt.deliver.what ? rt.deliver.what : "open", errno_text(e));
		/* The message's own line, with its final reply, as for
		 * every other message. */
		log_message(NULL, 0, r, NULL);
		smtp_answer(&rt.session, r);
		return;
	}
	rt.delivery_open = 1;
	smtp_answer(&rt.session, REPLY_DATA_GO);
}

/*
 * "ID: from <SENDER> rcpts N size N: CODE", a refusal's CODE followed by
 * its STATUS and reason=WORD (log_add_reply); "aborted" for REPLY_NONE
 * (the client went away, RSET).
 */
static void
log_message(const struct deliver_result *res, uint64_t size,
    enum reply_id id, const char *reason)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	/* Without printf: this line is written for every message. */
	buf_init(&b, msg, sizeof(msg));
	buf_adds(&b, rt.message_id);
	buf_adds(&b, ": from <");
	logesc_add(&b, rt.sender, strlen(rt.sender), LOGESC_MAX);
	buf_adds(&b, "> rcpts ");
	buf_addu64(&b, rt.nrcpt);
	buf_adds(&b, " size ");
	buf_addu64(&b, size);
	buf_adds(&b, ": ");
	if (id == REPLY_NONE) {
		buf_adds(&b, "aborted");
	} else if (res != NULL && res->code != 0) {
		/* An LMTP server's reply, passed on. */
		buf_addu64(&b, (uint64_t)res->code);
		if (res->status_code[0] != '\0') {
			buf_addc(&b, ' ');
			buf_adds(&b, res->status_code);
		}
		buf_adds(&b, " reason=lmtp");
	} else {
		log_add_reply(&b, id, reason);
	}
	if (res != NULL && res->what != NULL) {
		buf_adds(&b, " failed at ");
		buf_adds(&b, res->what);
	}
	log_put("info", msg, b.len);
	rt.in_message = 0;
}

static void
on_data_end(const struct smtp_event *ev)
{
	struct deliver_result res;
	char said[LOGESC_MAX + 1];
	const char *reason = NULL;
	int failed;

	memset(&res, 0, sizeof(res));
	rt.delivery_open = 0;
	failed = deliver_close(&rt.deliver, &res) != 0;
	if (failed && res.err == ETIMEDOUT && session_expired()) {
		/* The program was killed at SESSIONTIMEOUT: nothing was
		 * accepted, and the session ends here. */
		log_message(&res, ev->size, REPLY_NONE, NULL);
		end_at_deadline();
		return;
	}
	if (failed && res.what != NULL && res.status >= 0) {
		/* A program's verdict (pipe, qmail-queue): "exit 100", and
		 * the first line it wrote, escaped. */
		log_line("info", "%s: program %s %d: %s", rt.message_id,
		    res.what, res.status, logesc(said, sizeof(said), res.text,
		    res.text_len));
		reason = "program";
	} else if (res.what != NULL) {
		log_line("warning", "%s: delivery failed: %s: %s",
		    rt.message_id, res.what, errno_text(res.err));
	}
	if (rt.kind == DELIVER_LMTP) {
		log_lmtp_results();	/* each recipient's own result */
		if (failed)
			reason = "lmtp";
	}
	log_message(&res, ev->size, res.reply, reason);
	if (reply_code(res.reply) / 100 == 2)
		rt.naccepted++;
	if (res.code != 0)		/* the LMTP server's reply */
		smtp_answer_relayed(&rt.session, res.reply, res.code,
		    res.status_code[0] != '\0' ? res.status_code : NULL,
		    res.text, res.text_len);
	else if (res.text_len > 0)
		smtp_answer_text(&rt.session, res.reply, res.text,
		    res.text_len);
	else
		smtp_answer(&rt.session, res.reply);
	rt.nrcpt = 0;
}

static void
on_data_abort(const struct smtp_event *ev)
{
	/* Logged here with the engine's reply, not as "aborted".  A first
	 * BDAT chunk over DATABYTES comes without a DATA event. */
	if (!rt.in_message)
		count_message();
	rt.in_message = 0;
	abort_delivery();
	log_message(NULL, ev->size, ev->refusal, NULL);
	smtp_answer(&rt.session, REPLY_NONE);
}

static void
on_event(const struct smtp_event *ev)
{
	struct smtp_session *s = &rt.session;

	switch (ev->type) {
	case SMTP_EV_HELO:
		on_helo(ev);
		break;
	case SMTP_EV_MAIL:
		on_mail(ev);
		break;
	case SMTP_EV_RCPT:
		on_rcpt(ev);
		break;
	case SMTP_EV_RSET:
	case SMTP_EV_QUIT:
		abort_delivery();
		if (ev->type == SMTP_EV_RSET)
			deliver_reset(&rt.deliver); /* LMTP: RSET theirs */
		rt.nrcpt = 0;
		smtp_answer(s, REPLY_NONE);
		break;
	case SMTP_EV_DATA:
		on_data();
		break;
	case SMTP_EV_BODY:
		if (rt.delivery_open)
			(void)deliver_write(&rt.deliver, ev->data, ev->len);
		smtp_answer(s, REPLY_NONE);
		break;
	case SMTP_EV_DATA_END:
		on_data_end(ev);
		break;
	case SMTP_EV_DATA_ABORT:
		on_data_abort(ev);
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		on_auth(ev);
		break;
	case SMTP_EV_STARTTLS:
		on_starttls();
		break;
	case SMTP_EV_REFUSED:
		if (refusal_logged())
			log_refusal(ev->verb, ev->data, ev->len, ev->refusal,
			    NULL, 0);
		smtp_answer(s, REPLY_NONE);
		break;
	}
}

/* ---------------------------------------------------------------- */
/* The session loop.                                                 */

static const char *
close_reason_name(enum smtp_close why)
{
	switch (why) {
	case SMTP_CLOSE_QUIT:
		return "quit";
	case SMTP_CLOSE_EOF:
		return "client closed the connection";
	case SMTP_CLOSE_TIMEOUT:
		return "timeout";
	case SMTP_CLOSE_ERRORS:
		return "too many errors";
	case SMTP_CLOSE_CALLER:
		return "closed by smtpd";
	case SMTP_CLOSE_FAILED:
		return "connection failed";
	default:
		return "open";
	}
}

/*
 * Send every queued reply (RFC 2920: before each blocking read).  A
 * socket is offered them first with MSG_DONTWAIT, which makes this one
 * call non-blocking and leaves fd 1 as it is (its open file may be
 * shared: xinetd, systemd): one system call where io_write_timeout's
 * fcntl, poll and write are three, four times per message of a client
 * that does not pipeline.  What the socket does not take at once, and
 * everything for a pipe (TLS wrappers, tests), waits in io_write_timeout.
 */
static int
flush_output(void)
{
	const char *out;
	size_t n = smtp_output(&rt.session, &out);
	size_t sent = 0;

	if (n == 0)
		return 0;
#ifdef MSG_DONTWAIT
	if (!rt.out_is_not_socket) {
		ssize_t w;

		do {
			w = send(1, out, n, MSG_DONTWAIT);
		} while (w == -1 && errno == EINTR);
		if (w > 0)
			sent = (size_t)w;
		else if (w == -1 && errno == ENOTSOCK)
			rt.out_is_not_socket = 1;
	}
#endif
	if (sent < n && io_write_timeout(1, out + sent, n - sent,
	    wait_budget()) != 0) {
		log_line("info", "%s: unable to write to the client: %s",
		    rt.session_id, errno_text(errno));
		return -1;
	}
	smtp_output_done(&rt.session, n);
	return 0;
}

/* Wait for input within TIMEOUT and the session deadline; read a block.
 * Returns 0 with input, or -1 when the session must end. */
static int
read_input(void)
{
	struct smtp_session *s = &rt.session;
	int wait = wait_budget();
	int r;
	ssize_t n;

	r = wait > 0 ? io_wait(0, 0, wait) : 0;
	if (r == 0) {
		if (wait < rt.timeout_ms)
			end_at_deadline();
		else
			smtp_timeout(s, REPLY_TIMEOUT);
		return -1;
	}
	n = r < 0 ? -1 : io_read(0, rt.in, sizeof(rt.in));
	if (n <= 0) {
		if (n < 0)
			log_line("info", "%s: read error: %s", rt.session_id,
			    errno_text(errno));
		smtp_eof(s);
		return -1;
	}
	rt.in_off = 0;
	rt.in_len = (size_t)n;
	return 0;
}

/* "end: REASON, N messages", without printf (as log_message). */
static void
log_session_end(enum smtp_close why)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, msg, sizeof(msg));
	buf_adds(&b, rt.session_id);
	buf_adds(&b, ": end: ");
	buf_adds(&b, close_reason_name(why));
	buf_adds(&b, ", ");
	buf_addu64(&b, rt.naccepted);
	buf_adds(&b, rt.naccepted == 1 ? " message" : " messages");
	if (rt.nmessages > rt.naccepted) {
		buf_adds(&b, ", ");
		buf_addu64(&b, rt.nmessages - rt.naccepted);
		buf_adds(&b, " refused");
	}
	log_put("info", msg, b.len);
}

/*
 * The tarpit: once the session has made more than TARPITCOUNT errors
 * (bad commands, refused recipients), each further one is answered and
 * then followed by a pause of TARPITDELAY times the errors beyond
 * TARPITCOUNT before anything more is read: 1 s, 2 s, 3 s, ... by
 * default.  The replies go out first, so that a client waiting for one
 * is answered; smtp_feed stops after each error, so that pipelined
 * commands wait their turn.  At ERRORLIMIT the engine closes with 421
 * 4.7.0 at once.
 */
static void
tarpit(void)
{
	unsigned n = smtp_errors(&rt.session);

	if (n <= rt.errors_seen) {
		rt.errors_seen = n;	/* an accepted message halves it */
		return;
	}
	rt.errors_seen = n;
	if (rt.tarpit_delay_ms == 0 || n <= rt.tarpit_count ||
	    smtp_is_closed(&rt.session))
		return;
	if (!rt.tarpit_logged) {
		rt.tarpit_logged = 1;
		log_line("info", "%s: tarpit: %u errors (TARPITCOUNT %u), "
		    "slowing down", rt.session_id, n, rt.tarpit_count);
	}
	if (flush_output() != 0) {
		smtp_close(&rt.session);
		return;
	}
	pause_ms((long long)(n - rt.tarpit_count) * rt.tarpit_delay_ms);
	if (session_expired())
		end_at_deadline();
}

static void
run_session(void)
{
	struct smtp_session *s = &rt.session;
	const struct smtp_event *ev;

	smtp_init(s, &rt.cfg);
	for (;;) {
		/* The deadline is checked before each event, so that a
		 * pipelined batch of slow commands cannot run past it; the
		 * delivery's waits (its program, qmail-queue's pipes) get
		 * what is left. */
		while ((ev = smtp_event(s)) != NULL) {
			rt.deliver.timeout_ms = wait_budget();
			if (rt.deliver.timeout_ms == 0) {
				end_at_deadline();
				break;
			}
			on_event(ev);
			tarpit();
		}
		if (smtp_is_closed(s))
			break;
		if (rt.in_off < rt.in_len) {
			size_t n = smtp_feed(s, rt.in + rt.in_off,
			    rt.in_len - rt.in_off);

			rt.in_off += n;
			/* An AUTH line, or the part of it this read holds:
			 * each read starts at rt.in[0], so wiping all that is
			 * consumed leaves no part of a split line behind
			 * (nor a line the engine refused without an event). */
			if (smtp_fed_secret(s))
				wipe(rt.in, rt.in_off);
			tarpit();
			if (n > 0 || smtp_event(s) != NULL)
				continue;
			if (smtp_is_closed(s))
				break;
		}
		if (flush_output() != 0) {
			smtp_close(s);
			break;
		}
		if (rt.in_off < rt.in_len)
			continue;	/* the engine paused for output */
		if (read_input() != 0)
			break;
	}
	abort_delivery();
	(void)flush_output();
	if (rt.kind == DELIVER_LMTP) {
		/* QUIT to the LMTP server, after the client's last reply. */
		rt.deliver.timeout_ms = wait_budget();
		deliver_free(&rt.deliver);
	}
	if (rt.refusals_unlogged > 0)
		log_line("info", "%s: %lu more refusals not logged",
		    rt.session_id, rt.refusals_unlogged);
	log_session_end(smtp_close_reason(s));
}

/* "connect from IP port P host H", without printf (as log_message). */
static void
log_connect(void)
{
	char msg[LOG_LINE_MAX];
	struct buf b;

	buf_init(&b, msg, sizeof(msg));
	buf_adds(&b, rt.session_id);
	buf_adds(&b, ": connect from ");
	logesc_add(&b, rt.remote_ip, strlen(rt.remote_ip), LOGESC_MAX);
	if (rt.remote_port[0] != '\0') {
		buf_adds(&b, " port ");
		logesc_add(&b, rt.remote_port, strlen(rt.remote_port),
		    LOGESC_MAX);
	}
	if (rt.remote_host != NULL) {
		/* TCPREMOTEHOST is the client's PTR name: its DNS. */
		buf_adds(&b, " host ");
		logesc_add(&b, rt.remote_host, strlen(rt.remote_host),
		    LOGESC_MAX);
	}
	log_put("info", msg, b.len);
}

int
main(int argc, char **argv)
{
	struct timespec now;
	struct buf id;

	rt.pid = (unsigned long)getpid();
	rt.use_syslog = stderr_is_client();
	/* EPIPE and EFBIG are handled where they happen. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	parse_args(argc, argv);
	configure();
	clock_gettime(CLOCK_REALTIME, &now);
	/* The start's second and the pid's low 20 bits, in hexadecimal. */
	buf_init(&id, rt.session_id, sizeof(rt.session_id));
	(void)buf_addhex(&id, (uint64_t)now.tv_sec, 1);
	(void)buf_addhex(&id, (uint64_t)rt.pid & 0xfffff, 5);
	(void)buf_nul(&id);
	if (deliver_init(&rt.deliver, rt.kind, rt.deliver.path,
	    rt.deliver.argv, rt.cfg.maxrcpts, rt.timeout_ms) != 0) {
		char msg[SMTP_REPLY_TEXT_MAX + 32];
		size_t n = reply_format(msg, sizeof(msg), REPLY_UNAVAILABLE,
		    NULL, 0, 0);

		log_line("fatal", "unable to set up delivery: %s: %s",
		    rt.deliver.what ? rt.deliver.what : "init", errno_text(errno));
		(void)io_write_timeout(1, msg, n, rt.timeout_ms);
		return EXIT_TEMP;
	}
	configure_delivery_programs();
	log_connect();
	if (rt.is_relay_client && is_loopback(rt.remote_ip))
		log_line("warning", "%s: RELAYCLIENT is set for a loopback "
		    "peer; behind a proxy this opens the relay", rt.session_id);
	if (read_proxy_header() != 0)
		return EXIT_OK;
	run_session();
	return EXIT_OK;
}
