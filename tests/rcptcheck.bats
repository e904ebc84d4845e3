#!/usr/bin/env bats
# rcptcheck.bats: RCPTCHECK, a program run for each RCPT (as qmail's
# RCPTCHECK patch) with the session's environment and RECIPIENT: exit 0
# accepts, 100 refuses (550 5.1.1, its first stdout line as the text),
# 111 defers (451 4.3.0), anything else, a crash or TIMEOUT defers.  The
# program is tests/helpers/rcptcheck, which decides by the local part.

load helpers/common

setup()
{
	common_setup
	RC=$T/rc
	mkdir -p "$RC"
}

teardown()
{
	local f p
	for f in "$RC"/pid.*; do
		[ -f "$f" ] || continue
		while read -r p; do
			kill "$p" 2>/dev/null || true
		done <"$f"
	done
	common_teardown
}

rc_env()
{
	tr '\0' '\n' <"$RC/env.$1" | sed -n "s/^$2=//p"
}

@test "accept, refuse with the program's text, defer, and odd exits: through tcpserver" {
	start_server RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC"
	run client expect:^220 send:"$E$M" \
	    send:'RCPT TO:<ok1@example.net>\r\n' \
	    send:'RCPT TO:<nobody@example.net>\r\n' \
	    send:'RCPT TO:<later@example.net>\r\n' \
	    send:'RCPT TO:<strange@example.net>\r\n' \
	    send:'RCPT TO:<crash@example.net>\r\n' \
	    send:'RCPT TO:<ok2@example.net>\r\n' \
	    send:'DATA\r\n' expect:^354 send:"$MSG" expect:'^250 2.0.0' \
	    send:"$Q" expect:^221
	assert_success
	run final_replies
	assert_output --partial $'250 2.1.5 Recipient OK\n550 5.1.1 No mailbox called nobody@example.net\n451 4.3.0 Mailbox busy, try later\n451 4.3.0 Recipient check failed, try again later\n451 4.3.0 Recipient check failed, try again later\n250 2.1.5 Recipient OK\n354'
	# the message went to the accepted ones only
	run grep '^Delivered-To:' "$(message_file)"
	assert_output $'Delivered-To: ok1@example.net\nDelivered-To: ok2@example.net'
	wait_for_log 'RCPTCHECK: <crash@example.net>: killed by signal 11'
	grep -q 'RCPTCHECK: <nobody@example.net>: exit 100' "$T/server.log"
}

@test "the program sees RECIPIENT, SENDER, HELO and the session, not RECIPIENTS" {
	run smtp_session "$E${M}RCPT TO:<ok@example.net>\r\n$Q" \
	    RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC" TCPREMOTEIP=192.0.2.7 \
	    TCPREMOTEHOST=client.example POLICY=strict
	assert_replies 220 250 250 '250 2.1.5' 221
	[ "$(rc_env 1 RECIPIENT)" = ok@example.net ]
	[ "$(rc_env 1 SENDER)" = a@example.org ]
	[ "$(rc_env 1 HELO)" = client.example ]
	[ "$(rc_env 1 TCPREMOTEIP)" = 192.0.2.7 ]
	[ "$(rc_env 1 TCPREMOTEHOST)" = client.example ]
	[ "$(rc_env 1 POLICY)" = strict ]
	[ "$(rc_env 1 RCPTCHECK)" = "$HELPERS/rcptcheck" ]
	run bash -c "tr '\0' '\n' <'$RC/env.1' | grep -c '^RECIPIENTS='"
	assert_output 0
	# stdin is /dev/null; no descriptor beyond 0-2 but its script's own
	run awk -v s="$HELPERS/rcptcheck" '$1 == 0 || ($1 > 2 && $2 != s)' "$RC/fds.1"
	assert_output '0 /dev/null'
}

@test "a hanging check is killed at TIMEOUT (with its children): 451, the session goes on" {
	local t0=$SECONDS p
	run smtp_session "$E${M}RCPT TO:<hang@example.net>\r\nRCPT TO:<ok@example.net>\r\nDATA\r\n$MSG$Q" \
	    RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC" TIMEOUT=1
	assert_success
	assert_replies 220 250 250 '451 4.3.0 Recipient check failed' '250 2.1.5' 354 '250 2.0.0' 221
	[ $((SECONDS - t0)) -le 5 ]
	grep -q 'RCPTCHECK: <hang@example.net>: killed at TIMEOUT' "$T/err"
	# killed: gone, or a zombie left to init (the background job is not
	# smtpd's child; init reaps it, or here, as PID 1 may not, does not)
	for p in $(cat "$RC/pid.1"); do
		case $(ps -o stat= -p "$p") in
		'' | Z*) ;;
		*) fail "process $p outlived the deadline" ;;
		esac
	done
	assert_stored 1
}

@test "no zombie and no leaked descriptor after accept, refuse, defer, crash and a hang killed at TIMEOUT (/proc, mid-session)" {
	start_server RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC" TIMEOUT=3
	"$PY" "$HELPERS/smtp-client.py" -p "$PORT" -t 20 expect:^220 \
	    send:"$E" expect:'^250 ' sleep:1 send:"$M" expect:'^250 2.1.0' \
	    send:'RCPT TO:<ok@example.net>\r\nRCPT TO:<no@example.net>\r\n' \
	    send:'RCPT TO:<later@example.net>\r\nRCPT TO:<odd@example.net>\r\n' \
	    send:'RCPT TO:<crash@example.net>\r\nRCPT TO:<hang@example.net>\r\n' \
	    expect:'^250 2.1.5' expect:'^550' expect:'^451' expect:'^451' \
	    expect:'^451' expect:'^451' sleep:2 send:"$Q" expect:^221 \
	    >"$T/client.out" &
	local cpid=$! pid base p
	wait_for_log 'connect from 127\.0\.0\.1'
	pid=$(sed -n 's/^smtpd: pid \([0-9]*\): info: .*connect from.*/\1/p' \
	    "$T/server.log" | head -n 1)
	sleep 0.3
	# before any RCPT: what smtpd holds (whatever tcpserver passed on
	# included), and no child
	base=$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')
	[ -n "$base" ] || fail "smtpd $pid is not running"
	run bash -c "ps -o pid= --ppid $pid | wc -l"
	assert_output 0
	# after six checks, the last killed at TIMEOUT, the session still open
	wait_for_log 'RCPTCHECK: <hang@example\.net>: killed at TIMEOUT'
	[ -d "/proc/$pid" ] || fail "the session ended early"
	run bash -c "ls /proc/$pid/fd | sort -n | tr '\n' ' '"
	assert_output "$base"
	run bash -c "ps -o pid=,stat=,args= --ppid $pid"
	assert_output ''
	# the hanging check's own background job went with it (at most a
	# zombie of init's: not smtpd's child)
	for p in $(cat "$RC/pid.6"); do
		case $(ps -o stat= -p "$p") in
		'' | Z*) ;;
		*) fail "process $p of the hanging check outlived TIMEOUT" ;;
		esac
	done
	wait "$cpid"
	run final_replies_of "$T/client.out"
	assert_output $'220\n250\n250\n250\n550\n451\n451\n451\n451\n221'
	[ "$(ls "$RC" | grep -c '^env\.')" -eq 6 ]
}

# The codes of the final reply lines in a raw transcript FILE.
final_replies_of()
{
	tr -d '\r' <"$1" | grep -E '^[0-9]{3} ' | cut -c1-3
}

@test "it runs only for recipients that passed RCPTHOSTS, never for relaying" {
	printf 'example.net\n' >"$T/rcpthosts"
	run smtp_session "$E${M}RCPT TO:<ok@elsewhere.example>\r\nRCPT TO:<ok@example.net>\r\n$Q" \
	    RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC" RCPTHOSTS="$T/rcpthosts"
	assert_replies 220 250 250 '550 5.7.1' '250 2.1.5' 221
	[ ! -e "$RC/env.2" ]
	[ "$(rc_env 1 RECIPIENT)" = ok@example.net ]
}

@test "a RCPTCHECK that cannot run defers the recipient (451 4.3.0), and says why in the log" {
	run smtp_session "$E${M}RCPT TO:<ok@example.net>\r\n$Q" \
	    RCPTCHECK="$T/missing"
	assert_replies 220 250 250 '451 4.3.0' 221
	grep -q "RCPTCHECK: unable to run $T/missing: No such file" "$T/err"
}

@test "with pipe delivery: the program gets only the recipients RCPTCHECK accepted" {
	mkdir "$T/hook"
	DELIVERY=(pipe "$HELPERS/hook-recorder")
	run smtp_session "$E${M}RCPT TO:<ok1@example.net>\r\nRCPT TO:<no@example.net>\r\nRCPT TO:<ok2@example.net>\r\nDATA\r\n$MSG$Q" \
	    RCPTCHECK="$HELPERS/rcptcheck" RC_DIR="$RC" HOOK_DIR="$T/hook"
	assert_replies 220 250 250 250 550 250 354 '250 2.0.0' 221
	[ "$(tr '\0' '\n' <"$T/hook/env.1" | grep -A1 '^RECIPIENTS=')" = \
	    "$(printf 'RECIPIENTS=ok1@example.net\nok2@example.net')" ]
}
