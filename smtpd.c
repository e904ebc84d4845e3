/*
 * smtpd.c: the program around the modules.  It reads argv and the
 * environment into one runtime struct (in parts, each module given its
 * own), speaks one SMTP session on fd 0 / fd 1 through the engine in
 * proto/, answers the engine's events with policy (RCPTHOSTS,
 * RELAYCLIENT) and storage (deliver/), keeps the deadlines with poll(),
 * logs one line per event and chooses the exit code: 0 normal end, 100
 * usage or permanent configuration error, 111 temporary failure.  The
 * modules it drives return outcomes and never log: auth/policy.h (AUTH),
 * lib/starttls.h (STARTTLS), deliver/progenv.h and deliver/rcptcheck.h
 * (programs), lib/rcpthosts.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <syslog.h>	/* LOG_MAIL, LOG_INFO, ..., _PATH_LOG */
#include <time.h>
#include <unistd.h>

#include "auth/policy.h"
#include "deliver/deliver.h"
#include "deliver/progenv.h"
#include "deliver/rcptcheck.h"
#include "deliver/txn.h"
#include "lib/buf.h"
#include "lib/envindex.h"
#include "lib/io.h"
#include "lib/logesc.h"
#include "lib/logsock.h"
#include "lib/proxyread.h"
#include "lib/rcpthosts.h"
#include "lib/spawn.h"
#include "lib/starttls.h"
#include "lib/ucspitls.h"
#include "lib/wipe.h"
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
#define LOG_LINE_MAX 1024
/* Every wait ends by TIMEOUT and by SESSIONTIMEOUT (wait_budget). */
struct deadline {
	int timeout_ms;			/* TIMEOUT */
	long long session_end;		/* SESSIONTIMEOUT, io_now_ms() */
};

/* Errors and the tarpit (configure_errors, tarpit). */
struct tarpit {
	unsigned count;			/* TARPITCOUNT */
	int delay_ms;			/* TARPITDELAY */
	unsigned errors_seen;		/* smtp_errors at the last look */
	int logged;
};

/* The client's input: in[off..len) is read and not yet fed. */
struct input {
	size_t off;
	size_t len;
	char buf[INPUT_MAX];
};

/* Everything the session knows, in parts; the one mutable file-scope
 * object.  The modules get only their part: auth (auth/policy.h), peer
 * and progenv (deliver/progenv.h), tls (lib/starttls.h), rcpthosts
 * (lib/rcpthosts.h), deliver (deliver/deliver.h). */
struct runtime {
	struct smtp_config cfg;
	struct smtp_session session;
	struct deliver deliver;
	enum deliver_kind kind;
	int use_syslog;
	int out_is_not_socket;		/* flush_output: send() said ENOTSOCK */
	unsigned long pid;
	char session_id[32];
	unsigned long naccepted;	/* of them, answered 250 */
	int in_message;			/* started, not yet logged */
	struct deadline clock;		/* TIMEOUT, SESSIONTIMEOUT */
	struct tarpit tarpit;		/* configure_errors, tarpit */
	unsigned long refusals_logged;
	unsigned long refusals_unlogged;
	int is_relay_client;
	struct auth_policy auth;	/* configure_auth, on_auth */
	/* peer and local names */
	struct peer peer;		/* the client, as programs see it */
	char local_host[PEER_NAME_MAX];
	const char *greeting_host;
	struct rcpthosts rcpthosts;	/* RCPTHOSTS, read once */
	struct txn txn;			/* the transaction (deliver/txn.h) */
	/* programs (rcpt_check_program, build_session_env) */
	const char *rcptcheck;		/* RCPTCHECK, or NULL */
	char rcpt_reply[SMTP_REPLY_TEXT_MAX + 1]; /* its text for this RCPT */
	size_t rcpt_reply_len;
	struct progenv progenv;
	struct starttls tls;		/* configure_tls, on_starttls */
	struct input in;		/* read_input, run_session */
};

static struct runtime rt;

/* ---------------------------------------------------------------- */
/* Logging: fd 2, one line per write, unless fd 2 is the client.     */

/* One line: "smtpd: pid N: LEVEL: " and msg, cut to fit.  Built without
 * printf: a line is written for every message.  "smtpd: pid N: " is
 * made once, for the pid it was made for. */
static void
log_put(const char *level, const char *msg, size_t len)
{
	static char prefix[sizeof("smtpd: pid : ") + 20];
	static size_t prefix_len;
	static unsigned long prefix_pid;
	char line[LOG_LINE_MAX];
	struct buf b;

	if (prefix_len == 0 || prefix_pid != rt.pid) {
		buf_init(&b, prefix, sizeof(prefix));
		buf_addlit(&b, "smtpd: pid ");
		buf_addu64(&b, rt.pid);
		buf_addlit(&b, ": ");
		prefix_len = b.len;
		prefix_pid = rt.pid;
	}
	buf_init(&b, line, sizeof(line) - 1);	/* room for '\n' or NUL */
	buf_add(&b, prefix, prefix_len);
	buf_adds(&b, level);
	buf_addlit(&b, ": ");
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
	(void)buf_addlit(b, " reason=");
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
	(void)buf_addlit(&b, ": ");
	(void)buf_adds(&b, what);
	if (bracket) {
		(void)buf_addlit(&b, " <");
		(void)logesc_add(&b, value, len, LOGESC_MAX);
		(void)buf_addc(&b, '>');
	}
	(void)buf_addlit(&b, " refused: ");
	log_add_reply(&b, id, reason);
	if (!bracket) {
		(void)buf_addlit(&b, " arg=");
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
	long long left = rt.clock.session_end - io_now_ms();

	if (left <= 0)
		return 0;
	return left < rt.clock.timeout_ms ? (int)left : rt.clock.timeout_ms;
}

static int
session_expired(void)
{
	return io_now_ms() >= rt.clock.session_end;
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

/* environ, indexed at the first lookup (lib/envindex.h). */
static struct env_index env_index;

static char *
env_get(const char *name)
{
	if (!env_index.ready)
		env_index_init(&env_index, environ);
	return env_index_get(&env_index, name);
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

/* The peer, most specific source first: tcpserver, systemd,
 * xinetd/stunnel, then the socket itself. */
static void
find_peer(void)
{
	const char *ip = env_or("TCPREMOTEIP", NULL);
	const char *port = env_or("TCPREMOTEPORT", NULL);
	char host[PEER_NAME_MAX];
	char serv[32];

	if (ip == NULL) {
		ip = env_or("REMOTE_ADDR", NULL);
		port = env_or("REMOTE_PORT", NULL);
	}
	if (ip == NULL) {
		ip = env_or("REMOTE_HOST", NULL);
		port = env_or("REMOTE_PORT", NULL);
	}
	if (ip == NULL && io_socket_name(0, 1, host, sizeof(host), serv,
	    sizeof(serv)) == 0) {
		ip = host;
		port = serv;
	}
	copy_name(rt.peer.remote_ip, sizeof(rt.peer.remote_ip),
	    ip ? ip : "unknown");
	copy_name(rt.peer.remote_port, sizeof(rt.peer.remote_port),
	    port ? port : "");
	rt.peer.remote_host = env_or("TCPREMOTEHOST", NULL);
	/* Only tcpserver names our own address; elsewhere ask the socket. */
	if (env_or("TCPLOCALIP", NULL) == NULL && io_socket_name(0, 0, host,
	    sizeof(host), serv, sizeof(serv)) == 0) {
		copy_name(rt.peer.sock_local_ip, sizeof(rt.peer.sock_local_ip),
		    host);
		copy_name(rt.peer.sock_local_port,
		    sizeof(rt.peer.sock_local_port),
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
/* AUTH: the policy's outcome logged and answered.                   */

/*
 * AUTH (RFC 4954) through CHECKPASSWORD: auth/policy.c runs the exchange
 * and says what came of it; here are the log, AUTHDELAY and the answer.
 * A failure is answered only after AUTHDELAY seconds, and the
 * AUTH_FAILURES_MAX-th of a session closes it with 421, so that guessing
 * is slow; each failure is logged as
 *	warning: SESSION: auth failed: ip=IP user=USER mech=MECH: WHY
 * for fail2ban (smtpd.8 has the filter).  No password, digest or AUTH
 * payload is ever logged.
 */

/* Read CHECKPASSWORD, AUTHMECHS, CLEARTEXTAUTH, REQUIREAUTH, AUTHDELAY. */
static void
configure_auth(void)
{
	char *prog = env_get("CHECKPASSWORD");
	const char *list;
	const char *bad;
	size_t badlen;
	int r;

	if (env_get("CLEARTEXTAUTH") != NULL)
		rt.cfg.flags |= SMTP_CF_CLEARTEXT_AUTH;
	if (env_get("REQUIREAUTH") != NULL)
		rt.cfg.flags |= SMTP_CF_REQUIRE_AUTH;
	rt.auth.delay_ms = (int)env_number("AUTHDELAY", AUTH_DELAY_DEFAULT, 0,
	    AUTH_DELAY_MAX) * 1000;
	if (prog == NULL || *prog == '\0') {
		if (rt.cfg.flags & SMTP_CF_REQUIRE_AUTH)
			log_line("warning", "REQUIREAUTH is set but "
			    "CHECKPASSWORD is not: only RELAYCLIENT clients "
			    "can send");
		return;
	}
	list = env_or("AUTHMECHS", "PLAIN LOGIN");
	r = auth_policy_mechs(&rt.auth, list, &bad, &badlen);
	if (r == -1) {
		log_line("fatal", "AUTHMECHS: unknown mechanism: %.*s "
		    "(PLAIN, LOGIN and CRAM-MD5 are)", (int)badlen, bad);
		exit(EXIT_PERM);
	}
	if (r != 0) {
		log_line("fatal", "AUTHMECHS names no mechanism: %s", list);
		exit(EXIT_PERM);
	}
	rt.auth.checkpassword = prog;
	/* The engine offers AUTH only with TLS or CLEARTEXTAUTH. */
	rt.cfg.auth_mechs = rt.auth.mechs;
}

static void
auth_failed(const struct auth_result *res)
{
	char user[LOGESC_MAX + 1];
	char ip[LOGESC_MAX + 1];

	log_line("warning", "%s: auth failed: ip=%s user=%s mech=%s: %s",
	    rt.session_id, LOG_ESC(ip, rt.peer.remote_ip),
	    logesc(user, sizeof(user), res->user, res->user_len), res->mech,
	    res->why);
	/* AUTHDELAY before a failure is answered, within the session. */
	pause_ms(rt.auth.delay_ms);
	if (session_expired()) {
		end_at_deadline();
		return;
	}
	if (res->too_many) {
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

/* Answer SMTP_EV_AUTH and SMTP_EV_AUTH_DATA. */
static void
on_auth(const struct smtp_event *ev)
{
	struct auth_world w;
	struct auth_result res;
	char user[LOGESC_MAX + 1];
	char ip[LOGESC_MAX + 1];
	char said[64];

	w.pid = rt.pid;
	w.local_host = rt.local_host;
	w.envp = peer_env();
	w.child_stderr = rt.use_syslog ? -1 : 2;
	w.timeout_ms = wait_budget();
	auth_policy_step(&rt.auth, ev, &w, &res);
	if (res.asked_program && res.outcome != AUTH_OK &&
	    session_expired()) {
		/* Killed at SESSIONTIMEOUT, or it took all that was left. */
		end_at_deadline();
		return;
	}
	switch (res.outcome) {
	case AUTH_CHALLENGE:
		smtp_answer_text(&rt.session, REPLY_AUTH_CHALLENGE,
		    res.challenge, res.challenge_len);
		break;
	case AUTH_OK:
		log_line("info", "%s: auth ok: ip=%s user=%s mech=%s",
		    rt.session_id, LOG_ESC(ip, rt.peer.remote_ip),
		    logesc(user, sizeof(user), res.user, res.user_len),
		    res.mech);
		smtp_answer(&rt.session, REPLY_AUTH_OK);
		break;
	case AUTH_FAILED:
		auth_failed(&res);
		break;
	case AUTH_DEFERRED:
		log_line("warning", "%s: auth deferred: ip=%s user=%s mech=%s: "
		    "CHECKPASSWORD %s: %s", rt.session_id,
		    LOG_ESC(ip, rt.peer.remote_ip),
		    logesc(user, sizeof(user), res.user, res.user_len),
		    res.mech, rt.auth.checkpassword,
		    checkpassword_said(said, sizeof(said), &res.detail));
		smtp_answer(&rt.session, REPLY_AUTH_TEMP_FAIL);
		break;
	case AUTH_BAD_BASE64:
		log_line("info", "%s: auth aborted: ip=%s mech=%s: invalid "
		    "base64", rt.session_id, LOG_ESC(ip, rt.peer.remote_ip),
		    res.mech);
		smtp_answer(&rt.session, REPLY_AUTH_BAD_BASE64);
		break;
	case AUTH_SYNTAX:
		/* RFC 4954 §4: an initial response the mechanism does not
		 * allow gets 501. */
		smtp_answer(&rt.session, REPLY_SYNTAX);
		break;
	case AUTH_UNKNOWN_MECH:
		smtp_answer(&rt.session, REPLY_AUTH_MECH_UNKNOWN);
		break;
	}
	wipe(&res, sizeof(res));
}

/* ---------------------------------------------------------------- */
/* STARTTLS and the PROXY header.                                    */

/* STARTTLS (lib/starttls.h): the wrapper does TLS; the engine starts
 * over, and so does what smtpd knows of the client. */
static void
on_starttls(void)
{
	/* RFC 3207 §4.2: the engine forgets a cleartext AUTH (auth_user) */
	(void)starttls_run(&rt.tls);
}

/*
 * PROXYPROTOCOL (haproxy's doc/proxy-protocol.txt): a proxy's header
 * comes before the greeting.  Opt-in, because with it anyone who reaches
 * the port names their own address (§2: the receiver "MUST not try to
 * guess").  The header is read exactly (lib/proxyread.h), so the
 * client's own bytes stay unread on fd 0, socket or pipe.  A bad,
 * truncated, late or missing header closes the connection without a
 * reply (§2.1: abort).  Its source becomes the peer (rt.peer.remote_ip:
 * the log, Received:, TCPREMOTEIP for programs); LOCAL and UNKNOWN keep
 * the connection's own addresses.
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
	/* Within PROXY_TIMEOUT, or TIMEOUT when that is shorter. */
	if (proxy_read(0, rt.clock.timeout_ms < PROXY_TIMEOUT * 1000 ?
	    rt.clock.timeout_ms : PROXY_TIMEOUT * 1000, buf, &len, &h,
	    &why) != 0) {
		if (why == NULL)
			why = errno_text(errno);
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
	    LOG_ESC(via, rt.peer.remote_ip));
	copy_name(rt.peer.remote_ip, sizeof(rt.peer.remote_ip), h.src);
	snprintf(rt.peer.remote_port, sizeof(rt.peer.remote_port), "%u",
	    h.src_port);
	copy_name(rt.peer.proxy_local_ip, sizeof(rt.peer.proxy_local_ip),
	    h.dst);
	snprintf(rt.peer.proxy_local_port, sizeof(rt.peer.proxy_local_port),
	    "%u", h.dst_port);
	/* TCPREMOTEHOST named the proxy. */
	rt.peer.remote_host = NULL;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Programs: their environment and RCPTCHECK (smtpd.8 THE HOOK API). */

/* What progenv left out, for the log. */
static void
log_progenv_dropped(void)
{
	size_t i;

	for (i = 0; i < rt.progenv.ndropped; i++)
		log_line("warning", "%s: %s left out of the program's "
		    "environment: too long", rt.session_id,
		    rt.progenv.dropped[i]);
}

/* The AUTH user while the engine counts the client as authenticated:
 * NULL again after STARTTLS, which forgets a cleartext AUTH. */
static const char *
auth_user(void)
{
	return smtp_is_authenticated(&rt.session) ? rt.auth.user_text : NULL;
}

/* The programs' environment: with rcpt, RCPTCHECK's; without, the
 * message's (NULL for Maildir delivery).  Valid until the next call. */
static char *const *
build_session_env(const char *rcpt)
{
	struct progenv_txn t;
	char *const *envp;

	if (rcpt == NULL && rt.kind != DELIVER_PIPE &&
	    rt.kind != DELIVER_QMAIL_QUEUE)
		return NULL;
	t.sender = rt.txn.sender;
	t.rcpts = rt.txn.rcpts;
	t.nrcpt = smtp_rcpt_count(&rt.session);
	t.helo = rt.txn.helo;
	t.auth_user = auth_user();
	envp = progenv_session(&rt.progenv, environ, &rt.peer, &t, rcpt);
	log_progenv_dropped();
	return envp;
}

/* smtpd's own environment for the checkpassword program, with the peer
 * as a PROXY header named it. */
static char *const *
peer_env(void)
{
	char *const *envp = progenv_peer(&rt.progenv, environ, &rt.peer);

	log_progenv_dropped();
	return envp;
}

/* RCPTCHECK; QMAILQUEUE is read with the arguments.  When any program
 * may run, what smtpd inherited beyond 0-2 becomes close-on-exec, so
 * that a child gets exactly its fd plan, and SIGCHLD is at its default
 * (lib/spawn.h). */
static void
configure_programs(void)
{
	rt.rcptcheck = env_or("RCPTCHECK", NULL);
	if (rt.rcptcheck != NULL || rt.auth.checkpassword != NULL ||
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

/* Run RCPTCHECK for one recipient (deliver/rcptcheck.h) and log what
 * became of it. */
static enum reply_id
run_rcptcheck(const struct smtp_path *p)
{
	struct rcptcheck_result res;
	char rcpt[LOGESC_MAX + 1];

	(void)rcptcheck_run(rt.rcptcheck, build_session_env(p->mailbox),
	    rt.use_syslog ? -1 : 2, wait_budget(), &res);
	if (res.unstarted != NULL && strcmp(res.unstarted, "pipe") == 0) {
		log_line("warning", "%s: RCPTCHECK: pipe: %s", rt.session_id,
		    errno_text(res.err));
	} else if (res.unstarted != NULL) {
		log_line("warning", "%s: RCPTCHECK: unable to run %s: %s",
		    rt.session_id, rt.rcptcheck, errno_text(res.err));
	} else if (res.unfinished) {
		log_line("warning", "%s: RCPTCHECK: <%s>: %s", rt.session_id,
		    logesc(rcpt, sizeof(rcpt), p->mailbox, p->len),
		    res.err != ETIMEDOUT ? errno_text(res.err) :
		    session_expired() ? "killed at SESSIONTIMEOUT" :
		    "killed at TIMEOUT");
	} else if (res.signal != 0) {
		log_line("warning", "%s: RCPTCHECK: <%s>: killed by signal %d",
		    rt.session_id, logesc(rcpt, sizeof(rcpt), p->mailbox,
		    p->len), res.signal);
	} else if (res.code != 0) {
		memcpy(rt.rcpt_reply, res.text, res.text_len + 1);
		rt.rcpt_reply_len = res.text_len;
		if (rt.refusals_logged < REFUSALS_LOGGED_MAX)
			log_line("info", "%s: RCPTCHECK: <%s>: exit %d",
			    rt.session_id, logesc(rcpt, sizeof(rcpt),
			    p->mailbox, p->len), res.code);
	}
	return res.reply;
}

/* The last check of a RCPT, after RCPTHOSTS and the mailbox: the
 * RECIPIENTS budget of a pipe program, then RCPTCHECK. */
static enum reply_id
rcpt_check_program(const struct smtp_path *p)
{
	enum reply_id r;
	int fits;

	rt.rcpt_reply_len = 0;
	fits = txn_rcpts_env_fits(&rt.txn, smtp_rcpt_count(&rt.session),
	    p->len);
	if (rt.kind == DELIVER_PIPE && !fits)
		return REPLY_TOO_MANY_RCPTS;
	if (rt.rcptcheck != NULL) {
		r = run_rcptcheck(p);
		if (r != REPLY_RCPT_OK)
			return r;
	}
	txn_rcpts_env_add(&rt.txn, p->len);
	return REPLY_RCPT_OK;
}

/* ---------------------------------------------------------------- */
/* The rest of the configuration.                                    */

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
	rt.tarpit.count = (unsigned)env_number("TARPITCOUNT",
	    TARPIT_COUNT_DEFAULT, 0, ERRORLIMIT_MAX);
	rt.tarpit.delay_ms = (int)env_number("TARPITDELAY",
	    TARPIT_DELAY_DEFAULT, 0, TARPIT_DELAY_MAX) * 1000;
}

static int flush_output(void);

/* UCSPITLS, TLSWRAPPER, SMTPS and the SSL descriptors (lib/starttls.h). */
static void
configure_tls(void)
{
	struct starttls_env env;

	env.ssl_ctl_fd = env_get("SSLCTLFD");
	env.ssl_read_fd = env_get("SSLREADFD");
	env.ssl_write_fd = env_get("SSLWRITEFD");
	env.ucspitls = env_get("UCSPITLS") != NULL;
	env.tlswrapper = env_get("TLSWRAPPER") != NULL;
	env.smtps = env_get("SMTPS") != NULL;
	rt.tls.session = &rt.session;
	rt.tls.in = rt.in.buf;
	rt.tls.in_cap = sizeof(rt.in.buf);
	rt.tls.in_off = &rt.in.off;
	rt.tls.in_len = &rt.in.len;
	rt.tls.session_id = rt.session_id;
	rt.tls.flush = flush_output;
	rt.tls.budget = wait_budget;
	rt.tls.log = log_line;
	rt.tls.errtext = errno_text;
	rt.cfg.flags |= starttls_configure(&rt.tls, &env);
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
	rt.clock.timeout_ms = (int)(timeout * 1000);
	rt.clock.session_end = io_now_ms() + (long long)session * 1000;
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
	if (rcpthosts != NULL && rcpthosts_read(&rt.rcpthosts, rcpthosts) != 0)
		die(errno == EFBIG ? EXIT_PERM : EXIT_TEMP, errno == EFBIG ?
		    "RCPTHOSTS %s is too large: %s" :
		    "unable to read RCPTHOSTS %s: %s", rcpthosts);
	if (txn_init(&rt.txn, rt.cfg.maxrcpts) != 0)
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
	if (!smtp_in_data(&rt.session))
		return;
	/* A qmail-queue is given what is left of the session to go. */
	rt.deliver.timeout_ms = wait_budget();
	deliver_abort(&rt.deliver);
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
	abort_delivery();
	deliver_reset(&rt.deliver);	/* LMTP: RSET theirs too */
	txn_helo(&rt.txn, ev->helo, ev->helo_len);
	smtp_answer(&rt.session, REPLY_NONE);
}

static void
on_mail(const struct smtp_event *ev)
{
	/* LMTP: sends its MAIL at the first RCPT, with these. */
	txn_mail(&rt.txn, ev->path, ev->params);
	deliver_reset(&rt.deliver);
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
	if (rt.rcpthosts.text == NULL || rt.is_relay_client ||
	    smtp_is_authenticated(&rt.session))
		return REPLY_RCPT_OK;
	return rcpthosts_match(rt.rcpthosts.text, rt.rcpthosts.len, domain,
	    dlen) ? REPLY_RCPT_OK : REPLY_RELAY_DENIED;
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
	if (deliver_rcpt(&rt.deliver, &rt.txn.mail, p->mailbox, p->len,
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
		(void)buf_adds(&b, rt.txn.message_id);
		(void)buf_adds(&b, ": to <");
		if (i < smtp_rcpt_count(&rt.session))
			(void)logesc_add(&b, rt.txn.rcpts[i],
			    strlen(rt.txn.rcpts[i]), LOGESC_MAX);
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
	unsigned i = smtp_rcpt_count(&rt.session);
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
	if (r == REPLY_RCPT_OK && i < rt.cfg.maxrcpts) {
		/* The engine counts it once answered. */
		txn_rcpt(&rt.txn, i, p);
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

static void
on_data(void)
{
	struct envelope *env;

	txn_count_message(&rt.txn, rt.session_id);
	rt.in_message = 1;
	env = txn_envelope(&rt.txn, smtp_rcpt_count(&rt.session));
	env->remote_ip = rt.peer.remote_ip;
	env->remote_host = rt.peer.remote_host;
	env->local_host = rt.local_host;
	env->protocol = smtp_with_protocol(&rt.session);
	env->auth_user = auth_user();
	env->session_env = build_session_env(NULL);
	env->when = time(NULL);
	if (deliver_open(&rt.deliver, env) != 0) {
		int e = errno;
		enum reply_id r = deliver_reply_for(e);

		log_line("warning", "%s: unable to start delivery to %s: %s: %s",
		    rt.txn.message_id, delivery_target(),
		    rt.deliver.what ? rt.deliver.what : "open", errno_text(e));
		/* The message's own line, with its final reply, as for
		 * every other message. */
		log_message(NULL, 0, r, NULL);
		smtp_answer(&rt.session, r);
		return;
	}
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
	buf_adds(&b, rt.txn.message_id);
	buf_addlit(&b, ": from <");
	logesc_add(&b, rt.txn.sender, strlen(rt.txn.sender), LOGESC_MAX);
	buf_addlit(&b, "> rcpts ");
	buf_addu64(&b, smtp_rcpt_count(&rt.session));
	buf_addlit(&b, " size ");
	buf_addu64(&b, size);
	buf_addlit(&b, ": ");
	if (id == REPLY_NONE) {
		buf_addlit(&b, "aborted");
	} else if (res != NULL && res->code != 0) {
		/* An LMTP server's reply, passed on. */
		buf_addu64(&b, (uint64_t)res->code);
		if (res->status_code[0] != '\0') {
			buf_addc(&b, ' ');
			buf_adds(&b, res->status_code);
		}
		buf_addlit(&b, " reason=lmtp");
	} else {
		log_add_reply(&b, id, reason);
	}
	if (res != NULL && res->what != NULL) {
		buf_addlit(&b, " failed at ");
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
		log_line("info", "%s: program %s %d: %s", rt.txn.message_id,
		    res.what, res.status, logesc(said, sizeof(said), res.text,
		    res.text_len));
		reason = "program";
	} else if (res.what != NULL) {
		log_line("warning", "%s: delivery failed: %s: %s",
		    rt.txn.message_id, res.what, errno_text(res.err));
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
}

static void
on_data_abort(const struct smtp_event *ev)
{
	/* Logged here with the engine's reply, not as "aborted".  A first
	 * BDAT chunk over DATABYTES comes without a DATA event. */
	if (!rt.in_message)
		txn_count_message(&rt.txn, rt.session_id);
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
		smtp_answer(s, REPLY_NONE);
		break;
	case SMTP_EV_DATA:
		on_data();
		break;
	case SMTP_EV_BODY:
		if (smtp_in_data(s))
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
read_input(struct input *in, struct smtp_session *s)
{
	int wait = wait_budget();
	int r;
	ssize_t n;

	r = wait > 0 ? io_wait(0, 0, wait) : 0;
	if (r == 0) {
		if (wait < rt.clock.timeout_ms)
			end_at_deadline();
		else
			smtp_timeout(s, REPLY_TIMEOUT);
		return -1;
	}
	n = r < 0 ? -1 : io_read(0, in->buf, sizeof(in->buf));
	if (n <= 0) {
		if (n < 0)
			log_line("info", "%s: read error: %s", rt.session_id,
			    errno_text(errno));
		smtp_eof(s);
		return -1;
	}
	in->off = 0;
	in->len = (size_t)n;
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
	buf_addlit(&b, ": end: ");
	buf_adds(&b, close_reason_name(why));
	buf_addlit(&b, ", ");
	buf_addu64(&b, rt.naccepted);
	buf_adds(&b, rt.naccepted == 1 ? " message" : " messages");
	if (rt.txn.nmessages > rt.naccepted) {
		buf_addlit(&b, ", ");
		buf_addu64(&b, rt.txn.nmessages - rt.naccepted);
		buf_addlit(&b, " refused");
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
tarpit(struct tarpit *tp, struct smtp_session *s)
{
	unsigned n = smtp_errors(s);

	if (n <= tp->errors_seen) {
		tp->errors_seen = n;	/* an accepted message halves it */
		return;
	}
	tp->errors_seen = n;
	if (tp->delay_ms == 0 || n <= tp->count ||
	    smtp_is_closed(s))
		return;
	if (!tp->logged) {
		tp->logged = 1;
		log_line("info", "%s: tarpit: %u errors (TARPITCOUNT %u), "
		    "slowing down", rt.session_id, n, tp->count);
	}
	if (flush_output() != 0) {
		smtp_close(s);
		return;
	}
	pause_ms((long long)(n - tp->count) * tp->delay_ms);
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
			tarpit(&rt.tarpit, s);
		}
		if (smtp_is_closed(s))
			break;
		if (rt.in.off < rt.in.len) {
			size_t n = smtp_feed(s, rt.in.buf + rt.in.off,
			    rt.in.len - rt.in.off);

			rt.in.off += n;
			/* An AUTH line, or the part of it this read holds:
			 * each read starts at in.buf[0], so wiping all that is
			 * consumed leaves no part of a split line behind
			 * (nor a line the engine refused without an event). */
			if (smtp_fed_secret(s))
				wipe(rt.in.buf, rt.in.off);
			tarpit(&rt.tarpit, s);
			if (n > 0 || smtp_event(s) != NULL)
				continue;
			if (smtp_is_closed(s))
				break;
		}
		if (flush_output() != 0) {
			smtp_close(s);
			break;
		}
		if (rt.in.off < rt.in.len)
			continue;	/* the engine paused for output */
		if (read_input(&rt.in, s) != 0)
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
	buf_addlit(&b, ": connect from ");
	logesc_add(&b, rt.peer.remote_ip, strlen(rt.peer.remote_ip),
	    LOGESC_MAX);
	if (rt.peer.remote_port[0] != '\0') {
		buf_addlit(&b, " port ");
		logesc_add(&b, rt.peer.remote_port, strlen(rt.peer.remote_port),
		    LOGESC_MAX);
	}
	if (rt.peer.remote_host != NULL) {
		/* TCPREMOTEHOST is the client's PTR name: its DNS. */
		buf_addlit(&b, " host ");
		logesc_add(&b, rt.peer.remote_host, strlen(rt.peer.remote_host),
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
	    rt.deliver.argv, rt.cfg.maxrcpts, rt.clock.timeout_ms) != 0) {
		char msg[SMTP_REPLY_TEXT_MAX + 32];
		size_t n = reply_format(msg, sizeof(msg), REPLY_UNAVAILABLE,
		    NULL, 0, 0);

		log_line("fatal", "unable to set up delivery: %s: %s",
		    rt.deliver.what ? rt.deliver.what : "init", errno_text(errno));
		(void)io_write_timeout(1, msg, n, rt.clock.timeout_ms);
		return EXIT_TEMP;
	}
	configure_delivery_programs();
	log_connect();
	if (rt.is_relay_client && is_loopback(rt.peer.remote_ip))
		log_line("warning", "%s: RELAYCLIENT is set for a loopback "
		    "peer; behind a proxy this opens the relay", rt.session_id);
	if (read_proxy_header() != 0)
		return EXIT_OK;
	run_session();
	return EXIT_OK;
}
