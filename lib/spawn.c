/*
 * spawn.c: the child starter of spawn.h.
 *
 * posix_spawn does the fork and exec (glibc uses CLONE_VFORK, so the cost
 * does not grow with smtpd's size, and an exec failure comes back as the
 * return value).  The child:
 *   - gets the caller's fd plan; fds 0, 1, 2 not in the plan are
 *     /dev/null, every other fd of smtpd is close-on-exec;
 *   - has every signal at its default and none blocked: smtpd ignores
 *     SIGPIPE, and a shell pipeline in a hook program must not inherit
 *     that;
 *   - leads a process group of its own, so that a deadline kills what a
 *     shell script started too (a `sleep` holding the stdout pipe open
 *     would otherwise outlive the kill).
 * spawn_wait and spawn_collect wait with poll() on a pidfd where Linux
 * has one, else with waitpid(WNOHANG) between short, growing sleeps: no
 * signal handler, no SIGCHLD, no alarm(), so nothing interrupts the
 * session's own system calls.
 */
#include "linux.h"	/* first: before any system header */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef SMTPD_LINUX
#include <sys/syscall.h>
#endif
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "spawn.h"

/* A plan names at most this many descriptors (the largest user,
 * qmail-queue, names 0, 1, 2 and 6). */
#define SPAWN_PLAN_MAX 16

/* spawn_wait's first and longest nap between two waitpid calls: a hook
 * that exits at once costs one or two naps, a slow one about 50 polls a
 * second. */
#define SPAWN_NAP_MIN_US 50
#define SPAWN_NAP_MAX_US 20000
/* spawn_collect reads output in blocks of this size (on the stack), and
 * after the child has ended drains at most this many blocks that are
 * already there (a grandchild may go on writing). */
#define SPAWN_READ_BLOCK 16384
#define SPAWN_DRAIN_MAX 64
/* While the output pipe is quiet, spawn_collect looks at the child this
 * often at most (milliseconds, growing from the first).  A child that
 * ends closes the pipe and wakes the poll at once: these only bound how
 * late a child is noticed that left its stdout to a background job; a
 * short first step would cost a wake-up for every child slower than it. */
#define SPAWN_POLL_FIRST_MS 8
#define SPAWN_POLL_MAX_MS 100
/* Without /dev/fd, spawn_cloexec_from tries descriptors up to this. */
#define SPAWN_FD_SCAN_MAX 1024

/* Does the entry keep a descriptor where it is, and will exec keep it
 * open?  Then it needs no file action (each costs glibc a getrlimit). */
static int
plan_keeps(const struct spawn_fd *e)
{
	int flags;

	if (e->parent_fd != e->child_fd)
		return 0;
	flags = fcntl(e->parent_fd, F_GETFD);
	return flags != -1 && !(flags & FD_CLOEXEC);
}

/* Does some entry of the plan change child fd fd? */
static int
plan_changes(const struct spawn_fd *plan, size_t nplan, const int *kept,
    int fd)
{
	size_t i;

	for (i = 0; i < nplan; i++)
		if (plan[i].child_fd == fd && !kept[i])
			return 1;
	return 0;
}

static int
plan_names(const struct spawn_fd *plan, size_t nplan, int fd)
{
	size_t i;

	for (i = 0; i < nplan; i++)
		if (plan[i].child_fd == fd)
			return 1;
	return 0;
}

static int
add_devnull(posix_spawn_file_actions_t *fa, int fd)
{
	return posix_spawn_file_actions_addopen(fa, fd, "/dev/null", O_RDWR,
	    0);
}

/*
 * The file actions run in order in the child, so a dup2 onto child fd C
 * would clobber a later source that happens to be C, and dup2(F, F)
 * leaves close-on-exec set on older systems.  Every source that some
 * other entry replaces is therefore first copied (close-on-exec) above
 * all child fds; tmp[] holds those copies for the caller to close.  An
 * entry that keeps an inheritable descriptor where it is needs no action.
 */
static int
build_actions(posix_spawn_file_actions_t *fa, const struct spawn_fd *plan,
    size_t nplan, int *tmp)
{
	int kept[SPAWN_PLAN_MAX];
	int top = 2;
	int src;
	int fd;
	size_t i;

	for (i = 0; i < nplan; i++) {
		if (plan[i].child_fd < 0) {
			errno = EINVAL;
			return -1;
		}
		if (plan[i].child_fd > top)
			top = plan[i].child_fd;
		kept[i] = plan_keeps(&plan[i]);
	}
	for (i = 0; i < nplan; i++) {
		src = plan[i].parent_fd;
		if (src < 0 || kept[i])
			continue;
		if (plan_changes(plan, nplan, kept, src)) {
			tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, top + 1);
			if (tmp[i] == -1)
				return -1;
		}
	}
	for (i = 0; i < nplan; i++) {
		if (kept[i])
			continue;
		src = tmp[i] != -1 ? tmp[i] : plan[i].parent_fd;
		if (src < 0)
			errno = add_devnull(fa, plan[i].child_fd);
		else
			errno = posix_spawn_file_actions_adddup2(fa, src,
			    plan[i].child_fd);
		if (errno != 0)
			return -1;
	}
	for (fd = 0; fd <= 2; fd++) {
		if (plan_names(plan, nplan, fd))
			continue;
		if ((errno = add_devnull(fa, fd)) != 0)
			return -1;
	}
	return 0;
}

static int
build_attr(posix_spawnattr_t *attr)
{
	/* Handlers are reset by exec anyway; what a child could inherit is
	 * an ignored signal: ours (SIGPIPE, SIGXFSZ) or a launcher's (nohup,
	 * supervisors).  Resetting just these costs a dozen sigactions per
	 * child, not one for every signal (bench: 64 a child). */
	static const int inheritable[] = {
		SIGPIPE, SIGXFSZ, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGALRM,
		SIGCHLD, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU
	};
	sigset_t reset;
	sigset_t none;
	size_t i;
	int e;

	sigemptyset(&reset);
	for (i = 0; i < sizeof(inheritable) / sizeof(inheritable[0]); i++)
		sigaddset(&reset, inheritable[i]);
	sigemptyset(&none);
	if ((e = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(attr, &reset)) != 0 ||
	    (e = posix_spawnattr_setsigmask(attr, &none)) != 0 ||
	    (e = posix_spawnattr_setpgroup(attr, 0)) != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

int
spawn_start(pid_t *pid, char *const argv[], char *const envp[],
    const struct spawn_fd *plan, size_t nplan)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int tmp[SPAWN_PLAN_MAX];
	int saved;
	int r = -1;
	size_t i;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0' ||
	    nplan > SPAWN_PLAN_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nplan; i++)
		tmp[i] = -1;
	if ((errno = posix_spawn_file_actions_init(&fa)) != 0)
		return -1;
	if ((errno = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	if (build_actions(&fa, plan, nplan, tmp) == 0 &&
	    build_attr(&attr) == 0) {
		if (strchr(argv[0], '/') != NULL)
			errno = posix_spawn(pid, argv[0], &fa, &attr, argv,
			    envp);
		else
			errno = posix_spawnp(pid, argv[0], &fa, &attr, argv,
			    envp);
		if (errno == 0)
			r = 0;
	}
	saved = errno;
	for (i = 0; i < nplan; i++)
		if (tmp[i] != -1)
			(void)io_close(tmp[i]);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	errno = saved;
	return r;
}

int
spawn_cloexec_from(int lowfd)
{
	struct dirent *de;
	DIR *dir;
	long fd;
	long max;
	char *end;

#if defined(SMTPD_LINUX) && defined(CLOSE_RANGE_CLOEXEC)
	/* One system call; ENOSYS or EINVAL on a kernel before 5.11. */
	if (lowfd >= 0 && close_range((unsigned)lowfd, ~0U,
	    CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
#endif
	dir = opendir("/dev/fd");
	if (dir != NULL) {
		while ((de = readdir(dir)) != NULL) {
			fd = strtol(de->d_name, &end, 10);
			if (*end != '\0' || end == de->d_name || fd < lowfd ||
			    fd == dirfd(dir) || fd > INT_MAX)
				continue;
			(void)io_cloexec((int)fd);
		}
		closedir(dir);
		return 0;
	}
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > SPAWN_FD_SCAN_MAX)
		max = SPAWN_FD_SCAN_MAX;
	for (fd = lowfd; fd < max; fd++)
		(void)io_cloexec((int)fd);	/* EBADF: not open */
	return 0;
}

static void
nap(long us)
{
	struct timespec ts;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	/* An interrupted nap is only a shorter one. */
	(void)nanosleep(&ts, NULL);
}

/* waitpid, retrying EINTR. */
static pid_t
reap(pid_t pid, int *status, int flags)
{
	pid_t r;

	do {
		r = waitpid(pid, status, flags);
	} while (r == -1 && errno == EINTR);
	return r;
}

/*
 * A descriptor that polls readable once pid has ended: Linux's pidfd
 * (5.3), close-on-exec.  -1 where there is none; the waits below then
 * look at the child with waitpid(WNOHANG) between short naps.  A child
 * ending closes its pipes a moment before waitpid can reap it, so
 * without a pidfd most children cost a nap.
 */
static int
child_watch(pid_t pid)
{
#if defined(SMTPD_LINUX) && defined(SYS_pidfd_open)
	long fd = syscall(SYS_pidfd_open, (long)pid, 0L);

	if (fd >= 0 && fd <= INT_MAX)
		return (int)fd;
#else
	(void)pid;
#endif
	return -1;
}

/*
 * Waiting failed or timed out: kill and reap pid, keeping errno.  Not
 * after ECHILD: the child was reaped behind our back (SIGCHLD ignored,
 * which smtpd undoes at start), and its pid may be another process's by
 * now.
 */
static void
give_up(pid_t pid)
{
	int e = errno;

	if (e != ECHILD)
		spawn_kill(pid);
	errno = e;
}

/*
 * Wait for pid until deadline: with a pidfd (watch != -1) one poll wakes
 * when the child has ended; without, naps between waitpid calls.  On the
 * deadline, or when waiting fails, the child is killed and reaped
 * (give_up); -1 then (errno ETIMEDOUT at the deadline).
 */
static int
wait_until(pid_t pid, int watch, long long deadline, int *status)
{
	struct pollfd pfd;
	int left;
	long us = SPAWN_NAP_MIN_US;
	pid_t r;

	for (;;) {
		r = reap(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r == -1)
			break;
		left = io_ms_left(deadline);
		if (left == 0) {
			errno = ETIMEDOUT;
			break;
		}
		if (watch != -1) {
			pfd.fd = watch;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, left) == -1 && errno != EINTR)
				break;
			continue;
		}
		if ((long long)us > (long long)left * 1000)
			us = (long)((long long)left * 1000);
		nap(us);
		us = us * 2 > SPAWN_NAP_MAX_US ? SPAWN_NAP_MAX_US : us * 2;
	}
	give_up(pid);
	return -1;
}

int
spawn_wait(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = io_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int watch;
	int r;

	if (timeout_ms < 0) {
		/* No deadline: block. */
		return reap(pid, status, 0) == pid ? 0 : -1;
	}
	watch = child_watch(pid);
	r = wait_until(pid, watch, deadline, status);
	if (watch != -1)
		(void)io_close(watch);
	return r;
}

void
spawn_kill(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	/* The group first (whatever a shell script started), then the
	 * child itself in case it left the group. */
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	(void)reap(pid, &status, 0);
}

/* Keep the first line of data[0..n) in line; 1 once it is complete. */
static int
collect_line(const char *data, size_t n, char *line, size_t cap, size_t *len)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)data[i];
		if (c == '\n')
			return 1;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (*len + 1 < cap)
			line[(*len)++] = (char)c;
	}
	return 0;
}

/* Read what fd has; 1 at EOF or error, 0 otherwise. */
static int
collect_read(int fd, char *line, size_t cap, size_t *len, int *has_line)
{
	char block[SPAWN_READ_BLOCK];
	ssize_t r;

	r = io_read(fd, block, sizeof(block));
	if (r <= 0)
		return 1;
	if (!*has_line)
		*has_line = collect_line(block, (size_t)r, line, cap, len);
	return 0;
}

/* The child has ended: read what its output pipe already holds (a
 * background job may go on writing; at most SPAWN_DRAIN_MAX blocks). */
static void
collect_rest(int fd, char *line, size_t cap, size_t *len, int *has_line)
{
	struct pollfd pfd;
	int i;

	pfd.fd = fd;
	pfd.events = POLLIN;
	for (i = 0; i < SPAWN_DRAIN_MAX; i++) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) != 1 ||
		    collect_read(fd, line, cap, len, has_line))
			break;
	}
}

/*
 * Read the output until EOF, the child's end or the deadline.  With a
 * pidfd, one poll waits for either; without, the pipe is polled for
 * growing steps and the child looked at between them (it may have ended
 * and left the pipe to a background job).  Returns 1 when the child has
 * been reaped, 0 at EOF with the child not yet reaped, -1 when the
 * deadline passed or poll failed (errno).
 */
static int
collect_until(pid_t pid, int fd, int watch, long long deadline,
    char *line, size_t cap, size_t *len, int *has_line, int *status)
{
	struct pollfd pfd[2];
	int left;
	int step = SPAWN_POLL_FIRST_MS;
	pid_t reaped;
	int r;

	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = watch;
	pfd[1].events = POLLIN;
	for (;;) {
		left = io_ms_left(deadline);
		if (left == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (watch == -1 && left > step)
			left = step;
		pfd[0].revents = 0;
		pfd[1].revents = 0;
		r = poll(pfd, watch != -1 ? 2 : 1, left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[0].revents != 0 &&
		    collect_read(fd, line, cap, len, has_line))
			return 0;	/* EOF: the child is ending */
		if (watch != -1) {
			if (pfd[1].revents == 0)
				continue;
		} else if (r > 0) {
			continue;
		}
		/* The child has ended (the pidfd says so), or the pipe was
		 * quiet for a step: look. */
		reaped = reap(pid, status, WNOHANG);
		if (reaped == pid) {
			collect_rest(fd, line, cap, len, has_line);
			return 1;
		}
		if (reaped == -1)
			return -1;	/* ECHILD: see give_up */
		step = step * 2 > SPAWN_POLL_MAX_MS ? SPAWN_POLL_MAX_MS :
		    step * 2;
	}
}

int
spawn_collect(pid_t pid, int fd, int timeout_ms, char *line, size_t cap,
    size_t *len, int *status)
{
	long long deadline = io_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int has_line = cap == 0;
	int watch;
	int r;

	*len = 0;
	if (cap > 0)
		line[0] = '\0';
	watch = child_watch(pid);
	r = collect_until(pid, fd, watch, deadline, line, cap, len, &has_line,
	    status);
	if (r == -1) {
		give_up(pid);
	} else if (r == 0) {
		r = wait_until(pid, watch, deadline, status);
	}
	if (watch != -1)
		(void)io_close(watch);
	if (cap > 0)
		line[*len] = '\0';
	return r == -1 ? -1 : 0;
}

int
spawn_run_line(char *const argv[], char *const envp[], struct spawn_run *r)
{
	struct spawn_fd plan[3];
	pid_t pid;
	int out[2];
	int e;
	int waited;

	r->len = 0;
	r->status = 0;
	r->what = NULL;
	if (r->cap > 0)
		r->line[0] = '\0';
	if (io_pipe(out) == -1) {
		r->what = "pipe";
		return -1;
	}
	plan[0].child_fd = 0;
	plan[0].parent_fd = r->in_fd;
	plan[1].child_fd = 1;
	plan[1].parent_fd = out[1];
	plan[2].child_fd = 2;
	plan[2].parent_fd = r->err_fd;
	if (spawn_start(&pid, argv, envp, plan, 3) == -1) {
		e = errno;
		(void)io_close(out[0]);
		(void)io_close(out[1]);
		errno = e;
		r->what = "spawn";
		return -1;
	}
	(void)io_close(out[1]);
	waited = spawn_collect(pid, out[0], r->timeout_ms, r->line, r->cap,
	    &r->len, &r->status);
	e = errno;
	(void)io_close(out[0]);
	errno = e;
	return waited;
}
