/*
 * sink.c: the trivial delivery programs of `make bench`.
 *	build/bench/sink-pipe  pipe: read the message on fd 0 to its end,
 *	                       exit 0
 *	build/bench/sink-qq    qmail-queue (built with -DSINK_QMAIL_QUEUE):
 *	                       the message on fd 0, then the envelope on
 *	                       fd 1 (qmail-queue(8)), exit 0
 * Built static, so that a child costs its exec and little else: the
 * benchmark measures the receivers, not this program.
 */
#include <unistd.h>

static char buf[65536];

static int
drain(int fd)
{
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0)
			return -1;
	}
	return 0;
}

int
main(void)
{
	if (drain(0) != 0)
		return 54;
#ifdef SINK_QMAIL_QUEUE
	if (drain(1) != 0)
		return 54;
#endif
	return 0;
}
