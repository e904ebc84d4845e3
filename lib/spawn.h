/*
 * spawn.h: the one way smtpd starts a child (checkpassword, the pipe
 * program, qmail-queue, RCPTCHECK).  The caller gives an explicit argv,
 * an envp built for the child (the parent never calls setenv) and an fd
 * plan; every other descriptor is close-on-exec in smtpd, so the child
 * gets exactly the plan (and never the UCSPI-TLS descriptors).  Children
 * start with posix_spawn (vfork speed: no copy of the parent's pages).
 * No allocation; nothing printed.  SIGCHLD must not be ignored (then the
 * system reaps children itself and the waits fail with ECHILD at once):
 * smtpd sets it to its default at start.
 */
#ifndef SMTP_SPAWN_H
#define SMTP_SPAWN_H

#include <sys/types.h>

/* Child descriptor child_fd becomes a copy of the parent's parent_fd;
 * parent_fd == -1 gives the child /dev/null there. */
struct spawn_fd {
	int child_fd;
	int parent_fd;
};

/*
 * Start argv[0] (a path, or a name looked up in PATH when it has no '/')
 * with envp and the fd plan.  Fds 0, 1 and 2 not named in the plan are
 * /dev/null in the child.  Returns 0 and *pid, or -1 with errno.
 */
int spawn_start(pid_t *pid, char *const argv[], char *const envp[],
    const struct spawn_fd *plan, size_t nplan);

/*
 * Wait for pid at most timeout_ms.  Returns 0 with *status (as from
 * waitpid) when it ended; on the deadline the child is killed (SIGKILL),
 * reaped, and -1 is returned with errno ETIMEDOUT.  Never leaves a zombie.
 */
int spawn_wait(pid_t pid, int timeout_ms, int *status);

/*
 * Mark every open descriptor from lowfd up close-on-exec: what the process
 * inherited (from tcpserver, a wrapper, a test harness) must not reach a
 * child.  Lists /dev/fd where the system has it, else tries each fd up
 * to a bound.  0, or -1 with errno.
 */
int spawn_cloexec_from(int lowfd);

/* Kill (SIGKILL) and reap pid; for aborts. */
void spawn_kill(pid_t pid);

/*
 * For a child whose stdout is a pipe with read end fd: read it until EOF
 * or until the child has ended, keep its first line (without the LF;
 * control characters dropped, at most cap - 1 octets, NUL-terminated) in
 * line and *len, discard everything else, so that a program flooding its
 * output can neither block nor grow memory, then wait for the child: all
 * within timeout_ms.  Returns as spawn_wait (on the deadline the child is
 * killed and reaped, -1 ETIMEDOUT).  fd stays open: the caller closes it.
 */
int spawn_collect(pid_t pid, int fd, int timeout_ms, char *line, size_t cap,
    size_t *len, int *status);

/*
 * A program run for its verdict (RCPTCHECK, the pipe delivery): its exit
 * status and the first line of its stdout, within a deadline.
 */
struct spawn_run {
	int in_fd;		/* the child's stdin: a copy; -1 null */
	int err_fd;		/* the child's stderr likewise */
	int timeout_ms;
	char *line;		/* its first line (spawn_collect) */
	size_t cap;
	size_t len;		/* set: the line's length */
	int status;		/* set: as from waitpid, when it ended */
	const char *what;	/* set: "pipe" or "spawn" when it never ran */
};

/*
 * Start argv with envp, stdin and stderr as r names them and stdout a
 * pipe, then spawn_collect it within r->timeout_ms.  Returns 0 with
 * r->status once it has ended; -1 with errno otherwise: r->what set when
 * it never started, else it did not end in time (ETIMEDOUT: killed and
 * reaped) or could not be waited for.  Every descriptor it opened is
 * closed again.
 */
int spawn_run_line(char *const argv[], char *const envp[],
    struct spawn_run *r);

#endif
