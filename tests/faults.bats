#!/usr/bin/env bats
# faults.bats: faults of the machine, in the middle of a session: a full
# disk, no inodes left, a file system turned read-only, the file size
# limit, a qmail-queue that dies.  Each gets the right 4xx (452 4.3.1 for
# space, 451 4.3.0 for the rest), leaves nothing in tmp/ or new/, leaks
# no descriptor and no child (tests/helpers/fault-session.py compares
# /proc with what smtpd had after its greeting), and the same session
# delivers once the fault is gone.  maildir.bats covers the same faults
# present from the start; pipe.bats, qmail_queue.bats and auth.bats the
# programs that hang, exit early or flood.

load helpers/common

D="$M${R}DATA\r\n"
SMALL='Subject: small\r\n\r\nsmall\r\n.\r\n'

setup()
{
	common_setup
	# on_tmpfs scripts see only exported variables.
	export HELPERS_DIR=$HELPERS
}

# fault_session [NAME=value...] COMMAND...: under env -i with the
# sanitizer variables (smtpd's stderr: fault-session.py -e "$T/err").
fault_session()
{
	local san
	mapfile -t san < <(san_env)
	run env -i PATH=/usr/bin:/bin "${san[@]}" "$@"
}

# tmpfs_session MOUNT_OPTIONS SCRIPT: on_tmpfs runs SCRIPT, which
# prepares the fresh file system and then calls
#	session ACTION...
# once: fault-session.py drives `smtpd maildir $MD` through the greeting,
# EHLO and ACTION... ($M is a MAIL, RCPT and DATA).  Afterwards the
# session must have ended well; $output is its transcript, $T/files the
# files it left in tmp/ and new/, $T/stored the messages in new/.
tmpfs_session()
{
	run on_tmpfs "$1" '
		mkdir -p "$MD/tmp" "$MD/new" "$MD/cur"
		M="MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
		session()
		{
			env -i PATH=/usr/bin:/bin $SAN /usr/bin/python3 \
			    "$HELPERS_DIR/fault-session.py" -e "$T/err" \
			    expect:"^220 " "send:EHLO c.test\r\n" \
			    expect:"^250 " "$@" -- "$SMTPD" maildir "$MD" \
			    >"$T/transcript" 2>"$T/err.session"
			echo $? >"$T/status"
			(cd "$MD" && find tmp new -type f | sort) >"$T/files"
			cat "$MD"/new/* >"$T/stored" 2>/dev/null
			true
		}
		'"$2"
	assert_success
	[ "$(cat "$T/status")" -eq 0 ] ||
	    fail "session: $(cat "$T/transcript" "$T/err.session")"
	output=$(cat "$T/transcript")
}

# The files left under a Maildir, as "tmp/NAME" or "new/NAME" lines.
maildir_files()
{
	(cd "$1" && find tmp new -type f | sort)
}

@test "file size limit (prlimit --fsize 64 KB): a big message is 452 4.3.1, nothing left; a small one then goes" {
	make_message 300000 >"$T/big"
	fault_session "$PY" "$HELPERS/fault-session.py" -e "$T/err" \
	    expect:'^220 ' "send:$E" expect:'^250 ' \
	    "send:$D" expect:'^354' "file:$T/big" 'send:.\r\n' \
	    expect:'^[0-9]{3} ' fds \
	    "send:$D" expect:'^354' "send:$SMALL" expect:'^[0-9]{3} ' fds \
	    'send:QUIT\r\n' expect:'^221' \
	    -- prlimit --fsize=65536 "$SMTPD" maildir "$MD"
	assert_success
	assert_replies 220 250 250 250 354 "452 4.3.1" 250 250 354 \
	    "250 2.0.0" "221 2.0.0"
	assert_line --regexp '^fds: '
	assert_line 'exit 0'
	run maildir_files "$MD"
	assert_line --regexp '^new/'
	[ "${#lines[@]}" -eq 1 ] || fail "files left: $output"
	grep -q '^Subject: small$' "$MD"/new/*
	grep -q 'File too large' "$T/err" || fail "EFBIG not logged: $(cat "$T/err")"
}

@test "the disk fills up during a message: 452 4.3.1, nothing left; freed, the same session delivers it" {
	make_message 300000 >"$T/big"
	tmpfs_session size=1m '
		head -c 900k /dev/zero >"$T/fs/filler" || exit 99
		session "send:$M" expect:"^354" "file:$T/big" "send:.\r\n" \
		    expect:"^[0-9]{3} " fds \
		    "run:find $MD/tmp $MD/new -type f >$T/files.full" \
		    "run:rm $T/fs/filler" \
		    "send:$M" expect:"^354" "file:$T/big" "send:.\r\n" \
		    expect:"^[0-9]{3} " fds "send:QUIT\r\n" expect:"^221"'
	assert_replies 220 250 250 250 354 "452 4.3.1" 250 250 354 \
	    "250 2.0.0" "221 2.0.0"
	[ ! -s "$T/files.full" ] || fail "left after the failure: $(cat "$T/files.full")"
	run cat "$T/files"
	[ "${#lines[@]}" -eq 1 ] || fail "files: $output"
	assert_line --index 0 --regexp '^new/'
	# The stored copy is the whole message.
	[ "$(grep -c '^[0-9]\{7\} x' "$T/stored")" -eq \
	    "$(grep -c '^[0-9]\{7\} x' "$T/big")" ]
}

@test "no inode left: 452 4.3.1 at DATA; one left (tmpfs counts the link too): 452 4.3.1 at the end; two: delivered" {
	# tmpfs charges an inode for the tmp/ file and one for its link in
	# new/: with one free, the data arrives and the link fails.
	tmpfs_session size=1m,nr_inodes=7 '
		: >"$T/fs/filler1" && : >"$T/fs/filler2" || exit 99
		session "send:$M" expect:"^[0-9]{3} " fds \
		    "run:rm $T/fs/filler1" \
		    "send:RSET\r\n$M" expect:"^354" \
		    "send:Subject: 2\r\n\r\n2\r\n.\r\n" \
		    expect:"^[0-9]{3} " fds \
		    "run:find $MD/tmp $MD/new -type f >$T/files.link" \
		    "run:rm $T/fs/filler2" \
		    "send:$M" expect:"^354" \
		    "send:Subject: 3\r\n\r\n3\r\n.\r\n" \
		    expect:"^[0-9]{3} " fds "send:QUIT\r\n" expect:"^221"'
	# A refused DATA keeps the transaction (RFC 5321 4.1.1.4): RSET.
	assert_replies 220 250 250 250 "452 4.3.1" "250 2.0.0" 250 250 354 \
	    "452 4.3.1" 250 250 354 "250 2.0.0" "221 2.0.0"
	[ ! -s "$T/files.link" ] || fail "left after the failed link: $(cat "$T/files.link")"
	run cat "$T/files"
	[ "${#lines[@]}" -eq 1 ] || fail "files: $output"
	assert_line --index 0 --regexp '^new/'
	run cat "$T/stored"
	assert_line 'Subject: 3'
	grep -q 'No space left on device' "$T/err" || fail "ENOSPC not logged"
}

@test "the file system turns read-only between messages: 451 4.3.0 at DATA; read-write again, the session goes on" {
	tmpfs_session size=1m '
		session "send:$M" expect:"^354" \
		    "send:Subject: 1\r\n\r\n1\r\n.\r\n" expect:"^[0-9]{3} " \
		    "run:mount -o remount,ro $T/fs" \
		    "send:$M" expect:"^[0-9]{3} " fds \
		    "run:mount -o remount,rw $T/fs" \
		    "send:RSET\r\n$M" expect:"^354" \
		    "send:Subject: 3\r\n\r\n3\r\n.\r\n" \
		    expect:"^[0-9]{3} " fds "send:QUIT\r\n" expect:"^221"'
	assert_replies 220 250 250 250 354 "250 2.0.0" 250 250 "451 4.3.0" \
	    "250 2.0.0" 250 250 354 "250 2.0.0" "221 2.0.0"
	run cat "$T/files"
	[ "${#lines[@]}" -eq 2 ] || fail "files: $output"
	run grep -c '^Subject: [13]$' "$T/stored"
	assert_output 2
	grep -q 'Read-only file system' "$T/err" || fail "EROFS not logged"
}

@test "a qmail-queue killed in the middle of a message: 451 4.3.0, nothing queued, no zombie; the next message is queued" {
	mkdir -p "$T/queue"
	cat >"$T/qq-dies" <<EOF
#!/bin/sh
# The first message: read a little of it, then die by SIGKILL.
if mkdir "$T/queue/died" 2>/dev/null; then
	echo \$\$ >"$T/queue/killed.pid"
	head -c 2000 >/dev/null
	kill -KILL \$\$
fi
exec "$HELPERS/fake-qmail-queue"
EOF
	chmod +x "$T/qq-dies"
	make_message 300000 >"$T/big"
	fault_session QQ_DIR="$T/queue" "$PY" "$HELPERS/fault-session.py" \
	    -e "$T/err" \
	    expect:'^220 ' "send:$E" expect:'^250 ' \
	    "send:$D" expect:'^354' "file:$T/big" 'send:.\r\n' \
	    expect:'^[0-9]{3} ' fds \
	    "send:$D" expect:'^354' "send:$SMALL" expect:'^[0-9]{3} ' fds \
	    'send:QUIT\r\n' expect:'^221' \
	    -- "$SMTPD" qmail-queue "$T/qq-dies"
	assert_success
	assert_replies 220 250 250 250 354 "451 4.3.0" 250 250 354 \
	    "250 2.0.0" "221 2.0.0"
	assert_line --regexp '^fds: [0-9]+ open, 0 children'
	# The killed one queued nothing; the one queued is the small one.
	local n
	n=$(ls "$T/queue" | grep -c '^msg\.') || true
	[ "$n" -eq 1 ] || fail "$n messages queued: $(ls "$T/queue")"
	grep -q '^Subject: small' "$T"/queue/msg.*
	# And it was reaped: no such process, not even a zombie.
	! kill -0 "$(cat "$T/queue/killed.pid")" 2>/dev/null ||
	    fail "the killed qmail-queue is still in the process table"
}
