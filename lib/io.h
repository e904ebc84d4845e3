/*
 * io.h: the low-level system call helpers.  EINTR is retried here and
 * nowhere else.  All return 0 (or a count) on success and -1 with errno
 * set on failure; none of them allocates, prints or exits.
 */
#ifndef SMTP_IO_H
#define SMTP_IO_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* read(2) once, retrying EINTR. */
ssize_t io_read(int fd, void *buf, size_t len);
/* Write all of buf, retrying EINTR and short writes (blocking fd). */
int io_write_all(int fd, const void *buf, size_t len);
/* Write all of a, then all of b (blocking fd), with one writev(2) when
 * the fd takes both at once, as a file does. */
int io_write2_all(int fd, const void *a, size_t alen, const void *b,
    size_t blen);
/* Wait up to timeout_ms (-1: forever) for fd to be readable (want_write
 * == 0) or writable.  Returns 1 ready, 0 timed out, -1 error.  POLLHUP
 * and POLLERR count as ready so that the next read or write reports it.
 * No clock reading unless a signal handler interrupts the wait, which
 * then lasts at most twice timeout_ms. */
int io_wait(int fd, int want_write, int timeout_ms);
/* Write all of buf to fd within timeout_ms in all (not per step):
 * -1 with errno ETIMEDOUT when the peer does not drain it in time. */
int io_write_timeout(int fd, const void *buf, size_t len, int timeout_ms);
/* The same for an fd the caller has made non-blocking (O_NONBLOCK):
 * without io_write_timeout's fcntl(F_GETFL) on every call.  On a blocking
 * fd it could block past the deadline: use io_write_timeout there. */
int io_write_nonblock(int fd, const void *buf, size_t len, int timeout_ms);
/* fsync/close/open/link/rename wrappers that retry EINTR. */
int io_fsync(int fd);
int io_close(int fd);
/* Set FD_CLOEXEC on fd. */
int io_cloexec(int fd);
/* pipe(2) with both ends close-on-exec (one system call where the
 * system has pipe2); 0, or -1 with errno and nothing open. */
int io_pipe(int fds[2]);
/* The numeric address ("192.0.2.1", "2001:db8::1") and port of socket
 * fd's peer (peer != 0) or of fd itself.  0, or -1 (not an inet
 * socket, or it does not fit). */
int io_socket_name(int fd, int peer, char *host, size_t hostcap, char *serv,
    size_t servcap);
/* Milliseconds of a monotonic clock. */
long long io_now_ms(void);
/* clock_gettime, as a system call where one is as good: a session reads
 * the clock a dozen times, and the vDSO's first use looks up its symbols
 * and faults in its pages, which on a virtual machine costs more than
 * those dozen system calls (bench/README.md). */
int io_clock(clockid_t id, struct timespec *ts);
/* Milliseconds from now to deadline (io_now_ms's clock) as a poll()
 * timeout: 0 once it has passed, at most INT_MAX. */
int io_ms_left(long long deadline);

#endif
