/*
 * deliver.h: where accepted messages go, behind one interface.
 *
 *	deliver_check_rcpt  at RCPT: is there a mailbox for this recipient?
 *	deliver_rcpt        at RCPT, after smtpd's own policy: the next
 *	                    server's answer (LMTP; the others take it)
 *	deliver_open        at DATA/first BDAT: start a message
 *	deliver_write       each BODY chunk (LF line ends, already unstuffed)
 *	deliver_close       at the end: commit durably, fill the final reply
 *	deliver_abort       at any failure or disconnect: nothing may remain
 *	deliver_reset       RSET, HELO, a new MAIL: the transaction is gone
 *
 * Targets: maildir DIR, maildir TEMPLATE (%l, %d), pipe PROGRAM ARGS,
 * qmail-queue PROGRAM, lmtp SOCKET|HOST:PORT.  The module does its own
 * system calls but never prints, never exits and never writes to the
 * client: results come back as return values and a struct
 * deliver_result that its caller (deliver/mail.c) reports.
 *
 * Memory: struct deliver is owned by the caller; deliver_init allocates
 * once (per-recipient slots for MAXRCPTS) and never again.  The envelope
 * and its strings are the caller's and must stay valid from deliver_open
 * to deliver_close/deliver_abort.  A message costs the same memory
 * whatever its size.
 */
#ifndef SMTP_DELIVER_H
#define SMTP_DELIVER_H

#include <stddef.h>
#include <time.h>

#include "../proto/limits.h"
#include "../proto/reply.h"

struct envelope {
	const char *sender;		/* mailbox text; "" for <> */
	const char *const *rcpts;	/* nrcpt mailbox texts */
	/*
	 * Where each recipient's domain starts (strlen when it has none):
	 * the parser's split (struct smtp_path domain_off), the one used at
	 * RCPT and at delivery.  Both a quoted local part and an address
	 * literal may hold '@', so the text alone cannot be split.  Needed
	 * by a Maildir template; NULL elsewhere is fine.
	 */
	const size_t *rcpt_domain_off;
	size_t nrcpt;
	const char *helo;		/* HELO/EHLO argument as sent: printable
					   ASCII, not always a domain */
	const char *remote_ip;		/* "unknown" when not known */
	const char *remote_host;	/* NULL when not known */
	const char *local_host;		/* our name, for "by" */
	const char *protocol;		/* WITH keyword: ESMTP, ESMTPSA, ... */
	const char *auth_user;		/* NULL when not authenticated */
	const char *id;			/* message id for logs and Received: */
	time_t when;
	long when_us;			/* its microseconds, for a Maildir's
					   unique name: one clock reading */
	/* For pipe and RCPTCHECK programs: the session's environment
	 * (NULL-terminated "NAME=value" strings, caller-owned). */
	char *const *session_env;
};

enum deliver_kind {
	DELIVER_MAILDIR,		/* one Maildir for everybody */
	DELIVER_MAILDIR_TEMPLATE,	/* %l / %d per recipient */
	DELIVER_PIPE,
	DELIVER_QMAIL_QUEUE,
	DELIVER_LMTP			/* an LMTP server (lmtp.c) */
};

/* The client's MAIL, for a next server that is asked at RCPT (LMTP). */
struct deliver_mail {
	const char *sender;		/* mailbox text; "" for <> */
	int body;			/* enum smtp_body_type */
	int smtputf8;
	unsigned long long size;	/* SIZE=; 0 when not given */
};

/* The outcome of deliver_close (and the step that failed, for logs). */
struct deliver_result {
	enum reply_id reply;		/* REPLY_MESSAGE_ACCEPTED or a failure */
	char text[SMTP_REPLY_TEXT_MAX + 1]; /* replaces the catalogue text
					   when text_len > 0 */
	size_t text_len;
	const char *what;		/* failed step, e.g. "fsync"; or NULL */
	int err;			/* errno of that step, or 0 */
	/* pipe / qmail-queue: how the program ended, for the log:
	 * exit code (what "exit"), signal (what "signal"), or -1. */
	int status;
	/* lmtp: the next server's own code and enhanced status, to pass
	 * on (smtp_answer_relayed) with text; reply is a catalogue reply
	 * of the same class.  code 0: answer reply itself. */
	int code;
	char status_code[12];
};

struct maildir_target;			/* private to maildir.c */
struct lmtp;				/* private to lmtp.c */

/* maildir: at most this many octets are held back between writes. */
#define DELIVER_CARRY_MAX 4096

struct deliver {
	enum deliver_kind kind;
	const char *path;		/* DIR or TEMPLATE */
	char *const *argv;		/* pipe / qmail-queue program */
	int timeout_ms;			/* child deadline */
	size_t maxrcpts;
	/* state of the open message */
	int is_open;
	int failed;			/* a write failed; close will 451 */
	int err;
	const char *what;
	const struct envelope *env;
	struct maildir_target *targets;	/* maxrcpts slots, from init */
	size_t ntargets;
	unsigned long seq;		/* messages so far, for unique names */
	/* maildir: "P<pid>Q" and ".<host>" of every unique name, from
	 * maildir_init (getpid and uname once, not per message). */
	char name_pid[24];
	char name_host[192];
	/* maildir, one target: how many octets carry[] holds, and the
	 * file's size so far. */
	size_t carry_len;
	unsigned long long file_off;
	/* pipe / qmail-queue: child, fds and the spool (private) */
	int fd;
	int fd2;
	int fd3;
	int pid;
	unsigned long long written;
	/* What a child gets as fd 2 (set by the caller after init; -1,
	 * the default, is /dev/null): smtpd's log, unless that is the
	 * client's socket. */
	int child_stderr;
	/* pipe: directory of the spool file (the caller's TMPDIR). */
	const char *spool_dir;
	/* lmtp: the connection and its transaction (from init), and our
	 * name for LHLO (set by the caller after init). */
	struct lmtp *lmtp;
	const char *local_name;
	/* maildir, one target: body octets held back so that every write
	 * ends on a 64 KB boundary of the file (maildir_put).  Last, as
	 * the other large arrays of a session's state are: a session
	 * touches the start of each, and each page it touches costs a
	 * fault at start-up. */
	char carry[DELIVER_CARRY_MAX];
};

/* Prepare d; for maildir DIR creates DIR, DIR/tmp, DIR/new, DIR/cur when
 * missing.  0, or -1 with errno (d->what says which step). */
int deliver_init(struct deliver *d, enum deliver_kind kind, const char *path,
    char *const *argv, size_t maxrcpts, int timeout_ms);

/* REPLY_RCPT_OK, REPLY_NO_MAILBOX (template: no such Maildir, or a
 * hostile local part), REPLY_NOHOST (a template with %d and an address
 * literal) or REPLY_TEMP_FAIL.  local/domain as parsed; delivery later
 * uses the same split (envelope rcpt_domain_off). */
enum reply_id deliver_check_rcpt(struct deliver *d, const char *mailbox,
    size_t local_len, size_t domain_off);

/* After smtpd's own policy took a recipient: 0 when the next server
 * took it too (always, but for lmtp), -1 with res saying what to
 * answer (res->what set for a fault, which the caller logs). */
int deliver_rcpt(struct deliver *d, const struct deliver_mail *m,
    const char *mailbox, size_t len, struct deliver_result *res);

/* The client's transaction is gone (RSET, HELO, MAIL): the next
 * server's too.  After deliver_abort, for an open message. */
void deliver_reset(struct deliver *d);

/* After deliver_close of an lmtp message: recipient i's own result for
 * the log, as "CODE STATUS" and the server's text; 0, or -1 when there
 * is none (i past the end, another kind). */
int deliver_rcpt_result(const struct deliver *d, size_t i, int *code,
    const char **status, const char **text, size_t *text_len);

/* Start a message: 0, or -1 with errno (nothing is left behind). */
int deliver_open(struct deliver *d, const struct envelope *env);

/* Append message octets.  0, or -1: the message is doomed (close will
 * report 451); later writes are ignored. */
int deliver_write(struct deliver *d, const char *buf, size_t len);

/* Commit.  0 when every target has it durably (res->reply is
 * REPLY_MESSAGE_ACCEPTED); -1 otherwise, with nothing left anywhere and
 * res saying what to answer. */
int deliver_close(struct deliver *d, struct deliver_result *res);

/* The reply for a failed delivery step with errno err: 452 4.3.1 for a
 * full disk or quota (ENOSPC, EDQUOT, EFBIG), else 451 4.3.0. */
enum reply_id deliver_reply_for(int err);

/* Drop the open message, if any; nothing may remain in tmp/ or new/. */
void deliver_abort(struct deliver *d);

/* Drop the open message and give back what deliver_init took (smtpd
 * keeps its one until exit; tests and embedders make many). */
void deliver_free(struct deliver *d);

#endif
