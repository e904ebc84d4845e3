#!/usr/bin/env bats
# hostile.bats: clients that try to hold a connection forever, and header
# injection through the envelope.  TIMEOUT bounds each wait for input; a
# client that sends one octet just before each TIMEOUT passes every one
# of them, so SESSIONTIMEOUT bounds the whole session (421 4.4.2; RFC
# 5321 4.5.3.2 lets a server give up).  Memory under hostile input is
# measured by tests/rss.sh (SECURITY.md, "Exhaustion").

load helpers/common

D='MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n'

# trickle [-i SECONDS] PREFIX TEXT: tests/helpers/trickle.py against the
# server (one octet every 0.5 s by default, well inside TIMEOUT=2 even on
# a loaded machine).
trickle()
{
	run "$PY" "$HELPERS/trickle.py" -p "$PORT" -t 30 "$@"
	output=$(printf '%s\n' "$output" | tr -d '\r')
}

# The milliseconds the server took to close, from trickle.py's last line.
closed_after()
{
	printf '%s\n' "$output" | sed -n 's/^closed after \([0-9]*\) ms$/\1/p'
}

@test "a command trickled one octet per 0.5 s (TIMEOUT=2) is cut off at SESSIONTIMEOUT=4: 421 4.4.2" {
	start_server TIMEOUT=2 SESSIONTIMEOUT=4
	trickle '' 'NOOP this command never ends, one octet at a time'
	assert_success
	assert_replies 220 "421 4.4.2"
	assert_reply_line '^421 4\.4\.2 Session time limit'
	# Cut at about 4 s; the client would have gone on for 25.
	local ms
	ms=$(closed_after)
	[ -n "$ms" ] || fail "never closed: $output"
	[ "$ms" -ge 2500 ] && [ "$ms" -lt 8000 ] || fail "cut after $ms ms"
	wait_for_log 'info: .*end: timeout'
}

@test "a message body trickled one octet before each TIMEOUT: 421 4.4.2 at SESSIONTIMEOUT, nothing stored or left in tmp/" {
	start_server TIMEOUT=2 SESSIONTIMEOUT=4
	trickle "$E$D" 'Subject: slow\r\n\r\nthis body arrives far too slowly'
	assert_success
	assert_replies 220 250 "250 2.1.0" "250 2.1.5" 354 "421 4.4.2"
	assert_reply_line '^421 4\.4\.2 Session time limit'
	local ms
	ms=$(closed_after)
	[ -n "$ms" ] || fail "never closed: $output"
	[ "$ms" -lt 8000 ] || fail "cut after $ms ms"
	wait_for_log 'info: .*end: timeout'
	assert_stored 0
}

@test "a slow but steady session that ends within SESSIONTIMEOUT delivers" {
	start_server TIMEOUT=2 SESSIONTIMEOUT=10
	trickle -i 0.3 "$E$D" 'x\r\n.\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 "250 2.1.0" "250 2.1.5" 354 "250 2.0.0" "221 2.0.0"
	assert_stored 1
}

@test "header injection through HELO, MAIL and RCPT: CR, LF and comment tricks never reach the stored header" {
	run smtp_session "HELO evil\rX-Injected: 1\r\nHELO evil (forged.example [6.6.6.6])\r\nEHLO evil\nX-Injected: 2\r\nEHLO client.example\r\nMAIL FROM:<a@example.org>\rX-Injected: 3\r\nMAIL FROM:<\"a\\\\\r\nX-Injected: 4\"@example.org>\r\nMAIL FROM:<\"a (b) ;c\"@example.org>\r\nRCPT TO:<b@example.net>\rX-Injected: 5\r\nRCPT TO:<\"x;for <v@example.com>\"@example.net>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n" \
	    TCPREMOTEIP=192.0.2.7 TCPLOCALHOST=mx.test
	assert_success
	# Every trick is refused by the grammar: controls in a command, a
	# HELO of several words, a command ending in a bare LF (what
	# follows it is a line of its own, and not a command), a quoted
	# string cut by CRLF.
	assert_replies 220 "501 5.5.4" "501 5.5.4" "500 5.5.2" "500 5.5.2" \
	    250 "501 5.5.4" "501 5.1.7" "500 5.5.2" "250 2.1.0" "501 5.5.4" \
	    "250 2.1.5" 354 "250 2.0.0" "221 2.0.0"
	local f
	f=$(message_file)
	run grep -c 'Injected' "$f"
	assert_output 0
	# The header is exactly Return-Path, Delivered-To, Received (with
	# its continuation lines), then the client's own Subject.
	run sed -n '1,/^$/p' "$f"
	assert_line --index 0 --regexp '^Return-Path: <"a[^"]*c"@example\.org>$'
	assert_line --index 1 --regexp '^Delivered-To: "x[^"]*"@example\.net$'
	assert_line --index 2 --regexp '^Received: from client\.example '
	run grep -cvE '^(Return-Path|Delivered-To|Received|Subject): |^	|^$' \
	    <(sed -n '1,/^$/p' "$f")
	assert_output 0
	run grep -c '^Subject: ' "$f"
	assert_output 1
}
