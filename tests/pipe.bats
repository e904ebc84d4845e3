#!/usr/bin/env bats
# pipe.bats: `smtpd pipe PROGRAM [ARG...]`, the hook API: the
# program gets the spooled message on stdin (Received: first, LF line
# ends), the envelope and the session in its environment; its exit code
# and its first stdout line make the reply; TIMEOUT kills it.  The
# program is tests/helpers/hook-recorder, which records what it got.

load helpers/common

setup()
{
	common_setup
	H=$T/hook
	mkdir -p "$H"
	DELIVERY=(pipe "$HELPERS/hook-recorder")
}

teardown()
{
	kill_recorded "$H"
	common_teardown
}

# kill_recorded DIR: end whatever a hook or fake recorded and left
# running (a failed test must not leave sleepers behind).
kill_recorded()
{
	local f p
	for f in "$1"/pid.*; do
		[ -f "$f" ] || continue
		while read -r p; do
			kill "$p" 2>/dev/null || true
		done <"$f"
	done
}

# An environment variable the program saw in message N: hook_env N NAME
hook_env()
{
	tr '\0' '\n' <"$H/env.$1" | sed -n "s/^$2=//p"
}

# The pids in $H/pid.N must all be gone: the hook reaped by smtpd, its
# background job killed (a zombie of init's at most: a grandchild is not
# smtpd's to reap, and PID 1 may be slow to, or here never does).
assert_hook_gone()
{
	local p i st
	for p in $(cat "$H/pid.$1"); do
		for i in $(seq 40); do
			st=$(ps -o stat= -p "$p") || true
			case $st in
			'' | Z*) break ;;
			esac
			sleep 0.05
		done
		case $st in
		'') ;;
		Z*) [ "$(ps -o ppid= -p "$p" | tr -d ' ')" != "$(cat "$H/ppid.$1")" ] ||
			fail "process $p is a zombie of smtpd's" ;;
		*) fail "process $p of the hook is still running" ;;
		esac
	done
}

@test "through tcpserver with swaks: the program gets the message, envelope and session" {
	DELIVERY=(pipe "$HELPERS/hook-recorder" --flag 'two words')
	start_server HOOK_DIR="$H" TIMEOUT=10 APPCONFIG=from-envdir
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to b@example.net,C@Example.NET \
	    --header 'Subject: hook test' --body $'line one\r\n.dot line' \
	    --timeout 10
	assert_success
	assert_output --regexp '<-  250 2\.0\.0 '
	# stdin: Received: first, then the message, LF only, unstuffed
	run head -n 3 "$H/msg.1"
	assert_line --index 0 --regexp '^Received: from client\.example \(\[?127\.0\.0\.1\]?\)$'
	assert_line --index 1 --regexp $'^\tby smtp\\.test \\(smtpd\\) with ESMTP id [0-9a-f]+\\.1;$'
	run grep -c $'\r' "$H/msg.1"
	assert_output 0
	run grep -c '^Subject: hook test$' "$H/msg.1"
	assert_output 1
	run grep -c '^\.dot line$' "$H/msg.1"
	assert_output 1
	run grep -c '^Return-Path:\|^Delivered-To:' "$H/msg.1"
	assert_output 0
	# the envelope and the session
	[ "$(hook_env 1 SENDER)" = a@example.org ]
	[ "$(hook_env 1 RECIPIENT)" = b@example.net ]
	[ "$(tr '\0' '\n' <"$H/env.1" | sed -n '/^RECIPIENTS=/,/^[A-Z_]*=/p' | head -n 2)" = \
	    "$(printf 'RECIPIENTS=b@example.net\nC@Example.NET')" ]
	[ "$(hook_env 1 HELO)" = client.example ]
	[ "$(hook_env 1 TCPREMOTEIP)" = 127.0.0.1 ]
	[ -n "$(hook_env 1 TCPREMOTEPORT)" ]
	[ "$(hook_env 1 TCPLOCALIP)" = 127.0.0.1 ]
	[ "$(hook_env 1 TCPLOCALHOST)" = smtp.test ]
	[ "$(hook_env 1 APPCONFIG)" = from-envdir ]
	[ "$(hook_env 1 PATH)" = /usr/bin:/bin ]
	run hook_env 1 AUTHUSER
	assert_output ''
	# arguments, as given
	run cat "$H/args.1"
	assert_output $'--flag\ntwo words'
	# and only stdin, stdout and stderr open (the script's own fd aside)
	run awk -v s="$HELPERS/hook-recorder" '$1 > 2 && $2 != s' "$H/fds.1"
	assert_output ''
}

@test "exit codes 0, 1, 2, 64 to 78, 99, 100, 101, 111, 126 and 255 map to their replies" {
	local code want
	while read -r code want; do
		run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
		    HOOK_EXIT="$code"
		assert_success
		assert_replies 220 250 250 250 354 "$want" 221
	done <<'EOF'
0 250 2.0.0 Message accepted
100 554 5.0.0
111 451 4.3.0 Temporary failure
64 451 4.3.5
65 554 5.6.0
66 451 4.3.0 Temporary failure
67 550 5.1.1
68 550 5.1.2
69 554 5.3.0
70 451 4.3.0 Temporary failure
71 451 4.3.0 Temporary failure
72 451 4.3.0 Temporary failure
73 451 4.3.0 Temporary failure
74 451 4.3.0 Temporary failure
75 451 4.3.0 Local error
76 451 4.3.0 Temporary failure
77 550 5.7.1
78 451 4.3.5
1 451 4.3.0 Temporary failure
2 451 4.3.0 Temporary failure
99 451 4.3.0 Temporary failure
101 451 4.3.0 Temporary failure
126 451 4.3.0 Temporary failure
255 451 4.3.0 Temporary failure
EOF
	[ "$(ls "$H" | grep -c '^msg\.')" -eq 24 ]
}

@test "the first stdout line is the reply's text, for acceptance and refusal" {
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_SAY='Queued as 4711'
	assert_replies 220 250 250 250 354 '250 2.0.0 Queued as 4711' 221
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_SAY='No thanks, we have enough spam\nsecond line' HOOK_EXIT=100
	assert_replies 220 250 250 250 354 '554 5.0.0 No thanks, we have enough spam' 221
	refute_reply_line 'second line'
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_SAY='Quota full, later please' HOOK_EXIT=111
	assert_replies 220 250 250 250 354 '451 4.3.0 Quota full, later please' 221
}

@test "the reply text loses control characters and is cut to 200 octets" {
	local long
	long=$(printf 'y%.0s' $(seq 300))
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_SAY='a\tb\001c\033[1md\r'
	assert_replies 220 250 250 250 354 '250 2.0.0 abc[1md' 221
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_SAY="$long"
	assert_reply_line "^250 2\.0\.0 y{200}\$"
	refute_reply_line 'y{201}'
}

@test "a program that outlives TIMEOUT is killed (with its children): 451" {
	local t0=$SECONDS
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_MODE=sleep HOOK_SAY='working on it' TIMEOUT=1
	assert_success
	assert_replies 220 250 250 250 354 '451 4.3.0 Delivery timed out' 221
	[ $((SECONDS - t0)) -le 4 ]
	assert_hook_gone 1
	grep -q 'delivery failed: timeout' "$T/err"
}

@test "a program that leaves a background job holding its stdout: the reply comes at its exit" {
	local t0=$SECONDS
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_MODE=background HOOK_SAY='queued' TIMEOUT=20
	assert_replies 220 250 250 250 354 '250 2.0.0 queued' 221
	[ $((SECONDS - t0)) -le 3 ]
}

@test "started with SIGCHLD ignored (a launcher's), programs still run and report: 250" {
	# An ignored SIGCHLD survives exec; the system would then reap the
	# program itself and smtpd could not learn its exit code.
	local real=$SMTPD t0=$SECONDS
	printf '#!/bin/sh\nexec python3 -c %s "$@"\n' \
	    "'import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])' '$real'" \
	    >"$T/ignore-sigchld"
	chmod +x "$T/ignore-sigchld"
	SMTPD=$T/ignore-sigchld
	run smtp_session "$E$M${R}DATA\r\n$MSG$M${R}DATA\r\n$MSG$Q" \
	    HOOK_DIR="$H" HOOK_MODE=background HOOK_SAY='queued' TIMEOUT=20
	SMTPD=$real
	assert_replies 220 250 250 250 354 '250 2.0.0 queued' 250 250 354 \
	    '250 2.0.0 queued' 221
	[ $((SECONDS - t0)) -le 4 ]
}

@test "a program that exits without reading stdin: its exit code counts" {
	make_message 3000000 >"$T/big"
	{ printf "$E$M${R}DATA\r\n"; cat "$T/big"; printf ".\r\n$Q"; } |
	    smtpd_run HOOK_DIR="$H" HOOK_MODE=noread HOOK_SAY=ignored >"$T/out"
	run cat "$T/out"
	assert_replies 220 250 250 250 354 '250 2.0.0 ignored' 221
	[ ! -s "$H/msg.1" ]
}

@test "a program that floods stdout: first line kept, the rest drained" {
	local t0=$SECONDS
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    HOOK_MODE=flood HOOK_SAY='flood ahead' TIMEOUT=20
	assert_replies 220 250 250 250 354 '250 2.0.0 flood ahead' 221
	[ $((SECONDS - t0)) -le 10 ]
	refute_reply_line xxxx
}

@test "a program that crashes: 451, the session goes on" {
	run smtp_session "$E$M${R}DATA\r\n$MSG$M${R}DATA\r\n$MSG$Q" \
	    HOOK_DIR="$H" HOOK_MODE=crash
	assert_replies 220 250 250 250 354 '451 4.3.0' 250 250 354 '451 4.3.0' 221
	grep -q 'program signal 11' "$T/err"
}

@test "a program that does not exist: 451, logged" {
	DELIVERY=(pipe "$T/no-such-program")
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q"
	assert_replies 220 250 250 250 354 '451 4.3.0' 221
	grep -q 'delivery failed: spawn: No such file or directory' "$T/err"
}

@test "a program found in PATH, with arguments" {
	mkdir "$T/bin"
	cp "$HELPERS/hook-recorder" "$T/bin/my-hook"
	DELIVERY=(pipe my-hook -x)
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    PATH="$T/bin:/usr/bin:/bin"
	assert_replies 220 250 250 250 354 250 221
	[ "$(cat "$H/args.1")" = -x ]
}

@test "a message refused for its size or for a bare LF never reaches the program" {
	run smtp_session "$E$M${R}DATA\r\nSubject: big\r\n\r\n0123456789\r\n.\r\n$Q" \
	    HOOK_DIR="$H" DATABYTES=10
	assert_replies 220 250 250 250 354 '552 5.3.4' 221
	[ ! -e "$H/msg.1" ]
	run smtp_session "$E$M${R}DATA\r\nSubject: x\r\n\r\nbare\nLF\r\n.\r\n$Q" \
	    HOOK_DIR="$H"
	assert_replies 220 250 250 250 354 '554 5.6.0' 221
	[ ! -e "$H/msg.1" ]
}

@test "one program run per message; RECIPIENTS is per message; BDAT too" {
	run smtp_session "$E$M${R}RCPT TO:<c@example.net>\r\nDATA\r\n$MSG${M}RCPT TO:<d@example.net>\r\nBDAT 20 LAST\r\nSubject: b\r\n\r\nbdat\r\n$Q" \
	    HOOK_DIR="$H"
	assert_replies 220 250 250 250 250 354 250 250 250 250 221
	[ "$(hook_env 1 RECIPIENT)" = b@example.net ]
	[ "$(tr '\0' '\n' <"$H/env.1" | grep -A1 '^RECIPIENTS=')" = \
	    "$(printf 'RECIPIENTS=b@example.net\nc@example.net')" ]
	[ "$(hook_env 2 RECIPIENTS)" = d@example.net ]
	grep -q '^bdat$' "$H/msg.2"
}

@test "the null sender is SENDER=''; AUTHUSER is unset without AUTH" {
	run smtp_session "${E}MAIL FROM:<>\r\n${R}DATA\r\n$MSG$Q" HOOK_DIR="$H"
	assert_replies 220 250 250 250 354 250 221
	tr '\0' '\n' <"$H/env.1" | grep -qx 'SENDER='
	run bash -c "tr '\0' '\n' <'$H/env.1' | grep -c '^AUTHUSER='"
	assert_output 0
}

@test "inherited SENDER/RECIPIENT/TCPREMOTEIP cannot override the session's" {
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" HOOK_DIR="$H" \
	    SENDER=evil@example.com RECIPIENT=evil RECIPIENTS=evil \
	    TCPREMOTEIP=10.9.9.9 HELO=evil AUTHUSER=root
	assert_replies 220 250 250 250 354 250 221
	[ "$(hook_env 1 SENDER)" = a@example.org ]
	[ "$(hook_env 1 RECIPIENT)" = b@example.net ]
	[ "$(hook_env 1 RECIPIENTS)" = b@example.net ]
	[ "$(hook_env 1 HELO)" = client.example ]
	run bash -c "tr '\0' '\n' <'$H/env.1' | grep -c '^AUTHUSER=\|^SENDER=\|^TCPREMOTEIP='"
	assert_output 2
}

@test "RECIPIENTS is bounded: past 64 KB of addresses a RCPT gets 452 4.5.3" {
	local in="$E$M" i local
	local=$(printf 'r%.0s' $(seq 60))
	for i in $(seq 1200); do
		in="${in}RCPT TO:<$local$i@example.net>\r\n"
	done
	run smtp_session "${in}DATA\r\n$MSG$Q" HOOK_DIR="$H" MAXRCPTS=2000
	assert_success
	local ok full
	ok=$(printf '%s\n' "$output" | grep -c '^250 2\.1\.5')
	full=$(printf '%s\n' "$output" | grep -c '^452 4\.5\.3')
	[ "$ok" -gt 800 ] && [ "$ok" -lt 1100 ]
	[ $((ok + full)) -eq 1200 ]
	assert_reply_line '^250 2\.0\.0'
	[ "$(tr '\0' '\n' <"$H/env.1" | grep -c "^$local[0-9]*@example.net$")" -eq $((ok - 1)) ]
}

@test "no leaked descriptor and no zombie in a long session (tcpserver, /proc)" {
	long_session_start "$H" HOOK_DIR="$H"
	local pid=$SESSION_PID i fds
	# during message 2: one more, the unlinked spool file
	for i in $(seq 40); do
		fds=$(ls -l "/proc/$pid/fd" | grep -c ' (deleted)$') || true
		[ "$fds" -ge 1 ] && break
		sleep 0.05
	done
	[ "$fds" -eq 1 ] || fail "no spool file open during message 2"
	run bash -c "ls /proc/$pid/fd | sort -n | tr '\n' ' '"
	[ "$(wc -w <<<"$output")" -eq $(( $(wc -w <<<"$SESSION_FDS") + 1 )) ]
	# after message 2: the spool closed, the program reaped
	for i in $(seq 60); do
		[ -s "$H/ppid.2" ] && break
		sleep 0.05
	done
	sleep 0.5
	long_session_end
	[ "$(cat "$H/ppid.2")" = "$pid" ]
	grep -q '^second half$' "$H/msg.2"
}

@test "an empty program name is a configuration error: 421 at once" {
	DELIVERY=(pipe '')
	run smtp_session "$E$Q"
	assert_failure 111
	assert_replies '421 4.3.0'
	grep -q 'unable to set up delivery: program: Invalid argument' "$T/err"
	DELIVERY=(qmail-queue '')
	run smtp_session "$E$Q"
	assert_failure 111
	assert_replies '421 4.3.0'
}

@test "after AUTH the program sees AUTHUSER (swaks, CHECKPASSWORD)" {
	printf 'alice:wonderland\n' >"$T/users"
	start_server HOOK_DIR="$H" CHECKPASSWORD="$HELPERS/checkpassword.py" \
	    CHECKPW_USERS="$T/users" CLEARTEXTAUTH=1 AUTHDELAY=0 TIMEOUT=10
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from alice@example.org --to b@example.net --auth PLAIN \
	    --auth-user alice --auth-password wonderland --timeout 10
	assert_success
	assert_output --partial '<-  235 2.7.0'
	[ "$(hook_env 1 AUTHUSER)" = alice ]
	grep -q '(authenticated as alice)' "$H/msg.1"
	run grep -c 'wonderland' "$H/env.1"
	assert_output 0
}
