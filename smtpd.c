/*
 * smtpd.c: the program around the modules.  It reads argv and the
 * environment into one runtime struct (in parts, each module given its
 * own), speaks one SMTP session on fd 0 / fd 1 through the engine in
 * proto/, keeps the deadlines with poll() and chooses the exit code: 0
 * normal end, 100 usage or permanent configuration error, 111 temporary
 * failure.  The transaction's events (HELO, MAIL, RCPT, DATA, ...) are
 * answered by deliver/mail.h, STARTTLS by lib/starttls.h; AUTH's
 * outcome (auth/policy.h), a PROXY header and the engine's own refusals
 * are answered and logged here.  The log itself is lib/log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "auth/policy.h"
#include "deliver/deliver.h"
#include "deliver/progenv.h"
#include "deliver/mail.h"
#include "deliver/txn.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/envindex.h"
#include "lib/fmt.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/proxyread.h"
#include "lib/rcpthosts.h"
#include "lib/spawn.h"
#include "lib/starttls.h"
#include "lib/ucspitls.h"
#include "lib/wipe.h"
#include "proto/proxy.h"
#include "proto/smtp.h"

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
/* Errors and the tarpit (configure_errors, tarpit). */
struct tarpit {
	unsigned count;			/* TARPITCOUNT */
	int delay_ms;			/* TARPITDELAY */
	unsigned errors_seen;		/* smtp_errors at the last look */
	int logged;
};

/* The page size assumed by struct runtime's layout: where pages are
 * larger, the layout is merely less good. */
#define PAGE_GUESS 4096

/* The client's input: in[off..len) is read and not yet fed. */
struct input {
	size_t off;
	size_t len;
	char buf[INPUT_MAX];
};

/* Everything the session knows, in parts; the one mutable file-scope
 * object.  The modules get only their part: auth (auth/policy.h), tls
 * (lib/starttls.h), and mail (deliver/mail.h), which is given the
 * deliver, txn, progenv, peer, rcpthosts and clock parts it answers
 * the transaction's events with. */
struct runtime {
	/* Laid out for page faults, which cost more than the rest of a
	 * short session's start (bench/README.md).  A session touches its
	 * small parts and the start of each buffer, and each page touched is
	 * a fault: so the small parts come first, together, and each part
	 * that is a small head followed by its buffers (session, txn, in)
	 * starts a page of its own, where its head and the first octets of
	 * its buffer share one fault; what is untouched costs nothing. */
	enum deliver_kind kind;
	int out_is_not_socket;		/* flush_output: send() said ENOTSOCK */
	unsigned long pid;
	char session_id[32];
	struct deadline clock;		/* TIMEOUT, SESSIONTIMEOUT */
	struct tarpit tarpit;		/* configure_errors, tarpit */
	int is_relay_client;
	const char *greeting_host;
	struct rcpthosts rcpthosts;	/* RCPTHOSTS, read once */
	struct smtp_config cfg;
	struct mail_session mail;	/* the transaction's events: given
					   parts of rt (configure_mail) */
	struct starttls tls;		/* configure_tls, on_starttls */
	/* peer and local names */
	struct peer peer;		/* the client, as programs see it */
	char local_host[PEER_NAME_MAX];
	struct auth_policy auth;	/* configure_auth, on_auth */
	struct deliver deliver;		/* its carry[] last, touched late */
	_Alignas(PAGE_GUESS) struct smtp_session session;
	/* the transaction (deliver/txn.h): small parts, then its tables */
	_Alignas(PAGE_GUESS) struct txn txn;
	struct progenv progenv;		/* pipe and qmail-queue only */
	_Alignas(PAGE_GUESS) struct input in;	/* read_input, run_session */
};

static struct runtime rt;

static void __attribute__((noreturn))
die(int code, const char *format, const char *arg)
{
	log_line("fatal", format, arg, log_errno(errno));
	exit(code);
}

/* ---------------------------------------------------------------- */
/* Deadlines: every wait ends by TIMEOUT and by SESSIONTIMEOUT.        */

/* The session's clock (lib/deadline.h), for the waits of this file and
 * as lib/starttls.h's budget. */
static int
wait_budget(void)
{
	return deadline_budget(&rt.clock);
}

/* ---------------------------------------------------------------- */
/* Configuration from the environment (names in smtpd.8).            */

extern char **environ;

/* environ, indexed at the first lookup (lib/envindex.h).  Each name
 * smtpd reads is a literal: the macros pass its length, known when
 * compiling, and the "" "" around it refuse anything else. */
#define env_get(name) env_index_environ("" name "", sizeof(name) - 1)
#define env_or(name, fallback) \
	env_or_n("" name "", sizeof(name) - 1, (fallback))
#define env_number(name, fallback, min, max) \
	env_number_n("" name "", sizeof(name) - 1, (fallback), (min), (max))

static const char *
env_or_n(const char *name, size_t len, const char *fallback)
{
	const char *v = env_index_environ(name, len);

	return (v != NULL && *v != '\0') ? v : fallback;
}

/* A decimal number from the environment; usage error when malformed. */
static unsigned long long
env_number_n(const char *name, size_t len, unsigned long long fallback,
    unsigned long long min, unsigned long long max)
{
	const char *v = env_index_environ(name, len);
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
	deadline_pause(&rt.clock, rt.auth.delay_ms);
	if (deadline_passed(&rt.clock)) {
		mail_end_at_deadline(&rt.mail);
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
		(void)fmt(out, cap, "exit %d", d->code);
	else if (strcmp(d->what, "signal") == 0)
		(void)fmt(out, cap, "killed by signal %d", d->code);
	else if (strcmp(d->what, "timeout") == 0)
		(void)fmt(out, cap, "no answer within TIMEOUT, killed");
	else
		(void)fmt(out, cap, "%s: %s", d->what, log_errno(d->err));
	return out;
}

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
	w.envp = mail_peer_env(&rt.mail);
	w.child_stderr = log_child_stderr();
	w.timeout_ms = wait_budget();
	auth_policy_step(&rt.auth, ev, &w, &res);
	if (res.asked_program && res.outcome != AUTH_OK &&
	    deadline_passed(&rt.clock)) {
		/* Killed at SESSIONTIMEOUT, or it took all that was left. */
		mail_end_at_deadline(&rt.mail);
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
static int __attribute__((noinline))	/* its buffers: main's note */
read_proxy_header(void)
{
	char buf[PROXY_HEADER_MAX];
	char src[LOGESC_MAX + 1];
	char dst[LOGESC_MAX + 1];
	char via[LOGESC_MAX + 1];
	struct proxy_header h;
	size_t len = 0;
	const char *why;
	int budget = wait_budget();

	/* Within PROXY_TIMEOUT, or the session's budget when shorter. */
	if (proxy_read(0, budget < PROXY_TIMEOUT * 1000 ? budget :
	    PROXY_TIMEOUT * 1000, buf, &len, &h, &why) != 0) {
		if (why == NULL)
			why = log_errno(errno);
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
	(void)fmt(rt.peer.remote_port, sizeof(rt.peer.remote_port), "%u",
	    h.src_port);
	copy_name(rt.peer.proxy_local_ip, sizeof(rt.peer.proxy_local_ip),
	    h.dst);
	(void)fmt(rt.peer.proxy_local_port, sizeof(rt.peer.proxy_local_port),
	    "%u", h.dst_port);
	/* TCPREMOTEHOST named the proxy. */
	rt.peer.remote_host = NULL;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Programs: RCPTCHECK, the descriptors and SIGCHLD they need.       */

/* RCPTCHECK; QMAILQUEUE is read with the arguments.  When any program
 * may run, what smtpd inherited beyond 0-2 becomes close-on-exec, so
 * that a child gets exactly its fd plan, and SIGCHLD is at its default
 * (lib/spawn.h). */
static void
configure_programs(void)
{
	rt.mail.rcptcheck = env_or("RCPTCHECK", NULL);
	if (rt.mail.rcptcheck != NULL || rt.auth.checkpassword != NULL ||
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
	rt.deliver.child_stderr = log_child_stderr();
	rt.deliver.spool_dir = env_or("TMPDIR", "/tmp");
	/* LMTP: our name in LHLO. */
	rt.deliver.local_name = rt.local_host;
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
	rt.cfg.flags |= starttls_configure(&rt.tls, &env);
}

/* deliver/mail.h's parts: the ones above (rcptcheck is set with the
 * programs). */
static void
configure_mail(void)
{
	struct mail_session *m = &rt.mail;

	m->smtp = &rt.session;
	m->deliver = &rt.deliver;
	m->kind = rt.kind;
	m->txn = &rt.txn;
	m->maxrcpts = rt.cfg.maxrcpts;
	m->progenv = &rt.progenv;
	m->parent_env = environ;
	m->peer = &rt.peer;
	m->local_host = rt.local_host;
	m->clock = &rt.clock;
	m->session_id = rt.session_id;
	m->rcpthosts = &rt.rcpthosts;
	m->is_relay_client = rt.is_relay_client;
	m->auth_user = rt.auth.user_text;
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
	configure_mail();
}

/* The transaction's events go to deliver/mail.c; AUTH, STARTTLS and
 * the engine's refusals are the world's. */
static void
on_event(const struct smtp_event *ev)
{
	if (mail_on_event(&rt.mail, ev))
		return;
	switch (ev->type) {
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_DATA:
		on_auth(ev);
		break;
	case SMTP_EV_STARTTLS:
		on_starttls();
		break;
	case SMTP_EV_REFUSED:
		if (log_refusal_room())
			log_refusal(rt.session_id, ev->verb, ev->data, ev->len,
			    ev->refusal, NULL, 0);
		smtp_answer(&rt.session, REPLY_NONE);
		break;
	default:
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
		    rt.session_id, log_errno(errno));
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
			mail_end_at_deadline(&rt.mail);
		else
			smtp_timeout(s, REPLY_TIMEOUT);
		return -1;
	}
	n = r < 0 ? -1 : io_read(0, in->buf, sizeof(in->buf));
	if (n <= 0) {
		if (n < 0)
			log_line("info", "%s: read error: %s", rt.session_id,
			    log_errno(errno));
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
	buf_addu64(&b, rt.mail.naccepted);
	buf_adds(&b, rt.mail.naccepted == 1 ? " message" : " messages");
	if (rt.txn.nmessages > rt.mail.naccepted) {
		buf_addlit(&b, ", ");
		buf_addu64(&b, rt.txn.nmessages - rt.mail.naccepted);
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
	deadline_pause(&rt.clock, (long long)(n - tp->count) * tp->delay_ms);
	if (deadline_passed(&rt.clock))
		mail_end_at_deadline(&rt.mail);
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
				mail_end_at_deadline(&rt.mail);
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
	mail_abort(&rt.mail);
	(void)flush_output();
	if (rt.kind == DELIVER_LMTP) {
		/* QUIT to the LMTP server, after the client's last reply. */
		rt.deliver.timeout_ms = wait_budget();
		deliver_free(&rt.deliver);
	}
	if (log_refusals_unlogged() > 0)
		log_line("info", "%s: %lu more refusals not logged",
		    rt.session_id, log_refusals_unlogged());
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
	log_open(rt.pid);	/* first: where every line goes */
	/* EPIPE and EFBIG are handled where they happen. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	parse_args(argc, argv);
	configure();
	(void)io_clock(CLOCK_REALTIME, &now);
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
		    rt.deliver.what ? rt.deliver.what : "init", log_errno(errno));
		(void)io_write_timeout(1, msg, n, wait_budget());
		return EXIT_TEMP;
	}
	configure_delivery_programs();
	log_connect();
	if (rt.is_relay_client && is_loopback(rt.peer.remote_ip))
		log_line("warning", "%s: RELAYCLIENT is set for a loopback "
		    "peer; behind a proxy this opens the relay", rt.session_id);
	/* Asked here, not in read_proxy_header: its buffers are a page of
	 * stack that a session without PROXYPROTOCOL need not touch. */
	if (env_get("PROXYPROTOCOL") != NULL && read_proxy_header() != 0)
		return EXIT_OK;
	run_session();
	return EXIT_OK;
}
