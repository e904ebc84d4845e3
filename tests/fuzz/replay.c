/*
 * replay.c: run a fuzz target on files, without libFuzzer.  `make check`
 * links each tests/fuzz/<target>.c with this driver (gcc, ASan/UBSan)
 * into build/fuzz-replay/<target>, and tests/run runs it with no
 * arguments from the top of the tree:
 *
 *	build/fuzz-replay/fuzz_engine               every file of
 *	                                            tests/fuzz/corpus/fuzz_engine/
 *	build/fuzz-replay/fuzz_engine DIR|FILE...   those instead
 *
 * Each file is read into a buffer of exactly its size (so that ASan sees
 * a read past the end) and given to LLVMFuzzerTestOneInput.  A failed
 * invariant or a sanitizer report aborts the process; a missing or empty
 * corpus, or a file that cannot be read, is a failure too.  Exit 0 only
 * when every input ran.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define CORPUS_ROOT "tests/fuzz/corpus/"
#define PATH_MAX_LEN 4096
/* Seeds are small by rule; this bounds a stray big file. */
#define INPUT_MAX (16 * 1024 * 1024)

static int
run_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t len = 0;

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (st.st_size > INPUT_MAX) {
		fprintf(stderr, "replay: %s: too large\n", path);
		close(fd);
		return -1;
	}
	/* malloc(0) may return NULL: keep one spare octet, unused. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		close(fd);
		return -1;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "replay: %s: short read\n", path);
			free(buf);
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > 0) {
		/* Exactly len octets, so that an over-read is caught. */
		uint8_t *exact = malloc(len);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		buf = exact;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; returns how many ran, or
 * -1 when one could not be read. */
static long
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	size_t cap = 0;
	long count = 0;
	size_t i;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **p = realloc(names, ncap * sizeof(*names));

			if (p == NULL)
				break;
			names = p;
			cap = ncap;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL)
			break;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), compare_names);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX_LEN];
		struct stat st;
		int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (w > 0 && (size_t)w < sizeof(path) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

static long
run_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(path);
	return run_file(path) == 0 ? 1 : -1;
}

int
main(int argc, char **argv)
{
	char dflt[PATH_MAX_LEN];
	const char *name = strrchr(argv[0], '/');
	long total = 0;
	int i;

	name = name != NULL ? name + 1 : argv[0];
	if (argc < 2) {
		int w = snprintf(dflt, sizeof(dflt), "%s%s", CORPUS_ROOT, name);

		if (w < 0 || (size_t)w >= sizeof(dflt))
			return 1;
	}
	for (i = 1; i < argc || (argc < 2 && i == 1); i++) {
		const char *path = argc < 2 ? dflt : argv[i];
		long n = run_path(path);

		if (n < 0)
			return 1;
		if (n == 0) {
			fprintf(stderr, "replay: %s: no inputs\n", path);
			return 1;
		}
		printf("replay: %s: %ld inputs\n", path, n);
		total += n;
	}
	printf("replay: %s: %ld inputs, no failure\n", name, total);
	return 0;
}
