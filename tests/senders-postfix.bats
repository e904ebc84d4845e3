#!/usr/bin/env bats
# senders-postfix.bats: Postfix 3.7 as the relaying client it is for most
# of the world's mail.  Each test runs a private instance (its own
# configuration, queue and log, no system service, listening nowhere)
# whose relayhost is smtpd under tcpserver, injects with Postfix's
# sendmail, and checks both sides: what lands in the Maildir, and
# Postfix's own log (the SMTP dialogue and status=sent with our 250).

load helpers/common
load helpers/senders

setup()
{
	senders_setup
}

teardown()
{
	senders_teardown
}

# What Postfix sent and heard, from its log: the lines of the dialogue
# with smtpd ("> ...: MAIL FROM:<...> SIZE=..."), without the prefix.
postfix_dialogue()
{
	sed -n "s/^.* postfix\/smtp\[[0-9]*\]: \([<>]\) 127\.0\.0\.1\[127\.0\.0\.1\]:$PORT: /\1 /p" \
	    "$PF/maillog"
}

# assert_sent RCPT: Postfix logged this recipient as delivered to smtpd
# with smtpd's own 250.
assert_sent()
{
	run grep -F "to=<$1>, relay=127.0.0.1[127.0.0.1]:$PORT," "$PF/maillog"
	assert_success
	# (the last try: postfix_wait_sent may have tried again)
	output=${lines[-1]}
	assert_output --partial 'dsn=2.0.0, status=sent (250 2.0.0 Message accepted)'
}

@test "Postfix: a plain message, status=sent with our 250, stored as written" {
	start_server
	postfix_start
	printf '%s\n' 'From: Alice <a@example.org>' 'To: b@example.net' \
	    'Subject: plain from Postfix' '' 'hello from Postfix' \
	    '.leading dot' '..two dots' '' 'last line' >"$T/msg"
	postfix_send a@example.org b@example.net <"$T/msg"
	postfix_wait_sent 1
	assert_sent b@example.net
	run postfix_dialogue
	assert_line --regexp '^> MAIL FROM:<a@example\.org> SIZE=[0-9]+$'
	assert_line '> RCPT TO:<b@example.net>'
	assert_line '> DATA'
	assert_line '< 354 Send the message, end with CRLF.CRLF'
	assert_stored 1
	assert_smtpd_trace postfix.test ESMTP a@example.org b@example.net
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
	run grep -c -e '^From: Alice <a@example.org>$' -e '^To: b@example.net$' \
	    -e '^Subject: plain from Postfix$' -e '^Message-Id: <.*@postfix.test>$' \
	    "$(message_file)"
	assert_output 4
	wait_for_log '\.1: from <a@example\.org> rcpts 1 size [0-9]+: 250'
}

@test "Postfix: 8-bit text goes with BODY=8BITMIME and is stored byte for byte" {
	start_server
	postfix_start
	{
		printf '%s\n' 'From: a@example.org' 'To: b@example.net' \
		    'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=' 'MIME-Version: 1.0' \
		    'Content-Type: text/plain; charset=utf-8' \
		    'Content-Transfer-Encoding: 8bit' ''
		printf 'Grüße aus Köln, naïve café, 東京\n'
		printf 'Latin-1 as sent: caf\351\n'
	} >"$T/msg"
	postfix_send a@example.org b@example.net <"$T/msg"
	postfix_wait_sent 1
	assert_sent b@example.net
	run postfix_dialogue
	assert_line --regexp '^> MAIL FROM:<a@example\.org> SIZE=[0-9]+ BODY=8BITMIME$'
	assert_stored 1
	assert_smtpd_trace postfix.test ESMTP a@example.org b@example.net
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
}

@test "Postfix: SMTPUTF8, UTF-8 addresses and header, with UTF8SMTP" {
	start_server
	postfix_start
	printf '%s\n' 'From: Jörg <jörg@example.org>' 'To: Zoë <zoë@example.net>' \
	    'Subject: Grüße, 東京' '' 'UTF-8 all the way' >"$T/msg"
	postfix_send jörg@example.org zoë@example.net <"$T/msg"
	postfix_wait_sent 1
	assert_sent zoë@example.net
	run postfix_dialogue
	assert_line --regexp '^> MAIL FROM:<jörg@example\.org> SIZE=[0-9]+ SMTPUTF8$'
	assert_line '> RCPT TO:<zoë@example.net>'
	assert_stored 1
	assert_smtpd_trace postfix.test UTF8SMTP jörg@example.org zoë@example.net
	run grep -c -e '^Subject: Grüße, 東京$' -e '^To: Zoë <zoë@example.net>$' \
	    "$(message_file)"
	assert_output 2
	run message_body
	assert_output 'UTF-8 all the way'
}

@test "Postfix: a 5 MB message arrives whole" {
	start_server
	postfix_start
	"$PY" -c '
import sys
out = [b"From: a@example.org\n", b"To: b@example.net\n", b"Subject: 5 MB\n", b"\n"]
for i in range(65000):
    out.append(b"%07d " % i + b"y" * 68 + b"\n")
sys.stdout.buffer.write(b"".join(out))
' >"$T/msg"
	postfix_send a@example.org b@example.net <"$T/msg"
	postfix_wait_sent 1
	assert_sent b@example.net
	run postfix_dialogue
	assert_line --regexp '^> MAIL FROM:<a@example\.org> SIZE=5[0-9]{6}$'
	assert_stored 1
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
	# as sent: 65000 lines of 78 octets with CRLF, and Postfix's headers
	wait_for_log '\.1: from <a@example\.org> rcpts 1 size 5[0-9]{6}: 250'
}

@test "Postfix: one message to 50 recipients, one transaction" {
	start_server
	postfix_start
	local rcpts=() i
	for i in $(seq -w 1 50); do
		rcpts+=("r$i@example.net")
	done
	printf 'Subject: fifty\n\nto fifty\n' >"$T/msg"
	postfix_send a@example.org "${rcpts[@]}" <"$T/msg"
	postfix_wait_sent 50
	run grep -cE "to=<r[0-9]{2}@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PORT, .*, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Message accepted\)\$" \
	    "$PF/maillog"
	assert_output 50
	for i in "${rcpts[@]}"; do
		grep -qF "to=<$i>, relay=127.0.0.1[127.0.0.1]:$PORT, " "$PF/maillog" ||
		    fail "no delivery of $i in $(cat "$PF/maillog")"
	done
	postfix_dialogue >"$T/dialogue"
	run grep -c '^> RCPT TO:' "$T/dialogue"
	assert_output 50
	run grep -c '^> MAIL FROM:' "$T/dialogue"
	assert_output 1
	assert_stored 1
	assert_smtpd_trace postfix.test ESMTP a@example.org "${rcpts[@]}"
	run message_body
	assert_output 'to fifty'
	wait_for_log '\.1: from <a@example\.org> rcpts 50 size [0-9]+: 250'
}

@test "Postfix: a recipient we refuse bounces with our 550 5.7.1, and the bounce reaches us" {
	printf 'example.net\nexample.org\n' >"$T/rcpthosts"
	start_server RCPTHOSTS="$T/rcpthosts"
	postfix_start
	printf 'Subject: half refused\n\nfor b only\n' >"$T/msg"
	postfix_send a@example.org b@example.net x@elsewhere.example <"$T/msg"
	# b@example.net, then Postfix's non-delivery report to a@example.org
	postfix_wait_sent 2 bounced
	assert_sent b@example.net
	assert_sent a@example.org
	run grep -F 'to=<x@elsewhere.example>' "$PF/maillog"
	assert_output --partial 'dsn=5.7.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.7.1 Relaying denied (in reply to RCPT TO command))'
	assert_stored 2
	TRACE_FILE=$(message_with 'Subject: half refused')
	assert_smtpd_trace postfix.test ESMTP a@example.org b@example.net
	TRACE_FILE=$(message_with 'Subject: Undelivered Mail Returned to Sender')
	assert_smtpd_trace postfix.test ESMTP '' a@example.org
	run grep -c -e '^<x@elsewhere.example>: host 127.0.0.1\[127.0.0.1\] said: 550 5.7.1 Relaying$' \
	    -e '^Diagnostic-Code: smtp; 550 5.7.1 Relaying denied$' "$TRACE_FILE"
	assert_output 2
	wait_for_log 'recipient <x@elsewhere\.example> refused: 550'
}

# smtp_tls_security_level = encrypt: Postfix sends nothing without TLS.
postfix_starttls()
{
	tls_wrap "$1"
	start_server TLSWRAPPER=1
	# a deferral stays queued, for postfix_wait_sent to try again
	postfix_start 'smtp_tls_security_level = encrypt' \
	    'maximal_queue_lifetime = 1h' 'bounce_queue_lifetime = 1h'
	printf 'Subject: over TLS\n\nencrypted\n' >"$T/msg"
	postfix_send a@example.org b@example.net <"$T/msg"
	postfix_wait_sent 1
	assert_sent b@example.net
	run grep -E "Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$PORT: TLSv1\.[23] with cipher " \
	    "$PF/maillog"
	assert_success
	run postfix_dialogue
	assert_line '> STARTTLS'
	assert_line --regexp '^< 220 2\.0\.0 '
	assert_line --regexp '^> MAIL FROM:<a@example\.org> SIZE=[0-9]+$'
	assert_stored 1
	assert_smtpd_trace postfix.test ESMTPS a@example.org b@example.net
	run message_body
	assert_output encrypted
	wait_for_log '\.1: from <a@example\.org> rcpts 1 size [0-9]+: 250'
}

@test "Postfix: STARTTLS (security level encrypt) through Debian's tlswrapper -n" {
	postfix_starttls old
}

@test "Postfix: STARTTLS (security level encrypt) through tlswrapper -n 20260428+" {
	postfix_starttls new
}
