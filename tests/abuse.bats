#!/usr/bin/env bats
# abuse.bats: a client that makes errors on purpose, and a session that
# must not outlive SESSIONTIMEOUT, tested the way an attacker runs them:
# through tcpserver, thousands of pipelined lines cut across TCP segments
# with pauses, slow programs that eat the session's time.
#
# - ERRORLIMIT: refused recipients count with bad commands; at the limit
#   421 4.7.0, so that probing for mailboxes gets a few guesses a
#   connection, not line rate, nor a RCPTCHECK process per guess.
# - TARPITCOUNT / TARPITDELAY: after the first errors, a growing pause.
# - The log gets at most 50 refusal lines a session, then one summary.
# - SESSIONTIMEOUT: RCPTCHECK, checkpassword, AUTHDELAY, the pipe
#   program and writes to the client all end by it, with 421 4.4.2.
# Timings are asserted as bounds with a margin, never exactly.

load helpers/common

setup()
{
	common_setup
	ROOT=$T/mail
	RC=$T/rc
	mkdir -p "$RC"
}

teardown()
{
	local f p
	for f in "$T"/pid.* "$RC"/pid.*; do
		[ -f "$f" ] || continue
		while read -r p; do
			kill "$p" 2>/dev/null || true
		done <"$f"
	done
	common_teardown
}

mkmaildir()
{
	local d
	for d in "$@"; do
		mkdir -p "$ROOT/$d/tmp" "$ROOT/$d/new" "$ROOT/$d/cur"
	done
}

# flood COUNT LINE [TAIL] [options...]: tests/helpers/flood-client.py
# against the server, after EHLO and MAIL (or $HEAD); the seconds from
# the connection to the server's close in $T/elapsed.
flood()
{
	local n=$1 line=$2 tail=${3:-}
	shift 3 || shift $#
	"$PY" "$HELPERS/flood-client.py" -p "$PORT" -e "$T/elapsed" -n "$n" \
	    "$@" "${HEAD-$E$M}" "$line" "$tail" >"$T/raw"
	tr -d '\r' <"$T/raw"
}

# elapsed_below SECONDS: the server closed, within SECONDS of the connect.
# The bounds for SESSIONTIMEOUT are the deadline plus a second, and half a
# second more for smtpd's start (its clock starts after the connect) on a
# loaded machine.
elapsed_below()
{
	local e
	e=$(cat "$T/elapsed")
	[ "$e" != none ] || fail "the server did not close the connection"
	awk -v e="$e" -v max="$1" 'BEGIN { exit !(e < max) }' ||
	    fail "the session lasted $e s, not below $1 s"
}

elapsed_above()
{
	local e
	e=$(cat "$T/elapsed")
	[ "$e" != none ] || fail "the server did not close the connection"
	awk -v e="$e" -v min="$1" 'BEGIN { exit !(e >= min) }' ||
	    fail "the session lasted $e s, less than $1 s"
}

# A program that sleeps SECONDS, records its pid in $T/pid.NAME, then
# runs the rest of its arguments.
slow_program()
{
	local name=$1 secs=$2
	shift 2
	cat >"$T/$name" <<EOF
#!/bin/sh
echo \$\$ >>"$T/pid.$name"
sleep $secs
$*
EOF
	chmod +x "$T/$name"
}

# has_reply REGEX: a reply line of $output matches; on failure shows the
# last replies only (a flood's transcript is long).
has_reply()
{
	grep -qE "$1" <<<"$output" ||
	    fail "no reply matching /$1/; the last: $(final_replies | tail -n 3)"
}

# Every pid in $T/pid.NAME has ended (killed and reaped, no zombie).
assert_programs_gone()
{
	local p
	[ -s "$T/pid.$1" ] || fail "the $1 program never ran"
	while read -r p; do
		[ ! -e "/proc/$p" ] || fail "$1 program $p still exists: \
$(cat "/proc/$p/stat" 2>/dev/null)"
	done <"$T/pid.$1"
}

# --- ERRORLIMIT: refused recipients are counted ---

@test "20,000 pipelined RCPTs to missing Maildirs, in segments: 421 4.7.0 at ERRORLIMIT, a bounded log" {
	mkmaildir example.net/alice
	DELIVERY=(maildir "$ROOT/%d/%l")
	start_server TARPITDELAY=0
	run flood 20000 'RCPT TO:<guess{i}@example.net>\r\n' "$Q" -s 500 \
	    -z 0.01
	assert_success
	local n550
	n550=$(grep -c '^550 5\.1\.1' <<<"$output" || true)
	[ "$n550" -eq 19 ] || fail "$n550 replies 550 before the limit"
	has_reply '^421 4\.7\.0'
	[ "$(final_replies | wc -l)" -le 25 ] ||
	    fail "$(final_replies | wc -l) replies"
	elapsed_below 10
	wait_for_log 'end: too many errors'
	[ "$(wc -l <"$T/server.log")" -le 30 ] ||
	    fail "$(wc -l <"$T/server.log") log lines: $(tail -3 "$T/server.log")"
}

@test "2,000 pipelined RCPTs with RCPTCHECK refusing each: a bounded number of RCPTCHECK processes" {
	start_server RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC" TARPITDELAY=0
	run flood 2000 'RCPT TO:<nobody{i}@example.net>\r\n' "$Q" -s 200 \
	    -z 0.01
	assert_success
	has_reply '^421 4\.7\.0'
	local runs
	runs=$(find "$RC" -maxdepth 1 -name 'lock.*' | wc -l)
	[ "$runs" -le 20 ] || fail "RCPTCHECK ran $runs times"
	elapsed_below 20
}

@test "ERRORLIMIT is a variable; bad commands and refused recipients share it" {
	DELIVERY=(maildir "$ROOT/%d/%l")
	run smtp_session "$E${M}RCPT TO:<x1@example.net>\r\nXYZZY\r\nRCPT TO:<x2@example.net>\r\nRCPT TO:<x3@example.net>\r\nNOOP\r\n$Q" \
	    ERRORLIMIT=4 TARPITDELAY=0
	assert_replies 220 250 250 '550 5.1.1' '500 5.5.2' '550 5.1.1' \
	    '421 4.7.0'
	grep -q 'end: too many errors' "$T/err"
}

@test "the log keeps 50 refusal lines a session, then one summary line" {
	DELIVERY=(maildir "$ROOT/%d/%l")
	start_server ERRORLIMIT=1000 TARPITDELAY=0
	run flood 1000 'RCPT TO:<guess{i}@example.net>\r\n' "$Q" -s 100
	assert_success
	has_reply '^421 4\.7\.0'
	wait_for_log 'end: too many errors'
	[ "$(grep -c 'recipient <guess' "$T/server.log")" -eq 50 ] ||
	    fail "$(grep -c 'recipient <guess' "$T/server.log") refusal lines"
	grep -q ': 950 more refusals not logged$' "$T/server.log" ||
	    fail "no summary line: $(tail -3 "$T/server.log")"
	[ "$(wc -l <"$T/server.log")" -le 60 ] ||
	    fail "$(wc -l <"$T/server.log") log lines"
}

# --- the tarpit ---

@test "the tarpit: TARPITCOUNT=2, TARPITDELAY=1, ERRORLIMIT=5: four 550s and a 421 take 3 s to 10 s in all" {
	DELIVERY=(maildir "$ROOT/%d/%l")
	start_server TARPITCOUNT=2 TARPITDELAY=1 ERRORLIMIT=5
	# errors 3 and 4 pause 1 s and 2 s; the 5th is 421 at once
	run flood 10 'RCPT TO:<guess{i}@example.net>\r\n' "$Q" -s 1 -z 0.05
	assert_success
	[ "$(grep -c '^550 5\.1\.1' <<<"$output")" -eq 4 ]
	has_reply '^421 4\.7\.0'
	elapsed_above 3
	elapsed_below 10
	wait_for_log 'tarpit: 3 errors \(TARPITCOUNT 2\), slowing down'
}

@test "the default tarpit: 12 refused recipients, all answered, take 3 s to 10 s in all" {
	DELIVERY=(maildir "$ROOT/%d/%l")
	start_server
	run flood 12 'RCPT TO:<guess{i}@example.net>\r\n' "$Q" -s 4
	assert_success
	[ "$(grep -c '^550 5\.1\.1' <<<"$output")" -eq 12 ]
	assert_reply_line '^221'
	elapsed_above 3
	elapsed_below 10
}

@test "an honest list session: a few dead addresses in each of two messages, not slowed, all delivered" {
	local i good=() rcpts=""
	for i in $(seq 40); do good+=("example.net/member$i"); done
	mkmaildir "${good[@]}"
	DELIVERY=(maildir "$ROOT/%d/%l")
	start_server
	# 40 members and 6 dead addresses per message; 6 / 2 + 6 stays
	# below TARPITCOUNT: the second message is not slowed either
	for i in $(seq 40); do
		rcpts="${rcpts}RCPT TO:<member$i@example.net>\r\n"
		[ $((i % 6)) -ne 0 ] ||
		    rcpts="${rcpts}RCPT TO:<gone$i@example.net>\r\n"
	done
	run client expect:^220 send:"$E" expect:'^250 ' \
	    send:"$M$rcpts" send:'DATA\r\n' expect:^354 send:"$MSG" \
	    expect:'^250 2\.0\.0' \
	    send:"$M$rcpts" send:'DATA\r\n' expect:^354 send:"$MSG" \
	    expect:'^250 2\.0\.0' send:"$Q" expect:^221
	assert_success
	[ "$(grep -c '^550 5\.1\.1' <<<"$output")" -eq 12 ]
	for i in 1 17 40; do
		[ "$(find "$ROOT/example.net/member$i/new" -type f | wc -l)" \
		    -eq 2 ] || fail "member$i did not get both messages"
	done
	wait_for_log 'end: quit, 2 messages'
	! grep -q 'tarpit' "$T/server.log" || fail "the tarpit engaged"
}

# --- SESSIONTIMEOUT: every wait ends by it ---

@test "SESSIONTIMEOUT: 20 pipelined RCPTs, RCPTCHECK sleeping 0.5 s each: 421 4.4.2 by the deadline" {
	slow_program rcptcheck 0.5 exit 0
	start_server RCPTCHECK="$T/rcptcheck" SESSIONTIMEOUT=2 TIMEOUT=30
	local seg
	# in one write (the report's reproducer), then in segments of 7
	# cut mid-line with pauses
	for seg in "-s 20" "-s 7 -z 0.02"; do
		: >"$T/server.log"
		rm -f "$T/pid.rcptcheck"
		# shellcheck disable=SC2086
		run flood 20 'RCPT TO:<ok{i}@example.net>\r\n' "$Q" $seg
		assert_success
		has_reply '^421 4\.4\.2'
		refute_reply_line '^221'
		elapsed_below 3.5
		wait_for_log 'SESSIONTIMEOUT reached: closing'
		wait_for_log 'end: timeout'
		[ "$(wc -l <"$T/pid.rcptcheck")" -le 6 ] ||
		    fail "RCPTCHECK ran $(wc -l <"$T/pid.rcptcheck") times"
		assert_programs_gone rcptcheck
	done
}

@test "SESSIONTIMEOUT, repeated: five sessions with a RCPTCHECK that hangs, each cut at the deadline" {
	slow_program rcptcheck 30 exit 0
	start_server RCPTCHECK="$T/rcptcheck" SESSIONTIMEOUT=1 TIMEOUT=60
	local k
	for k in 1 2 3 4 5; do
		run flood 3 'RCPT TO:<ok{i}@example.net>\r\n' "$Q" -s 1 \
		    -z 0.1
		has_reply '^421 4\.4\.2'
		elapsed_below 2.5
	done
	assert_programs_gone rcptcheck
}

@test "SESSIONTIMEOUT: a slow pipe program is killed at the deadline, nothing is delivered" {
	slow_program hook 30 "cat >'$T/delivered'"
	DELIVERY=(pipe "$T/hook")
	start_server SESSIONTIMEOUT=2 TIMEOUT=60
	HEAD=$E$M$R run flood 1 'DATA\r\n' "$MSG$Q"
	assert_success
	has_reply '^421 4\.4\.2'
	refute_reply_line '^250 2\.0\.0'
	refute_reply_line '^451'
	elapsed_below 3.5
	wait_for_log 'end: timeout'
	grep -q 'size [0-9]*: aborted' "$T/server.log" ||
	    fail "no aborted message line: $(cat "$T/server.log")"
	assert_programs_gone hook
	[ ! -e "$T/delivered" ]
}

@test "SESSIONTIMEOUT: a slow qmail-queue is killed at the deadline, nothing is queued" {
	mkdir -p "$T/qq"
	DELIVERY=(qmail-queue "$HELPERS/fake-qmail-queue")
	start_server QQ_DIR="$T/qq" QQ_MODE=hang SESSIONTIMEOUT=2 TIMEOUT=60
	HEAD=$E$M$R run flood 1 'DATA\r\n' "$MSG$Q"
	assert_success
	has_reply '^421 4\.4\.2'
	refute_reply_line '^250 2\.0\.0'
	elapsed_below 3.5
	wait_for_log 'end: timeout'
	[ ! -e "$T/qq/msg.1" ] || fail "the message was queued"
	local p
	p=$(cat "$T/qq/pid.1")
	[ ! -e "/proc/$p" ] || fail "qmail-queue $p still exists"
}

@test "SESSIONTIMEOUT: a checkpassword that hangs is killed at the deadline" {
	printf 'alice:wonderland\n' >"$T/users"
	start_server CHECKPASSWORD="$HELPERS/checkpassword.py" \
	    CHECKPW_USERS="$T/users" CHECKPW_MODE=sleep \
	    CHECKPW_PIDFILE="$T/pid.checkpw" CLEARTEXTAUTH=1 \
	    SESSIONTIMEOUT=2 TIMEOUT=60
	HEAD=$E run flood 1 \
	    "AUTH PLAIN $(printf '\0alice\0wonderland' | base64)\r\n" "$Q"
	assert_success
	has_reply '^421 4\.4\.2'
	refute_reply_line '^454'
	elapsed_below 3.5
	wait_for_log 'SESSIONTIMEOUT reached: closing'
	assert_programs_gone checkpw
}

@test "SESSIONTIMEOUT: AUTHDELAY longer than the session is cut at the deadline" {
	printf 'alice:wonderland\n' >"$T/users"
	start_server CHECKPASSWORD="$HELPERS/checkpassword.py" \
	    CHECKPW_USERS="$T/users" CLEARTEXTAUTH=1 AUTHDELAY=30 \
	    SESSIONTIMEOUT=2 TIMEOUT=60
	HEAD=$E run flood 1 \
	    "AUTH PLAIN $(printf '\0alice\0wrong' | base64)\r\n" "$Q"
	assert_success
	has_reply '^421 4\.4\.2'
	refute_reply_line '^535'
	elapsed_below 3.5
}

@test "SESSIONTIMEOUT: the tarpit's pauses end by the deadline too" {
	DELIVERY=(maildir "$ROOT/%d/%l")
	start_server TARPITCOUNT=0 TARPITDELAY=30 SESSIONTIMEOUT=2 TIMEOUT=60
	run flood 5 'RCPT TO:<guess{i}@example.net>\r\n' "$Q" -s 5
	assert_success
	has_reply '^421 4\.4\.2'
	elapsed_below 3.5
}

@test "SESSIONTIMEOUT: a client that never reads its replies is cut at the deadline" {
	# 100,000 pipelined NOOPs: their replies fill the pipe to the
	# client, which nobody reads; smtpd may wait TIMEOUT for it to
	# drain, but not past SESSIONTIMEOUT.
	"$PY" -c 'import sys; sys.stdout.write("NOOP\r\n" * 100000)' \
	    >"$T/noops"
	mkfifo "$T/out"
	local san t0 rc fd
	exec {fd}<>"$T/out"
	mapfile -t san < <(san_env)
	t0=$SECONDS
	rc=0
	timeout 20 env -i PATH=/usr/bin:/bin "${san[@]}" SESSIONTIMEOUT=2 \
	    TIMEOUT=60 "$SMTPD" maildir "$MD" <"$T/noops" >"$T/out" \
	    2>"$T/err" || rc=$?
	exec {fd}<&-
	[ "$rc" -ne 124 ] || fail "smtpd still ran after 20 s"
	[ $((SECONDS - t0)) -le 4 ] || fail "took $((SECONDS - t0)) s"
	grep -q 'unable to write to the client' "$T/err" ||
	    fail "$(cat "$T/err")"
}
