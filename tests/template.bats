#!/usr/bin/env bats
# template.bats: `smtpd maildir TEMPLATE` as a user runs it, under
# tcpserver with real clients: %l and %d (lowercased) pick each
# recipient's Maildir, a missing one is 550 5.1.1 at RCPT, hostile local
# parts never name a path outside the tree, and a message to several
# Maildirs is committed in all of them or in none, each copy with the
# Delivered-To: of its own recipients.  (maildir.bats has the same rules
# on pipes.)

load helpers/common

setup()
{
	common_setup
	ROOT=$T/mail
	DELIVERY=(maildir "$ROOT/%d/%l")
}

mkmaildir()
{
	local d
	for d in "$@"; do
		mkdir -p "$ROOT/$d/tmp" "$ROOT/$d/new" "$ROOT/$d/cur"
	done
}

# Files in DIR/new (and DIR/tmp, which must be empty).
stored_in()
{
	local n
	n=$(find "$ROOT/$1/tmp" -type f | wc -l)
	[ "$n" -eq 0 ] || fail "$1/tmp is not empty"
	find "$ROOT/$1/new" -type f | wc -l
}

# smtplib_send RCPT...: one message from a@example.org through the
# server; prints the refused recipients and the final outcome.
smtplib_send()
{
	"$PY" - "$PORT" "$@" <<'EOF'
import smtplib, sys
port, rcpts = int(sys.argv[1]), sys.argv[2:]
msg = "Subject: template\r\nFrom: a@example.org\r\n\r\nhello\r\n"
try:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example") as s:
        refused = s.sendmail("a@example.org", rcpts, msg)
        for r, (code, text) in sorted(refused.items()):
            print("refused", r, code, text.decode())
        print("sent")
except smtplib.SMTPRecipientsRefused as e:
    for r, (code, text) in sorted(e.recipients.items()):
        print("refused", r, code, text.decode())
    print("none accepted")
except smtplib.SMTPDataError as e:
    print("data error", e.smtp_code, e.smtp_error.decode())
EOF
}

@test "swaks: each recipient's own Maildir, %l and %d lowercased, its own Delivered-To" {
	mkmaildir example.net/bob example.net/carol example.org/bob
	start_server
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to Bob@Example.NET,carol@example.net,BOB@example.org \
	    --header 'Subject: per recipient' --timeout 10
	assert_success
	assert_output --regexp '<-  250 2\.0\.0'
	[ "$(stored_in example.net/bob)" -eq 1 ]
	[ "$(stored_in example.net/carol)" -eq 1 ]
	[ "$(stored_in example.org/bob)" -eq 1 ]
	run grep '^Delivered-To:' "$ROOT"/example.net/bob/new/*
	assert_output 'Delivered-To: Bob@Example.NET'
	run grep '^Delivered-To:' "$ROOT"/example.net/carol/new/*
	assert_output 'Delivered-To: carol@example.net'
	run grep '^Delivered-To:' "$ROOT"/example.org/bob/new/*
	assert_output 'Delivered-To: BOB@example.org'
	# nothing was created for the mixed-case spellings
	[ "$(ls "$ROOT")" = "$(printf 'example.net\nexample.org')" ]
	[ "$(ls "$ROOT/example.net")" = "$(printf 'bob\ncarol')" ]
}

@test "two spellings of one mailbox get one copy with both Delivered-To fields" {
	mkmaildir example.net/bob
	start_server
	run smtplib_send bob@example.net BOB@EXAMPLE.NET
	assert_output sent
	[ "$(stored_in example.net/bob)" -eq 1 ]
	run grep -c '^Delivered-To: ' "$ROOT"/example.net/bob/new/*
	assert_output 2
}

@test "a %d-only template: one Maildir per domain" {
	DELIVERY=(maildir "$ROOT/%d")
	mkmaildir example.net
	start_server
	run smtplib_send x@example.net y@Example.Net z@example.com
	assert_output $'refused z@example.com 550 5.1.1 No such mailbox here\nsent'
	[ "$(stored_in example.net)" -eq 1 ]
	run grep -c '^Delivered-To: ' "$ROOT"/example.net/new/*
	assert_output 2
}

@test "a recipient without a Maildir: 550 5.1.1 at RCPT, the others still get it" {
	mkmaildir example.net/bob
	start_server
	run smtplib_send nobody@example.net bob@example.net
	assert_output $'refused nobody@example.net 550 5.1.1 No such mailbox here\nsent'
	[ "$(stored_in example.net/bob)" -eq 1 ]
	[ ! -e "$ROOT/example.net/nobody" ]
	# a directory without new/ is not a Maildir
	mkdir -p "$ROOT/example.net/half/tmp"
	run smtplib_send half@example.net
	assert_output $'refused half@example.net 550 5.1.1 No such mailbox here\nnone accepted'
}

@test "hostile local parts: /, ., .., a leading dot: 550 5.1.1, nothing outside the tree" {
	mkmaildir example.net/bob example.net/x example.net .x
	mkdir -p "$T/outside/new" "$T/outside/tmp" "$T/outside/cur"
	ln -s "$T/outside" "$ROOT/example.net/link"
	start_server
	run client -t 10 expect:^220 \
	    send:'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n' \
	    send:'RCPT TO:<"../bob"@example.net>\r\n' \
	    send:'RCPT TO:<"bob/../x"@example.net>\r\n' \
	    send:'RCPT TO:<".."@example.net>\r\n' \
	    send:'RCPT TO:<"."@example.net>\r\n' \
	    send:'RCPT TO:<"/etc"@example.net>\r\n' \
	    send:'RCPT TO:<".x"@example.net>\r\n' \
	    send:'RCPT TO:<"a\\/b"@example.net>\r\n' \
	    send:'QUIT\r\n' expect:^221
	assert_success
	run bash -c "tr -d '\r' <'$T/raw' | grep -E '^[0-9]{3} ' | cut -c1-9"
	assert_output $'220 smtp.\n250 ENHAN\n250 2.1.0\n550 5.1.1\n550 5.1.1\n550 5.1.1\n550 5.1.1\n550 5.1.1\n550 5.1.1\n550 5.1.1\n221 2.0.0'
	[ "$(find "$ROOT" "$T/outside" -type f | wc -l)" -eq 0 ]
}

@test "a NUL or a control character in the local part never reaches the template" {
	mkmaildir example.net/bob
	start_server
	run client -t 10 expect:^220 \
	    send:'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n' \
	    send:'RCPT TO:<"bob\0x"@example.net>\r\n' \
	    send:'RCPT TO:<"bob\x01"@example.net>\r\n' \
	    send:'QUIT\r\n' expect:^221
	assert_success
	run bash -c "tr -d '\r' <'$T/raw' | grep -c '^250 2\.1\.5'"
	assert_output 0
	run bash -c "tr -d '\r' <'$T/raw' | grep -E '^[45][0-9]{2} ' | wc -l"
	assert_output 2
	[ "$(find "$ROOT" -type f | wc -l)" -eq 0 ]
}

@test "all or nothing: one Maildir that fails at the end means 451 and no copy anywhere" {
	mkmaildir example.net/bob example.net/carol
	start_server
	client -t 10 expect:^220 \
	    send:'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n' \
	    send:'RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\n' \
	    expect:'^250 2.1.5' expect:'^250 2.1.5' \
	    send:'DATA\r\n' expect:^354 sleep:1 \
	    send:'Subject: x\r\n\r\nbody\r\n.\r\n' expect:'^[245]' \
	    send:'QUIT\r\n' expect:^221 >"$T/client.out" &
	local cpid=$! i
	# both copies are open in tmp/; now carol's new/ becomes a file, so
	# her link fails at the end, and bob's copy must be undone with it
	for i in $(seq 60); do
		[ -n "$(ls "$ROOT/example.net/carol/tmp")" ] && break
		sleep 0.05
	done
	[ -n "$(ls "$ROOT/example.net/bob/tmp")" ]
	rmdir "$ROOT/example.net/carol/new"
	: >"$ROOT/example.net/carol/new"
	wait "$cpid"
	run bash -c "tr -d '\r' <'$T/client.out' | grep -E '^[0-9]{3} ' | tail -n 2"
	assert_output --regexp $'^451 4\\.3\\.0 [^\n]*\n221 '
	[ "$(stored_in example.net/bob)" -eq 0 ]
	[ -z "$(ls "$ROOT/example.net/carol/tmp")" ]
	# and once carol's Maildir is whole again, both get the next one
	rm "$ROOT/example.net/carol/new"
	mkdir "$ROOT/example.net/carol/new"
	run smtplib_send bob@example.net carol@example.net
	assert_output sent
	[ "$(stored_in example.net/bob)" -eq 1 ]
	[ "$(stored_in example.net/carol)" -eq 1 ]
}

# RCPT and delivery split a recipient in one place, the parser's: a
# general address literal may hold '@' ("[x:a@b]"), so cutting at the
# last '@' checked [x:a@b]/u but stored into b]/u@[x:a.  Both exist here,
# so only the split decides.
@test "an address literal under %d: 550 5.1.2 at RCPT, never a Maildir cut at its '@'" {
	mkmaildir '[x:a@b]/u' 'b]/u@[x:a' '[192.0.2.1]/u' example.net/bob
	start_server
	run client -t 10 expect:^220 \
	    send:'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n' \
	    expect:^250 expect:^250 \
	    send:'RCPT TO:<u@[x:a@b]>\r\n' sleep:0.1 \
	    send:'RCPT TO:<u@[192.0.2.1]>\r\nRCPT TO:<u@[IPv6:::1]>\r\n' \
	    send:'RCPT TO:<u@[x:a/../../b]>\r\nRCPT TO:<bob@example.net>\r\n' \
	    expect:'^[245]' expect:'^[245]' expect:'^[245]' expect:'^[245]' \
	    expect:'^250 2.1.5' \
	    send:'DATA\r\n' expect:^354 \
	    send:'Subject: s\r\n\r\nbody\r\n.\r\n' expect:'^250 2.0.0' \
	    send:'QUIT\r\n' expect:^221
	assert_success
	run bash -c "tr -d '\r' <'$T/raw' | grep -E '^5' | cut -c1-9 | sort | uniq -c"
	assert_output --regexp '^ *4 550 5\.1\.2$'
	[ "$(stored_in example.net/bob)" -eq 1 ]
	[ "$(stored_in '[x:a@b]/u')" -eq 0 ]
	[ "$(stored_in 'b]/u@[x:a')" -eq 0 ]
	[ "$(stored_in '[192.0.2.1]/u')" -eq 0 ]
	[ "$(find "$ROOT" -type f | wc -l)" -eq 1 ]
}

@test "a %l-only template: a literal domain is fine, the message goes where RCPT looked" {
	DELIVERY=(maildir "$ROOT/%l")
	mkmaildir u 'u@[x:a'
	start_server
	run client -t 10 expect:^220 \
	    send:'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n' \
	    send:'RCPT TO:<u@[x:a@b]>\r\n' \
	    expect:^250 expect:^250 expect:'^250 2.1.5' \
	    send:'DATA\r\n' expect:^354 \
	    send:'Subject: s\r\n\r\nbody\r\n.\r\n' expect:'^250 2.0.0' \
	    send:'QUIT\r\n' expect:^221
	assert_success
	[ "$(stored_in u)" -eq 1 ]
	[ "$(stored_in 'u@[x:a')" -eq 0 ]
	run grep '^Delivered-To:' "$ROOT"/u/new/*
	assert_output 'Delivered-To: u@[x:a@b]'
}

@test "quoted local parts with @, / and dots: their own Maildir or 550, nothing outside the tree" {
	mkmaildir 'example.net/"a@b"' example.net/b example.net/bob
	mkdir -p "$T/outside/new" "$T/outside/tmp" "$T/outside/cur"
	start_server
	run client -t 10 expect:^220 \
	    send:'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n' \
	    send:'RCPT TO:<"a@b"@example.net>\r\n' \
	    send:'RCPT TO:<"x@../../../outside"@example.net>\r\n' \
	    send:'RCPT TO:<"..@b"@example.net>\r\n' \
	    send:'RCPT TO:<".bob"@example.net>\r\n' \
	    send:'RCPT TO:<"@"@example.net>\r\n' \
	    expect:^250 expect:^250 expect:'^250 2.1.5' \
	    expect:'^550 5.1.1' expect:'^550 5.1.1' expect:'^550 5.1.1' \
	    expect:'^550 5.1.1' \
	    send:'DATA\r\n' expect:^354 \
	    send:'Subject: s\r\n\r\nbody\r\n.\r\n' expect:'^250 2.0.0' \
	    send:'QUIT\r\n' expect:^221
	assert_success
	[ "$(stored_in 'example.net/"a@b"')" -eq 1 ]
	[ "$(find "$ROOT" "$T/outside" -type f | wc -l)" -eq 1 ]
}
