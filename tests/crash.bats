#!/usr/bin/env bats
# crash.bats: crash consistency.  smtpd is killed with SIGKILL at random
# points of a stream of pipelined messages (tests/helpers/crash-client.py
# does the killing and the checking); nothing acknowledged may be lost,
# nothing partial may appear in new/, and tmp/ may hold only the file of
# the transaction that was cut.  What survives a power loss on top of
# this is what the fsyncs guarantee (SECURITY.md, "Crashes").

load helpers/common

crash_rounds()
{
	CRASH_ERR=$T/err run "$PY" "$HELPERS/crash-client.py" "$@" \
	    "$SMTPD" "$MD"
	printf '%s\n' "$output" | sed 's/^/# /' >&3
}

@test "SIGKILL at 30 random points of pipelined messages: every 250 is complete in new/, nothing partial, tmp/ at most the cut one" {
	crash_rounds --kills 30 --messages 6
	assert_success
	assert_line --regexp '^kills 30, acked [0-9]+, stored [0-9]+, cut in tmp [0-9]+, problems 0$'
	refute_line --regexp '^problem:'
	# The last round, without a kill, delivered all six.
	assert_line --regexp '^# round 30: no kill, .* 6 acked, 6 in new/, 0 in tmp/$'
}

@test "SIGKILL with one large message at a time: kills land inside the message body" {
	crash_rounds --kills 20 --messages 1 --seed 20
	assert_success
	assert_line --regexp '^kills 20, .* problems 0$'
	# Some round was cut while the message was being written.
	assert_line --regexp '^# round [0-9]+: offset kill, .* 0 acked, 0 in new/, 1 in tmp/$'
}

@test "after the kills the Maildir is a plain Maildir: mlist lists every message, mshow reads one" {
	crash_rounds --kills 10 --messages 3 --seed 7
	assert_success
	local n
	n=$(find "$MD/new" -type f | wc -l)
	[ "$n" -gt 0 ] || fail "nothing in new/"
	run mlist "$MD"
	assert_success
	[ "${#lines[@]}" -eq "$n" ] || fail "mlist lists ${#lines[@]} of $n"
	run mshow -q "$(find "$MD/new" -type f | head -n 1)"
	assert_success
	assert_output --partial 'Subject: crash '
}
