/*
 * test_buf.c: the bounded buffer, wipe and the io helpers of lib/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/io.h"
#include "../../lib/wipe.h"
#include "tap.h"

static void
test_buf(void)
{
	char mem[8];
	struct buf b;

	buf_init(&b, mem, sizeof(mem));
	ok(b.len == 0 && b.overflow == 0, "init empty");
	ok(buf_adds(&b, "abc") == 0, "adds fits");
	ok(buf_addc(&b, '-') == 0, "addc fits");
	ok(buf_add(&b, "xyzw", 4) == 0, "add to exactly full");
	is_mem(b.p, b.len, "abc-xyzw", "content when full");
	ok(b.overflow == 0, "no overflow at exactly cap");
	ok(buf_addc(&b, '!') == -1 && b.overflow == 1, "one more overflows");
	is_mem(b.p, b.len, "abc-xyzw", "failed append changes nothing");
	ok(buf_nul(&b) == -1, "no room for NUL");
	ok(buf_add(&b, NULL, 0) == 0, "empty append always fits");

	buf_init(&b, mem, sizeof(mem));
	ok(buf_adds(&b, "123456789") == -1 && b.len == 0,
	    "too long appends nothing");
	ok(buf_adds(&b, "ab") == 0 && buf_nul(&b) == 0 &&
	    strcmp(mem, "ab") == 0 && b.len == 2, "nul not counted");

	buf_init(&b, NULL, 0);
	ok(buf_addc(&b, 'x') == -1 && buf_nul(&b) == -1, "zero cap");
}

static void
test_addu64(void)
{
	char mem[64];
	struct buf b;

	buf_init(&b, mem, sizeof(mem));
	buf_addu64(&b, 0);
	buf_addc(&b, ' ');
	buf_addu64(&b, 42);
	buf_addc(&b, ' ');
	buf_addu64(&b, UINT64_MAX);
	is_mem(b.p, b.len, "0 42 18446744073709551615", "addu64");

	/* Each length of number, odd and even, about the powers of ten. */
	buf_init(&b, mem, sizeof(mem));
	buf_addu64(&b, 9);
	buf_addc(&b, ' ');
	buf_addu64(&b, 10);
	buf_addc(&b, ' ');
	buf_addu64(&b, 99);
	buf_addc(&b, ' ');
	buf_addu64(&b, 100);
	buf_addc(&b, ' ');
	buf_addu64(&b, 1005);
	buf_addc(&b, ' ');
	buf_addu64(&b, 10000000000000000000ULL);
	is_mem(b.p, b.len, "9 10 99 100 1005 10000000000000000000",
	    "addu64 about the powers of ten");

	buf_init(&b, mem, 3);
	ok(buf_addu64(&b, 1234) == -1 && b.len == 0, "addu64 overflow");
}

static void
test_addhex(void)
{
	char mem[64];
	struct buf b;

	buf_init(&b, mem, sizeof(mem));
	buf_addhex(&b, 0, 1);
	buf_addc(&b, ' ');
	buf_addhex(&b, 0x2a, 5);
	buf_addc(&b, ' ');
	buf_addhex(&b, 0x6b0bd3da, 1);
	buf_addc(&b, ' ');
	buf_addhex(&b, UINT64_MAX, 99);
	is_mem(b.p, b.len, "0 0002a 6b0bd3da ffffffffffffffff", "addhex");

	buf_init(&b, mem, 4);
	ok(buf_addhex(&b, 0xabc, 5) == -1 && b.len == 0, "addhex overflow");
}

static void
test_wipe(void)
{
	char secret[16] = "hunter2hunter2!";
	size_t i;
	int zero = 1;

	wipe(secret, sizeof(secret));
	for (i = 0; i < sizeof(secret); i++)
		zero &= secret[i] == 0;
	ok(zero, "wipe zeroes");
	wipe(NULL, 0);
	ok(1, "wipe of nothing");
}

static void
test_io(void)
{
	int p[2];
	char big[65536 * 4];
	char got[16];
	long long t0;
	long long t1;
	int r;

	t0 = io_now_ms();
	ok(t0 > 0, "monotonic clock");

	if (pipe(p) == -1) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	ok(io_write_all(p[1], "hello", 5) == 0, "write_all");
	ok(io_wait(p[0], 0, 1000) == 1, "readable");
	ok(io_read(p[0], got, sizeof(got)) == 5 && memcmp(got, "hello", 5)
	    == 0, "read back");
	ok(io_wait(p[0], 0, 10) == 0, "empty pipe times out");
	ok(io_write_timeout(p[1], "abc", 3, 1000) == 0, "write_timeout");
	ok(io_read(p[0], got, sizeof(got)) == 3, "read back timeout write");

	/* Nobody drains the pipe: a blocking fd must still time out. */
	memset(big, 'x', sizeof(big));
	t0 = io_now_ms();
	errno = 0;
	r = io_write_timeout(p[1], big, sizeof(big), 100);
	t1 = io_now_ms();
	ok(r == -1 && errno == ETIMEDOUT, "blocking full pipe: ETIMEDOUT");
	ok(t1 - t0 >= 90 && t1 - t0 < 5000, "waited about the timeout (%lld)",
	    t1 - t0);
	io_close(p[0]);
	io_close(p[1]);

	if (pipe(p) == -1)
		return;
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	errno = 0;
	r = io_write_timeout(p[1], big, sizeof(big), 100);
	ok(r == -1 && errno == ETIMEDOUT, "non-blocking full pipe: ETIMEDOUT");
	ok(io_cloexec(p[0]) == 0 &&
	    (fcntl(p[0], F_GETFD) & FD_CLOEXEC) != 0, "cloexec");
	io_close(p[0]);
	errno = 0;
	r = io_write_timeout(p[1], "x", 1, 100);
	ok(r == -1 && errno == EPIPE, "closed reader: EPIPE");
	ok(io_close(p[1]) == 0, "close");
	ok(io_close(p[1]) == -1 && errno == EBADF, "close twice: EBADF");

	/* io_write_nonblock: the caller's non-blocking fd, no fcntl. */
	if (pipe(p) == -1)
		return;
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	ok(io_write_nonblock(p[1], "abc", 3, 1000) == 0 &&
	    io_read(p[0], got, sizeof(got)) == 3 && memcmp(got, "abc", 3) == 0,
	    "write_nonblock");
	t0 = io_now_ms();
	errno = 0;
	r = io_write_nonblock(p[1], big, sizeof(big), 100);
	t1 = io_now_ms();
	ok(r == -1 && errno == ETIMEDOUT && t1 - t0 >= 90 && t1 - t0 < 5000,
	    "write_nonblock, full pipe: ETIMEDOUT after the timeout (%lld)",
	    t1 - t0);
	io_close(p[0]);
	errno = 0;
	r = io_write_nonblock(p[1], "x", 1, 100);
	ok(r == -1 && errno == EPIPE, "write_nonblock, closed reader: EPIPE");
	io_close(p[1]);

	/* io_write2_all: both buffers, in order, to a file-like fd. */
	if (pipe(p) == -1)
		return;
	ok(io_write2_all(p[1], "head", 4, "body", 4) == 0 &&
	    io_write2_all(p[1], "", 0, "x", 1) == 0 &&
	    io_write2_all(p[1], "y", 1, NULL, 0) == 0 &&
	    io_read(p[0], got, sizeof(got)) == 10 &&
	    memcmp(got, "headbodyxy", 10) == 0, "write2_all");
	io_close(p[0]);
	io_close(p[1]);
	ok(io_fsync(-1) == -1 && errno == EBADF, "fsync bad fd");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_buf();
	test_addu64();
	test_addhex();
	test_wipe();
	test_io();
	diag("done");
	return tap_done();
}
