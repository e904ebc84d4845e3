#!/usr/bin/env bats
# core.bats: the SMTP conversation: greeting, EHLO, commands, sequence and
# syntax errors, addresses, command-line limits, pipelining, exit codes,
# logging.  Most tests drive `smtpd maildir DIR` on pipes with an exact
# input and compare every reply (code and RFC 3463 enhanced code).

load helpers/common

# --- greeting and EHLO ---

@test "greeting: 220 with TCPLOCALHOST, and ESMTP" {
	run smtp_session "$Q" TCPLOCALHOST=mx.test
	assert_success
	assert_replies "220 mx.test" "221 2.0.0"
	assert_line --index 0 --regexp '^220 mx\.test .*ESMTP'
}

@test "greeting: SMTPGREETING replaces the host name" {
	run smtp_session "$Q" TCPLOCALHOST=mx.test SMTPGREETING=greet.example
	assert_success
	assert_replies "220 greet.example" "221 2.0.0"
}

# smtpd indexes its environment once (lib/envindex.c): a name of the
# same length and first letter is not taken for another, and past the
# index's 64 entries it falls back to getenv.
@test "greeting: SMTPGREETING is found beside a look-alike and in a large environment" {
	run smtp_session "$Q" SMTPGREETINX=wrong.example SMTPGREETING=greet.example
	assert_success
	assert_replies "220 greet.example" "221 2.0.0"
	local many=() i
	for i in $(seq 100 199); do
		many+=("V$i=x")
	done
	run smtp_session "$Q" "${many[@]}" SMTPGREETINX=wrong.example \
	    SMTPGREETING=greet.example
	assert_success
	assert_replies "220 greet.example" "221 2.0.0"
}

@test "greeting: the node name when nothing is set" {
	run smtp_session "$Q"
	assert_success
	assert_replies "220 $(uname -n)" "221 2.0.0"
}

@test "greeting: TCPLOCALHOST=0 (tcpserver -l0) is not used as a name" {
	run smtp_session "$Q" TCPLOCALHOST=0
	assert_success
	assert_replies "220 " "221 2.0.0"
	refute_reply_line '^220 0( |$)'
}

@test "EHLO advertises PIPELINING SIZE 8BITMIME ENHANCEDSTATUSCODES SMTPUTF8 CHUNKING" {
	run smtp_session "$E$Q" TCPLOCALHOST=mx.test
	assert_success
	assert_replies "220" "250" "221 2.0.0"
	assert_line --index 1 '250-mx.test'
	local kw
	for kw in PIPELINING 'SIZE 36700160' 8BITMIME ENHANCEDSTATUSCODES \
	    SMTPUTF8 CHUNKING; do
		assert_line --regexp "^250[- ]$kw\$"
	done
	# Nothing that is not configured: no AUTH, no STARTTLS.
	refute_reply_line '^250[- ](AUTH|STARTTLS)'
}

@test "EHLO: SIZE advertises DATABYTES" {
	run smtp_session "$E$Q" DATABYTES=12345
	assert_success
	assert_line --regexp '^250[- ]SIZE 12345$'
}

@test "HELO: one 250 line, no extensions" {
	run smtp_session "HELO client.example\r\n$Q" TCPLOCALHOST=mx.test
	assert_success
	assert_replies "220" "250 " "221 2.0.0"
	refute_reply_line '^250-'
}

@test "HELO and EHLO need an argument: 501 5.5.4" {
	run smtp_session "HELO\r\nEHLO\r\nEHLO \r\n$Q"
	assert_success
	assert_replies "220" "501 5.5.4" "501 5.5.4" "501 5.5.4" "221 2.0.0"
}

@test "EHLO with an address literal" {
	run smtp_session "EHLO [192.0.2.1]\r\nEHLO [IPv6:2001:db8::1]\r\n$Q"
	assert_success
	assert_replies "220" "250" "250" "221 2.0.0"
}

# --- simple commands ---

@test "NOOP, RSET, VRFY, HELP, QUIT" {
	run smtp_session "NOOP\r\nRSET\r\nVRFY someone\r\nHELP\r\n$E${Q}NOOP\r\n"
	assert_success
	assert_replies "220" "250 2.0.0" "250 2.0.0" "252 2.5.0" "214" "250" \
	    "221 2.0.0"
}

@test "NOOP with a parameter is still 250 (RFC 5321 4.1.1.9)" {
	run smtp_session "NOOP hello there\r\n$Q"
	assert_success
	assert_replies "220" "250 2.0.0" "221 2.0.0"
}

@test "EXPN, TURN, ETRN: 502 5.5.1; unknown commands: 500 5.5.2" {
	run smtp_session "${E}EXPN list\r\nTURN\r\nETRN example.org\r\nXYZZY\r\nMAILFROM:<a@b>\r\n$Q"
	assert_success
	assert_replies "220" "250" "502 5.5.1" "502 5.5.1" "502 5.5.1" \
	    "500 5.5.2" "500 5.5.2" "221 2.0.0"
}

@test "verbs are case-insensitive" {
	run smtp_session 'ehlo client.example\r\nmail from:<a@example.org>\r\nrcpt to:<b@example.net>\r\nrset\r\nnoop\r\nquit\r\n'
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "250 2.0.0" "221 2.0.0"
}

@test "input after QUIT is not answered" {
	run smtp_session "${Q}NOOP\r\nNOOP\r\n"
	assert_success
	assert_replies "220" "221 2.0.0"
}

# --- sequence errors: 503 5.5.1 ---

@test "sequence: MAIL before HELO/EHLO" {
	run smtp_session "$M$Q"
	assert_success
	assert_replies "220" "503 5.5.1" "221 2.0.0"
}

@test "sequence: RCPT before MAIL, DATA before MAIL, DATA before RCPT" {
	run smtp_session "$E${R}DATA\r\n${M}DATA\r\n$Q"
	assert_success
	assert_replies "220" "250" "503 5.5.1" "503 5.5.1" "250 2.1.0" \
	    "503 5.5.1" "221 2.0.0"
}

@test "sequence: a second MAIL inside a transaction" {
	run smtp_session "$E$M$M$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "503 5.5.1" "221 2.0.0"
}

@test "sequence: BDAT before MAIL" {
	run smtp_session "${E}BDAT 0 LAST\r\n$Q"
	assert_success
	assert_replies "220" "250" "503 5.5.1" "221 2.0.0"
	assert_stored 0
}

@test "sequence: RSET ends the transaction" {
	run smtp_session "$E$M${R}RSET\r\nDATA\r\n$R$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "503 5.5.1" "503 5.5.1" "221 2.0.0"
}

@test "sequence: EHLO ends the transaction (RFC 5321 4.1.4)" {
	run smtp_session "$E$M$R${E}DATA\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250" \
	    "503 5.5.1" "221 2.0.0"
}

@test "sequence: after a delivered message, RCPT needs a new MAIL" {
	run smtp_session "$E$M${R}DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n$R$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" \
	    "503 5.5.1" "221 2.0.0"
	assert_stored 1
}

# --- MAIL and RCPT syntax ---

@test "syntax: MAIL and RCPT without FROM:/TO: are 501 5.5.4" {
	run smtp_session "${E}MAIL <a@example.org>\r\nMAIL TO:<a@example.org>\r\n$M${R/TO:/}RCPT FROM:<b@example.net>\r\n$Q"
	assert_success
	assert_replies "220" "250" "501 5.5.4" "501 5.5.4" "250 2.1.0" \
	    "501 5.5.4" "501 5.5.4" "221 2.0.0"
}

@test "addresses: the null sender, quoted local parts, address literals, source routes, postmaster" {
	run smtp_session "${E}MAIL FROM:<>\r\n"'RCPT TO:<"john doe"@example.net>\r\nRCPT TO:<u@[192.0.2.1]>\r\nRCPT TO:<u@[IPv6:2001:db8::1]>\r\nRCPT TO:<@relay.example,@r2.example:route@example.net>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<Postmaster>\r\n'"$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" \
	    "250 2.1.5" "250 2.1.5" "250 2.1.5" "250 2.1.5" "221 2.0.0"
}

@test "addresses: bad senders are 501 5.1.7" {
	local bad
	for bad in '<a@@example.org>' '<a@>' '<@example.org>' '<a b@example.org>' \
	    '<a@exa mple.org>' '<a@example..org>' '<a@example.org' \
	    '<"unterminated@example.org>' '<a@[300.1.1.1]>'; do
		run smtp_session "${E}MAIL FROM:$bad\r\n$Q"
		assert_success
		assert_replies "220" "250" "501 5.1.7" "221 2.0.0"
	done
}

@test "addresses: bad recipients are 501 5.1.3, and <> is not a recipient" {
	local bad
	for bad in '<>' '<b@@example.net>' '<b@>' '<b c@example.net>' \
	    '<b@example..net>' '<b@example.net'; do
		run smtp_session "$E$M${R/<b@example.net>/$bad}$Q"
		assert_success
		assert_replies "220" "250" "250 2.1.0" "501 5.1.3" "221 2.0.0"
	done
}

@test "addresses: local part of 64 octets accepted, 65 refused" {
	local l64 l65
	l64=$(printf 'l%.0s' $(seq 64))
	l65=${l64}x
	run smtp_session "${E}MAIL FROM:<$l64@example.org>\r\nRSET\r\nMAIL FROM:<$l65@example.org>\r\n${M}RCPT TO:<$l64@example.net>\r\nRCPT TO:<$l65@example.net>\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.0.0" "501 5.1.7" \
	    "250 2.1.0" "250 2.1.5" "501 5.1.3" "221 2.0.0"
}

@test "addresses: a path of 256 octets with its <> accepted, 257 refused" {
	local label d252 d253
	label=$(printf 'd%.0s' $(seq 63))
	d252=$label.$label.$label.$(printf 'e%.0s' $(seq 60))
	d253=${d252}e
	[ ${#d252} -eq 252 ]	# "<a@" + 252 + ">" = 256 (RFC 5321 4.5.3.1.3)
	run smtp_session "$E${M}RCPT TO:<a@$d252>\r\nRCPT TO:<a@$d253>\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "501 5.1.3" \
	    "221 2.0.0"
}

@test "addresses: a label over 63 octets is refused" {
	local label64
	label64=$(printf 'd%.0s' $(seq 64))
	run smtp_session "$E${M}RCPT TO:<a@$label64.example>\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "501 5.1.3" "221 2.0.0"
}

@test "parameters: unknown ones are 555 5.5.4, bad values 501 5.5.4" {
	run smtp_session "${E}MAIL FROM:<a@example.org> FOO=BAR\r\nMAIL FROM:<a@example.org> SIZE=abc\r\nMAIL FROM:<a@example.org> BODY=9BIT\r\n${M}RCPT TO:<b@example.net> NOTIFY=NEVER\r\n$Q"
	assert_success
	assert_replies "220" "250" "555 5.5.4" "501 5.5.4" "501 5.5.4" \
	    "250 2.1.0" "555 5.5.4" "221 2.0.0"
}

@test "parameters: SIZE, BODY=7BIT/8BITMIME/BINARYMIME, SMTPUTF8 are accepted" {
	run smtp_session "${E}MAIL FROM:<a@example.org> SIZE=1000\r\nRSET\r\nMAIL FROM:<a@example.org> BODY=7BIT\r\nRSET\r\nMAIL FROM:<a@example.org> BODY=8BITMIME SIZE=10\r\nRSET\r\nMAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRSET\r\nMAIL FROM:<a@example.org> SMTPUTF8\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.0.0" "250 2.1.0" \
	    "250 2.0.0" "250 2.1.0" "250 2.0.0" "250 2.1.0" "250 2.0.0" \
	    "250 2.1.0" "221 2.0.0"
}

@test "SMTPUTF8: a UTF-8 address without SMTPUTF8 is 553 5.6.7" {
	run smtp_session "${E}MAIL FROM:<jörg@example.org>\r\n${M}RCPT TO:<müller@example.net>\r\n$Q"
	assert_success
	assert_replies "220" "250" "553 5.6.7" "250 2.1.0" "553 5.6.7" \
	    "221 2.0.0"
	assert_stored 0
}

@test "SMTPUTF8: UTF-8 addresses after MAIL ... SMTPUTF8 are delivered" {
	run smtp_session "${E}MAIL FROM:<jörg@exämple.org> SMTPUTF8\r\nRCPT TO:<müller@example.net>\r\nDATA\r\nSubject: grüße\r\n\r\nhi\r\n.\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" \
	    "221 2.0.0"
	assert_stored 1
	run head -n 2 "$(message_file)"
	assert_line --index 0 'Return-Path: <jörg@exämple.org>'
	assert_line --index 1 'Delivered-To: müller@example.net'
	# RFC 6531 §3.7.3: the WITH keyword says SMTPUTF8 was used.
	grep -qE $'^\tby .* \\(smtpd\\) with UTF8SMTP id ' "$(message_file)" ||
	    fail "no 'with UTF8SMTP' in: $(cat "$(message_file)")"
}

# --- command lines ---

@test "command line: 512 octets with CRLF accepted, 513 refused 500 5.5.6" {
	local arg505 arg506
	arg505=$(printf 'n%.0s' $(seq 505))	# "NOOP " + 505 + CRLF = 512
	arg506=${arg505}n
	run smtp_session "NOOP $arg505\r\nNOOP $arg506\r\n$Q"
	assert_success
	assert_replies "220" "250 2.0.0" "500 5.5.6" "221 2.0.0"
}

@test "command line: 100 KB line gets one 500 5.5.6 and the session goes on" {
	{
		printf 'EHLO client.example\r\nMAIL FROM:<'
		head -c 102400 /dev/zero | tr '\0' a
		printf '@example.org>\r\nNOOP\r\n'
		printf 'MAIL FROM:<a@example.org>\r\nQUIT\r\n'
	} >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	assert_replies "220" "250" "500 5.5.6" "250 2.0.0" "250 2.1.0" \
	    "221 2.0.0"
}

@test "command line: ending in a bare LF is 500 5.5.2" {
	run smtp_session "EHLO client.example\nNOOP\nNOOP\r\n$Q"
	assert_success
	assert_replies "220" "500 5.5.2" "500 5.5.2" "250 2.0.0" "221 2.0.0"
}

@test "command line: a bare CR inside a command is refused" {
	run smtp_session "NOOP\rQUIT\r\n$Q"
	assert_success
	assert_replies "220" "50" "221 2.0.0"
}

@test "command line: a NUL byte in a command is refused" {
	run smtp_session "${E}MAIL FROM:<a\0@example.org>\r\nNO\0OP\r\n$Q"
	assert_success
	assert_replies "220" "250" "50" "50" "221 2.0.0"
	assert_stored 0
}

@test "too many bad commands: 421 4.7.0 and the connection closes" {
	local i in=""
	for i in $(seq 30); do in="${in}XYZZY $i\r\n"; done
	# (TARPITDELAY=0: abuse.bats times the tarpit)
	run smtp_session "$in$Q" TARPITDELAY=0
	local n500
	n500=$(grep -c '^500 5\.5\.2' <<<"$output")
	[ "$n500" -ge 19 ] && [ "$n500" -le 20 ] ||
	    fail "$n500 replies 500 before closing"
	assert_line --index $((n500 + 1)) --regexp '^421 4\.7\.0'
	[ "${#lines[@]}" -eq $((n500 + 2)) ] || fail "replies after 421"
	refute_reply_line '^221'
}

@test "good commands do not clear the error count" {
	local i in=""
	for i in $(seq 25); do in="${in}XYZZY\r\nNOOP\r\n"; done
	run smtp_session "$in$Q" TARPITDELAY=0
	assert_reply_line '^421 4\.7\.0'
	refute_reply_line '^221'
}

# --- pipelining (RFC 2920) ---

@test "pipelining: a whole transaction in one write gets every reply, in order" {
	run smtp_session "$E$M${R}RCPT TO:<c@example.net>\r\nDATA\r\nSubject: p\r\n\r\nbody\r\n.\r\n$M${R}DATA\r\nSubject: q\r\n\r\nbody\r\n.\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" "354" \
	    "250 2.0.0" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	assert_stored 2
}

@test "pipelining: a refused RCPT in the batch does not stop the others" {
	run smtp_session "$E${M}RCPT TO:<bad@@example.net>\r\n${R}DATA\r\nSubject: p\r\n\r\nbody\r\n.\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "501 5.1.3" "250 2.1.5" "354" \
	    "250 2.0.0" "221 2.0.0"
	run grep -c '^Delivered-To:' "$(message_file)"
	assert_output 1
}

@test "pipelining: DATA after only refused recipients fails and stores nothing" {
	run smtp_session "$E${M}RCPT TO:<bad@@example.net>\r\nDATA\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "501 5.1.3" "503 5.5.1" \
	    "221 2.0.0"
	assert_stored 0
}

@test "pipelining over TCP: one write, all replies in order" {
	start_server
	run client "send:$E$M${R}DATA\r\nSubject: p\r\n\r\nbody\r\n.\r\n$Q"
	assert_success
	assert_replies "220 smtp.test" "250" "250 2.1.0" "250 2.1.5" "354" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 1
}

@test "pipelining: a slow reader with a small receive buffer gets every reply, in order (RFC 2920)" {
	start_server TIMEOUT=10
	# 3000 NOOPs and a transaction in one go from a thread; the replies
	# (about 42 KB) are read 256 octets at a time with pauses, through a
	# 4 KB receive buffer, so smtpd's writes are partial and must wait.
	run timeout 30 "$PY" -c '
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
batch = b"EHLO client.example\r\n" + b"".join(b"NOOP %d\r\n" % i
    for i in range(3000)) + b"MAIL FROM:<a@example.org>\r\n" \
    b"RCPT TO:<b@example.net>\r\nDATA\r\nSubject: slow\r\n\r\nreader\r\n" \
    b".\r\nQUIT\r\n"
threading.Thread(target=s.sendall, args=(batch,), daemon=True).start()
data = b""
while True:
    d = s.recv(256)
    if not d:
        break
    data += d
    time.sleep(0.002)
codes = [l[:4].decode() for l in data.split(b"\r\n") if l[3:4] == b" "]
want = ["220 ", "250 "] + ["250 "] * 3000 + ["250 ", "250 ", "354 ",
    "250 ", "221 "]
print("ok" if codes == want else "replies: %d %r" % (len(codes),
    codes[-8:]))
print(data.count(b"250 2.0.0 OK\r\n"), data.count(b"Message accepted"))
' "$PORT"
	assert_success
	assert_line --index 0 ok
	assert_line --index 1 "3000 1"
	assert_stored 1
}

@test "a client that talks before the greeting is answered after it, in order" {
	start_server
	# Nothing is read before sending: the bytes are on their way while
	# tcpserver starts smtpd.
	run client "send:$E$M${R}DATA\r\nSubject: early\r\n\r\nbody\r\n.\r\n$Q"
	assert_success
	assert_line --index 0 --regexp '^220 smtp\.test'
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" \
	    "221 2.0.0"
	assert_stored 1
}

@test "a client that talks before the greeting, with a pause (slow start)" {
	start_server
	run client "send:EHLO early.example\r\n" sleep:0.3 expect:'^220' \
	    expect:'^250 ' "send:$Q"
	assert_success
	assert_replies "220" "250" "221 2.0.0"
}

# --- timeouts ---

@test "TIMEOUT: an idle client gets 421 4.4.2 and smtpd exits" {
	start_server TIMEOUT=1
	local t0 t1
	t0=$(date +%s%N)
	run client -t 8 expect:'^220' "send:$E" expect:'^250 ' expect:'^421'
	t1=$(date +%s%N)
	assert_success
	assert_replies "220" "250" "421 4.4.2"
	# Closed by smtpd (the client read EOF) within about a second.
	[ $(((t1 - t0) / 1000000)) -lt 4000 ] ||
	    fail "took $(((t1 - t0) / 1000000)) ms"
	wait_for_log 'info: .*(timeout|timed out)'
}

@test "TIMEOUT on pipes: no command at all" {
	run bash -c '(sleep 2) | env -i TIMEOUT=1 "$1" maildir "$2" 2>"$3" |
	    tr -d "\r"' bash "$SMTPD" "$MD" "$T/err"
	assert_replies "220" "421 4.4.2"
}

@test "SESSIONTIMEOUT: a client that keeps talking is still cut off" {
	start_server TIMEOUT=5 SESSIONTIMEOUT=1
	local args=(expect:'^220') i
	for i in $(seq 12); do args+=("send:NOOP\r\n" sleep:0.25); done
	run client -t 8 "${args[@]}"
	assert_reply_line '^421 4\.4\.2'
	local n
	n=$(grep -c '^250' <<<"$output")
	[ "$n" -lt 10 ] || fail "$n NOOPs answered in a 1 s session"
}

# --- exit codes and usage ---

@test "usage errors exit 100 with a fatal: line" {
	local args
	for args in "" "maildir" "bogus $T/x" "maildir $T/x extra"; do
		# shellcheck disable=SC2086
		run env -i "$SMTPD" $args </dev/null
		[ "$status" -eq 100 ] ||
		    fail "smtpd $args: exit $status, expected 100: $output"
		assert_output --regexp 'smtpd: pid [0-9]+: fatal: '
	done
}

@test "a bad DATABYTES, MAXRCPTS or TIMEOUT is a configuration error: exit 100" {
	local var
	for var in DATABYTES=lots DATABYTES=-1 MAXRCPTS=x TIMEOUT=soon; do
		run smtp_session "$Q" "$var"
		[ "$status" -eq 100 ] || fail "$var: exit $status, expected 100"
		refute_reply_line '^250'
		grep -q 'fatal: ' "$T/err" || fail "$var: no fatal: line"
	done
}

@test "exit 0 after QUIT and after EOF" {
	run smtp_session "$E$Q"
	assert_success
	run smtp_session "$E"
	assert_success
	assert_replies "220" "250"
}

# --- logging ---

@test "log: connect, message and disconnect lines, all prefixed" {
	run smtp_session "$E$M${R}RCPT TO:<c@example.net>\r\nDATA\r\nSubject: x\r\n\r\nhello\r\n.\r\n$Q" \
	    TCPREMOTEIP=192.0.2.7 TCPLOCALHOST=mx.test
	assert_success
	# Every line: smtpd: pid N: level: text
	run grep -cvE '^smtpd: pid [0-9]+: (info|warning|fatal): ' "$T/err"
	assert_output 0
	run grep -c . "$T/err"
	[ "$output" -ge 3 ] || fail "only $output log lines"
	# connect, with the peer
	run head -n 1 "$T/err"
	assert_output --regexp "^smtpd: pid [0-9]+: info: .*192\.0\.2\.7"
	# the message: sender, recipient count, size and final reply
	run grep -E 'a@example\.org' "$T/err"
	assert_success
	assert_output --regexp 'info: .*<a@example\.org> .*rcpts 2 .*size [0-9]+.*: 250'
	run grep -c hello "$T/err"
	assert_output 0
	# disconnect, with the reason
	run tail -n 1 "$T/err"
	assert_output --regexp 'info: .*[Qq][Uu][Ii][Tt]'
	# the same pid throughout
	run sh -c "sed 's/^smtpd: pid \([0-9]*\):.*/\1/' '$T/err' | sort -u | wc -l"
	assert_output 1
}

@test "log: a refused message is logged with its reply, the body never" {
	run smtp_session "$E$M${R}DATA\r\nsecret\nbody\r\n.\r\n$Q"
	assert_success
	run grep -E 'a@example\.org' "$T/err"
	assert_success
	assert_output --regexp '554'
	run grep -c secret "$T/err"
	assert_output 0
}

@test "log: the peer falls back to REMOTE_ADDR (systemd), then REMOTE_HOST (xinetd, stunnel), then unknown" {
	run smtp_session "$Q" REMOTE_ADDR=198.51.100.1 REMOTE_PORT=4242 REMOTE_HOST=203.0.113.9
	assert_success
	run head -n 1 "$T/err"
	assert_output --partial '198.51.100.1'

	run smtp_session "$Q" REMOTE_HOST=203.0.113.9
	assert_success
	run head -n 1 "$T/err"
	assert_output --partial '203.0.113.9'

	run smtp_session "$Q" TCPREMOTEIP=192.0.2.1 REMOTE_ADDR=198.51.100.1
	assert_success
	run head -n 1 "$T/err"
	assert_output --partial '192.0.2.1'
	refute_output --partial '198.51.100.1'

	run smtp_session "$Q"
	assert_success
	run head -n 1 "$T/err"
	assert_output --partial 'unknown'
}

@test "log: under tcpserver the peer is 127.0.0.1" {
	start_server
	run client expect:'^220' "send:$Q"
	assert_success
	wait_for_log 'smtpd: pid [0-9]+: info: .*127\.0\.0\.1'
}

@test "log: when fd 2 is the client's socket (xinetd, systemd), nothing is logged there" {
	run "$PY" -c '
import os, socket, subprocess, sys
a, b = socket.socketpair()
env = {"PATH": "/usr/bin:/bin"}
for line in sys.argv[3:]:
    k, _, v = line.partition("=")
    env[k] = v
p = subprocess.Popen([sys.argv[1], "maildir", sys.argv[2]], stdin=b, stdout=b,
                     stderr=b, env=env)
b.close()
a.sendall(b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nQUIT\r\n")
a.settimeout(10)
data = b""
while True:
    chunk = a.recv(65536)
    if not chunk:
        break
    data += chunk
p.wait(timeout=10)
sys.stdout.write(data.decode("latin-1").replace("\r", ""))
' "$SMTPD" "$MD" $(san_env)
	assert_success
	refute_output --partial 'smtpd: pid'
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" \
	    "221 2.0.0"
	assert_stored 1
}
