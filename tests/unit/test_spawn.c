/*
 * test_spawn.c: lib/spawn.c, with /bin/sh as the child: the fd plan
 * (including sources that are also targets), /dev/null for unplanned
 * 0/1/2, the environment, signals at their defaults, the deadline, and
 * that no zombie or descriptor is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/io.h"
#include "../../lib/spawn.h"
#include "tap.h"

static char *env_none[] = { NULL };

/* Run sh -c SCRIPT with stdout on a pipe; return what it printed. */
static size_t
run_sh(const char *script, char *const *envp, char *out, size_t cap,
    int *status)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	struct spawn_fd plan[2];
	int p[2];
	pid_t pid;
	size_t len = 0;
	ssize_t r;

	*status = -1;
	if (io_pipe(p) == -1)
		return 0;
	plan[0].child_fd = 1;
	plan[0].parent_fd = p[1];
	if (spawn_start(&pid, argv, envp, plan, 1) == -1) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	while (len < cap && (r = io_read(p[0], out + len, cap - len)) > 0)
		len += (size_t)r;
	close(p[0]);
	(void)spawn_wait(pid, 5000, status);
	return len;
}

static void
usleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static int
count_fds(void)
{
	int n = 0;
	int fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
test_basic(void)
{
	char out[256];
	size_t len;
	int status;
	char *env[] = { "FOO=bar baz", "PATH=/usr/bin:/bin", NULL };

	len = run_sh("echo hello", env_none, out, sizeof(out), &status);
	is_mem(out, len, "hello\n", "stdout through the plan");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit 0");

	len = run_sh("exit 100", env_none, out, sizeof(out), &status);
	ok(len == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 100,
	    "exit 100 seen");

	len = run_sh("printf '%s|%s' \"$FOO\" \"${HOME-unset}\"", env, out,
	    sizeof(out), &status);
	is_mem(out, len, "bar baz|unset", "envp is exactly the given one");

	len = run_sh("read x; echo \"[$x]\"; echo err >&2; echo ok",
	    env_none, out, sizeof(out), &status);
	is_mem(out, len, "[]\nok\n", "unplanned 0 and 2 are /dev/null");

	len = run_sh("ls /proc/self/fd | wc -l", env_none, out, sizeof(out),
	    &status);
	/* 0, 1, 2 and the fd ls opens on /proc/self/fd. */
	ok(len > 0 && atoi(out) == 4, "child has only 0, 1, 2 (%d)",
	    len > 0 ? atoi(out) : -1);

	len = run_sh("trap - PIPE; yes | head -n 1; echo done", env_none,
	    out, sizeof(out), &status);
	is_mem(out, len, "y\ndone\n", "SIGPIPE default in the child");
}

static void
test_swap(void)
{
	char *argv[] = { "/bin/sh", "-c", "read b <&3; echo \"$b\"", NULL };
	struct spawn_fd plan[3];
	int out[2];
	int three[2];
	char buf[64];
	pid_t pid;
	ssize_t r;
	int status;

	ok(io_pipe(out) == 0 && io_pipe(three) == 0,
	    "pipes");
	ok(io_write_all(three[1], "from3\n", 6) == 0, "prime the pipe");
	close(three[1]);
	/* Child fd three[0] becomes /dev/null BEFORE child fd 3 is made
	 * from parent fd three[0]: done naively, fd 3 would be /dev/null. */
	plan[0].child_fd = three[0];
	plan[0].parent_fd = -1;
	plan[1].child_fd = 3;
	plan[1].parent_fd = three[0];
	plan[2].child_fd = 1;
	plan[2].parent_fd = out[1];
	ok(spawn_start(&pid, argv, env_none, plan, 3) == 0, "spawn");
	close(out[1]);
	close(three[0]);
	r = io_read(out[0], buf, sizeof(buf));
	close(out[0]);
	ok(spawn_wait(pid, 5000, &status) == 0, "reaped");
	is_mem(buf, r > 0 ? (size_t)r : 0, "from3\n",
	    "a source that is also a target is copied first");
}

static void
test_deadline(void)
{
	char *argv[] = { "/bin/sh", "-c", "sleep 30 & sleep 30", NULL };
	pid_t pid;
	long long t0;
	int status;

	ok(spawn_start(&pid, argv, env_none, NULL, 0) == 0, "spawn sleeper");
	t0 = io_now_ms();
	errno = 0;
	ok(spawn_wait(pid, 200, &status) == -1 && errno == ETIMEDOUT,
	    "deadline gives ETIMEDOUT");
	ok(io_now_ms() - t0 < 2000, "within the deadline");
	ok(waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD,
	    "killed child was reaped");
	/* The backgrounded sleep is init's to reap: allow it a moment. */
	t0 = io_now_ms();
	while (kill(-pid, 0) == 0 && io_now_ms() - t0 < 2000)
		usleep_ms(10);
	ok(kill(-pid, 0) == -1 && errno == ESRCH,
	    "its whole process group is gone");
}

static void
test_errors(void)
{
	char *missing[] = { "/nonexistent/program", NULL };
	char *noname[] = { "no-such-program-smtpd-test", NULL };
	pid_t pid;
	int status;

	errno = 0;
	if (spawn_start(&pid, missing, env_none, NULL, 0) == 0) {
		/* Where exec failure is not reported, it is exit 127. */
		ok(spawn_wait(pid, 5000, &status) == 0 &&
		    WEXITSTATUS(status) == 127, "missing program: 127");
	} else {
		ok(errno == ENOENT, "missing program: ENOENT");
	}
	if (spawn_start(&pid, noname, env_none, NULL, 0) == 0)
		ok(spawn_wait(pid, 5000, &status) == 0 &&
		    WEXITSTATUS(status) == 127, "not in PATH: 127");
	else
		ok(errno == ENOENT, "not in PATH: ENOENT");
	ok(spawn_start(&pid, NULL, env_none, NULL, 0) == -1 &&
	    errno == EINVAL, "no argv: EINVAL");
}

/* sh -c SCRIPT through spawn_collect; *line gets the first line. */
static int
collect_sh(const char *script, int timeout_ms, char *line, size_t cap,
    size_t *len, int *status)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	struct spawn_fd plan[1];
	int p[2];
	pid_t pid;
	int r;

	if (io_pipe(p) == -1)
		return -2;
	plan[0].child_fd = 1;
	plan[0].parent_fd = p[1];
	if (spawn_start(&pid, argv, env, plan, 1) == -1)
		return -2;
	close(p[1]);
	r = spawn_collect(pid, p[0], timeout_ms, line, cap, len, status);
	close(p[0]);
	return r;
}

static void
test_collect(void)
{
	char line[32];
	size_t len;
	int status;
	long long t0;

	ok(collect_sh("printf 'Queued as 42\\r\\nmore\\n'; exit 3", 5000,
	    line, sizeof(line), &len, &status) == 0 &&
	    WEXITSTATUS(status) == 3, "exit status through collect");
	is_mem(line, len, "Queued as 42", "first line, CR dropped");
	ok(line[len] == '\0', "NUL-terminated");

	ok(collect_sh("printf 'a\\tb\\001c'", 5000, line, sizeof(line), &len,
	    &status) == 0, "no LF at all");
	is_mem(line, len, "abc", "controls dropped, unended line kept");

	ok(collect_sh("head -c 100 /dev/zero | tr '\\0' x; echo; echo 2",
	    5000, line, sizeof(line), &len, &status) == 0 && len == 31,
	    "a long first line is cut to cap - 1 (%zu)", len);

	t0 = io_now_ms();
	ok(collect_sh("echo flood; yes | head -c 50000000; exit 0", 20000,
	    line, sizeof(line), &len, &status) == 0 &&
	    WEXITSTATUS(status) == 0, "50 MB of output drained");
	is_mem(line, len, "flood", "flood: first line kept");
	diag("50 MB drained in %lld ms", io_now_ms() - t0);

	t0 = io_now_ms();
	ok(collect_sh("echo bg; sleep 5 & exit 0", 4000, line, sizeof(line),
	    &len, &status) == 0 && WEXITSTATUS(status) == 0,
	    "a background job holding stdout does not hold us");
	ok(io_now_ms() - t0 < 2000, "... nor make us wait (%lld ms)",
	    io_now_ms() - t0);
	is_mem(line, len, "bg", "background: first line kept");

	t0 = io_now_ms();
	errno = 0;
	ok(collect_sh("echo slow; sleep 30", 300, line, sizeof(line), &len,
	    &status) == -1 && errno == ETIMEDOUT, "deadline: ETIMEDOUT");
	ok(io_now_ms() - t0 < 2000, "... on time (%lld ms)", io_now_ms() - t0);
	is_mem(line, len, "slow", "deadline: what came is kept");

	t0 = io_now_ms();
	errno = 0;
	ok(collect_sh("exec >&-; sleep 30", 300, line, sizeof(line), &len,
	    &status) == -1 && errno == ETIMEDOUT,
	    "closed stdout, then a hang: ETIMEDOUT");
	ok(len == 0, "nothing printed, empty line");
}

/* spawn_run_line: stdin from a descriptor, the verdict, the first line,
 * a program that cannot start, the deadline; no descriptor left open. */
static void
test_run_line(void)
{
	char *cat[] = { "/bin/sh", "-c", "read l; echo \"got $l\"; exit 100",
	    NULL };
	char *slow[] = { "/bin/sh", "-c", "echo slow; sleep 30", NULL };
	char *missing[] = { "/nonexistent/rcptcheck", NULL };
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	char line[32];
	struct spawn_run run;
	long long t0;
	int in[2];
	int fd_before;
	int fd_after;

	fd_before = dup(0);
	close(fd_before);
	ok(io_pipe(in) == 0 && io_write_all(in[1], "hello\n", 6) == 0,
	    "run_line: stdin pipe");
	close(in[1]);
	run.in_fd = in[0];
	run.err_fd = -1;
	run.timeout_ms = 5000;
	run.line = line;
	run.cap = sizeof(line);
	ok(spawn_run_line(cat, env, &run) == 0 && run.what == NULL &&
	    WIFEXITED(run.status) && WEXITSTATUS(run.status) == 100,
	    "run_line: exit 100");
	is_mem(line, run.len, "got hello", "run_line: the first line, from "
	    "what stdin gave");
	close(in[0]);

	run.in_fd = -1;
	errno = 0;
	ok(spawn_run_line(missing, env, &run) == -1 && run.what != NULL &&
	    strcmp(run.what, "spawn") == 0 && errno == ENOENT,
	    "run_line: a missing program never ran: spawn, ENOENT");
	ok(run.len == 0 && line[0] == '\0', "run_line: ... and no line");

	run.timeout_ms = 300;
	t0 = io_now_ms();
	errno = 0;
	ok(spawn_run_line(slow, env, &run) == -1 && run.what == NULL &&
	    errno == ETIMEDOUT, "run_line: deadline: ETIMEDOUT");
	ok(io_now_ms() - t0 < 2000, "run_line: ... on time (%lld ms)",
	    io_now_ms() - t0);
	is_mem(line, run.len, "slow", "run_line: deadline: what came is kept");
	fd_after = dup(0);
	close(fd_after);
	ok(fd_after == fd_before, "run_line: no descriptor left open (%d %d)",
	    fd_before, fd_after);
}

/* With SIGCHLD ignored the system reaps our children: the waits must
 * say so (ECHILD) at once, neither spin until the deadline nor kill a
 * pid that may be another process's by now.  smtpd never runs like this
 * (main sets SIGCHLD to its default). */
static void
test_sigchld_ignored(void)
{
	char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	char line[64];
	size_t len;
	pid_t pid;
	long long t0;
	int status;
	int r;

	signal(SIGCHLD, SIG_IGN);
	t0 = io_now_ms();
	r = collect_sh("echo bg; sleep 2 & exit 0", 4000, line, sizeof(line),
	    &len, &status);
	ok(r == -1 && errno == ECHILD, "collect: ECHILD (%d)", r);
	ok(io_now_ms() - t0 < 1500, "... at once (%lld ms)", io_now_ms() - t0);
	t0 = io_now_ms();
	r = spawn_start(&pid, argv, env_none, NULL, 0);
	ok(r == 0 && spawn_wait(pid, 4000, &status) == -1 && errno == ECHILD,
	    "wait: ECHILD");
	ok(io_now_ms() - t0 < 1500, "... at once (%lld ms)", io_now_ms() - t0);
	signal(SIGCHLD, SIG_DFL);
}

/* A plan entry that keeps fd 9 where it is: passed as it is when it is
 * inheritable, and still passed when it is close-on-exec. */
static void
test_keep(int cloexec)
{
	char *argv[] = { "/bin/sh", "-c", "read b <&9; echo \"$b\"", NULL };
	struct spawn_fd plan[2];
	int out[2];
	int in[2];
	char buf[64];
	pid_t pid;
	ssize_t r = 0;
	int status;

	ok(io_pipe(out) == 0 && io_pipe(in) == 0, "pipes");
	ok(dup2(in[0], 9) == 9 && (cloexec ? io_cloexec(9) :
	    fcntl(9, F_SETFD, 0)) == 0, "fd 9, %s",
	    cloexec ? "close-on-exec" : "inheritable");
	close(in[0]);
	ok(io_write_all(in[1], "kept\n", 5) == 0, "prime the pipe");
	close(in[1]);
	plan[0].child_fd = 9;
	plan[0].parent_fd = 9;
	plan[1].child_fd = 1;
	plan[1].parent_fd = out[1];
	if (ok(spawn_start(&pid, argv, env_none, plan, 2) == 0, "spawn")) {
		close(out[1]);
		r = io_read(out[0], buf, sizeof(buf));
		ok(spawn_wait(pid, 5000, &status) == 0, "reaped");
	} else {
		close(out[1]);
	}
	close(out[0]);
	close(9);
	is_mem(buf, r > 0 ? (size_t)r : 0, "kept\n", cloexec ?
	    "the child reads fd 9 (close-on-exec in the parent)" :
	    "the child reads fd 9 (inheritable in the parent)");
}

int
main(void)
{
	int before;

	/* As smtpd does: what we inherit does not reach a child. */
	ok(spawn_cloexec_from(3) == 0, "spawn_cloexec_from");
	signal(SIGPIPE, SIG_IGN);
	before = count_fds();
	test_basic();
	test_swap();
	test_keep(0);
	test_keep(1);
	test_sigchld_ignored();
	test_deadline();
	test_errors();
	test_collect();
	test_run_line();
	ok(count_fds() == before, "no descriptor leaked (%d)", count_fds());
	ok(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
	    "no child left");
	return tap_done();
}
