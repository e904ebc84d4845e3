#!/usr/bin/env bats
# clients.bats: smtpd under tcpserver -HR on 127.0.0.1 (and ::1), with the
# clients people use: swaks, curl, Python smtplib, socat.  The Maildir is
# read back with mblaze and Python's mailbox module.

load helpers/common

swaks_to()
{
	swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --timeout 10 "$@"
}

@test "swaks: a message through tcpserver, read back with mblaze" {
	start_server
	run swaks_to --to b@example.net --header 'Subject: swaks test' \
	    --body 'hello from swaks'
	assert_success
	assert_output --regexp '<-  250 2\.0\.0'
	assert_stored 1
	run bash -c 'mlist "$1" | mshow -q' bash "$MD"
	assert_output --partial 'Subject: swaks test'
	run bash -c 'mlist "$1" | mshow -N' bash "$MD"
	assert_output --partial 'hello from swaks'
	run head -n 4 "$(message_file)"
	assert_line --index 0 'Return-Path: <a@example.org>'
	assert_line --index 1 'Delivered-To: b@example.net'
	assert_line --index 2 --regexp '^Received: from client\.example .*\[127\.0\.0\.1\]'
	assert_line --index 3 --regexp $'^\tby smtp\\.test \\(smtpd\\) with ESMTP id '
}

@test "swaks --pipeline with two recipients" {
	start_server
	run swaks_to --pipeline --to b@example.net,c@example.net \
	    --header 'Subject: pipelined'
	assert_success
	assert_output --partial 'PIPELINING'
	assert_stored 1
	run grep -c '^Delivered-To: [bc]@example.net$' "$(message_file)"
	assert_output 2
}

@test "swaks: a leading dot in the body survives (stuffed, then unstuffed)" {
	start_server
	run swaks_to --to b@example.net --data $'Subject: dot\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n'
	assert_success
	run message_body
	assert_line --index 0 '.leading dot'
	assert_line --index 1 '..two dots'
}

@test "swaks --pipe: no network at all" {
	run swaks --pipe "env -i $(san_env | tr '\n' ' ') $SMTPD maildir $MD" \
	    --from a@example.org --to b@example.net --helo client.example \
	    --header 'Subject: piped'
	assert_success
	assert_stored 1
}

@test "swaks --quit-after RCPT: nothing is stored" {
	start_server
	run swaks_to --to b@example.net --quit-after RCPT
	assert_success
	assert_stored 0
	[ "$(count_files tmp)" -eq 0 ]
}

@test "curl --crlf: an LF-only file is sent dot-stuffed and stored as written" {
	start_server
	printf 'Subject: curl crlf\nFrom: a@example.org\n\n.leading dot\nend\n' >"$T/msg.txt"
	run curl -sS --url "smtp://127.0.0.1:$PORT/client.example" --crlf \
	    --mail-from a@example.org --mail-rcpt b@example.net \
	    --mail-rcpt c@example.net -T "$T/msg.txt"
	assert_success
	run message_body
	assert_output "$(printf '.leading dot\nend')"
	run grep -c '^Delivered-To:' "$(message_file)"
	assert_output 2
	run grep -c '^Received: from client\.example ' "$(message_file)"
	assert_output 1
}

@test "curl without --crlf: bare LF is refused 554 5.6.0, nothing stored" {
	start_server
	printf 'Subject: curl lf\n\nbody\n' >"$T/msg.txt"
	run curl -sS --url "smtp://127.0.0.1:$PORT/client.example" \
	    --mail-from a@example.org --mail-rcpt b@example.net -T "$T/msg.txt"
	assert_failure
	assert_stored 0
	wait_for_log 'a@example\.org.*554|554.*a@example\.org'
}

@test "curl without --crlf, BARELF set for the client: accepted" {
	start_server BARELF=1
	printf 'Subject: curl lf\n\nbody line\nlast line\n' >"$T/msg.txt"
	run curl -sS --url "smtp://127.0.0.1:$PORT/client.example" \
	    --mail-from a@example.org --mail-rcpt b@example.net -T "$T/msg.txt"
	assert_success
	run message_body
	assert_output "$(printf 'body line\nlast line')"
}

@test "curl: a CRLF file without --crlf is accepted" {
	start_server
	printf 'Subject: curl\r\n\r\nbody\r\n' >"$T/msg.txt"
	run curl -sS --url "smtp://127.0.0.1:$PORT/client.example" \
	    --mail-from a@example.org --mail-rcpt b@example.net -T "$T/msg.txt"
	assert_success
	run message_body
	assert_output body
}

@test "smtplib: EHLO features, sendmail, read back with mailbox" {
	start_server
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
code, _ = s.ehlo()
feats = sorted(s.esmtp_features)
print(code, " ".join(feats))
print(s.esmtp_features["size"])
print(s.sendmail("a@example.org", ["b@example.net", "c@example.net"],
                 b"Subject: smtplib\r\n\r\nfrom python\r\n"))
print(s.noop()[0], s.quit()[0])
' "$PORT"
	assert_success
	assert_line --index 0 --regexp '^250 '
	local kw
	for kw in pipelining size 8bitmime enhancedstatuscodes smtputf8 chunking; do
		assert_line --index 0 --regexp " $kw( |\$)"
	done
	assert_line --index 1 36700160
	assert_line --index 2 '{}'
	assert_line --index 3 '250 221'
	run "$PY" -c '
import mailbox, sys
for k, m in mailbox.Maildir(sys.argv[1], factory=None, create=False).items():
    print(m["Subject"], m.get_all("Delivered-To"), m.get_payload().strip())
' "$MD"
	assert_output "smtplib ['b@example.net', 'c@example.net'] from python"
}

@test "smtplib: SIZE from EHLO is used; a message over DATABYTES is refused 552" {
	start_server DATABYTES=100
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
try:
    s.sendmail("a@example.org", ["b@example.net"], b"Subject: big\r\n\r\n" + b"x" * 500 + b"\r\n")
except smtplib.SMTPSenderRefused as e:
    print(e.smtp_code, e.smtp_error.decode().split()[0])
print(s.quit()[0])
' "$PORT"
	assert_success
	assert_output "$(printf '552 5.3.4\n221')"
	assert_stored 0
}

@test "smtplib: SMTPUTF8 addresses and a UTF-8 subject" {
	start_server
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
print(s.sendmail("jörg@exämple.org", ["müller@example.net"],
                 "Subject: grüße\r\n\r\nhallo\r\n".encode(), mail_options=["SMTPUTF8"]))
s.quit()
' "$PORT"
	assert_success
	assert_output '{}'
	run head -n 2 "$(message_file)"
	assert_line --index 0 'Return-Path: <jörg@exämple.org>'
	assert_line --index 1 'Delivered-To: müller@example.net'
}

@test "smtplib: a 5 MB message arrives byte for byte" {
	start_server
	make_message 5000000 >"$T/big.eml"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=60)
print(s.sendmail("a@example.org", ["b@example.net"], open(sys.argv[2], "rb").read()))
s.quit()
' "$PORT" "$T/big.eml"
	assert_success
	assert_output '{}'
	tr -d '\r' <"$T/big.eml" | sed '1,/^$/d' >"$T/want"
	[ -s "$T/want" ]
	message_body >"$T/got"
	cmp "$T/want" "$T/got"
}

@test "four clients at once: four messages, four distinct files" {
	start_server
	local pids=() i
	for i in 1 2 3 4; do
		swaks_to --to "r$i@example.net" --header "Subject: parallel $i" \
		    >"$T/swaks.$i" 2>&1 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a swaks failed: $(cat "$T"/swaks.*)"
	done
	assert_stored 4
	run bash -c 'mlist "$1" | mshow -q | grep -c "^Subject: parallel"' bash "$MD"
	assert_output 4
}

@test "IPv6: tcpserver on ::1, the peer is ::1" {
	SERVER_HOST=::1
	start_server
	run swaks --server ::1 --port "$PORT" --helo client.example \
	    --from a@example.org --to b@example.net --timeout 10
	assert_success
	assert_stored 1
	run grep -E '^Received: ' -A 1 "$(message_file)"
	assert_output --partial '::1]'
	wait_for_log 'info: .*::1'
}

@test "socat: a raw pipelined session" {
	start_server
	run bash -c 'printf "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: socat\r\n\r\nraw\r\n.\r\nQUIT\r\n" |
	    socat -t 5 - "TCP:127.0.0.1:$1" | tr -d "\r"' bash "$PORT"
	assert_success
	assert_replies "220 smtp.test" "250" "250 2.1.0" "250 2.1.5" "354" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 1
}
