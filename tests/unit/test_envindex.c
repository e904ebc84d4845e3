/*
 * test_envindex.c: lib/envindex.c answers as getenv would: set, unset,
 * empty, the first of two, an entry without '=', and an environment
 * larger than the index.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/envindex.h"
#include "tap.h"

static int
is(const char *got, const char *want)
{
	if (got == NULL || want == NULL)
		return got == want;
	return strcmp(got, want) == 0;
}

static void
test_small(void)
{
	char *env[] = { "PATH=/bin", "TIMEOUT=30", "EMPTY=", "NOEQUALS",
	    "TIMEOUT=99", "T=1", "PAT=x", NULL };
	struct env_index x;

	env_index_init(&x, env);
	ok(is(env_index_get(&x, "PATH", sizeof("PATH") - 1), "/bin"), "set");
	ok(is(env_index_get(&x, "TIMEOUT", sizeof("TIMEOUT") - 1), "30"), "the first of two");
	ok(is(env_index_get(&x, "EMPTY", sizeof("EMPTY") - 1), ""), "set, empty");
	ok(env_index_get(&x, "NOEQUALS", sizeof("NOEQUALS") - 1) == NULL, "an entry without '='");
	ok(env_index_get(&x, "RCPTHOSTS", sizeof("RCPTHOSTS") - 1) == NULL, "unset");
	ok(env_index_get(&x, "TIME", sizeof("TIME") - 1) == NULL, "a prefix of a name");
	ok(env_index_get(&x, "PATHX", sizeof("PATHX") - 1) == NULL, "longer than a name");
	ok(is(env_index_get(&x, "T", sizeof("T") - 1), "1") && is(env_index_get(&x, "PAT", sizeof("PAT") - 1),
	    "x"), "short names");
	env_index_init(&x, NULL);
	ok(env_index_get(&x, "PATH", sizeof("PATH") - 1) == NULL, "no environment at all");
}

static void
test_large(void)
{
	static char text[ENV_INDEX_MAX + 10][32];
	static char *env[ENV_INDEX_MAX + 11];
	struct env_index x;
	int i;

	for (i = 0; i < ENV_INDEX_MAX + 10; i++) {
		snprintf(text[i], sizeof(text[i]), "VAR%d=%d", i, i);
		env[i] = text[i];
	}
	env[i] = NULL;
	env_index_init(&x, env);
	ok(x.too_many, "more entries than the index");
	ok(is(env_index_get(&x, "VAR0", sizeof("VAR0") - 1), "0"), "large: the first");
	ok(is(env_index_get(&x, "VAR70", sizeof("VAR70") - 1), "70"), "large: beyond the index");
	ok(env_index_get(&x, "VAR99", sizeof("VAR99") - 1) == NULL, "large: unset");
}

int
main(void)
{
	test_small();
	test_large();
	return tap_done();
}
