#!/usr/bin/env bats
# qmail_queue.bats: `smtpd qmail-queue [PROGRAM]`: the message streamed to
# the program's fd 0 as it arrives (our Received: first), the envelope
# "Fsender\0Trcpt\0...\0\0" on its fd 1 at the end, exit codes mapped as
# qmail's qmail.c does, notqmail's custom error on fd 6, and an aborted
# message closed without an envelope so that nothing is queued.  The
# queue is tests/helpers/fake-qmail-queue, which behaves as qmail-queue
# does about a short envelope and records what it got.

load helpers/common

setup()
{
	common_setup
	QQ=$T/queue
	mkdir -p "$QQ"
	DELIVERY=(qmail-queue "$HELPERS/fake-qmail-queue")
}

teardown()
{
	local f p
	for f in "$QQ"/pid.*; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill "$p" 2>/dev/null || true
	done
	common_teardown
}

# The envelope of message N with NUL shown as '|'.
envelope()
{
	tr '\0' '|' <"$QQ/envelope.$1"
}

# The fake's pid of message N must be gone (reaped, not a zombie).
assert_queue_gone()
{
	local p i
	p=$(cat "$QQ/pid.$1")
	for i in $(seq 40); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "qmail-queue $p is still there: $(ps -o pid,stat,cmd -p "$p")"
}

@test "through tcpserver with Python smtplib: message on fd 0, envelope on fd 1" {
	start_server QQ_DIR="$QQ"
	run "$PY" - "$PORT" <<'EOF'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "a@example.org"
m["Subject"] = "queued"
m.set_content("first\n.second starts with a dot\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example") as s:
    r = s.send_message(m, "a@example.org", ["b@example.net", "c@example.com"])
    print("refused:", r)
EOF
	assert_success
	assert_output 'refused: {}'
	[ "$(envelope 1)" = 'Fa@example.org|Tb@example.net|Tc@example.com||' ]
	run head -n 2 "$QQ/msg.1"
	assert_line --index 0 --regexp '^Received: from client\.example \(\[?127\.0\.0\.1\]?\)$'
	assert_line --index 1 --regexp $'^\tby smtp\\.test \\(smtpd\\) with ESMTP id '
	grep -qx 'Subject: queued' "$QQ/msg.1"
	grep -qx '.second starts with a dot' "$QQ/msg.1"
	run grep -c $'\r' "$QQ/msg.1"
	assert_output 0
	# fds 0 and 1 are pipes, 6 the error pipe; nothing else leaked
	run awk -v s="$HELPERS/fake-qmail-queue" \
	    '$1 != 2 && $2 != s { print $1, ($2 ~ /^pipe:/) ? "pipe" : $2 }' \
	    "$QQ/fds.1"
	assert_output $'0 pipe\n1 pipe\n6 pipe'
	wait_for_log ': 250$'
	assert_queue_gone 1
}

@test "the null sender and many recipients make a well-formed envelope" {
	local in="${E}MAIL FROM:<>\r\n" i want='F|'
	for i in $(seq 50); do
		in="${in}RCPT TO:<r$i@example.net>\r\n"
		want="${want}Tr$i@example.net|"
	done
	run smtp_session "${in}DATA\r\n$MSG$Q" QQ_DIR="$QQ"
	assert_reply_line '^250 2\.0\.0 '
	[ "$(envelope 1)" = "$want|" ]
}

@test "exit codes map as qmail.c does, with its texts" {
	local code want
	while read -r code want; do
		run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" \
		    QQ_EXIT="$code"
		assert_success
		assert_replies 220 250 250 250 354 "$want" 221
	done <<'EOF'
0 250 2.0.0 Message accepted
11 554 5.1.3 envelope address too long for qq
31 554 5.3.0 mail server permanently rejected message
20 554 5.3.0 qq permanent problem
40 554 5.3.0 qq permanent problem
51 451 4.3.0 qq out of memory
52 451 4.3.0 qq timeout
53 451 4.3.0 qq write error or disk full
54 451 4.3.0 qq read error
55 451 4.3.0 qq unable to read configuration
56 451 4.3.0 qq trouble making network connection
61 451 4.3.0 qq trouble in home directory
62 451 4.3.0 qq trouble creating files in queue
66 451 4.3.0 qq trouble creating files in queue
71 451 4.3.0 mail server temporarily rejected message
72 451 4.4.1 connection to mail server timed out
73 451 4.4.1 connection to mail server rejected
74 451 4.4.2 communication with mail server failed
81 451 4.3.0 qq internal bug
91 451 4.3.0 qq internal bug
115 554 5.1.3 envelope address too long for qq
120 451 4.3.0 unable to exec qq
1 451 4.3.0 qq temporary problem
41 451 4.3.0 qq temporary problem
100 451 4.3.0 qq temporary problem
EOF
}

@test "notqmail's custom error on fd 6: D is permanent, Z temporary" {
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" QQ_MODE=error \
	    QQ_ERROR='DThis message looks like spam (#5.7.1)'
	assert_replies 220 250 250 250 354 '554 5.3.0 This message looks like spam (#5.7.1)' 221
	grep -q 'program exit 82: This\\x20message\\x20looks\\x20like\\x20spam\\x20(#5.7.1)$' "$T/err"
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" QQ_MODE=error \
	    QQ_ERROR='ZVirus scanner unavailable, try later'
	assert_replies 220 250 250 250 354 '451 4.3.0 Virus scanner unavailable, try later' 221
	# exit 82 without a usable text: the generic temporary failure
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" QQ_MODE=error \
	    QQ_ERROR='Xnonsense'
	assert_replies 220 250 250 250 354 '451 4.3.0 qq temporary problem' 221
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" QQ_MODE=error \
	    QQ_ERROR=''
	assert_replies 220 250 250 250 354 '451 4.3.0 qq temporary problem' 221
	[ ! -e "$QQ/msg.1" ]
}

@test "a queue that refuses at once, without reading a large message: its exit code counts" {
	make_message 2000000 >"$T/big"
	{ printf "$E$M${R}DATA\r\n"; cat "$T/big"; printf ".\r\n$M${R}DATA\r\n$MSG$Q"; } |
	    smtpd_run QQ_DIR="$QQ" QQ_MODE=early QQ_EXIT=31 >"$T/out"
	run cat "$T/out"
	assert_replies 220 250 250 250 354 '554 5.3.0 mail server permanently rejected message' \
	    250 250 354 '554 5.3.0' 221
	# exit 0 after we could not write it all: qmail's "qq read error"
	{ printf "$E$M${R}DATA\r\n"; cat "$T/big"; printf ".\r\n$Q"; } |
	    smtpd_run QQ_DIR="$QQ" QQ_MODE=early QQ_EXIT=0 >"$T/out"
	run cat "$T/out"
	assert_replies 220 250 250 250 354 '451 4.3.0 qq read error' 221
	grep -q 'delivery failed: write: Broken pipe' "$T/err"
}

@test "a queue that hangs is killed at TIMEOUT: 451, no process left" {
	local t0=$SECONDS
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" QQ_MODE=hang \
	    TIMEOUT=1
	assert_success
	assert_replies 220 250 250 250 354 '451 4.3.0 qq timeout' 221
	[ $((SECONDS - t0)) -le 5 ]
	assert_queue_gone 1
}

@test "the client vanishes mid-message: no envelope, nothing queued, the queue reaped" {
	start_server QQ_DIR="$QQ" TIMEOUT=10
	run "$PY" "$HELPERS/smtp-client.py" -p "$PORT" -t 10 expect:^220 \
	    send:"$E$M$R" expect:'^250 2.1.5' send:'DATA\r\n' expect:^354 \
	    send:'Subject: half\r\n\r\nhalf a message\r\n' sleep:0.3 shut
	wait_for_log 'end: client closed the connection'
	for i in $(seq 40); do
		[ -e "$QQ/aborted.1" ] && break
		sleep 0.05
	done
	[ -e "$QQ/aborted.1" ]
	[ ! -e "$QQ/msg.1" ] && [ ! -e "$QQ/envelope.1" ]
	assert_queue_gone 1
}

@test "TIMEOUT in the middle of DATA: 421, nothing queued" {
	start_server QQ_DIR="$QQ" TIMEOUT=1
	run "$PY" "$HELPERS/smtp-client.py" -p "$PORT" -t 10 expect:^220 \
	    send:"$E$M$R" expect:'^250 2.1.5' send:'DATA\r\n' expect:^354 \
	    send:'Subject: slow\r\n\r\nand then nothing\r\n' expect:'^421 4.4.2'
	assert_success
	wait_for_log 'end: timeout'
	[ -e "$QQ/aborted.1" ] && [ ! -e "$QQ/msg.1" ]
	assert_queue_gone 1
}

@test "QMAILQUEUE names the program when the argument is left out" {
	DELIVERY=(qmail-queue)
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" \
	    QMAILQUEUE="$HELPERS/fake-qmail-queue"
	assert_replies 220 250 250 250 354 '250 2.0.0' 221
	[ "$(envelope 1)" = 'Fa@example.org|Tb@example.net||' ]
	# the argument wins over QMAILQUEUE
	DELIVERY=(qmail-queue "$HELPERS/fake-qmail-queue")
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" \
	    QMAILQUEUE=/nonexistent/qmail-queue
	assert_replies 220 250 250 250 354 '250 2.0.0' 221
}

@test "without PROGRAM or QMAILQUEUE: qmail's own /var/qmail/bin/qmail-queue (in a private mount namespace)" {
	local san
	mapfile -t san < <(san_env)
	printf "$E$M${R}DATA\r\n$MSG$Q" >"$T/in"
	# /var is a fresh tmpfs only inside the namespace: the host's is
	# never touched, and no other /var/qmail can answer
	env SMTPD="$SMTPD" QQ="$QQ" FAKE="$HELPERS/fake-qmail-queue" T="$T" \
	    unshare --mount --propagation private bash -c '
		mount -t tmpfs tmpfs /var || exit 97
		mkdir -p /var/qmail/bin
		cp "$FAKE" /var/qmail/bin/qmail-queue
		exec env -i PATH=/usr/bin:/bin "$@" QQ_DIR="$QQ" "$SMTPD" \
		    qmail-queue <"$T/in" >"$T/raw" 2>"$T/err"' bash "${san[@]}"
	run tr -d '\r' <"$T/raw"
	assert_replies 220 250 250 250 354 '250 2.0.0' 221
	[ "$(envelope 1)" = 'Fa@example.org|Tb@example.net||' ]
	grep -qx 'Subject: m' "$QQ/msg.1"
}

@test "a queue program that cannot be started: 451 at DATA, logged" {
	DELIVERY=(qmail-queue "$T/missing-qmail-queue")
	run smtp_session "$E$M${R}DATA\r\n$Q"
	assert_replies 220 250 250 250 451 221
	grep -q "unable to start delivery to $T/missing-qmail-queue: spawn: No such file" "$T/err"
}

@test "two messages in one session: descriptors and children while each is open (/proc)" {
	long_session_start "$QQ" QQ_DIR="$QQ"
	local pid=$SESSION_PID i
	# during message 2: three pipes more (message, envelope, fd 6)
	# and exactly one child, the queue
	for i in $(seq 60); do
		[ -s "$QQ/pid.2" ] && break
		sleep 0.05
	done
	sleep 0.3
	run bash -c "ls /proc/$pid/fd | wc -l"
	assert_output $(( $(wc -w <<<"$SESSION_FDS") + 3 ))
	run bash -c "ps -o pid= --ppid $pid | tr -d ' '"
	assert_output "$(cat "$QQ/pid.2")"
	# after it: back to the base, no child, no zombie
	wait_for_log '\.2: from <a@example\.org> rcpts 1 size [0-9]+: 250'
	long_session_end
	grep -qx 'second half' "$QQ/msg.2"
}

@test "the queue gets the session's environment (for qmail-qfilter, simscan)" {
	run smtp_session "$E$M${R}DATA\r\n$MSG$Q" QQ_DIR="$QQ" \
	    RELAYCLIENT= TCPREMOTEIP=192.0.2.9 SIMSCAN_DEBUG=2
	assert_replies 220 250 250 250 354 250 221
	run bash -c "tr '\0' '\n' <'$QQ/env.1' | grep -E '^(RELAYCLIENT|TCPREMOTEIP|SIMSCAN_DEBUG|SENDER|RECIPIENTS)=' | sort"
	assert_output $'RECIPIENTS=b@example.net\nRELAYCLIENT=\nSENDER=a@example.org\nSIMSCAN_DEBUG=2\nTCPREMOTEIP=192.0.2.9'
}

@test "more recipients than fit in RECIPIENTS: all in the envelope, the variable left out" {
	local in="$E$M" i local
	local=$(printf 'r%.0s' $(seq 60))
	for i in $(seq 1200); do
		in="${in}RCPT TO:<$local$i@example.net>\r\n"
	done
	run smtp_session "${in}DATA\r\n$MSG$Q" QQ_DIR="$QQ" MAXRCPTS=2000
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c '^250 2\.1\.5')" -eq 1200 ]
	assert_reply_line '^250 2\.0\.0'
	[ "$(tr '\0' '\n' <"$QQ/envelope.1" | grep -c "^T$local[0-9]*@example.net$")" -eq 1200 ]
	run bash -c "tr '\0' '\n' <'$QQ/env.1' | grep -c '^RECIPIENTS='"
	assert_output 0
	grep -q 'RECIPIENTS left out of the program.s environment: too long' "$T/err"
}
