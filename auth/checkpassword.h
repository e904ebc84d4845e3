/*
 * checkpassword.h: ask a checkpassword-compatible program whether
 * credentials are good (the interface of cr.yp.to/checkpwd/interface.html,
 * spoken by qmail's checkpassword, vpopmail's vchkpw and Debian's
 * checkpw).  The program is started through lib/spawn.h with argv as
 * given (the caller names the subprogram it runs on success, e.g.
 * /bin/true) and reads
 *
 *	user \0 secret \0 stamp \0
 *
 * from fd 3, at most CHECKPASSWORD_INPUT_MAX octets (PLAIN and LOGIN: the
 * password and an empty stamp; CRAM-MD5: the hex digest and the challenge,
 * auth/sasl.h).  Its stdin and stdout are /dev/null; its stderr is errfd
 * (-1: /dev/null), so that its diagnostics can reach smtpd's log.
 *
 * The credentials are written into a pipe before the program starts and
 * the pipe is closed, so a program that never reads cannot block us.  The
 * copy made for the pipe is wiped; the caller wipes its own.  Nothing is
 * allocated or printed.
 */
#ifndef SMTP_CHECKPASSWORD_H
#define SMTP_CHECKPASSWORD_H

#include <stddef.h>

/* The interface: "at most 512 bytes of data before end of file". */
#define CHECKPASSWORD_INPUT_MAX 512

enum checkpassword_result {
	CHECKPASSWORD_OK,	/* exit 0: the credentials are good */
	CHECKPASSWORD_BAD,	/* exit 1: they are not (or cannot be asked:
				   longer than the interface carries) */
	CHECKPASSWORD_TEMP	/* anything else, a crash, the deadline, or
				   the program could not start */
};

/* What happened, for the caller's log.  what is a static string. */
struct checkpassword_detail {
	const char *what;	/* "exit", "signal", "timeout", "spawn",
				   "pipe", "wait", "too long" */
	int code;		/* exit status or signal number */
	int err;		/* errno for "spawn", "pipe", "timeout" */
};

/*
 * Run argv (argv[0] the checker, then its subprogram and arguments) with
 * envp; wait at most timeout_ms.  user, secret and stamp are
 * (pointer, length) and must not contain NUL.
 */
enum checkpassword_result checkpassword_run(char *const argv[],
    char *const envp[], int errfd, const char *user, size_t user_len,
    const char *secret, size_t secret_len, const char *stamp,
    size_t stamp_len, int timeout_ms, struct checkpassword_detail *detail);

#endif
