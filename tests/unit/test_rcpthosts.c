/*
 * test_rcpthosts.c: the RCPTHOSTS matcher (lib/rcpthosts.c) as a pure
 * function of the list's text, and the reading of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/rcpthosts.h"
#include "tap.h"

static int
match(const char *list, const char *domain)
{
	return rcpthosts_match(list, strlen(list), domain, strlen(domain));
}

static void
test_exact(void)
{
	const char *list = "example.com\nexample.net\n";

	ok(match(list, "example.com"), "a listed domain");
	ok(match(list, "example.net"), "the last line");
	ok(match(list, "EXAMPLE.Com"), "ASCII case does not matter");
	ok(!match(list, "example.org"), "an unlisted domain");
	ok(!match(list, "sub.example.com"), "no subdomain without a dot entry");
	ok(!match(list, "xexample.com"), "no suffix match");
	ok(!match(list, "example.co"), "no prefix match");
	ok(!match(list, ""), "the empty domain");
	ok(match("example.com", "example.com"), "no final LF");
}

static void
test_dot(void)
{
	const char *list = ".example.org\n";

	ok(match(list, "mx.example.org"), ".domain: a subdomain");
	ok(match(list, "a.b.EXAMPLE.ORG"), ".domain: deeper, any case");
	ok(!match(list, "example.org"), ".domain: not the domain itself");
	ok(!match(list, "badexample.org"), ".domain: a label boundary");
	ok(!match(list, ".example.org"), ".domain: not the entry's own text");
}

static void
test_format(void)
{
	const char *list = "# a comment\n\n  \nexample.com \t\r\n"
	    "#example.net\r\nexample.org\r\n";

	ok(match(list, "example.com"), "trailing blanks and CR ignored");
	ok(match(list, "example.org"), "CRLF line ends");
	ok(!match(list, "example.net"), "a commented-out line");
	ok(!match(list, "# a comment"), "a comment is not a domain");
	ok(!match(list, ""), "blank lines match nothing");
	ok(!match("", "example.com"), "an empty list matches nothing");
	ok(!match(" example.com\n", "example.com"),
	    "leading blanks are part of the entry (as qmail)");
	ok(match("a\xc3\xa9.example\n", "A\xc3\xa9.EXAMPLE"),
	    "UTF-8 octets compare as they are, ASCII folded");
	ok(!match("\xc3\xa9.example\n", "\xc3\x89.example"),
	    "no case folding outside ASCII");
}

static void
test_read(void)
{
	char path[] = "/tmp/test_rcpthosts.XXXXXX";
	struct rcpthosts h = { NULL, 0 };
	int fd = mkstemp(path);

	if (!ok(fd >= 0, "temporary file"))
		return;
	ok(write(fd, "example.com\n.example.org\n", 25) == 25, "written");
	close(fd);
	ok(rcpthosts_read(&h, path) == 0 && h.text != NULL && h.len == 25,
	    "read whole (%zu)", h.len);
	ok(rcpthosts_match(h.text, h.len, "mx.example.org", 14),
	    "matched from the file");
	free(h.text);
	unlink(path);
	h.text = NULL;
	errno = 0;
	ok(rcpthosts_read(&h, path) == -1 && errno == ENOENT &&
	    h.text == NULL, "a missing file: ENOENT, nothing kept");
}

int
main(void)
{
	test_exact();
	test_dot();
	test_format();
	test_read();
	return tap_done();
}
