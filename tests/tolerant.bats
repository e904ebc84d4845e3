#!/usr/bin/env bats
# tolerant.bats: what honest senders send that smtpd takes (issue 14), each
# through tcpserver -HR with a real client (swaks, Python smtplib, a raw
# BDAT client): message lines longer than 1,000 octets, in DATA and in BDAT,
# stored byte for byte; HELO names of devices (my_pc, DESKTOP-AB_12),
# recorded safely in Received:; a MAIL keyword repeated with the same value.
# What stays refused is tested next to each.

load helpers/common

# long_line N: N octets of printable text, no dot, no % (swaks tokens).
long_line()
{
	"$PY" -c '
import sys
n = int(sys.argv[1])
s = b"".join(b"%c" % (65 + i % 26 + (i // 26 % 2) * 32) for i in range(min(n, 52)))
sys.stdout.buffer.write((s * (n // len(s) + 1))[:n])
' "$1"
}

# body_is FILE: the stored message's body equals FILE (CRLF made LF).
body_is()
{
	tr -d '\r' <"$1" >"$T/want"
	message_body >"$T/got"
	cmp "$T/want" "$T/got"
}

# --- long lines: no limit but DATABYTES ---

@test "long lines: swaks sends a 5,000-octet line in DATA; stored byte for byte" {
	start_server
	# swaks ends the data with its own CRLF before the dot.
	{
		printf 'Subject: long line\r\n\r\nbefore\r\n'
		long_line 5000
		printf '\r\nafter'
	} >"$T/msg"
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to b@example.net --timeout 10 \
	    --data "@$T/msg"
	assert_success
	assert_output --regexp '<-  250 2\.0\.0'
	assert_stored 1
	{ sed '1,/^\r$/d' "$T/msg"; printf '\n'; } >"$T/body"
	body_is "$T/body"
	run awk '{ print length($0) }' "$T/got"
	assert_output "$(printf '6\n5000\n5')"
}

@test "long lines: smtplib sends a 1 MB line in DATA; stored byte for byte" {
	start_server
	{
		printf 'Subject: one long line\r\n\r\n'
		long_line 1048576
		printf '\r\n'
	} >"$T/msg"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=60)
print(s.sendmail("a@example.org", ["b@example.net"], open(sys.argv[2], "rb").read()))
s.quit()
' "$PORT" "$T/msg"
	assert_success
	assert_output '{}'
	assert_stored 1
	sed '1,/^\r$/d' "$T/msg" >"$T/body"
	body_is "$T/body"
}

# bdat_send PORT FILE CHUNK...: EHLO, MAIL, RCPT, then FILE's bytes in BDAT
# chunks of the given sizes (the last one LAST), waiting for each reply as
# a client without PIPELINING does; prints each reply's first line.
bdat_send()
{
	"$PY" -c '
import socket, sys
port, path, sizes = int(sys.argv[1]), sys.argv[2], [int(x) for x in sys.argv[3:]]
data = open(path, "rb").read()
assert sum(sizes) == len(data)
c = socket.create_connection(("127.0.0.1", port), timeout=20)
f = c.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            print(line.decode().rstrip())
            return
reply()
for cmd in (b"EHLO client.example", b"MAIL FROM:<a@example.org>",
            b"RCPT TO:<b@example.net>"):
    c.sendall(cmd + b"\r\n")
    reply()
off = 0
for i, n in enumerate(sizes):
    last = b" LAST" if i == len(sizes) - 1 else b""
    c.sendall(b"BDAT %d%s\r\n" % (n, last) + data[off:off + n])
    off += n
    reply()
c.sendall(b"QUIT\r\n")
reply()
' "$@"
}

@test "long lines: a BDAT message with a 5,000-octet line gets 250 at LAST; stored byte for byte" {
	start_server
	{
		printf 'Subject: bdat long\r\n\r\n'
		long_line 5000
		printf '\r\nend\r\n'
	} >"$T/msg"
	local size
	size=$(stat -c %s "$T/msg")
	run bdat_send "$PORT" "$T/msg" "$size"
	assert_success
	assert_line --index 4 --regexp '^250 2\.0\.0 '
	assert_stored 1
	sed '1,/^\r$/d' "$T/msg" >"$T/body"
	body_is "$T/body"
}

@test "long lines: BDAT chunks that cut a 5,000-octet line (and its CRLF) in pieces; stored byte for byte" {
	start_server
	{
		printf 'Subject: bdat pieces\r\n\r\n'
		long_line 5000
		printf '\r\nend\r\n'
	} >"$T/msg"
	local size
	size=$(stat -c %s "$T/msg")
	# 2,000 octets, then up to the CR of the long line, then the rest.
	run bdat_send "$PORT" "$T/msg" 2000 $((5024 - 2000)) $((size - 5024))
	assert_success
	assert_line --index 4 --regexp '^250 2\.0\.0 Chunk'
	assert_line --index 5 --regexp '^250 2\.0\.0 Chunk'
	assert_line --index 6 --regexp '^250 2\.0\.0 '
	refute_line --index 6 --regexp 'Chunk'
	assert_stored 1
	sed '1,/^\r$/d' "$T/msg" >"$T/body"
	body_is "$T/body"
}

@test "long lines: a bare LF inside a 5,000-octet line is still 554 5.6.0 (smtplib)" {
	start_server
	{
		printf 'Subject: bare\r\n\r\n'
		long_line 2500
		printf '\n.\r\n'
		long_line 2500
		printf '\r\n'
	} >"$T/msg"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=20)
s.ehlo(); s.mail("a@example.org"); s.rcpt("b@example.net")
s.putcmd("data"); print(s.getreply()[0])
s.send(open(sys.argv[2], "rb").read() + b".\r\n")
code, text = s.getreply()
print(code, text.decode().split()[0])
s.quit()
' "$PORT" "$T/msg"
	assert_success
	assert_output "$(printf '354\n554 5.6.0')"
	assert_stored 0
}

# hops_message N: N Received: fields of about 5,000 octets, then a message.
hops_message()
{
	"$PY" -c '
import sys
n = int(sys.argv[1])
head = b"".join(b"Received: from h%d.example by h%d.example; " % (i, i) +
                b"x" * 4960 + b"\r\n" for i in range(n))
sys.stdout.buffer.write(head + b"Subject: hops\r\n\r\nbody\r\n")
' "$1"
}

@test "long lines: the hop count still counts 5,000-octet Received: fields (smtplib): 99 pass, 100 are 554 5.4.6" {
	start_server
	hops_message 99 >"$T/m99"
	hops_message 100 >"$T/m100"
	run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=20)
for path in sys.argv[2:]:
    try:
        print(s.sendmail("a@example.org", ["b@example.net"], open(path, "rb").read()))
    except smtplib.SMTPDataError as e:
        print(e.smtp_code, e.smtp_error.decode().split()[0])
s.quit()
' "$PORT" "$T/m99" "$T/m100"
	assert_success
	assert_output "$(printf '{}\n554 5.4.6')"
	assert_stored 1
	run grep -c '^Received: from h' "$(message_file)"
	assert_output 99
}

@test "long lines: over TCP, 100 Received: fields of 5,000 octets with each name cut between segments and a pause: 554 5.4.6" {
	start_server
	local pad acts=() i
	pad=$(head -c 4980 /dev/zero | tr '\0' x)
	acts=(expect:'^220 ' "send:EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" expect:'^354 ')
	for ((i = 0; i < 100; i++)); do
		# "Rec" | pause | "eived: ..." and the CRLF in another segment
		acts+=("send:Rec" sleep:0.01 "send:eived: from h$i $pad" "send:\r\n")
	done
	acts+=("send:Subject: hops\r\n\r\nbody\r\n.\r\n" expect:'^5' "send:QUIT\r\n")
	run client -t 60 "${acts[@]}"
	assert_success
	assert_line '554 5.4.6 Too many Received or Delivered-To header fields: mail loop'
	assert_stored 0
}

# --- HELO names of devices: taken, recorded safely ---

# received_check FILE: reads the stored message FILE's Received: field
# (smtpd's own, the first) strictly: Python's email parser with the
# strict policy, then RFC 5322 comments removed (nested, with
# quoted-pairs; an unbalanced one fails), then exactly one ";" before a
# date that parses, and tokens "from X by Y with W id I [for <R>]" with X
# a Domain or an address literal.  Prints "from X" and then each comment.
received_check()
{
	"$PY" -c '
import email, email.policy, email.utils, re, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                      policy=email.policy.strict)
value = str(msg.get_all("Received")[0])
text, comments, cur, depth, i = [], [], "", 0, 0
while i < len(value):
    c = value[i]
    if depth and c == "\\":
        cur += value[i:i + 2]; i += 2; continue
    if c == "(":
        if depth:
            cur += c
        depth += 1
    elif c == ")":
        if depth == 0:
            sys.exit("unbalanced ) in " + repr(value))
        depth -= 1
        if depth:
            cur += c
        else:
            comments.append(cur); cur = ""; text.append(" ")
    elif depth:
        cur += c
    else:
        text.append(c)
    i += 1
if depth:
    sys.exit("unclosed comment in " + repr(value))
text = "".join(text)
if text.count(";") != 1:
    sys.exit("not exactly one ; in " + repr(text))
clauses, date = text.split(";")
email.utils.parsedate_to_datetime(date.strip())
t = clauses.split()
domain = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
literal = r"\[(IPv6:[0-9A-Fa-f:.]+|[0-9.]+)\]"
ok = (len(t) in (8, 10) and t[0] == "from" and t[2] == "by" and
      t[4] == "with" and t[6] == "id" and t.count("from") == 1 and
      t.count("by") == 1 and re.fullmatch(domain + "|" + literal, t[1]) and
      re.fullmatch(domain, t[3]) and (len(t) == 8 or t[8] == "for"))
if not ok:
    sys.exit("not from X by Y with W id I [for R]: " + repr(t))
print("from " + t[1])
for c in comments:
    print(c)
' "$1"
}

@test "HELO: swaks --ehlo my_pc; the message lands, Received: says (helo=my_pc)" {
	start_server
	run swaks --server "127.0.0.1:$PORT" --ehlo my_pc --from a@example.org \
	    --to b@example.net --timeout 10 --header 'Subject: from a pc'
	assert_success
	assert_output --regexp '<-  250 2\.0\.0'
	assert_stored 1
	run received_check "$(message_file)"
	assert_success
	assert_line --index 0 'from [127.0.0.1]'
	assert_line --index 1 '[127.0.0.1]'
	assert_line --index 2 'helo=my_pc'
}

@test "HELO: smtplib with local_hostname DESKTOP-AB_12, EHLO and HELO; Received: parses strictly" {
	start_server
	run "$PY" -c '
import smtplib, sys
for greet in ("ehlo", "helo"):
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="DESKTOP-AB_12", timeout=10)
    print(getattr(s, greet)()[0])
    print(s.sendmail("scan@example.org", ["b@example.net"], b"Subject: scan\r\n\r\npage 1\r\n"))
    s.quit()
' "$PORT"
	assert_success
	assert_output "$(printf '250\n{}\n250\n{}')"
	assert_stored 2
	local f
	for f in "$MD"/new/*; do
		run received_check "$f"
		assert_success
		assert_line --index 0 'from [127.0.0.1]'
		assert_line --index 2 'helo=DESKTOP-AB_12'
	done
	run bash -c 'grep -h "^	by smtp.test (smtpd) with " "$@" | cut -d" " -f5 | sort' \
	    bash "$MD"/new/*
	assert_output "$(printf 'ESMTP\nSMTP')"
}

@test "HELO: a name with ( ) \\ ; and a forged 'by' cannot end the comment or add a clause (smtplib)" {
	start_server
	local name
	for name in 'x)by(evil.example;' 'a\)by[6.6.6.6]\(' '(((x' 'y)))' \
	    'z;by=evil.example'; do
		rm -rf "$MD"
		run "$PY" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname=sys.argv[2], timeout=10)
print(s.sendmail("a@example.org", ["b@example.net"], b"Subject: tricky\r\n\r\nx\r\n"))
s.quit()
' "$PORT" "$name"
		assert_success
		assert_output '{}'
		assert_stored 1
		run received_check "$(message_file)"
		assert_success
		assert_line --index 0 'from [127.0.0.1]'
		assert_line --index 2 "helo=$(printf '%s' "$name" | tr '()\\;' '????')"
		run grep -c 'evil\|6\.6\.6\.6' "$(message_file)"
		[ "$output" -le 1 ]
	done
}

@test "HELO: the pipe program's HELO is the name as sent (smtplib through tcpserver)" {
	H=$T/hook
	mkdir -p "$H"
	DELIVERY=(pipe "$HELPERS/hook-recorder")
	start_server HOOK_DIR="$H"
	run "$PY" -c '
import smtplib, sys
for name in ("my_pc", "a(b)\\c;by_x"):
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname=name, timeout=10)
    print(s.sendmail("a@example.org", ["b@example.net"], b"Subject: env\r\n\r\nx\r\n"))
    s.quit()
' "$PORT"
	assert_success
	assert_output "$(printf '{}\n{}')"
	[ "$(tr '\0' '\n' <"$H/env.1" | sed -n 's/^HELO=//p')" = 'my_pc' ]
	[ "$(tr '\0' '\n' <"$H/env.2" | sed -n 's/^HELO=//p')" = 'a(b)\c;by_x' ]
	# The program's copy of the message has the same safe Received:.
	run head -n 1 "$H/msg.2"
	assert_output 'Received: from [127.0.0.1] ([127.0.0.1]) (helo=a?b??c?by_x)'
}

@test "HELO: a control character, a space inside, an empty or a non-ASCII argument is still 501 5.5.4" {
	run smtp_session "EHLO my\tpc\r\nEHLO my pc\r\nHELO DESKTOP-AB_12 x\r\nEHLO \r\nHELO\r\nEHLO my\x01pc\r\nEHLO b\xc3\xbccher.example\r\nEHLO my_pc\r\n$Q"
	assert_success
	assert_replies 220 "501 5.5.4" "501 5.5.4" "501 5.5.4" "501 5.5.4" \
	    "501 5.5.4" "501 5.5.4" "501 5.5.4" 250 "221 2.0.0"
}

# --- a MAIL keyword repeated with the same value ---

# smtplib_repeat PORT MODE...: one message per MODE with Python's smtplib,
# from ü@example.org; prints the MAIL command smtplib sent and the result.
#	send_message:OPTION,...  send_message() with these mail_options: it
#		adds SMTPUTF8 and BODY=8BITMIME itself for the address
#	sendmail:OPTION,...      sendmail() with these mail_options
smtplib_repeat()
{
	"$PY" -c '
import email.message, smtplib, sys

class Client(smtplib.SMTP):
    def send(self, s):
        t = s if isinstance(s, bytes) else s.encode()
        if t[:4].lower() == b"mail":
            print(t.decode().rstrip())
        super().send(s)

for mode in sys.argv[2:]:
    how, _, opts = mode.partition(":")
    opts = [o for o in opts.split(",") if o]
    s = Client("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=10)
    msg = email.message.EmailMessage()
    msg["From"] = "ü@example.org"
    msg["To"] = "b@example.net"
    msg["Subject"] = "grüße " + mode
    msg.set_content("hallo " + mode + "\n")
    try:
        if how == "send_message":
            print(s.send_message(msg, mail_options=opts))
        else:
            print(s.sendmail("ü@example.org", ["b@example.net"],
                             msg.as_bytes(policy=msg.policy.clone(utf8=True,
                                                          linesep="\r\n")),
                             mail_options=opts))
    except smtplib.SMTPSenderRefused as e:
        print(e.smtp_code, e.smtp_error.decode().split()[0])
    s.quit()
' "$@"
}

@test "MAIL keywords: smtplib send_message with mail_options SMTPUTF8 (sent twice) lands" {
	start_server
	run smtplib_repeat "$PORT" send_message:SMTPUTF8
	assert_success
	assert_line --index 0 --regexp '^mail FROM:<ü@example\.org> .*SMTPUTF8 SMTPUTF8 BODY=8BITMIME$'
	assert_line --index 1 '{}'
	assert_stored 1
	run head -n 1 "$(message_file)"
	assert_output 'Return-Path: <ü@example.org>'
	run grep -c '^Subject: grüße send_message:SMTPUTF8$' "$(message_file)"
	assert_output 1
}

@test "MAIL keywords: smtplib with BODY=8BITMIME or SMTPUTF8 repeated (send_message, sendmail) lands" {
	start_server
	run smtplib_repeat "$PORT" send_message:BODY=8BITMIME \
	    send_message:SMTPUTF8,BODY=8BITMIME sendmail:SMTPUTF8,SMTPUTF8 \
	    sendmail:SMTPUTF8,BODY=8BITMIME,body=8bitmime
	assert_success
	assert_line --index 0 --regexp ' BODY=8BITMIME SMTPUTF8 BODY=8BITMIME$'
	assert_line --index 1 '{}'
	assert_line --index 2 --regexp ' SMTPUTF8 BODY=8BITMIME SMTPUTF8 BODY=8BITMIME$'
	assert_line --index 3 '{}'
	assert_line --index 4 --regexp ' SMTPUTF8 SMTPUTF8$'
	assert_line --index 5 '{}'
	assert_line --index 6 --regexp ' SMTPUTF8 BODY=8BITMIME body=8bitmime$'
	assert_line --index 7 '{}'
	assert_stored 4
}

@test "MAIL keywords: conflicting values are still 501 5.5.4 (smtplib sendmail)" {
	start_server
	run smtplib_repeat "$PORT" sendmail:SMTPUTF8,BODY=7BIT,BODY=8BITMIME \
	    sendmail:SMTPUTF8,SIZE=1
	assert_success
	assert_line --index 1 '501 5.5.4'
	# smtplib adds size=N itself: SIZE=1 is a second, different SIZE.
	assert_line --index 2 --regexp ' size=[0-9]+ SMTPUTF8 SIZE=1$'
	assert_line --index 3 '501 5.5.4'
	assert_stored 0
}
