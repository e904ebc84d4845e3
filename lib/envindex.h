/*
 * envindex.h: fast lookups in an environment that does not change.
 *
 * One pass over the environment at the first lookup: each entry's name
 * length, for the first ENV_INDEX_MAX entries, and which (name length,
 * first letter) pairs are there, 5 bits of each.  Most of the thirty-odd
 * names smtpd asks for are not set, and the pairs say so at once; a name
 * that may be there is compared with the entries of its length only, not
 * with every entry as getenv does (each getenv is a scan with strncmp).
 * smtpd never changes its environment, so one pass serves the session;
 * a larger environment than the index is searched entry by entry.
 */
#ifndef SMTP_ENVINDEX_H
#define SMTP_ENVINDEX_H

#include <stddef.h>
#include <stdint.h>

#define ENV_INDEX_MAX 64

struct env_index {
	char **env;			/* the environment indexed */
	int ready;
	int too_many;			/* env has more: search it all */
	uint32_t seen[32];
	size_t count;			/* entries in entry[] */
	struct {
		const char *entry;
		size_t name_len;
	} entry[ENV_INDEX_MAX];
};

/* Index env ("NAME=value" strings, NULL-terminated; may be NULL). */
void env_index_init(struct env_index *x, char **env);

/* The value of name (len octets, not empty) in the indexed environment,
 * or NULL: what getenv would say of it.  The caller passes the length:
 * its names are literals, whose lengths are known when compiling. */
char *env_index_get(const struct env_index *x, const char *name, size_t len);

/* The same, in environ, indexed at the first call.  The index is this
 * file's: in the static build its .bss then shares a page with the other
 * small state of lib/ and deliver/, which smtpd.c's session state follows
 * (Makefile: smtpd.c is linked last), not one of its own. */
char *env_index_environ(const char *name, size_t len);

#endif
