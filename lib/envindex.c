/*
 * envindex.c: the environment's index (envindex.h).
 */
#include <string.h>

#include "envindex.h"

extern char **environ;

void
env_index_init(struct env_index *x, char **env)
{
	const char *eq;
	char **e;
	size_t n;

	memset(x->seen, 0, sizeof(x->seen));
	x->env = env;
	x->count = 0;
	x->too_many = 0;
	/* A byte loop: names are short, and a word-at-a-time strchr costs
	 * more to set up than it takes (and would scan values too). */
	for (e = env; e != NULL && *e != NULL; e++) {
		for (eq = *e; *eq != '\0' && *eq != '='; eq++)
			;
		if (*eq != '=')
			continue;
		n = (size_t)(eq - *e);
		x->seen[n & 31] |= 1u << ((unsigned char)**e & 31);
		if (x->count < ENV_INDEX_MAX) {
			x->entry[x->count].entry = *e;
			x->entry[x->count].name_len = n;
			x->count++;
		} else
			x->too_many = 1;
	}
	x->ready = 1;
}

char *
env_index_get(const struct env_index *x, const char *name, size_t n)
{
	char **e;
	size_t i;

	if (!(x->seen[n & 31] & (1u << ((unsigned char)name[0] & 31))))
		return NULL;
	if (x->too_many) {
		for (e = x->env; *e != NULL; e++)
			if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
				return *e + n + 1;
		return NULL;
	}
	for (i = 0; i < x->count; i++) {
		if (x->entry[i].name_len == n &&
		    memcmp(x->entry[i].entry, name, n) == 0)
			return (char *)x->entry[i].entry + n + 1;
	}
	return NULL;
}

char *
env_index_environ(const char *name, size_t len)
{
	static struct env_index process;

	if (!process.ready)
		env_index_init(&process, environ);
	return env_index_get(&process, name, len);
}
