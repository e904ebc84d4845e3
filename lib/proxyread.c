/*
 * proxyread.c: read a PROXY header from a descriptor (proxyread.h).
 */
#include <sys/types.h>

#include "io.h"
#include "proxyread.h"

int
proxy_read(int fd, int timeout_ms, char *buf, size_t *len,
    struct proxy_header *h, const char **why)
{
	long long deadline = io_now_ms() + timeout_ms;
	enum proxy_result r;

	*why = NULL;
	while ((r = proxy_parse(buf, *len, h)) == PROXY_NEED_MORE) {
		int left = io_ms_left(deadline);
		ssize_t n = -1;
		int w = left > 0 ? io_wait(fd, 0, left) : 0;

		if (w == 0) {
			*why = "no complete header in time";
			return -1;
		}
		if (h->need > PROXY_HEADER_MAX - *len) {
			*why = "header too long";
			return -1;
		}
		if (w > 0)
			n = io_read(fd, buf + *len, h->need);
		if (n == 0) {
			*why = "connection closed before the end of the header";
			return -1;
		}
		if (n < 0)
			return -1;
		*len += (size_t)n;
	}
	if (r == PROXY_OK)
		return 0;
	*why = h->reason;
	return -1;
}
