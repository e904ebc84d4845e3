#!/usr/bin/env bats
# policy.bats: which recipients are accepted: RCPTHOSTS (qmail's format),
# RELAYCLIENT, and both set per client by tcprules under tcpserver -x.

load helpers/common

rcpt_replies()
{
	# rcpt_replies ADDRESS...: one RCPT each in one transaction
	local in="$E$M" a
	for a in "$@"; do in="${in}RCPT TO:<$a>\r\n"; done
	printf '%s' "$in$Q"
}

setup()
{
	common_setup
	printf 'example.net\n.sub.example.com\n' >"$T/rcpthosts"
}

@test "RCPTHOSTS: listed domains and subdomains of .domain entries are accepted, case-insensitively" {
	run smtp_session "$(rcpt_replies b@example.net B@EXAMPLE.NET x@a.sub.example.com x@deep.a.sub.example.com)" \
	    RCPTHOSTS="$T/rcpthosts"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" \
	    "250 2.1.5" "250 2.1.5" "221 2.0.0"
}

@test "RCPTHOSTS: other domains are 550 5.7.1 (relaying denied)" {
	run smtp_session "$(rcpt_replies x@sub.example.com x@elsewhere.example x@example.net.evil.example x@notexample.net 'x@[192.0.2.1]')" \
	    RCPTHOSTS="$T/rcpthosts"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "550 5.7.1" "550 5.7.1" \
	    "550 5.7.1" "550 5.7.1" "550 5.7.1" "221 2.0.0"
}

@test "RCPTHOSTS: <postmaster> is always accepted (RFC 5321 4.5.1)" {
	run smtp_session "$(rcpt_replies postmaster)" RCPTHOSTS="$T/rcpthosts"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "221 2.0.0"
}

@test "RCPTHOSTS: only accepted recipients get the message" {
	run smtp_session "${E}${M}RCPT TO:<b@example.net>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: p\r\n\r\nx\r\n.\r\n$Q" \
	    RCPTHOSTS="$T/rcpthosts"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "550 5.7.1" "354" \
	    "250 2.0.0" "221 2.0.0"
	run grep '^Delivered-To:' "$(message_file)"
	assert_output 'Delivered-To: b@example.net'
}

@test "RCPTHOSTS: the sender's domain does not matter" {
	run smtp_session "${E}MAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<b@example.net>\r\n$Q" \
	    RCPTHOSTS="$T/rcpthosts"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "221 2.0.0"
}

@test "RELAYCLIENT (even empty) accepts a recipient outside RCPTHOSTS" {
	run smtp_session "$(rcpt_replies x@elsewhere.example b@example.net)" \
	    RCPTHOSTS="$T/rcpthosts" RELAYCLIENT=
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" \
	    "221 2.0.0"
}

@test "without RCPTHOSTS, recipients in two unlisted domains are accepted" {
	run smtp_session "$(rcpt_replies x@elsewhere.example y@anything.example)"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" \
	    "221 2.0.0"
}

@test "tcprules: RELAYCLIENT for 127.0.0.1 only; 127.0.0.2 gets 550 5.7.1" {
	printf '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n' >"$T/rules.txt"
	tcprules "$T/rules.cdb" "$T/rules.tmp" <"$T/rules.txt"
	SERVER_OPTS=(-x "$T/rules.cdb")
	start_server RCPTHOSTS="$T/rcpthosts"
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to x@elsewhere.example --timeout 10
	assert_success
	assert_stored 1
	run swaks --server "127.0.0.1:$PORT" --local-interface 127.0.0.2 \
	    --helo client.example --from a@example.org \
	    --to x@elsewhere.example --timeout 10
	[ "$status" -eq 24 ] || fail "swaks exit $status, expected 24: $output"
	assert_output --regexp '<\*\* +550 5\.7\.1'
	assert_stored 1
}

@test "tcprules: SMTPGREETING and DATABYTES per client" {
	printf '127.0.0.1:allow,SMTPGREETING="trusted.example",DATABYTES="2048"\n:allow\n' >"$T/rules.txt"
	tcprules "$T/rules.cdb" "$T/rules.tmp" <"$T/rules.txt"
	SERVER_OPTS=(-x "$T/rules.cdb")
	start_server
	run client "send:EHLO client.example\r\nQUIT\r\n"
	assert_success
	assert_line --index 0 --regexp '^220 trusted\.example'
	assert_line --regexp '^250[- ]SIZE 2048$'
}

@test "RCPTHOSTS names a missing file: exit 111 (temporary), a fatal: line, no 250" {
	run smtp_session "$E$Q" RCPTHOSTS="$T/missing"
	[ "$status" -eq 111 ] || fail "exit $status, expected 111"
	refute_reply_line '^250'
	grep -q 'fatal: .*RCPTHOSTS' "$T/err"
}
