/*
 * policy.c: the AUTH exchange and its verdict (policy.h).
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/io.h"
#include "../lib/wipe.h"
#include "checkpassword.h"
#include "policy.h"

/* The checkpassword interface runs a subprogram on success; AUTH only
 * needs its exit status. */
#define CHECKPASSWORD_SUBPROGRAM "/bin/true"

int
auth_policy_mechs(struct auth_policy *p, const char *list, const char **bad,
    size_t *badlen)
{
	struct buf b;
	const char *s = list;
	unsigned seen = 0;

	buf_init(&b, p->mechs, sizeof(p->mechs));
	while (*s != '\0') {
		size_t n = strcspn(s, " \t,");
		enum sasl_mech m;

		if (n == 0) {
			s++;
			continue;
		}
		m = sasl_mech_parse(s, n);
		if (m == SASL_MECH_NONE) {
			*bad = s;
			*badlen = n;
			return -1;
		}
		if (!(seen & 1u << m)) {
			seen |= 1u << m;
			if (b.len > 0)
				(void)buf_addc(&b, ' ');
			(void)buf_adds(&b, sasl_mech_name(m));
		}
		s += n;
	}
	if (b.len == 0 || buf_nul(&b) != 0)
		return -2;
	return 0;
}

/* Ask CHECKPASSWORD about the credentials in x. */
static void
ask_program(struct auth_policy *p, const struct sasl *x,
    const struct auth_world *w, struct auth_result *res)
{
	char subprogram[] = CHECKPASSWORD_SUBPROGRAM;
	char *argv[3];
	enum checkpassword_result r;

	argv[0] = p->checkpassword;
	argv[1] = subprogram;
	argv[2] = NULL;
	res->asked_program = 1;
	r = checkpassword_run(argv, w->envp, w->child_stderr, x->user,
	    x->user_len, x->secret, x->secret_len, x->stamp, x->stamp_len,
	    w->timeout_ms, &res->detail);
	switch (r) {
	case CHECKPASSWORD_OK:
		memcpy(p->user_text, x->user, x->user_len + 1);
		res->outcome = AUTH_OK;
		break;
	case CHECKPASSWORD_BAD:
		res->outcome = AUTH_FAILED;
		res->why = strcmp(res->detail.what, "exit") == 0 ?
		    "rejected by CHECKPASSWORD" :
		    "credentials too long for CHECKPASSWORD";
		break;
	case CHECKPASSWORD_TEMP:
		res->outcome = AUTH_DEFERRED;
		break;
	}
}

/*
 * Erase the client's AUTH line where it was framed (the session struct
 * is the caller's, and the engine does not read the line again once it
 * raised the event).  Where it was read, the caller wipes it as it is
 * fed.
 */
static void
forget_auth_line(const struct smtp_event *ev)
{
	if (ev->data != NULL && ev->len > 0)
		wipe((void *)(uintptr_t)ev->data, ev->len);
}

void
auth_policy_step(struct auth_policy *p, const struct smtp_event *ev,
    const struct auth_world *w, struct auth_result *res)
{
	struct sasl *x = &p->sasl;
	char stamp[SASL_CHALLENGE_MAX + 1];
	struct timespec now;
	enum sasl_result r;

	memset(res, 0, sizeof(*res));
	if (ev->type == SMTP_EV_AUTH) {
		/* RFC 2195 §2: "<pid.time@host>", time in microseconds so
		 * that two challenges of one second differ. */
		(void)io_clock(CLOCK_REALTIME, &now);
		(void)sasl_cram_challenge(stamp, sizeof(stamp), w->pid,
		    (unsigned long long)now.tv_sec * 1000000ULL +
		    (unsigned long long)now.tv_nsec / 1000, w->local_host);
		r = sasl_begin(x, ev->mech, ev->mech_len, ev->data, ev->len,
		    ev->has_initial, stamp);
	} else {
		r = sasl_step(x, ev->data, ev->len);
	}
	forget_auth_line(ev);
	res->mech = sasl_mech_name(x->mech);
	switch (r) {
	case SASL_CHALLENGE:
		res->outcome = AUTH_CHALLENGE;
		res->challenge = x->challenge;
		res->challenge_len = x->challenge_len;
		return;		/* the exchange goes on */
	case SASL_READY:
		ask_program(p, x, w, res);
		break;
	case SASL_REFUSED:
		res->outcome = AUTH_FAILED;
		res->why = x->why;
		break;
	case SASL_BAD_BASE64:
		res->outcome = AUTH_BAD_BASE64;
		break;
	case SASL_NO_INITIAL:
		res->outcome = AUTH_SYNTAX;
		break;
	case SASL_UNKNOWN_MECH:
		res->outcome = AUTH_UNKNOWN_MECH;
		break;
	}
	memcpy(res->user, x->user, x->user_len + 1);
	res->user_len = x->user_len;
	if (res->outcome == AUTH_FAILED) {
		p->failures++;
		res->too_many = p->failures >= AUTH_FAILURES_MAX;
	}
	sasl_wipe(x);
}
