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
 * spawn_wait polls waitpid(WNOHANG) with short, growing sleeps: no signal
 * handler, no SIGCHLD, no alarm() (STYLE.md, "Processes").
 */
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
 * often at most (milliseconds, growing from 1). */
#define SPAWN_POLL_MAX_MS 100
/* Without /dev/fd, spawn_cloexec_from tries descriptors up to this. */
#define SPAWN_FD_SCAN_MAX 1024

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
 * leaves close-on-exec set on older systems.  Every source that is also
 * some child fd is therefore first copied (close-on-exec) above all child
 * fds; tmp[] holds those copies for the caller to close.
 */
static int
build_actions(posix_spawn_file_actions_t *fa, const struct spawn_fd *plan,
    size_t nplan, int *tmp)
{
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
	}
	for (i = 0; i < nplan; i++) {
		src = plan[i].parent_fd;
		if (src < 0)
			continue;
		if (plan_names(plan, nplan, src)) {
			tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, top + 1);
			if (tmp[i] == -1)
				return -1;
		}
	}
	for (i = 0; i < nplan; i++) {
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

int
spawn_wait(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = io_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	long long left;
	long us = SPAWN_NAP_MIN_US;
	pid_t r;

	if (timeout_ms < 0) {
		/* No deadline: block. */
		return reap(pid, status, 0) == pid ? 0 : -1;
	}
	for (;;) {
		r = reap(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r == -1)
			return -1;
		left = deadline - io_now_ms();
		if (left <= 0)
			break;
		if ((long long)us > left * 1000)
			us = (long)(left * 1000);
		nap(us);
		us = us * 2 > SPAWN_NAP_MAX_US ? SPAWN_NAP_MAX_US : us * 2;
	}
	spawn_kill(pid);
	errno = ETIMEDOUT;
	return -1;
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

int
spawn_collect(pid_t pid, int fd, int timeout_ms, char *line, size_t cap,
    size_t *len, int *status)
{
	long long deadline = io_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	long long left;
	struct pollfd pfd;
	int step = 1;
	int has_line = 0;
	int r;
	int i;

	*len = 0;
	if (cap > 0)
		line[0] = '\0';
	if (cap == 0)
		has_line = 1;
	for (;;) {
		left = deadline - io_now_ms();
		if (left <= 0) {
			spawn_kill(pid);
			errno = ETIMEDOUT;
			goto done_killed;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left < step ? (int)left : step);
		if (r == -1 && errno != EINTR) {
			i = errno;
			spawn_kill(pid);
			errno = i;
			goto done_killed;
		}
		if (r > 0) {
			if (collect_read(fd, line, cap, len, &has_line))
				break;	/* EOF: the child is ending */
			continue;
		}
		/* Quiet: has the child ended, leaving its stdout to a
		 * grandchild (a backgrounded job)? */
		if (reap(pid, status, WNOHANG) == pid) {
			for (i = 0; i < SPAWN_DRAIN_MAX; i++) {
				pfd.revents = 0;
				if (poll(&pfd, 1, 0) != 1 ||
				    collect_read(fd, line, cap, len, &has_line))
					break;
			}
			goto done;
		}
		step = step * 2 > SPAWN_POLL_MAX_MS ? SPAWN_POLL_MAX_MS :
		    step * 2;
	}
	left = deadline - io_now_ms();
	if (spawn_wait(pid, left > 0 ? (int)left : 0, status) == -1)
		goto done_killed;
done:
	if (cap > 0)
		line[*len] = '\0';
	return 0;
done_killed:
	if (cap > 0)
		line[*len] = '\0';
	return -1;
}
