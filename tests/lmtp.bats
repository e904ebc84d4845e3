#!/usr/bin/env bats
# lmtp.bats: `smtpd lmtp TARGET` against the real Dovecot (a private
# instance per test, tests/helpers/dovecot.bash), through tcpserver with
# swaks, Python's smtplib and raw pipelined sockets: recipients checked at
# RCPT by Dovecot's user database and quota, one reply after the data,
# faults answered 4xx with nothing lost.  Every case over the UNIX socket;
# the main ones over TCP (127.0.0.1) too.

load helpers/common
load helpers/dovecot

setup()
{
	common_setup
	dovecot_start
}

teardown()
{
	stop_server
	dovecot_stop
	assert_no_sanitizer_report
}

# serve unix|tcp [NAME=value...]: smtpd lmtp on the socket or the port.
serve()
{
	local via=$1
	shift
	if [ "$via" = unix ]; then
		DELIVERY=(lmtp "$LMTP_SOCKET")
	else
		DELIVERY=(lmtp "$LMTP_TCP")
	fi
	start_server "$@"
}

# smtplib: send FILE-less message to RCPTS (comma list); prints what
# sendmail refused ({} when none) or the exception's code and text.
send_py()
{
	local rcpts=$1 body=${2:-hello}
	"$PY" - "$PORT" "$rcpts" "$body" <<'PYEOF'
import smtplib, sys
port, rcpts, body = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
msg = "From: a@example.org\r\nSubject: lmtp test\r\n\r\n" + body + "\r\n"
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
try:
    refused = s.sendmail("a@example.org", rcpts, msg)
    print("refused", sorted((k, v[0], v[1].decode()) for k, v in refused.items()))
except smtplib.SMTPRecipientsRefused as e:
    print("all-refused", sorted((k, v[0], v[1].decode()) for k, v in e.recipients.items()))
except smtplib.SMTPResponseException as e:
    print("error", e.smtp_code, e.smtp_error.decode())
s.quit()
PYEOF
}

assert_log()
{
	grep -qE "$1" "$T/server.log" || fail "no log line /$1/ in: $(cat "$T/server.log")"
}

two_users() {
	serve "$1"
	run swaks --server 127.0.0.1 --port "$PORT" --from a@example.org \
	    --to alice@example.net,bob@example.net --header 'Subject: two' \
	    --body 'for both of you'
	assert_success
	assert_output --partial '<-  250 2.0.0 Message accepted'
	[ "$(mailbox_count alice)" -eq 1 ] && [ "$(mailbox_count bob)" -eq 1 ]
	run cat $(mailbox_files alice) $(mailbox_files bob)
	assert_output --partial 'for both of you'
	[ "$(grep -c '^Subject: two' <<<"$output")" -eq 2 ]
	# Our trace field, then Dovecot's own delivery.
	grep -q $'^\tby smtp.test (smtpd) with ESMTP id' $(mailbox_files alice)
	grep -q 'saved mail to INBOX' "$DV/dovecot.log"
	assert_log 'to <alice@example.net>: 250 2.0.0 said='
	assert_log 'to <bob@example.net>: 250 2.0.0 said='
	# QUIT ended the LMTP session.
	stop_server
	for i in $(seq 400); do
		grep -q 'Disconnect from .*Logged out' "$DV/dovecot.log" && break
		sleep 0.05
	done
	grep -q 'Disconnect from .*Logged out' "$DV/dovecot.log"
}

@test "unix: a message to two users lands in both mailboxes" { two_users unix; }
@test "tcp: a message to two users lands in both mailboxes" { two_users tcp; }

unknown_user() {
	serve "$1"
	run send_py alice@example.net,nobody@example.net,bob@example.net
	assert_success
	assert_output "refused [('nobody@example.net', 550, \"5.1.1 <nobody@example.net> User doesn't exist: nobody@example.net\")]"
	[ "$(mailbox_count alice)" -eq 1 ] && [ "$(mailbox_count bob)" -eq 1 ]
	[ ! -e "$DV/mail/nobody" ]
	assert_log 'recipient <nobody@example.net> refused: 550 5.1.1 reason=lmtp said='
}

@test "unix: an unknown user gets 550 5.1.1 at RCPT, the others get the message" { unknown_user unix; }
@test "tcp: an unknown user gets 550 5.1.1 at RCPT, the others get the message" { unknown_user tcp; }

over_quota() {
	serve "$1"
	run send_py carol@example.net,alice@example.net
	assert_success
	# Dovecot's own reply (lmtp_rcpt_check_quota), passed on.
	assert_output --regexp "refused \[\('carol@example.net', 552, '5\.2\.2 .*[Qq]uota"
	[ "$(mailbox_count carol)" -eq 1 ]	# only the filler
	[ "$(mailbox_count alice)" -eq 1 ]
	assert_log 'recipient <carol@example.net> refused: 552 5.2.2 reason=lmtp'
}

@test "unix: a user over quota gets Dovecot's reply at RCPT" { over_quota unix; }
@test "tcp: a user over quota gets Dovecot's reply at RCPT" { over_quota tcp; }

dovecot_down() {
	local target
	serve "$1"
	[ "$1" = unix ] && target=$LMTP_SOCKET || target=$LMTP_TCP
	dovecot_stop
	run send_py alice@example.net
	assert_success
	assert_output "all-refused [('alice@example.net', 451, '4.3.0 Mailbox server unavailable, try again later')]"
	[ "$(mailbox_count alice)" -eq 0 ]
	assert_log "warning: [0-9a-f]+: lmtp $target: connect: "
}

@test "unix: Dovecot stopped: 451 at RCPT, a log line naming it, nothing lost" { dovecot_down unix; }
@test "tcp: Dovecot stopped: 451 at RCPT, a log line naming it, nothing lost" { dovecot_down tcp; }

mixed_after_data() {
	local big
	serve "$1"
	big=$(head -c 20000 /dev/zero | tr '\0' y | fold -w 70)
	# bob's 10 KB quota takes the RCPT (an empty mailbox) but not the
	# 20 KB message: Dovecot says 250 for alice, 552 for bob.
	run send_py alice@example.net,bob@example.net "$big"
	assert_success
	assert_output "error 451 4.3.0 Not every mailbox took the message, try again later"
	assert_log 'to <alice@example.net>: 250 2.0.0 said='
	assert_log 'to <bob@example.net>: 552 5.2.2 said=.*Quota'
	assert_log ': from <a@example.org> rcpts 2 size [0-9]+: 451 4.3.0 reason=lmtp'
	[ "$(grep -c ': to <' "$T/server.log")" -eq 2 ]
	# The second copy on the client's retry goes to alice (smtpd.8).
	[ "$(mailbox_count alice)" -eq 1 ] && [ "$(mailbox_count bob)" -eq 0 ]
}

@test "unix: a mix of results after the data: 451, one log line per recipient" { mixed_after_data unix; }
@test "tcp: a mix of results after the data: 451, one log line per recipient" { mixed_after_data tcp; }

@test "unix: the same permanent refusal from every recipient is passed on" {
	local big
	serve unix
	big=$(head -c 20000 /dev/zero | tr '\0' y | fold -w 70)
	run send_py bob@example.net,dave@example.net "$big"
	assert_success
	assert_output --regexp '^error 552 5\.2\.2 .*Quota'
	assert_log 'rcpts 2 size [0-9]+: 552 5.2.2 reason=lmtp'
	[ "$(mailbox_count bob)" -eq 0 ] && [ "$(mailbox_count dave)" -eq 0 ]
}

@test "unix: a 50 MB message, memory flat in its size" {
	command -v /usr/bin/time >/dev/null || fail "GNU time is needed (Debian: time)"
	local small big
	SERVER_WRAP=(/usr/bin/time -f '%M' -a -o "$T/rss")
	serve unix DATABYTES=60000000
	"$PY" - "$PORT" <<'PYEOF'
import smtplib, sys
port = int(sys.argv[1])
line = b"x" * 998 + b"\r\n"
small = b"Subject: small\r\n\r\n" + line
big = b"Subject: big\r\n\r\n" + line * (50 * 1024 * 1024 // len(line))
for m in (small, big):
    s = smtplib.SMTP("127.0.0.1", port, timeout=300)
    s.sendmail("a@example.org", ["alice@example.net"], m)
    s.quit()
PYEOF
	stop_server
	# time(1) writes its line when its smtpd has ended, which may be
	# after the client's QUIT and the server's stop (QUIT to Dovecot
	# comes last): wait for both lines, 10 s at most.
	local i
	for i in $(seq 200); do
		[ "$(wc -l <"$T/rss")" -ge 2 ] && break
		sleep 0.05
	done
	small=$(sed -n 1p "$T/rss")
	big=$(sed -n 2p "$T/rss")
	echo "peak RSS: 1 KB message $small KB, 50 MB message $big KB" >&3
	[ "$big" -le $((small + 2048)) ] || fail "50 MB message: $big KB, 1 KB: $small KB"
	[ "$(mailbox_count alice)" -eq 2 ]
	local f
	f=$(grep -l '^Subject: big' $(mailbox_files alice))
	[ "$(stat -c %s "$f")" -gt 50000000 ]
}

utf8_and_8bit() {
	serve "$1"
	run "$PY" - "$PORT" <<'PYEOF'
import smtplib, sys
port = int(sys.argv[1])
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo()
# SMTPUTF8: a UTF-8 sender goes through; a UTF-8 recipient Dovecot
# cannot take gets 553 5.6.7 from smtpd, not Dovecot's 501.
print(s.mail("jörg@exämple.org", ["SMTPUTF8", "BODY=8BITMIME"]))
print(s.rcpt("jöe@example.net"))
print(s.rcpt("alice@example.net"))
print(s.data("Subject: Grüße\r\n\r\nÄpfel und Bäume\r\n".encode()))
# 8BITMIME without SMTPUTF8.
print(s.mail("a@example.org", ["BODY=8BITMIME"]))
print(s.rcpt("bob@example.net"))
print(s.data("Subject: 8bit\r\n\r\nna\xefve caf\xe9\r\n".encode("latin-1")))
s.quit()
PYEOF
	assert_success
	assert_line "(250, b'2.1.0 Sender OK')"
	assert_line "(553, b'5.6.7 The mailbox server cannot take a UTF-8 address (it does not offer SMTPUTF8)')"
	assert_line "(250, b'2.1.5 OK')"
	[ "$(grep -c "(250, b'2.0.0 Message accepted')" <<<"$output")" -eq 2 ]
	grep -q 'Äpfel und Bäume' $(mailbox_files alice)
	# (Dovecot 2.3 takes the UTF-8 reverse path but records it as <>:
	# smtpd.8, LMTP.)
	LC_ALL=C grep -q $'na\xefve caf\xe9' $(mailbox_files bob)
	grep -q 'with UTF8SMTP' $(mailbox_files alice)
}

@test "unix: SMTPUTF8 and 8-bit messages" { utf8_and_8bit unix; }
@test "tcp: SMTPUTF8 and 8-bit messages" { utf8_and_8bit tcp; }

# raw_session TEXT: the whole client input in one write (pipelined), the
# replies until the server closes.
raw_session()
{
	"$PY" - "$PORT" "$1" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 60)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
print(out.decode().replace("\r", ""), end="")
PYEOF
}

@test "unix: a pipelined client; RSET and a second transaction on one LMTP connection" {
	serve unix
	run raw_session 'EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.net>\r\nRCPT TO:<nobody@example.net>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\nSubject: one\r\n\r\n..dot\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.net>\r\nRSET\r\nMAIL FROM:<b@example.org>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\nSubject: two\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 '250 2.1.0' '250 2.1.5' '550 5.1.1' '250 2.1.5' 354 \
	    '250 2.0.0 Message accepted' '250 2.1.0' '250 2.1.5' '250 2.0.0' \
	    '250 2.1.0' '250 2.1.5' 354 '250 2.0.0 Message accepted' 221
	[ "$(mailbox_count alice)" -eq 1 ] && [ "$(mailbox_count bob)" -eq 1 ] &&
	    [ "$(mailbox_count dave)" -eq 1 ]
	# dot-stuffing both ways: the client's "..dot" is ".dot" in the mailbox
	grep -qx '\.dot' $(mailbox_files alice)
	# One LMTP connection for both transactions.
	[ "$(grep -c 'Connect from local' "$DV/dovecot.log")" -eq 1 ]
}

@test "unix: BDAT from the client" {
	serve unix
	run raw_session 'EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.net>\r\nBDAT 24\r\nSubject: bdat\r\n\r\nfirst\r\nBDAT 14 LAST\r\n.second\r\nend\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 '250 2.1.0' '250 2.1.5' '250 2.0.0 Chunk' '250 2.0.0 Message accepted' 221
	local f
	f=$(mailbox_files alice)
	grep -qx 'first' "$f" && grep -qx '\.second' "$f" && grep -qx 'end' "$f"
}

@test "tcp: BDAT from the client" {
	serve tcp
	run raw_session 'EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.net>\r\nBDAT 24 LAST\r\nSubject: bdat\r\n\r\nhello\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 '250 2.1.0' '250 2.1.5' '250 2.0.0 Message accepted' 221
	[ "$(mailbox_count bob)" -eq 1 ]
}

@test "unix: smtpd's own policy first: RCPTHOSTS refuses before Dovecot is asked" {
	echo example.net >"$T/rcpthosts"
	serve unix RCPTHOSTS="$T/rcpthosts"
	run send_py alice@example.net,alice@elsewhere.test
	assert_success
	assert_output --regexp "refused \[\('alice@elsewhere.test', 550, '5\.7\.1 "
	[ "$(mailbox_count alice)" -eq 1 ]
	assert_log 'recipient <alice@elsewhere.test> refused: 550 5.7.1 reason=relay'
}

# fault_server MODE: tests/helpers/lmtp-fault.py on $T/fault.sock.
fault_server()
{
	"$PY" "$HELPERS/lmtp-fault.py" "$1" "$T/fault.sock" 3>&- &
	SERVER_PIDS+=("$!")
	for i in $(seq 100); do
		[ -S "$T/fault.sock" ] && return 0
		sleep 0.05
	done
	fail "lmtp-fault.py did not start"
}

@test "unix: a server that stalls: 451 at TIMEOUT, a log line naming it" {
	fault_server stall
	DELIVERY=(lmtp "$T/fault.sock")
	start_server TIMEOUT=2
	run send_py alice@example.net
	assert_success
	assert_output "all-refused [('alice@example.net', 451, '4.3.0 Mailbox server unavailable, try again later')]"
	assert_log "lmtp $T/fault.sock: greeting: Connection timed out"
}

@test "unix: a server that stalls past SESSIONTIMEOUT: 421 4.4.2, the session ends" {
	fault_server stall
	DELIVERY=(lmtp "$T/fault.sock")
	start_server SESSIONTIMEOUT=3 TIMEOUT=60
	run raw_session 'EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n'
	assert_success
	assert_replies 220 250 '250 2.1.0' '421 4.4.2'
	assert_log 'SESSIONTIMEOUT reached: closing'
	assert_log "lmtp $T/fault.sock: greeting: Connection timed out"
}

@test "unix: a server that answers garbage or closes: 451, a log line naming it" {
	fault_server garbage
	DELIVERY=(lmtp "$T/fault.sock")
	start_server
	run send_py alice@example.net
	assert_output --partial "451, '4.3.0 Mailbox server unavailable"
	assert_log "lmtp $T/fault.sock: not an LMTP reply: Protocol error"
	stop_server
	rm -f "$T/fault.sock"
	fault_server close
	DELIVERY=(lmtp "$T/fault.sock")
	start_server
	run send_py alice@example.net
	assert_output --partial "451, '4.3.0 Mailbox server unavailable"
	assert_log "lmtp $T/fault.sock: closed the connection"
}

# RFC 2034 §3: with ENHANCEDSTATUSCODES offered, every 2xx, 4xx and 5xx
# reply has a status; RFC 5321 §3.8: 421 means the connection closes.
@test "unix: a server's odd replies are passed on with a status each, its 421 as 451" {
	fault_server odd
	DELIVERY=(lmtp "$T/fault.sock")
	start_server
	run "$PY" - "$PORT" <<'PYEOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
s.ehlo("c.test")
print("mail", *s.mail("a@example.org"))
for r in ("nostatus", "bare", "wrongclass"):
    code, text = s.rcpt(r + "@example.net")
    print(r, code, text.decode())
code, text = s.data(b"Subject: odd\r\n\r\nstill here\r\n")
print("data", code, text.decode())
s.mail("a@example.org")
for r in ("busy", "nostatus"):
    code, text = s.rcpt(r + "@example.net")
    print(r, code, text.decode())
print("rset", *s.rset())
print("noop", *s.noop())
s.quit()
PYEOF
	assert_success
	assert_line "mail 250 b'2.1.0 Sender OK'"
	assert_line "nostatus 250 2.1.5 OK"
	assert_line "bare 250 2.1.5 Recipient OK"
	assert_line "wrongclass 550 5.0.0 mismatched"
	assert_line "data 250 2.0.0 Message accepted"
	# The server's 421, then its close: the client's session goes on.
	assert_line "busy 451 4.3.0 shutting down"
	assert_line "nostatus 451 4.3.0 Mailbox server unavailable, try again later"
	assert_line "rset 250 b'2.0.0 OK'"
	assert_line "noop 250 b'2.0.0 OK'"
	grep -q '^still here' "$T/fault.sock.mbox"
	assert_log 'recipient <busy@example.net> refused: 421 4.3.2 reason=lmtp said=shutting.x20down'
}

@test "unix: Dovecot stopped after RCPT: DATA gets 451, nothing delivered" {
	serve unix
	run "$PY" - "$PORT" "$DV/run/master.pid" <<'PYEOF'
import os, signal, smtplib, sys, time
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
s.ehlo()
print(s.mail("a@example.org"))
print(s.rcpt("alice@example.net"))
pid = int(open(sys.argv[2]).read())
def children(ppid):
    kids = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and int(open("/proc/%s/stat" % d).read()
                                   .rsplit(")", 1)[1].split()[1]) == ppid:
                kids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return kids
kids = children(pid)            # the lmtp process among them
os.kill(pid, signal.SIGTERM)
for p in [pid] + kids:          # all gone, within 20 s
    for _ in range(400):
        try:
            os.kill(p, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
try:
    print(s.data(b"Subject: x\r\n\r\nx\r\n"))
except smtplib.SMTPResponseException as e:
    print("error", e.smtp_code, e.smtp_error.decode())
s.quit()
PYEOF
	assert_success
	assert_line --regexp "^(\(451, b'4\.3\.0 .*\)|error 451 4\.3\.0 .*)$"
	[ "$(mailbox_count alice)" -eq 0 ]
	assert_log 'lmtp .*/run/lmtp: '
}

@test "a bad LMTP target is refused at start: 421, exit 111" {
	DELIVERY=(lmtp "localhost:24")
	run smtp_session "$E$Q"
	[ "$status" -eq 111 ]
	assert_output --partial '421 4.3.0'
	grep -q 'lmtp target' "$T/err"
}

@test "unix: a server without CHUNKING or PIPELINING (aiosmtpd's LMTP): DATA, dot-stuffed, and SMTPUTF8 passed on" {
	mkdir "$T/aio"
	/usr/bin/python3 "$HELPERS/lmtp-aiosmtpd.py" "$T/aio.sock" "$T/aio" 3>&- &
	SERVER_PIDS+=("$!")
	for i in $(seq 200); do
		[ -S "$T/aio.sock" ] && break
		sleep 0.05
	done
	DELIVERY=(lmtp "$T/aio.sock")
	start_server
	run raw_session 'EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.net>\r\nDATA\r\nSubject: dots\r\n\r\n..one\r\n...two\r\n.\r\nMAIL FROM:<j\xc3\xb6@example.org> SMTPUTF8\r\nRCPT TO:<\xc3\xbc@example.net>\r\nDATA\r\nSubject: utf8\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 '250 2.1.0' 250 354 '250 2.0.0 Message accepted' \
	    '250 2.1.0' 250 354 '250 2.0.0 Message accepted' 221
	# The body exactly, dot-unstuffed by aiosmtpd: smtpd stuffed it.
	run sed '1,/^\r$/d' "$T/aio/1"
	assert_output $'.one\r\n..two\r'
	grep -q '^to u@example.net$' "$T/aio/1.env"
	# The server offers SMTPUTF8: the keyword and the UTF-8 recipient go on.
	grep -q '^options .*SMTPUTF8' "$T/aio/2.env"
	grep -q '^to ü@example.net$' "$T/aio/2.env"
}

@test "more than one machine: haproxy (contrib's config), two smtpd, LMTP to one Dovecot (socket and TCP)" {
	local port p1 p2 i
	start_backend mx1 lmtp "$LMTP_SOCKET"
	p1=$BACKEND_PORT
	start_backend mx2 lmtp "$LMTP_TCP"
	p2=$BACKEND_PORT
	port=$(free_port)
	haproxy_config "$port" "$p1" "$p2" >"$T/haproxy.cfg"
	haproxy -c -q -f "$T/haproxy.cfg" || fail "haproxy -c refused the config"
	haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 3>&- &
	SERVER_PIDS+=("$!")
	for i in $(seq 200); do
		"$PY" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
		    "$port" 2>/dev/null && break
		sleep 0.05
	done
	for i in 1 2 3 4; do
		run swaks --server "127.0.0.1:$port" --local-interface 127.0.0.2 \
		    --from a@example.org --to alice@example.net,nobody@example.net \
		    --header "Subject: via haproxy $i" --body 'through the front' \
		    --timeout 30
		assert_success
		assert_output --partial '<** 550 5.1.1 <nobody@example.net> User'
		assert_output --partial '<-  250 2.0.0 Message accepted'
	done
	[ "$(mailbox_count alice)" -eq 4 ]
	run cat $(mailbox_files alice)
	# Each names the real client, and both backends took some.
	[ "$(grep -c 'from .*(\[127\.0\.0\.2\])' <<<"$output")" -eq 4 ]
	grep -q 'by mx1 (smtpd)' <<<"$output" && grep -q 'by mx2 (smtpd)' <<<"$output" ||
	    fail "not balanced: $(grep '(smtpd)' <<<"$output")"
}
