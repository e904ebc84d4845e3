/*
 * io.c: the system call helpers of io.h.  smtpd installs no signal
 * handlers, but a stop/continue or a debugger can still interrupt a call,
 * so EINTR is retried here and nowhere else.
 */
#include "linux.h"	/* first: before any system header */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#ifdef SMTPD_LINUX
#include <sys/syscall.h>
#endif
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../proto/iptext.h"
#include "buf.h"
#include "io.h"

/*
 * After poll() says a blocking fd is writable, only this much is sure to
 * go without blocking: POSIX guarantees PIPE_BUF for pipes, and a socket
 * reports POLLOUT only with at least its low-water mark free.
 */
#ifdef PIPE_BUF
#define IO_BLOCKING_STEP PIPE_BUF
#else
#define IO_BLOCKING_STEP _POSIX_PIPE_BUF
#endif

ssize_t
io_read(int fd, void *buf, size_t len)
{
	ssize_t r;

	do {
		r = read(fd, buf, len);
	} while (r == -1 && errno == EINTR);
	return r;
}

int
io_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			/* Not allowed for len > 0; do not spin. */
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
io_write2_all(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2];
	size_t done;
	ssize_t w;

	/* writev(2) fails EINVAL when the sum exceeds SSIZE_MAX. */
	if (alen == 0 || blen == 0 || blen > (size_t)SSIZE_MAX - alen ||
	    alen > (size_t)SSIZE_MAX) {
		if (io_write_all(fd, a, alen) == -1)
			return -1;
		return io_write_all(fd, b, blen);
	}
	iov[0].iov_base = (void *)(uintptr_t)a;
	iov[0].iov_len = alen;
	iov[1].iov_base = (void *)(uintptr_t)b;
	iov[1].iov_len = blen;
	do {
		w = writev(fd, iov, 2);
	} while (w == -1 && errno == EINTR);
	if (w == -1)
		return -1;
	done = (size_t)w;
	/* A short write: the rest one buffer at a time. */
	if (done < alen) {
		if (io_write_all(fd, (const char *)a + done, alen - done) == -1)
			return -1;
		done = alen;
	}
	return io_write_all(fd, (const char *)b + (done - alen),
	    blen - (done - alen));
}

int
io_wait(int fd, int want_write, int timeout_ms)
{
	struct pollfd pfd;
	long long deadline = -1;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = want_write ? POLLOUT : POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout_ms);
		if (r == -1 && errno == EINTR) {
			if (timeout_ms < 0)
				continue;
			/* The clock is read only when a signal handler cuts
			 * the wait short (smtpd installs none), not for every
			 * wait: from then on one deadline holds, so that a
			 * stream of signals cannot stretch the wait, though
			 * the first may double it. */
			if (deadline == -1)
				deadline = io_now_ms() + timeout_ms;
			timeout_ms = io_ms_left(deadline);
			continue;
		}
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		return 1;
	}
}

/* poll for writability; 0, or -1 with errno (ETIMEDOUT when it did not
 * come in time). */
static int
io_wait_write(int fd, int timeout_ms)
{
	int r = io_wait(fd, 1, timeout_ms);

	if (r == 0)
		errno = ETIMEDOUT;
	return r == 1 ? 0 : -1;
}

/*
 * Both ways, each write is the one system call of the common case: a
 * non-blocking fd is tried first and polled only when it says EAGAIN; a
 * blocking fd may block in write(2) beyond any deadline, so it is polled
 * before every step and written in steps that poll's answer covers.
 */
static int
io_write_deadline(int fd, const char *p, size_t len, int timeout_ms,
    int is_nonblocking)
{
	long long deadline = io_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t step;
	ssize_t w;

	while (len > 0) {
		/* One deadline for the whole write: a reader that takes a
		 * byte now and then cannot stretch it step by step. */
		timeout_ms = io_ms_left(deadline);
		if (!is_nonblocking && io_wait_write(fd, timeout_ms) == -1)
			return -1;
		step = len;
		if (!is_nonblocking && step > IO_BLOCKING_STEP)
			step = IO_BLOCKING_STEP;
		w = write(fd, p, step);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (io_wait_write(fd, timeout_ms) == -1)
				return -1;
			continue;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
io_write_timeout(int fd, const void *buf, size_t len, int timeout_ms)
{
	int flags;

	/* One fcntl to learn which kind of fd this is; callers that know
	 * (their own non-blocking pipes) use io_write_nonblock. */
	flags = fcntl(fd, F_GETFL);
	if (flags == -1)
		return -1;
	return io_write_deadline(fd, buf, len, timeout_ms,
	    (flags & O_NONBLOCK) != 0);
}

int
io_write_nonblock(int fd, const void *buf, size_t len, int timeout_ms)
{
	return io_write_deadline(fd, buf, len, timeout_ms, 1);
}

int
io_fsync(int fd)
{
	int r;

	do {
		r = fsync(fd);
	} while (r == -1 && errno == EINTR);
	return r;
}

/*
 * close(2) is not retried: after EINTR, Linux (and most systems) has
 * already released the descriptor, and a second close could close one
 * another thread or call just opened.  POSIX.1-2008 leaves the state
 * unspecified; we treat EINTR as done.
 */
int
io_close(int fd)
{
	if (close(fd) == -1 && errno != EINTR)
		return -1;
	return 0;
}

int
io_cloexec(int fd)
{
	/* FD_CLOEXEC is the only descriptor flag (POSIX), so there is
	 * nothing to read back and keep first. */
	return fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ? -1 : 0;
}

int
io_pipe(int fds[2])
{
#ifdef SMTPD_LINUX
	return pipe2(fds, O_CLOEXEC);
#else
	if (pipe(fds) == -1)
		return -1;
	if (io_cloexec(fds[0]) == -1 || io_cloexec(fds[1]) == -1) {
		int e = errno;

		(void)io_close(fds[0]);
		(void)io_close(fds[1]);
		errno = e;
		return -1;
	}
	return 0;
#endif
}

int
io_clock(clockid_t id, struct timespec *ts)
{
	/* Only where the kernel's timespec is the C library's (64-bit
	 * long): a 32-bit system's time64 C library has another layout. */
#if defined(SMTPD_LINUX) && defined(SYS_clock_gettime) && \
    defined(__SIZEOF_LONG__) && __SIZEOF_LONG__ == 8
	return (int)syscall(SYS_clock_gettime, (long)id, ts);
#else
	return clock_gettime(id, ts);
#endif
}

long long
io_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on a POSIX system that has it. */
	if (io_clock(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
io_ms_left(long long deadline)
{
	long long left = deadline - io_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

int
io_socket_name(int fd, int peer, char *host, size_t hostcap, char *serv,
    size_t servcap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *addr;
	unsigned port;
	struct buf b;
	int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
	    getsockname(fd, (struct sockaddr *)&ss, &len);

	if (r != 0)
		return -1;
	/* ip_text, not getnameinfo: the same numeric text, without the
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
	if (ip_text(ss.ss_family == AF_INET6, addr, host, hostcap) == 0)
		return -1;
	buf_init(&b, serv, servcap);
	(void)buf_addu64(&b, port);
	return buf_nul(&b) == 0 && !b.overflow ? 0 : -1;
}
