/*
 * spawnloop.c: what one process costs from start to exit, without TCP,
 * the client or the disk: spawnloop N INPUT PROGRAM [ARG...] starts
 * PROGRAM N times, one after the other, each with INPUT on fd 0 and
 * /dev/null on fds 1 and 2, waits for each, and prints the microseconds
 * per run.  bench.py runs it for smtpd and the floor with a one-message
 * session as INPUT and the Maildir on tmpfs, where fsync costs nothing.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	long i, n;

	if (argc < 4 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: spawnloop N INPUT PROGRAM [ARG...]\n");
		return 100;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		posix_spawn_file_actions_t fa;
		pid_t pid;
		int status;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, argv[2], O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
		    O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
		    O_WRONLY, 0);
		if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3,
		    environ) != 0) {
			perror("spawnloop: posix_spawn");
			return 111;
		}
		posix_spawn_file_actions_destroy(&fa);
		if (waitpid(pid, &status, 0) != pid || status != 0) {
			fprintf(stderr, "spawnloop: %s failed\n", argv[3]);
			return 111;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / (double)n);
	return 0;
}
