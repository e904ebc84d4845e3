/* deadline.c: TIMEOUT and SESSIONTIMEOUT for each wait (deadline.h). */
#include <time.h>

#include "deadline.h"
#include "io.h"

int
deadline_budget(const struct deadline *d)
{
	int left = io_ms_left(d->session_end);

	return left < d->timeout_ms ? left : d->timeout_ms;
}

int
deadline_passed(const struct deadline *d)
{
	return io_now_ms() >= d->session_end;
}

void
deadline_pause(const struct deadline *d, long long ms)
{
	struct timespec ts;
	int budget = deadline_budget(d);

	if (ms > budget)
		ms = budget;
	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	(void)nanosleep(&ts, NULL);
}
