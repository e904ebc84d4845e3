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
