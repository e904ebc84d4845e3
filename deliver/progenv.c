/*
 * progenv.c: the programs' environment (progenv.h).
 */
#include <stdint.h>
#include <string.h>

#include "../lib/buf.h"
#include "../proto/address.h"
#include "progenv.h"

/* The names progenv_session sets; inherited ones are dropped, the
 * after_proxy ones only when a PROXY header gave them (else tcpserver's
 * values pass on). */
static const struct progenv_name {
	const char *name;
	size_t len;
	int after_proxy;
} progenv_names[] = {
#define PROGENV_NAME(s, p) { s, sizeof(s) - 1, p }
	PROGENV_NAME("SENDER", 0), PROGENV_NAME("RECIPIENT", 0),
	PROGENV_NAME("RECIPIENTS", 0), PROGENV_NAME("HELO", 0),
	PROGENV_NAME("AUTHUSER", 0), PROGENV_NAME("TCPREMOTEIP", 0),
	PROGENV_NAME("TCPREMOTEPORT", 0),
	PROGENV_NAME("TCPREMOTEHOST", 0),
	PROGENV_NAME("TCPREMOTEINFO", 1),
	PROGENV_NAME("TCPLOCALIP", 1), PROGENV_NAME("TCPLOCALPORT", 1)
#undef PROGENV_NAME
};

/* Is environ's "NAME=value" entry one of ours, to be dropped?  (Names
 * are compared by length first: this runs for every inherited entry.) */
static int
is_progenv_name(const char *entry, int proxied)
{
	const char *eq = strchr(entry, '=');
	size_t n;
	size_t i;

	if (eq == NULL)
		return 0;
	n = (size_t)(eq - entry);
	for (i = 0; i < sizeof(progenv_names) / sizeof(progenv_names[0]);
	    i++) {
		if (progenv_names[i].len == n &&
		    memcmp(entry, progenv_names[i].name, n) == 0)
			return proxied || !progenv_names[i].after_proxy;
	}
	return 0;
}

/* Client-given text as a variable's value: a control character (none
 * should have passed proto/) becomes '?', and so does a C1 control,
 * U+2028, U+2029 or a bidirectional control (refused by proto/address.c
 * too), so that no value can hold a line break, not even for a program
 * that splits lines the Unicode way (Python's splitlines); other octets
 * >= 0x80 (SMTPUTF8) pass. */
static void
add_clean(struct buf *b, const char *s)
{
	const char *run = s;
	unsigned char c;
	uint32_t cp;
	size_t n;

	/* Runs of clean octets are copied whole. */
	for (;; s += n) {
		c = (unsigned char)*s;
		n = 1;
		if (c >= 0x20 && c < 0x7f)
			continue;
		if (c >= 0x80) {
			n = smtp_utf8_decode(s, strnlen(s, 4), &cp);
			if (n == 0)
				n = 1;
			if (n == 1 || !smtp_is_forbidden_code_point(cp))
				continue;
		}
		(void)buf_add(b, run, (size_t)(s - run));
		if (c == '\0')
			return;
		(void)buf_addc(b, '?');
		run = s + n;
	}
}

/* Start a variable; its value follows; var_end finishes it. */
static size_t
var_begin(struct buf *b, const char *name)
{
	size_t mark = b->len;

	(void)buf_adds(b, name);
	(void)buf_addc(b, '=');
	return mark;
}

static void
var_end(struct progenv *e, struct buf *b, const char *name, size_t mark,
    size_t *n)
{
	if (b->overflow || buf_addc(b, '\0') == -1) {
		/* A pipe program's RECIPIENTS is budgeted at RCPT time, so
		 * only qmail-queue's can get here: it has the envelope. */
		if (e->ndropped < PROGENV_OURS_MAX)
			e->dropped[e->ndropped++] = name;
		b->len = mark;
		b->overflow = 0;
		return;
	}
	e->envp[(*n)++] = b->p + mark;
}

static void
var_set(struct progenv *e, struct buf *b, size_t *n, const char *name,
    const char *value)
{
	size_t mark = var_begin(b, name);

	add_clean(b, value);
	var_end(e, b, name, mark, n);
}

static void
inherit(struct progenv *e, char **parent_env, const struct peer *peer)
{
	char **p;

	e->ninherited = 0;
	for (p = parent_env; p != NULL && *p != NULL; p++) {
		if (e->ninherited >= PROGENV_INHERIT_MAX)
			break;
		if (is_progenv_name(*p, peer->proxy_local_ip[0] != '\0'))
			continue;
		e->inherited[e->ninherited++] = *p;
	}
	e->has_inherited = 1;
}

char *const *
progenv_session(struct progenv *e, char **parent_env, const struct peer *peer,
    const struct progenv_txn *t, const char *rcpt)
{
	struct buf b;
	size_t n = 0;
	size_t mark;
	size_t i;

	e->ndropped = 0;
	buf_init(&b, e->text, sizeof(e->text));
	var_set(e, &b, &n, "SENDER", t->sender);
	var_set(e, &b, &n, "RECIPIENT", rcpt != NULL ? rcpt :
	    t->nrcpt > 0 ? t->rcpts[0] : "");
	if (rcpt == NULL) {
		mark = var_begin(&b, "RECIPIENTS");
		for (i = 0; i < t->nrcpt; i++) {
			if (i > 0)
				(void)buf_addc(&b, '\n');
			add_clean(&b, t->rcpts[i]);
		}
		var_end(e, &b, "RECIPIENTS", mark, &n);
	}
	var_set(e, &b, &n, "HELO", t->helo);
	if (t->auth_user != NULL)
		var_set(e, &b, &n, "AUTHUSER", t->auth_user);
	var_set(e, &b, &n, "TCPREMOTEIP", peer->remote_ip);
	if (peer->remote_port[0] != '\0')
		var_set(e, &b, &n, "TCPREMOTEPORT", peer->remote_port);
	if (peer->remote_host != NULL)
		var_set(e, &b, &n, "TCPREMOTEHOST", peer->remote_host);
	if (peer->proxy_local_ip[0] != '\0') {
		var_set(e, &b, &n, "TCPLOCALIP", peer->proxy_local_ip);
		var_set(e, &b, &n, "TCPLOCALPORT", peer->proxy_local_port);
	} else if (peer->sock_local_ip[0] != '\0') {
		var_set(e, &b, &n, "TCPLOCALIP", peer->sock_local_ip);
		var_set(e, &b, &n, "TCPLOCALPORT", peer->sock_local_port);
	}
	if (!e->has_inherited)
		inherit(e, parent_env, peer);
	/* n <= PROGENV_OURS_MAX: there is room for all of them. */
	memcpy(&e->envp[n], e->inherited,
	    e->ninherited * sizeof(e->inherited[0]));
	n += e->ninherited;
	e->envp[n] = NULL;
	return e->envp;
}

char *const *
progenv_peer(struct progenv *e, char **parent_env, const struct peer *peer)
{
	struct buf b;
	size_t n = 0;
	char **p;

	e->ndropped = 0;
	if (peer->proxy_local_ip[0] == '\0')
		return parent_env;
	buf_init(&b, e->text, sizeof(e->text));
	var_set(e, &b, &n, "TCPREMOTEIP", peer->remote_ip);
	var_set(e, &b, &n, "TCPREMOTEPORT", peer->remote_port);
	var_set(e, &b, &n, "TCPLOCALIP", peer->proxy_local_ip);
	var_set(e, &b, &n, "TCPLOCALPORT", peer->proxy_local_port);
	for (p = parent_env; p != NULL && *p != NULL; p++) {
		if (n >= PROGENV_OURS_MAX + PROGENV_INHERIT_MAX)
			break;
		if (!is_progenv_name(*p, 1))
			e->envp[n++] = *p;
	}
	e->envp[n] = NULL;
	return e->envp;
}
