#!/usr/bin/env bats
# hostile.bats: clients that try to hold a connection forever.  TIMEOUT
# bounds each wait for input; a client that sends one octet just before
# each TIMEOUT passes every one of them, so SESSIONTIMEOUT bounds the
# whole session (421 4.4.2, RFC 5321 4.5.3.2 lets a server give up).
# Memory under hostile input is measured by tests/rss.sh (README).

load helpers/common

E='EHLO client.example\r\n'
D='MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n'

# trickle [-i SECONDS] PREFIX TEXT: tests/helpers/trickle.py against the
# server.
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

@test "a command trickled one octet per 0.6 s (TIMEOUT=1) is cut off at SESSIONTIMEOUT=3: 421 4.4.2" {
	start_server TIMEOUT=1 SESSIONTIMEOUT=3
	trickle '' 'NOOP this command never ends, one octet at a time'
	assert_success
	assert_replies 220 "421 4.4.2"
	assert_reply_line '^421 4\.4\.2 Session time limit'
	# Cut at about 3 s; the client would have gone on for 30.
	local ms
	ms=$(closed_after)
	[ -n "$ms" ] || fail "never closed: $output"
	[ "$ms" -ge 1500 ] && [ "$ms" -lt 6000 ] || fail "cut after $ms ms"
	wait_for_log 'info: .*end: timeout'
}

@test "a message body trickled one octet before each TIMEOUT: 421 4.4.2 at SESSIONTIMEOUT, nothing stored or left in tmp/" {
	start_server TIMEOUT=1 SESSIONTIMEOUT=4
	trickle "$E$D" 'Subject: slow\r\n\r\nthis body arrives far too slowly'
	assert_success
	assert_replies 220 250 "250 2.1.0" "250 2.1.5" 354 "421 4.4.2"
	assert_reply_line '^421 4\.4\.2 Session time limit'
	local ms
	ms=$(closed_after)
	[ -n "$ms" ] || fail "never closed: $output"
	[ "$ms" -lt 6000 ] || fail "cut after $ms ms"
	wait_for_log 'info: .*end: timeout'
	assert_stored 0
}

@test "a slow but steady session that ends within SESSIONTIMEOUT delivers" {
	start_server TIMEOUT=1 SESSIONTIMEOUT=10
	trickle -i 0.3 "$E$D" 'x\r\n.\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 "250 2.1.0" "250 2.1.5" 354 "250 2.0.0" "221 2.0.0"
	assert_stored 1
}
