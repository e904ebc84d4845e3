/*
 * test_progenv.c: the programs' environment (deliver/progenv.c): the
 * session's variables, client text made safe, which inherited names are
 * replaced with and without a PROXY header, the checkpassword variant,
 * and a RECIPIENTS too long for the buffer left out and named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../deliver/progenv.h"
#include "tap.h"

static struct progenv e;

/* The value of name in envp, or NULL. */
static const char *
get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static size_t
count(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	size_t c = 0;

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			c++;
	return c;
}

static void
set_peer(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	(void)snprintf(p->remote_ip, sizeof(p->remote_ip), "192.0.2.7");
	(void)snprintf(p->remote_port, sizeof(p->remote_port), "40000");
	p->remote_host = "client.example";
}

static void
test_session(void)
{
	char *parent[] = { "PATH=/bin", "SENDER=forged", "TCPLOCALIP=10.0.0.1",
	    "TCPREMOTEIP=10.9.9.9", NULL };
	const char *rcpts[] = { "a@example.com", "b\x01@example.com" };
	struct progenv_txn t = { "s@example.org", rcpts, 2, "mx.example",
	    NULL };
	struct peer p;
	char *const *envp;

	set_peer(&p);
	memset(&e, 0, sizeof(e));
	envp = progenv_session(&e, parent, &p, &t, NULL);
	ok(get(envp, "SENDER") && strcmp(get(envp, "SENDER"),
	    "s@example.org") == 0, "SENDER ours, not inherited");
	ok(count(envp, "SENDER") == 1, "SENDER once");
	ok(strcmp(get(envp, "RECIPIENT"), "a@example.com") == 0,
	    "RECIPIENT: the first");
	ok(strcmp(get(envp, "RECIPIENTS"), "a@example.com\nb?@example.com")
	    == 0, "RECIPIENTS one a line, a control made '?'");
	ok(strcmp(get(envp, "HELO"), "mx.example") == 0, "HELO");
	ok(get(envp, "AUTHUSER") == NULL, "no AUTHUSER without AUTH");
	ok(strcmp(get(envp, "TCPREMOTEIP"), "192.0.2.7") == 0 &&
	    count(envp, "TCPREMOTEIP") == 1, "TCPREMOTEIP ours, once");
	ok(strcmp(get(envp, "TCPREMOTEHOST"), "client.example") == 0,
	    "TCPREMOTEHOST");
	ok(strcmp(get(envp, "TCPLOCALIP"), "10.0.0.1") == 0,
	    "no PROXY: the launcher's TCPLOCALIP passes");
	ok(strcmp(get(envp, "PATH"), "/bin") == 0, "PATH inherited");
	ok(e.ndropped == 0, "nothing left out");

	t.auth_user = "u\xe2\x80\xa8x";
	envp = progenv_session(&e, parent, &p, &t, "c@example.net");
	ok(strcmp(get(envp, "RECIPIENT"), "c@example.net") == 0 &&
	    get(envp, "RECIPIENTS") == NULL, "RCPTCHECK: RECIPIENT, no "
	    "RECIPIENTS");
	ok(strcmp(get(envp, "AUTHUSER"), "u?x") == 0,
	    "AUTHUSER, U+2028 made '?'");
}

static void
test_proxy(void)
{
	char *parent[] = { "PATH=/bin", "TCPLOCALIP=10.0.0.1",
	    "TCPREMOTEINFO=proxy", "TCPREMOTEHOST=proxy.example", NULL };
	struct progenv_txn t = { "", NULL, 0, "h", NULL };
	struct peer p;
	char *const *envp;

	set_peer(&p);
	p.remote_host = NULL;
	(void)snprintf(p.proxy_local_ip, sizeof(p.proxy_local_ip),
	    "198.51.100.1");
	(void)snprintf(p.proxy_local_port, sizeof(p.proxy_local_port), "25");
	memset(&e, 0, sizeof(e));
	envp = progenv_session(&e, parent, &p, &t, NULL);
	ok(strcmp(get(envp, "TCPLOCALIP"), "198.51.100.1") == 0 &&
	    count(envp, "TCPLOCALIP") == 1, "PROXY: TCPLOCALIP the header's");
	ok(strcmp(get(envp, "TCPLOCALPORT"), "25") == 0, "PROXY: port");
	ok(get(envp, "TCPREMOTEINFO") == NULL &&
	    get(envp, "TCPREMOTEHOST") == NULL, "PROXY: the proxy's names go");
	ok(strcmp(get(envp, "RECIPIENT"), "") == 0 &&
	    strcmp(get(envp, "SENDER"), "") == 0, "empty SENDER, RECIPIENT");

	envp = progenv_peer(&e, parent, &p);
	ok(strcmp(get(envp, "TCPREMOTEIP"), "192.0.2.7") == 0 &&
	    strcmp(get(envp, "TCPLOCALIP"), "198.51.100.1") == 0 &&
	    get(envp, "TCPREMOTEHOST") == NULL &&
	    strcmp(get(envp, "PATH"), "/bin") == 0, "checkpassword: the "
	    "header's peer, the rest of environ");
	p.proxy_local_ip[0] = '\0';
	ok(progenv_peer(&e, parent, &p) == parent,
	    "checkpassword without PROXY: environ itself");
}

static void
test_too_long(void)
{
	static char text[PROGENV_TEXT_MAX];
	const char *rcpts[2];
	struct progenv_txn t = { "s", rcpts, 2, "h", NULL };
	char *parent[] = { NULL };
	struct peer p;
	char *const *envp;

	memset(text, 'x', sizeof(text) - 1);
	rcpts[0] = "a@example.com";
	rcpts[1] = text;
	set_peer(&p);
	memset(&e, 0, sizeof(e));
	envp = progenv_session(&e, parent, &p, &t, NULL);
	ok(get(envp, "RECIPIENTS") == NULL && e.ndropped == 1 &&
	    strcmp(e.dropped[0], "RECIPIENTS") == 0,
	    "RECIPIENTS too long: left out and named");
	ok(get(envp, "HELO") != NULL && get(envp, "RECIPIENT") != NULL,
	    "... the rest is there");
}

int
main(void)
{
	test_session();
	test_proxy();
	test_too_long();
	return tap_done();
}
