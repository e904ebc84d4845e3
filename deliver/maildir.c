/*
 * maildir.c: delivery into Maildirs, as https://cr.yp.to/proto/maildir.html
 * describes it: create a uniquely named file in tmp/, write and fsync it,
 * link it into new/, remove the tmp/ name, and only then say 250.  We
 * also fsync new/, so that the link itself survives a crash (the spec
 * predates file systems that need it).
 *
 * A message may go to several Maildirs (a template with %l or %d): one
 * file per Maildir, with a Delivered-To: for each of its recipients.
 * The message is committed in all of them or in none: every step runs
 * for every target before the next step starts, and any failure undoes
 * what every target has done so far.
 *
 * Memory: maildir_init allocates d->targets once (maxrcpts slots for a
 * template, one otherwise); a message allocates nothing, whatever its
 * size, and the body goes straight from the caller's chunk to the file.
 *
 * Names are looked up relative to tmp/ and new/ opened as directories
 * (openat, linkat, unlinkat): no path is built per message, and the
 * kernel resolves one component.  One Maildir keeps them open for the
 * session, from the start (maildir_is_whole), and drops them after any
 * failure, so that the next message opens them afresh; a template's are
 * opened for each message and closed after it.
 */
#include "../lib/linux.h"	/* first: before any system header (O_PATH) */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>		/* rename */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/io.h"
#include "../proto/ascii.h"
#include "deliver.h"
#include "header.h"
#include "maildir.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
/* maildir_put ends its writes on multiples of this. */
#define MAILDIR_ALIGN 65536
/* A unique file name; POSIX's smallest NAME_MAX is 14, ours is Linux's
 * and the BSDs' 255. */
#define MAILDIR_NAME_MAX 255
/* Trace fields are built here and written out when it fills; one field
 * is at most about 1.5 KB (header.c bounds every piece). */
#define MAILDIR_HEADER_BUF 4096
/* The longest "SECONDS.M<usec>P<pid>Q<seq>" of a unique name: three
 * 64-bit numbers, six digits of microseconds and four letters.  The
 * ".HOST" that follows is cut to what is left, so any name fits. */
#define MAILDIR_PREFIX_MAX (3 * 20 + 6 + 4)
#define MAILDIR_HOST_MAX (MAILDIR_NAME_MAX - MAILDIR_PREFIX_MAX)
/* tmp/ is only searched and written in, never read: POSIX's O_SEARCH
 * (Linux: O_PATH) opens it without read permission, which a path to the
 * file never needed; a system with neither needs tmp/ readable. */
#if defined(O_SEARCH)
#define MAILDIR_SEARCH O_SEARCH
#elif defined(O_PATH)
#define MAILDIR_SEARCH O_PATH
#else
#define MAILDIR_SEARCH O_RDONLY
#endif

struct maildir_target {
	char name[MAILDIR_NAME_MAX + 1]; /* this message's file name */
	dev_t dev;			/* dir's identity, to merge aliases */
	ino_t ino;
	int fd;				/* tmp/name when open, or -1 */
	int tmp_fd;			/* tmp/ and new/ when open, or -1 */
	int new_fd;
	int has_tmp;			/* tmp/name exists and is ours */
	int has_new;			/* new/name exists and is ours */
	int has_header;			/* the trace fields are written */
	/*
	 * Not about this target: slot i records the target of recipient
	 * i (template only; there are maxrcpts slots, so every recipient
	 * has one).
	 */
	size_t rcpt_target;
	char dir[PATH_MAX];		/* the Maildir; last, so that a short
					   one shares the fields' page */
};

/* maildir_init's slot for one Maildir (maildir_free gives it back). */
static struct maildir_target maildir_one_slot;
static int maildir_one_slot_used;

enum maildir_header {
	MAILDIR_RETURN_PATH,
	MAILDIR_DELIVERED_TO,
	MAILDIR_RECEIVED
};

/* Record the failed step and its errno (errno is left unchanged). */
static int
maildir_fail(struct deliver *d, const char *what)
{
	d->what = what;
	d->err = errno;
	return -1;
}

/* dir "/" sub "/" name into out (PATH_MAX); -1 ENAMETOOLONG.  Several
 * per message: three lengths and three copies, nothing octet by octet. */
static int
maildir_path(char *out, const char *dir, const char *sub, const char *name)
{
	size_t dir_len = strlen(dir);
	size_t sub_len = strlen(sub);
	size_t name_len = name != NULL ? strlen(name) : 0;
	char *p = out;

	/* Each part is below PATH_MAX, so the sum cannot wrap. */
	if (dir_len >= PATH_MAX || sub_len >= PATH_MAX ||
	    name_len >= PATH_MAX ||
	    dir_len + 1 + sub_len + (name != NULL ? 1 + name_len : 0) >=
	    PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, dir, dir_len);
	p += dir_len;
	*p++ = '/';
	memcpy(p, sub, sub_len);
	p += sub_len;
	if (name != NULL) {
		*p++ = '/';
		memcpy(p, name, name_len);
		p += name_len;
	}
	*p = '\0';
	return 0;
}

/* maildir_at_sub's flags for mkdir, not open. */
#define MAILDIR_MKDIR (-1)

/* Open (flags) or, with MAILDIR_MKDIR, make DIR/sub, its path made in
 * t->dir's own room after DIR and undone after: a PATH_MAX buffer on the
 * stack would reach a page of the stack that nothing else at start-up
 * touches, a page fault of its own. */
static int
maildir_at_sub(struct maildir_target *t, const char *sub, int flags)
{
	size_t len = strlen(t->dir);
	size_t sub_len = strlen(sub);
	int r;

	if (len + 1 + sub_len >= sizeof(t->dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	t->dir[len] = '/';
	memcpy(t->dir + len + 1, sub, sub_len + 1);
	/* openat, not open: musl's open follows O_CLOEXEC with an
	 * fcntl(F_SETFD) of its own, for kernels older than 2.6.23. */
	r = flags == MAILDIR_MKDIR ? mkdir(t->dir, 0700) :
	    openat(AT_FDCWD, t->dir, flags | O_DIRECTORY | O_CLOEXEC);
	t->dir[len] = '\0';
	return r;
}

/* Open dir/sub into *fd (flags: MAILDIR_SEARCH or O_RDONLY), unless it is
 * open already. */
static int
maildir_dir_fd(struct maildir_target *t, int *fd, const char *sub, int flags)
{
	if (*fd != -1)
		return 0;
	*fd = maildir_at_sub(t, sub, flags);
	return *fd == -1 ? -1 : 0;
}

static void
maildir_close_dirs(struct maildir_target *t)
{
	if (t->tmp_fd != -1)
		(void)io_close(t->tmp_fd);
	if (t->new_fd != -1)
		(void)io_close(t->new_fd);
	t->tmp_fd = -1;
	t->new_fd = -1;
}

/* mkdir DIR, or accept one that is already a directory. */
static int
maildir_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/*
 * DIR must be a directory: anything else means no message can ever be
 * stored.  A tmp/ new/ or cur/ that exists is left as it is, whatever it
 * is: if it is broken, each message fails with 451 and nothing left
 * behind, and the session goes on (tests/maildir.bats).
 */
static int
maildir_create(struct deliver *d, struct maildir_target *t)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	size_t i;

	if (maildir_mkdir(t->dir) == -1)
		return maildir_fail(d, "mkdir");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (maildir_at_sub(t, subs[i], MAILDIR_MKDIR) == -1 &&
		    errno != EEXIST)
			return maildir_fail(d, errno == ENAMETOOLONG ? "path" :
			    "mkdir");
	}
	return 0;
}

/*
 * One Maildir that is all there, the common case, is checked with what the
 * session needs anyway: tmp/ and new/ opened (and kept, as maildir_dir_fd
 * would open them for the first message), and cur/ made or found.  That
 * is three system calls instead of maildir_create's five and the two
 * opens.  Anything missing or odd takes maildir_create's way, with
 * nothing left open, so that a broken Maildir fails as it always did.
 */
static int
maildir_is_whole(struct maildir_target *t)
{
	if (maildir_dir_fd(t, &t->tmp_fd, "tmp", MAILDIR_SEARCH) == 0 &&
	    maildir_dir_fd(t, &t->new_fd, "new", O_RDONLY) == 0 &&
	    (maildir_at_sub(t, "cur", MAILDIR_MKDIR) == 0 || errno == EEXIST))
		return 1;
	maildir_close_dirs(t);
	return 0;
}

/*
 * The parts of a unique name that stay the same in this process: "P<pid>Q"
 * and ".HOST", where in HOST '/' is written "\057" and ':' "\072" (the
 * spec's rule, since ':' starts the info part and '/' cannot be in a
 * name).  A long host name is cut, between escapes, to MAILDIR_HOST_MAX.
 */
static void
maildir_name_parts(struct deliver *d)
{
	struct utsname u;
	struct buf b;
	const char *host = "localhost";
	const char *p;
	size_t cap;
	size_t room;

	buf_init(&b, d->name_pid, sizeof(d->name_pid));
	buf_addc(&b, 'P');
	buf_addu64(&b, (uint64_t)getpid());
	buf_addc(&b, 'Q');
	buf_nul(&b);
	if (uname(&u) != -1 && u.nodename[0] != '\0')
		host = u.nodename;
	cap = sizeof(d->name_host) < MAILDIR_HOST_MAX + 1 ?
	    sizeof(d->name_host) : MAILDIR_HOST_MAX + 1;
	buf_init(&b, d->name_host, cap);
	buf_addc(&b, '.');
	for (p = host; *p != '\0' && p - host < (ptrdiff_t)sizeof(u.nodename);
	    p++) {
		room = b.cap - b.len - 1;	/* keep the NUL's */
		if (*p == '/' || *p == ':') {
			if (room < 4)
				break;
			buf_adds(&b, *p == '/' ? "\\057" : "\\072");
		} else {
			if (room < 1)
				break;
			buf_addc(&b, *p);
		}
	}
	buf_nul(&b);
}

int
maildir_init(struct deliver *d)
{
	size_t n = 1;
	size_t len;

	maildir_name_parts(d);
	len = strlen(d->path);
	/* Room for "/tmp/" and a whole unique name after the Maildir. */
	if (len == 0 || len >= PATH_MAX - MAILDIR_NAME_MAX - 6) {
		errno = len == 0 ? EINVAL : ENAMETOOLONG;
		return maildir_fail(d, "path");
	}
	if (d->kind == DELIVER_MAILDIR_TEMPLATE && d->maxrcpts > 1)
		n = d->maxrcpts;
	/*
	 * malloc, not calloc, and no loop over the slots: maildir_open and
	 * maildir_group set up each slot as a message starts to use it, and
	 * everything else looks only at the first ntargets.  So a template's
	 * maxrcpts slots (100 x 4.4 KB) cost no memory until recipients use
	 * them, and one Maildir costs no 4.4 KB memset at start-up.
	 */
	if (n > SIZE_MAX / sizeof(*d->targets)) {
		errno = ENOMEM;
		return maildir_fail(d, "malloc");
	}
	/* One Maildir: the static slot, so that a session needs no malloc
	 * at all (the allocator's first call costs three system calls). */
	if (n == 1 && !maildir_one_slot_used) {
		maildir_one_slot_used = 1;
		d->targets = &maildir_one_slot;
	} else {
		d->targets = malloc(n * sizeof(*d->targets));
	}
	if (d->targets == NULL)
		return maildir_fail(d, "malloc");
	d->ntargets = 0;
	if (d->kind == DELIVER_MAILDIR_TEMPLATE)
		return 0;
	memcpy(d->targets[0].dir, d->path, len + 1);
	d->targets[0].tmp_fd = -1;
	d->targets[0].new_fd = -1;
	if (maildir_is_whole(&d->targets[0]))
		return 0;
	return maildir_create(d, &d->targets[0]);
}

/*
 * A local part or domain about to become (part of) a path component.
 * Refused: empty, a leading '.' (".", "..", hidden names), '/', NUL and
 * other controls.  This is what keeps a recipient from naming a
 * directory outside the template's.
 */
static int
maildir_is_safe_part(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 0;
	}
	return 1;
}

static void
maildir_add_lower(struct buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf_addc(b, (char)ascii_lower((unsigned char)s[i]));
}

/* maildir_expand's refusals: no such Maildir, or an address literal
 * where the template uses %d. */
#define MAILDIR_NO_MAILBOX (-1)
#define MAILDIR_LITERAL (-2)

/*
 * Expand d->path for one recipient into out (PATH_MAX): %l the local
 * part, %d the domain, both lowercased; %% a '%'; any other '%' stands
 * for itself.  Substituted text is not expanded again.
 * MAILDIR_NO_MAILBOX when a part that is used is unsafe or the result is
 * too long; MAILDIR_LITERAL for an address literal in %d: "[192.0.2.1]",
 * "[IPv6:...]" or "[tag:text]" name one host in many spellings, so no
 * directory could stand for it (README, "Usage").
 */
static int
maildir_expand(const char *tmpl, const char *local, size_t local_len,
    const char *domain, size_t domain_len, char *out)
{
	struct buf b;
	const char *p;

	buf_init(&b, out, PATH_MAX);
	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'l') {
			if (!maildir_is_safe_part(local, local_len))
				return MAILDIR_NO_MAILBOX;
			maildir_add_lower(&b, local, local_len);
			p++;
		} else if (p[0] == '%' && p[1] == 'd') {
			if (domain_len > 0 && domain[0] == '[')
				return MAILDIR_LITERAL;
			if (!maildir_is_safe_part(domain, domain_len))
				return MAILDIR_NO_MAILBOX;
			maildir_add_lower(&b, domain, domain_len);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			buf_addc(&b, '%');
			p++;
		} else
			buf_addc(&b, *p);
	}
	/* Keep room for "/tmp/" and a unique name, as maildir_init does. */
	if (buf_nul(&b) == -1 || b.overflow ||
	    b.len >= PATH_MAX - MAILDIR_NAME_MAX - 6)
		return MAILDIR_NO_MAILBOX;
	return 0;
}

/*
 * The Maildir of one recipient, split where the parser split it: the
 * local part is mailbox[0, local_len), the domain starts at domain_off
 * (mailbox = local "@" domain, or local alone).  maildir_check_rcpt and
 * maildir_group both come here, so RCPT checks the directory the message
 * goes to.  Offsets that do not describe such a split: no mailbox.
 */
static int
maildir_rcpt_dir(const char *tmpl, const char *mailbox, size_t local_len,
    size_t domain_off, char *out)
{
	size_t len = strlen(mailbox);

	if (domain_off == len ? local_len != len :
	    local_len >= len || domain_off != local_len + 1 ||
	    mailbox[local_len] != '@')
		return MAILDIR_NO_MAILBOX;
	return maildir_expand(tmpl, mailbox, local_len, mailbox + domain_off,
	    len - domain_off, out);
}

enum reply_id
maildir_check_rcpt(struct deliver *d, const char *mailbox, size_t local_len,
    size_t domain_off)
{
	char dir[PATH_MAX];
	char path[PATH_MAX];
	struct stat st;

	switch (maildir_rcpt_dir(d->path, mailbox, local_len, domain_off,
	    dir)) {
	case 0:
		break;
	case MAILDIR_LITERAL:
		return REPLY_NOHOST;
	default:
		return REPLY_NO_MAILBOX;
	}
	if (maildir_path(path, dir, "new", NULL) == -1)
		return REPLY_NO_MAILBOX;
	if (stat(path, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR ||
		    errno == ENAMETOOLONG || errno == ELOOP)
			return REPLY_NO_MAILBOX;
		return REPLY_TEMP_FAIL;
	}
	return S_ISDIR(st.st_mode) ? REPLY_RCPT_OK : REPLY_NO_MAILBOX;
}

static size_t
maildir_target_of(const struct deliver *d, size_t rcpt)
{
	if (d->kind != DELIVER_MAILDIR_TEMPLATE)
		return 0;
	return d->targets[rcpt].rcpt_target;
}

/*
 * Group the recipients into targets: recipients whose Maildir is the same
 * directory (the same expanded path, or another path to the same inode,
 * e.g. a symlinked domain alias) share one file.  Two files with one name
 * in one directory could not both be created, and one copy with two
 * Delivered-To: fields is what the owner wants.
 */
static int
maildir_group(struct deliver *d)
{
	const struct envelope *env = d->env;
	struct maildir_target *t;
	struct stat st;
	const char *rcpt;
	size_t off;
	size_t i;
	size_t j;

	d->ntargets = 0;
	if (env->nrcpt == 0 || env->nrcpt > d->maxrcpts ||
	    env->rcpt_domain_off == NULL) {
		errno = EINVAL;
		return maildir_fail(d, "recipients");
	}
	for (i = 0; i < env->nrcpt; i++) {
		rcpt = env->rcpts[i];
		/* The parser's split, as at RCPT ("postmaster" has no
		 * domain: off is its length). */
		off = env->rcpt_domain_off[i];
		t = &d->targets[d->ntargets];
		if (maildir_rcpt_dir(d->path, rcpt, off == strlen(rcpt) ? off :
		    off - 1, off, t->dir) != 0) {
			errno = ENOENT;
			return maildir_fail(d, "expand");
		}
		for (j = 0; j < d->ntargets; j++) {
			if (strcmp(d->targets[j].dir, t->dir) == 0)
				break;
		}
		if (j == d->ntargets) {
			if (stat(t->dir, &st) == -1)
				return maildir_fail(d, "stat");
			for (j = 0; j < d->ntargets; j++) {
				if (d->targets[j].dev == st.st_dev &&
				    d->targets[j].ino == st.st_ino)
					break;
			}
			if (j == d->ntargets) {
				/* Ready for maildir_undo from now on. */
				t->dev = st.st_dev;
				t->ino = st.st_ino;
				t->fd = -1;
				t->tmp_fd = -1;
				t->new_fd = -1;
				t->has_tmp = 0;
				t->has_new = 0;
				d->ntargets++;
			}
		}
		d->targets[i].rcpt_target = j;
	}
	return 0;
}

/*
 * The Maildir unique name: SECONDS.M<usec>P<pid>Q<seq>.HOST, where
 * M and P make it unique on this host and Q tells apart the files of
 * one process (maildir_name_parts has the rest).  The time is the
 * envelope's, read once when the message began (its Received: date).
 */
static int
maildir_unique_name(struct deliver *d, char *out)
{
	struct buf b;

	buf_init(&b, out, MAILDIR_NAME_MAX + 1);
	buf_addu64(&b, (uint64_t)d->env->when);
	buf_addlit(&b, ".M");
	buf_addu64(&b, (uint64_t)d->env->when_us);
	buf_adds(&b, d->name_pid);
	buf_addu64(&b, d->seq);
	buf_adds(&b, d->name_host);
	if (buf_nul(&b) == -1 || b.overflow) {
		errno = ENAMETOOLONG;
		return maildir_fail(d, "name");
	}
	return 0;
}

static int
maildir_flush(struct buf *hb, int fd)
{
	if (hb->len > 0 && io_write_all(fd, hb->p, hb->len) == -1)
		return -1;
	hb->len = 0;
	hb->overflow = 0;
	return 0;
}

static int
maildir_build(struct buf *hb, enum maildir_header which,
    const struct envelope *env, const char *rcpt)
{
	switch (which) {
	case MAILDIR_RETURN_PATH:
		return header_return_path(hb, env);
	case MAILDIR_DELIVERED_TO:
		return header_delivered_to(hb, rcpt);
	case MAILDIR_RECEIVED:
		return header_received(hb, env);
	}
	return -1;
}

/* Add one trace field to hb, writing hb out first when it is full. */
static int
maildir_add_header(struct deliver *d, int fd, struct buf *hb,
    enum maildir_header which, const char *rcpt)
{
	size_t flushed = hb->len;

	if (maildir_build(hb, which, d->env, rcpt) == 0)
		return 0;
	if (maildir_flush(hb, fd) == -1)
		return maildir_fail(d, "write");
	d->file_off += flushed;		/* maildir_put's count */
	if (maildir_build(hb, which, d->env, rcpt) == -1) {
		errno = EOVERFLOW;
		return maildir_fail(d, "header");
	}
	return 0;
}

/*
 * Write a (the trace fields, or what the last write held back), then b,
 * but hold back b's last octets in d->carry so that the file ends on a
 * multiple of MAILDIR_ALIGN after the write.  The trace fields in front
 * of the body would otherwise lay every 64 KB body write across two of
 * the page cache's large folios, which costs a third more system time
 * (ext4, Linux 6: bench/, "MB/s").  One target only; maildir_close
 * writes what is held back.
 */
static int
maildir_put(struct deliver *d, int fd, const char *a, size_t alen,
    const char *b, size_t blen)
{
	size_t keep = (size_t)((d->file_off + alen + blen) % MAILDIR_ALIGN);

	if (d->ntargets != 1 || keep > blen || keep > sizeof(d->carry))
		keep = 0;
	if (io_write2_all(fd, a, alen, b, blen - keep) == -1)
		return -1;
	d->file_off += alen + blen - keep;
	/* a may be d->carry: it is written out by now. */
	if (keep > 0)
		memcpy(d->carry, b + (blen - keep), keep);
	d->carry_len = keep;
	return 0;
}

/*
 * Return-Path:, a Delivered-To: per recipient of target ti, Received:,
 * then the first len octets of the body: with one writev(2), unless the
 * trace fields overflow MAILDIR_HEADER_BUF (a hundred recipients).  They
 * are built from d->env, which stays the same from open to close, so the
 * file holds what it would have held had they been written at open.
 */
static int
maildir_write_headers(struct deliver *d, size_t ti, const char *body,
    size_t len)
{
	char mem[MAILDIR_HEADER_BUF];
	struct buf hb;
	int fd = d->targets[ti].fd;
	size_t i;

	buf_init(&hb, mem, sizeof(mem));
	if (maildir_add_header(d, fd, &hb, MAILDIR_RETURN_PATH, NULL) == -1)
		return -1;
	for (i = 0; i < d->env->nrcpt; i++) {
		if (maildir_target_of(d, i) != ti)
			continue;
		if (maildir_add_header(d, fd, &hb, MAILDIR_DELIVERED_TO,
		    d->env->rcpts[i]) == -1)
			return -1;
	}
	if (maildir_add_header(d, fd, &hb, MAILDIR_RECEIVED, NULL) == -1)
		return -1;
	if (maildir_put(d, fd, hb.p, hb.len, body, len) == -1)
		return maildir_fail(d, "write");
	d->targets[ti].has_header = 1;
	return 0;
}

/* Undo every target: close, and unlink what this message created.  Keeps
 * errno, so that callers can report the step that failed.  The
 * directories are closed too: the next message opens them afresh. */
static void
maildir_undo(struct deliver *d)
{
	struct maildir_target *t;
	size_t i;
	int saved = errno;

	for (i = 0; i < d->ntargets; i++) {
		t = &d->targets[i];
		if (t->fd != -1)
			io_close(t->fd);
		t->fd = -1;
		if (t->has_tmp)
			unlinkat(t->tmp_fd, t->name, 0);
		t->has_tmp = 0;
		if (t->has_new) {
			unlinkat(t->new_fd, t->name, 0);
			/* Make the removal durable too: a crash must not
			 * bring back a message we answered 4xx for. */
			io_fsync(t->new_fd);
		}
		t->has_new = 0;
		maildir_close_dirs(t);
	}
	d->ntargets = 0;
	d->carry_len = 0;
	errno = saved;
}

int
maildir_open(struct deliver *d)
{
	char name[MAILDIR_NAME_MAX + 1];
	struct maildir_target *t;
	size_t i;

	if (d->kind == DELIVER_MAILDIR_TEMPLATE) {
		if (maildir_group(d) == -1)
			goto fail;
	} else {
		if (d->env->nrcpt == 0) {
			errno = EINVAL;
			maildir_fail(d, "recipients");
			goto fail;
		}
		t = &d->targets[0];
		t->fd = -1;
		t->has_tmp = 0;
		t->has_new = 0;
		d->ntargets = 1;
	}
	d->carry_len = 0;
	d->file_off = 0;
	if (maildir_unique_name(d, name) == -1)
		goto fail;
	d->seq++;
	for (i = 0; i < d->ntargets; i++) {
		t = &d->targets[i];
		memcpy(t->name, name, sizeof(name));
		if (maildir_dir_fd(t, &t->tmp_fd, "tmp", MAILDIR_SEARCH) ==
		    -1) {
			maildir_fail(d, "open tmp");
			goto fail;
		}
		t->fd = openat(t->tmp_fd, t->name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (t->fd == -1) {
			maildir_fail(d, "open tmp");
			goto fail;
		}
		t->has_tmp = 1;
		/* The trace fields go with the first body octets
		 * (maildir_write), or at close for an empty body. */
		t->has_header = 0;
	}
	return 0;
fail:
	maildir_undo(d);
	return -1;
}

int
maildir_write(struct deliver *d, const char *buf, size_t len)
{
	struct maildir_target *t;
	size_t i;

	for (i = 0; i < d->ntargets; i++) {
		t = &d->targets[i];
		if (!t->has_header) {
			if (maildir_write_headers(d, i, buf, len) == 0)
				continue;
		} else if (maildir_put(d, t->fd, d->carry, d->carry_len, buf,
		    len) == 0)
			continue;
		else
			maildir_fail(d, "write");
		maildir_undo(d);
		return -1;
	}
	return 0;
}

/* tmp/name -> new/name.  link(2) keeps an existing new/name safe; where a
 * file system has no hard links, rename(2) does the move.  new/ is opened
 * here, not with tmp/, so that a broken new/ fails the message where
 * link(2) would (and as that step). */
static int
maildir_link(struct deliver *d, struct maildir_target *t)
{
	if (maildir_dir_fd(t, &t->new_fd, "new", O_RDONLY) == -1)
		return maildir_fail(d, "link");
	if (linkat(t->tmp_fd, t->name, t->new_fd, t->name, 0) == 0) {
		t->has_new = 1;
		if (unlinkat(t->tmp_fd, t->name, 0) == -1)
			return maildir_fail(d, "unlink tmp");
		t->has_tmp = 0;
		return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != ENOSYS)
		return maildir_fail(d, "link");
	if (renameat(t->tmp_fd, t->name, t->new_fd, t->name) == -1)
		return maildir_fail(d, "rename");
	t->has_tmp = 0;
	t->has_new = 1;
	return 0;
}

int
maildir_close(struct deliver *d)
{
	struct maildir_target *t;
	size_t i;
	int fd;

	/* 1: the data is on disk everywhere before any name is in new/. */
	for (i = 0; i < d->ntargets; i++) {
		t = &d->targets[i];
		/* An empty body: the trace fields are the whole file. */
		if (!t->has_header && maildir_write_headers(d, i, NULL, 0) ==
		    -1)
			goto fail;
		if (d->carry_len > 0 &&
		    io_write_all(t->fd, d->carry, d->carry_len) == -1) {
			maildir_fail(d, "write");
			goto fail;
		}
		d->carry_len = 0;
		if (io_fsync(t->fd) == -1) {
			maildir_fail(d, "fsync");
			goto fail;
		}
		fd = t->fd;
		t->fd = -1;
		/* close can report a deferred write error (NFS). */
		if (io_close(fd) == -1) {
			maildir_fail(d, "close");
			goto fail;
		}
	}
	/* 2: the message appears in every new/. */
	for (i = 0; i < d->ntargets; i++) {
		if (maildir_link(d, &d->targets[i]) == -1)
			goto fail;
	}
	/* 3: and the new names are durable. */
	for (i = 0; i < d->ntargets; i++) {
		if (io_fsync(d->targets[i].new_fd) == -1) {
			maildir_fail(d, "fsync new");
			goto fail;
		}
	}
	for (i = 0; i < d->ntargets; i++) {
		d->targets[i].has_new = 0;
		if (d->kind == DELIVER_MAILDIR_TEMPLATE)
			maildir_close_dirs(&d->targets[i]);
	}
	d->ntargets = 0;
	return 0;
fail:
	maildir_undo(d);
	return -1;
}

void
maildir_abort(struct deliver *d)
{
	maildir_undo(d);
}

void
maildir_free(struct deliver *d)
{
	if (d->kind == DELIVER_MAILDIR && d->targets != NULL)
		maildir_close_dirs(&d->targets[0]);
	if (d->targets == &maildir_one_slot)
		maildir_one_slot_used = 0;
	else
		free(d->targets);
	d->targets = NULL;
}
