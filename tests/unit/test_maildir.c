/*
 * test_maildir.c: Maildir delivery through deliver.h, in a temporary
 * directory: exact file contents, tmp/ left empty, all-or-nothing across
 * several Maildirs, hostile template parts, and failures that must leave
 * nothing behind.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../deliver/deliver.h"
#include "../../proto/address.h"
#include "tap.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static char root[] = "/tmp/test_maildir.XXXXXX";
static char got[65536];
static size_t got_len;

#define RECEIVED_TAIL \
	"Received: from client.example.org (mail.example.org [192.0.2.7])\n" \
	"\tby mx.example.net (smtpd) with ESMTP id ID1"
#define DATE_LINE "\tSun, 29 Nov 2026 04:44:36 +0000\n"

/*
 * Where smtpd splits a mailbox: the parser's domain_off.  Texts the
 * parser refuses (the hostile cases, which only reach delivery in these
 * tests) split at the first '@'.
 */
static size_t
domain_off_of(const char *mailbox)
{
	char path[SMTP_PATH_MAX + 8];
	struct smtp_path out;
	size_t used;
	const char *sep;
	int n = snprintf(path, sizeof(path), "<%s>", mailbox);

	if (n > 0 && (size_t)n < sizeof(path) &&
	    smtp_parse_path(path, (size_t)n, ADDR_ALLOW_POSTMASTER |
	    ADDR_ALLOW_UTF8, &out, &used) == ADDR_OK && used == (size_t)n)
		return out.domain_off;
	sep = strchr(mailbox, '@');
	return sep == NULL ? strlen(mailbox) : (size_t)(sep - mailbox) + 1;
}

/* The envelope smtpd builds, with each recipient's split (up to 100). */
static struct envelope
make_env(const char *const *rcpts, size_t nrcpt)
{
	static size_t offs[100];
	struct envelope env;
	size_t i;

	memset(&env, 0, sizeof(env));
	for (i = 0; i < nrcpt && i < 100; i++)
		offs[i] = domain_off_of(rcpts[i]);
	env.sender = "alice@example.org";
	env.rcpts = rcpts;
	env.rcpt_domain_off = offs;
	env.nrcpt = nrcpt;
	env.helo = "client.example.org";
	env.remote_ip = "192.0.2.7";
	env.remote_host = "mail.example.org";
	env.local_host = "mx.example.net";
	env.protocol = "ESMTP";
	env.id = "ID1";
	env.when = 1795927476;
	return env;
}

/* snprintf "%s/%s" into out, which must be big enough. */
static void
join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= cap)
		abort();
}

static const char *
at(const char *a, const char *b)
{
	static char path[PATH_MAX];

	join(path, sizeof(path), a, b);
	return path;
}

/* Entries of dir other than . and ..; the last one's name in last. */
static int
count(const char *dir, char *last, size_t cap)
{
	DIR *dp;
	struct dirent *de;
	int n = 0;

	dp = opendir(dir);
	if (dp == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (last != NULL)
			snprintf(last, cap, "%s", de->d_name);
	}
	closedir(dp);
	return n;
}

/* Read the one file in MAILDIR/new into got; 0, or -1 unless exactly one
 * file is there. */
static int
read_only_message(const char *maildir, char *name, size_t cap)
{
	char new[PATH_MAX];
	char path[2 * PATH_MAX];
	ssize_t r;
	int fd;

	join(new, sizeof(new), maildir, "new");
	if (count(new, name, cap) != 1)
		return -1;
	join(path, sizeof(path), new, name);
	fd = open(path, O_RDONLY);
	if (fd == -1)
		return -1;
	r = read(fd, got, sizeof(got));
	close(fd);
	if (r < 0)
		return -1;
	got_len = (size_t)r;
	return 0;
}

static int
is_empty(const char *maildir, const char *sub)
{
	char path[PATH_MAX];

	join(path, sizeof(path), maildir, sub);
	return count(path, NULL, 0) == 0;
}

static void
make_maildir(const char *dir)
{
	char path[PATH_MAX];

	mkdir(dir, 0700);
	join(path, sizeof(path), dir, "tmp");
	mkdir(path, 0700);
	join(path, sizeof(path), dir, "new");
	mkdir(path, 0700);
	join(path, sizeof(path), dir, "cur");
	mkdir(path, 0700);
}

static void
remove_tree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dp;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	dp = opendir(path);
	if (dp != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			join(sub, sizeof(sub), path, de->d_name);
			remove_tree(sub);
		}
		closedir(dp);
	}
	rmdir(path);
}

/* smtpd keeps its deliver until exit; tests make many, so they give
 * each back. */
static void
done_with(struct deliver *d)
{
	deliver_free(d);
}

static enum reply_id
check(struct deliver *d, const char *mailbox)
{
	size_t domain_off = domain_off_of(mailbox);
	size_t local_len = domain_off == strlen(mailbox) ? domain_off :
	    domain_off - 1;

	return deliver_check_rcpt(d, mailbox, local_len, domain_off);
}

static void
test_single(void)
{
	static const char *const rcpts[] = { "bob@example.net",
	    "carol@example.net" };
	static struct deliver d;
	struct deliver_result res;
	struct envelope env = make_env(rcpts, 2);
	char dir[PATH_MAX];
	char name[256];
	char want[2 * PATH_MAX];
	struct stat st;

	join(dir, sizeof(dir), root, "single");
	ok(deliver_init(&d, DELIVER_MAILDIR, dir, NULL, 100, 1000) == 0,
	    "init creates the Maildir");
	ok(stat(at(dir, "tmp"), &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "tmp/ is a 0700 directory");
	ok(stat(at(dir, "cur"), &st) == 0 && S_ISDIR(st.st_mode), "cur/");
	ok(check(&d, "anybody@anywhere") == REPLY_RCPT_OK,
	    "one Maildir takes every recipient");

	ok(deliver_open(&d, &env) == 0, "open");
	ok(count(at(dir, "tmp"), NULL, 0) == 1, "one file in tmp/ while open");
	ok(deliver_write(&d, "Subject: hi\n\n", 13) == 0, "write 1");
	ok(deliver_write(&d, "body\n", 5) == 0, "write 2");
	ok(deliver_write(&d, "", 0) == 0, "empty write");
	ok(deliver_close(&d, &res) == 0 &&
	    res.reply == REPLY_MESSAGE_ACCEPTED && res.what == NULL,
	    "close accepts");
	ok(is_empty(dir, "tmp"), "tmp/ empty after close");
	ok(read_only_message(dir, name, sizeof(name)) == 0,
	    "one file in new/");
	is_mem(got, got_len,
	    "Return-Path: <alice@example.org>\n"
	    "Delivered-To: bob@example.net\n"
	    "Delivered-To: carol@example.net\n"
	    RECEIVED_TAIL ";\n" DATE_LINE
	    "Subject: hi\n\nbody\n", "message text");
	snprintf(want, sizeof(want), "P%ldQ0.", (long)getpid());
	ok(strstr(name, ".M") != NULL && strstr(name, want) != NULL &&
	    strchr(name, ':') == NULL && strchr(name, '/') == NULL,
	    "unique name %s", name);
	snprintf(want, sizeof(want), "%s/new/%s", dir, name);
	ok(stat(want, &st) == 0 &&
	    (st.st_mode & 0777) == 0600, "file mode 0600");

	/* A second message in the same process gets Q1. */
	ok(deliver_open(&d, &env) == 0 && deliver_write(&d, "x\n", 2) == 0 &&
	    deliver_close(&d, &res) == 0, "second message");
	ok(count(at(dir, "new"), NULL, 0) == 2 && is_empty(dir, "tmp"),
	    "two files in new/");

	/* Abort: nothing anywhere. */
	ok(deliver_open(&d, &env) == 0 && deliver_write(&d, "x\n", 2) == 0,
	    "third message open");
	deliver_abort(&d);
	ok(count(at(dir, "new"), NULL, 0) == 2 && is_empty(dir, "tmp"),
	    "abort leaves nothing");
	deliver_abort(&d);
	ok(deliver_close(&d, &res) == -1 && res.reply == REPLY_TEMP_FAIL,
	    "close without open fails");
	ok(deliver_write(&d, "x", 1) == -1, "write without open fails");
	done_with(&d);

	/* Again on the existing Maildir. */
	ok(deliver_init(&d, DELIVER_MAILDIR, dir, NULL, 100, 1000) == 0,
	    "init on an existing Maildir");
	done_with(&d);
}

/* Chunks of every size around the 64 KB boundaries maildir_put aligns
 * its writes to (what it holds back between writes comes out in order):
 * the file is the trace fields, then exactly the octets written. */
static void
test_held_back(void)
{
	static const char *const rcpts[] = { "bob@example.net" };
	static const size_t sizes[] = { 65536, 1, 4095, 65536, 70000, 0, 3,
	    65536 - 300, 300, 65536, 17 };
	static struct deliver d;
	static char chunk[70000];
	struct deliver_result res;
	struct envelope env = make_env(rcpts, 1);
	char dir[PATH_MAX];
	char name[256];
	char path[2 * PATH_MAX];
	char *file;
	size_t total = 0;
	size_t i;
	size_t j;
	size_t head;
	ssize_t r;
	int fd;
	int same = 1;
	int writes = 1;

	join(dir, sizeof(dir), root, "held");
	ok(deliver_init(&d, DELIVER_MAILDIR, dir, NULL, 100, 1000) == 0,
	    "init");
	ok(deliver_open(&d, &env) == 0, "open");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizes[i]; j++)
			chunk[j] = (char)('a' + (total + j) % 23);
		writes &= deliver_write(&d, chunk, sizes[i]) == 0;
		total += sizes[i];
	}
	ok(writes, "%zu octets in %zu writes", total, i);
	ok(deliver_close(&d, &res) == 0, "close");
	join(path, sizeof(path), dir, "new");
	ok(count(path, name, sizeof(name)) == 1, "one file in new/");
	join(path, sizeof(path), dir, "new");
	join(path + strlen(path), sizeof(path) - strlen(path), "", name);
	file = malloc(total + 4096);
	fd = open(path, O_RDONLY);
	r = 0;
	if (file != NULL && fd != -1) {
		ssize_t n;

		while ((n = read(fd, file + r, total + 4096 - (size_t)r)) > 0)
			r += n;
	}
	if (fd != -1)
		close(fd);
	head = file != NULL && r > 0 && (size_t)r > total ?
	    (size_t)r - total : 0;
	ok(head > 0 && file != NULL && memcmp(file, "Return-Path:", 12) == 0,
	    "trace fields, %zu octets", head);
	for (j = 0; head > 0 && j < total; j++)
		same &= file[head + j] == (char)('a' + j % 23);
	ok(head > 0 && same && file[head - 1] == '\n',
	    "then the body, in order");
	free(file);
	done_with(&d);
}

static void
test_init_errors(void)
{
	static const char *const rcpts[] = { "bob@example.net" };
	static struct deliver d;
	struct deliver_result res;
	struct envelope env = make_env(rcpts, 1);
	char path[PATH_MAX];
	int fd;
	int r;

	join(path, sizeof(path), root, "plainfile");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	errno = 0;
	ok(deliver_init(&d, DELIVER_MAILDIR, path, NULL, 100, 1000) == -1 &&
	    errno == ENOTDIR, "init on a regular file: ENOTDIR");
	done_with(&d);

	/* A broken tmp/ or new/ fails each message, not the set-up. */
	join(path, sizeof(path), root, "half");
	mkdir(path, 0700);
	fd = open(at(path, "tmp"), O_WRONLY | O_CREAT, 0600);
	close(fd);
	ok(deliver_init(&d, DELIVER_MAILDIR, path, NULL, 100, 1000) == 0,
	    "tmp/ a regular file: init still works");
	r = deliver_open(&d, &env);
	ok(r == -1 && d.err == ENOTDIR && strcmp(d.what, "open tmp") == 0,
	    "and open fails: ENOTDIR");
	unlink(at(path, "tmp"));
	mkdir(at(path, "tmp"), 0700);
	rmdir(at(path, "new"));
	fd = open(at(path, "new"), O_WRONLY | O_CREAT, 0600);
	close(fd);
	ok(deliver_open(&d, &env) == 0 && deliver_write(&d, "x\n", 2) == 0,
	    "new/ a regular file: open and write work");
	r = deliver_close(&d, &res);
	ok(r == -1 && res.reply == REPLY_TEMP_FAIL && res.err == ENOTDIR,
	    "close fails: 451, ENOTDIR");
	ok(is_empty(path, "tmp"), "tmp/ left empty");
	done_with(&d);

	snprintf(path, sizeof(path), "%s/no/such/parent", root);
	ok(deliver_init(&d, DELIVER_MAILDIR, path, NULL, 100, 1000) == -1 &&
	    errno == ENOENT, "missing parent: ENOENT");
	done_with(&d);
}

static void
test_template_check(void)
{
	static struct deliver d;
	char tmpl[PATH_MAX];
	char path[PATH_MAX];

	/* ROOT/users/%d/%l; ROOT itself and ROOT/users look like
	 * Maildirs, so that ".." would reach one if it were let through. */
	make_maildir(root);
	join(path, sizeof(path), root, "users");
	make_maildir(path);
	snprintf(path, sizeof(path), "%s/users/example.net", root);
	make_maildir(path);
	snprintf(path, sizeof(path), "%s/users/example.net/bob", root);
	make_maildir(path);
	snprintf(path, sizeof(path), "%s/users/example.net/.x", root);
	make_maildir(path);
	snprintf(tmpl, sizeof(tmpl), "%s/users/%%d/%%l", root);
	ok(deliver_init(&d, DELIVER_MAILDIR_TEMPLATE, tmpl, NULL, 10, 1000)
	    == 0, "template init");
	ok(check(&d, "bob@example.net") == REPLY_RCPT_OK, "bob exists");
	ok(check(&d, "BoB@Example.NET") == REPLY_RCPT_OK, "lowercased");
	ok(check(&d, "nobody@example.net") == REPLY_NO_MAILBOX,
	    "no Maildir: 550");
	ok(check(&d, "bob@example.org") == REPLY_NO_MAILBOX,
	    "no domain: 550");
	ok(check(&d, "..@example.net") == REPLY_NO_MAILBOX, "local ..");
	ok(check(&d, ".@example.net") == REPLY_NO_MAILBOX, "local .");
	ok(check(&d, ".x@example.net") == REPLY_NO_MAILBOX,
	    "local .x (exists, still refused)");
	ok(check(&d, "a/b@example.net") == REPLY_NO_MAILBOX, "local a/b");
	ok(check(&d, "\"../../x\"@example.net") == REPLY_NO_MAILBOX,
	    "quoted traversal");
	ok(check(&d, "@example.net") == REPLY_NO_MAILBOX, "empty local");
	ok(check(&d, "bob@..") == REPLY_NO_MAILBOX, "domain ..");
	ok(check(&d, "bob@example.net/..") == REPLY_NO_MAILBOX, "domain /");
	ok(check(&d, "bob") == REPLY_NO_MAILBOX, "no domain at all");
	ok(check(&d, "b\tob@example.net") == REPLY_NO_MAILBOX, "control");
	ok(deliver_check_rcpt(&d, "bob@example.net", 3, 99) ==
	    REPLY_NO_MAILBOX, "bad offsets refused");
	ok(deliver_check_rcpt(&d, "bob@example.net", 4, 5) ==
	    REPLY_NO_MAILBOX, "offsets that are not a split refused");
	done_with(&d);

	/* ROOT/%l: ".." would be ROOT's parent, "users" is a Maildir. */
	snprintf(tmpl, sizeof(tmpl), "%s/users/example.net/%%l", root);
	ok(deliver_init(&d, DELIVER_MAILDIR_TEMPLATE, tmpl, NULL, 10, 1000)
	    == 0, "template without %%d");
	ok(check(&d, "bob") == REPLY_RCPT_OK, "postmaster-style: no domain");
	ok(check(&d, "..@x") == REPLY_NO_MAILBOX, ".. refused again");
	ok(check(&d, "bob@../..") == REPLY_RCPT_OK,
	    "an unused %%d is not looked at");
	done_with(&d);
}

static void
test_template_deliver(void)
{
	static const char *const rcpts[] = { "bob@example.net",
	    "carol@Example.NET", "dave@example.org", "eve@alias.net" };
	static const char *const hostile[] = { "bob@example.net",
	    "eve@.." };
	static struct deliver d;
	struct deliver_result res;
	struct envelope env = make_env(rcpts, 4);
	char tmpl[PATH_MAX];
	char net[PATH_MAX];
	char org[PATH_MAX];
	char alias[PATH_MAX];
	char name[256];
	int r;

	snprintf(net, sizeof(net), "%s/dom/example.net", root);
	snprintf(org, sizeof(org), "%s/dom/example.org", root);
	snprintf(alias, sizeof(alias), "%s/dom/alias.net", root);
	mkdir(at(root, "dom"), 0700);
	make_maildir(net);
	make_maildir(org);
	ok(symlink("example.net", alias) == 0, "alias.net -> example.net");
	snprintf(tmpl, sizeof(tmpl), "%s/dom/%%d", root);
	ok(deliver_init(&d, DELIVER_MAILDIR_TEMPLATE, tmpl, NULL, 4, 1000)
	    == 0, "template init");
	ok(check(&d, "eve@alias.net") == REPLY_RCPT_OK, "alias exists");

	ok(deliver_open(&d, &env) == 0, "open three names, two Maildirs");
	ok(d.ntargets == 2, "two targets (%zu)", d.ntargets);
	ok(deliver_write(&d, "Subject: all\n\n", 14) == 0 &&
	    deliver_write(&d, "hello\n", 6) == 0, "write");
	ok(deliver_close(&d, &res) == 0, "close");
	ok(read_only_message(net, name, sizeof(name)) == 0,
	    "one file for example.net and its alias");
	is_mem(got, got_len,
	    "Return-Path: <alice@example.org>\n"
	    "Delivered-To: bob@example.net\n"
	    "Delivered-To: carol@Example.NET\n"
	    "Delivered-To: eve@alias.net\n"
	    RECEIVED_TAIL ";\n" DATE_LINE
	    "Subject: all\n\nhello\n", "example.net message");
	ok(read_only_message(org, name, sizeof(name)) == 0,
	    "one file for example.org");
	is_mem(got, got_len,
	    "Return-Path: <alice@example.org>\n"
	    "Delivered-To: dave@example.org\n"
	    RECEIVED_TAIL ";\n" DATE_LINE
	    "Subject: all\n\nhello\n", "example.org message");
	ok(is_empty(net, "tmp") && is_empty(org, "tmp"), "tmp/ empty");

	/* A recipient that never passed the check: nothing at all. */
	env = make_env(hostile, 2);
	r = deliver_open(&d, &env);
	ok(r == -1 && d.what != NULL && strcmp(d.what, "expand") == 0,
	    "open refuses a hostile recipient (%s)", d.what);
	ok(count(at(net, "new"), NULL, 0) == 1 && is_empty(net, "tmp") &&
	    count(at(org, "new"), NULL, 0) == 1 && is_empty(org, "tmp"),
	    "nothing left");

	/* One recipient: "for" in Received:. */
	env = make_env(rcpts + 2, 1);
	ok(deliver_open(&d, &env) == 0 && deliver_close(&d, &res) == 0,
	    "one recipient, empty body");
	ok(count(at(org, "new"), NULL, 0) == 2, "second file in example.org");

	/* Too many recipients for the slots. */
	env = make_env(rcpts, 4);
	env.nrcpt = 5;
	ok(deliver_open(&d, &env) == -1, "more than maxrcpts refused");
	done_with(&d);
	remove_tree(at(root, "dom"));
}

/*
 * One split from RCPT to delivery (issue: "u@[x:a@b]" was checked as
 * [x:a@b]/u and stored in b]/u@[x:a).  Both directories exist, so only
 * the split decides.  %d and an address literal: 550 5.1.2 and nothing
 * stored; %l alone: the local part the parser found.
 */
static void
test_template_split(void)
{
	static const char *const literal[] = { "u@[x:a@b]" };
	static const char *const quoted[] = { "\"a@b\"@example.net" };
	static struct deliver d;
	struct deliver_result res;
	struct envelope env = make_env(literal, 1);
	char tmpl[PATH_MAX];
	char parsed[PATH_MAX];
	char wrong[PATH_MAX];
	char name[256];

	mkdir(at(root, "split"), 0700);
	snprintf(tmpl, sizeof(tmpl), "%s/split/[x:a@b]", root);
	mkdir(tmpl, 0700);
	snprintf(parsed, sizeof(parsed), "%s/split/[x:a@b]/u", root);
	make_maildir(parsed);
	snprintf(tmpl, sizeof(tmpl), "%s/split/b]", root);
	mkdir(tmpl, 0700);
	snprintf(wrong, sizeof(wrong), "%s/split/b]/u@[x:a", root);
	make_maildir(wrong);
	snprintf(tmpl, sizeof(tmpl), "%s/split/%%d/%%l", root);
	ok(deliver_init(&d, DELIVER_MAILDIR_TEMPLATE, tmpl, NULL, 10, 1000)
	    == 0, "init %%d/%%l");
	ok(check(&d, "u@[x:a@b]") == REPLY_NOHOST,
	    "%%d with an address literal: 550 5.1.2");
	ok(check(&d, "u@[192.0.2.1]") == REPLY_NOHOST,
	    "%%d with an IPv4 literal: 550 5.1.2");
	ok(deliver_open(&d, &env) == -1 && strcmp(d.what, "expand") == 0,
	    "delivery refuses it too (%s)", d.what ? d.what : "-");
	ok(count(at(parsed, "new"), NULL, 0) == 0 &&
	    count(at(wrong, "new"), NULL, 0) == 0 && is_empty(parsed, "tmp") &&
	    is_empty(wrong, "tmp"), "nothing stored anywhere");

	/* A quoted local part with '@': its own directory, both times. */
	mkdir(at(root, "split/example.net"), 0700);
	snprintf(parsed, sizeof(parsed), "%s/split/example.net/\"a@b\"",
	    root);
	make_maildir(parsed);
	ok(check(&d, quoted[0]) == REPLY_RCPT_OK, "quoted \"a@b\": 250");
	env = make_env(quoted, 1);
	ok(deliver_open(&d, &env) == 0 && deliver_close(&d, &res) == 0,
	    "and delivered");
	ok(read_only_message(parsed, name, sizeof(name)) == 0,
	    "into example.net/\"a@b\"");
	env.rcpt_domain_off = NULL;
	ok(deliver_open(&d, &env) == -1 && strcmp(d.what, "recipients") == 0,
	    "a template needs the split");
	done_with(&d);

	/* %l only: the domain is not used, so a literal is fine. */
	snprintf(parsed, sizeof(parsed), "%s/split/u", root);
	make_maildir(parsed);
	snprintf(wrong, sizeof(wrong), "%s/split/u@[x:a", root);
	make_maildir(wrong);
	snprintf(tmpl, sizeof(tmpl), "%s/split/%%l", root);
	ok(deliver_init(&d, DELIVER_MAILDIR_TEMPLATE, tmpl, NULL, 10, 1000)
	    == 0, "init %%l");
	ok(check(&d, "u@[x:a@b]") == REPLY_RCPT_OK, "%%l: u exists: 250");
	env = make_env(literal, 1);
	ok(deliver_open(&d, &env) == 0 && deliver_close(&d, &res) == 0,
	    "delivered");
	ok(read_only_message(parsed, name, sizeof(name)) == 0 &&
	    count(at(wrong, "new"), NULL, 0) == 0,
	    "into u, the Maildir RCPT checked, not u@[x:a");
	done_with(&d);
	remove_tree(at(root, "split"));
}

/* new/ of the second Maildir is a regular file: link fails there after it
 * succeeded in the first, and the first must be undone. */
static void
test_all_or_nothing(void)
{
	static const char *const rcpts[] = { "bob@one.example",
	    "carol@two.example" };
	static const char *const rev[] = { "carol@two.example",
	    "bob@one.example" };
	static struct deliver d;
	struct deliver_result res;
	struct envelope env = make_env(rcpts, 2);
	char tmpl[PATH_MAX];
	char one[PATH_MAX];
	char two[PATH_MAX];
	int fd;
	int r;

	snprintf(one, sizeof(one), "%s/aon/one.example", root);
	snprintf(two, sizeof(two), "%s/aon/two.example", root);
	mkdir(at(root, "aon"), 0700);
	make_maildir(one);
	make_maildir(two);
	snprintf(tmpl, sizeof(tmpl), "%s/aon/%%d", root);
	ok(deliver_init(&d, DELIVER_MAILDIR_TEMPLATE, tmpl, NULL, 100, 1000)
	    == 0, "init");
	ok(check(&d, "carol@two.example") == REPLY_RCPT_OK, "two exists");
	rmdir(at(two, "new"));
	fd = open(at(two, "new"), O_WRONLY | O_CREAT, 0600);
	close(fd);

	ok(deliver_open(&d, &env) == 0, "open both");
	ok(deliver_write(&d, "x\n", 2) == 0, "write both");
	r = deliver_close(&d, &res);
	ok(r == -1, "close fails");
	ok(res.reply == REPLY_TEMP_FAIL && res.err == ENOTDIR &&
	    res.what != NULL && strcmp(res.what, "link") == 0,
	    "451, link: ENOTDIR (%s)", res.what ? res.what : "-");
	ok(is_empty(one, "new") && is_empty(one, "tmp") &&
	    is_empty(two, "tmp"), "nothing left in either Maildir");

	env = make_env(rev, 2);
	ok(deliver_open(&d, &env) == 0 && deliver_close(&d, &res) == -1,
	    "failing target first");
	ok(is_empty(one, "new") && is_empty(one, "tmp") &&
	    is_empty(two, "tmp"), "nothing left either way");

	/* tmp/ missing in the second: open fails, the first is undone. */
	unlink(at(two, "new"));
	make_maildir(two);
	rmdir(at(two, "tmp"));
	env = make_env(rcpts, 2);
	ok(deliver_open(&d, &env) == -1 && d.err == ENOENT &&
	    strcmp(d.what, "open tmp") == 0, "open tmp fails");
	ok(is_empty(one, "tmp") && is_empty(one, "new"),
	    "first Maildir undone");
	done_with(&d);
	remove_tree(at(root, "aon"));
}

/* More trace fields than the header buffer holds, and an open over an
 * open message. */
static void
test_many_rcpts(void)
{
	static char addrs[100][80];
	static const char *rcpts[100];
	static struct deliver d;
	struct deliver_result res;
	struct envelope env;
	char dir[PATH_MAX];
	char name[256];
	const char *p;
	size_t i;
	size_t n = 0;

	for (i = 0; i < 100; i++) {
		snprintf(addrs[i], sizeof(addrs[i]),
		    "recipient-number-%03zu@a-rather-long-domain.example.net",
		    i);
		rcpts[i] = addrs[i];
	}
	env = make_env(rcpts, 100);
	join(dir, sizeof(dir), root, "many");
	ok(deliver_init(&d, DELIVER_MAILDIR, dir, NULL, 100, 1000) == 0,
	    "init");
	ok(deliver_open(&d, &env) == 0, "open once");
	ok(deliver_open(&d, &env) == 0, "open again drops the first");
	ok(count(at(dir, "tmp"), NULL, 0) == 1, "only one file in tmp/");
	ok(deliver_write(&d, "body\n", 5) == 0 &&
	    deliver_close(&d, &res) == 0, "close");
	ok(read_only_message(dir, name, sizeof(name)) == 0 &&
	    is_empty(dir, "tmp"), "one file in new/");
	for (p = got; (p = strstr(p, "\nDelivered-To: recipient-number-"))
	    != NULL; p++)
		n++;
	ok(n == 100, "100 Delivered-To: fields (%zu)", n);
	ok(got_len > 4096 && memcmp(got, "Return-Path: <", 14) == 0 &&
	    strstr(got, "number-099@a-rather-long-domain.example.net\n"
	    "Received: ") != NULL &&
	    memcmp(got + got_len - 11, "+0000\nbody\n", 11) == 0,
	    "fields in order, body last");
	done_with(&d);
}

/* RLIMIT_FSIZE with SIGXFSZ ignored: write(2) says EFBIG, which is a
 * storage problem (452 4.3.1), and the file is removed at once. */
static void
test_no_storage(void)
{
	static const char *const rcpts[] = { "bob@example.net" };
	static struct deliver d;
	static char chunk[8192];
	struct deliver_result res;
	struct envelope env = make_env(rcpts, 1);
	struct rlimit old;
	struct rlimit lim;
	char dir[PATH_MAX];
	int wrote;
	int closed;

	join(dir, sizeof(dir), root, "full");
	if (deliver_init(&d, DELIVER_MAILDIR, dir, NULL, 10, 1000) == -1 ||
	    getrlimit(RLIMIT_FSIZE, &old) == -1) {
		ok(0, "setup");
		return;
	}
	memset(chunk, 'x', sizeof(chunk));
	signal(SIGXFSZ, SIG_IGN);
	fflush(stdout);
	lim = old;
	lim.rlim_cur = 4096;
	setrlimit(RLIMIT_FSIZE, &lim);
	wrote = deliver_open(&d, &env) == 0 ? 0 : -2;
	if (wrote == 0)
		wrote = deliver_write(&d, chunk, sizeof(chunk));
	deliver_write(&d, chunk, sizeof(chunk));
	closed = deliver_close(&d, &res);
	setrlimit(RLIMIT_FSIZE, &old);

	ok(wrote == -1, "write past the limit fails");
	ok(closed == -1 && res.reply == REPLY_NO_STORAGE &&
	    res.err == EFBIG, "452 4.3.1 for EFBIG (%s)",
	    res.what ? res.what : "-");
	ok(is_empty(dir, "tmp") && is_empty(dir, "new"), "nothing left");
	done_with(&d);
}

int
main(void)
{
	if (mkdtemp(root) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	diag("in %s", root);
	test_single();
	test_held_back();
	test_init_errors();
	test_template_check();
	test_template_deliver();
	test_template_split();
	test_all_or_nothing();
	test_many_rcpts();
	test_no_storage();
	remove_tree(root);
	return tap_done();
}
