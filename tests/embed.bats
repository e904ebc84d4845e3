#!/usr/bin/env bats
# embed.bats: examples/embed.c, the session engine driven from one poll()
# loop, serving several SMTP sessions at once (build it: make build/embed).
# Each test starts its own build/embed on a port the kernel picks, talks
# to it with Python's smtplib, and stops it in teardown.

bats_load_library bats-support
bats_load_library bats-assert

setup()
{
	T=$BATS_TEST_TMPDIR
	EMBED=$BATS_TEST_DIRNAME/../build/embed
	# Debian's python3, not a pyenv shim.
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
	EMBED_PID=
	[ -x "$EMBED" ] || fail "no $EMBED (run make build/embed)"
	mkdir "$T/mail"
}

teardown()
{
	if [ -n "$EMBED_PID" ]; then
		kill "$EMBED_PID" 2>/dev/null || true
		wait "$EMBED_PID" 2>/dev/null || true
	fi
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$T/err" 2>/dev/null; then
		cat "$T/err" >&2
		fail "sanitizer report from embed"
	fi
}

# Start embed on port 0; it prints the port it got.  Sets PORT.
start_embed()
{
	local i
	"$EMBED" 0 "$T/mail" >"$T/port" 2>"$T/err" &
	EMBED_PID=$!
	for i in $(seq 100); do
		[ -s "$T/port" ] && break
		sleep 0.05
	done
	PORT=$(head -n 1 "$T/port")
	[ -n "$PORT" ] || fail "embed did not start: $(cat "$T/err")"
}

@test "embed: three interleaved sessions deliver three messages" {
	start_embed
	run "$PY" - "$PORT" <<'EOF'
import smtplib, sys

port = int(sys.argv[1])
# Open all three sessions before any of them sends a command.
conns = [smtplib.SMTP("127.0.0.1", port, timeout=10) for _ in range(3)]

def check(got, want, what):
    if got[0] != want:
        sys.exit("%s: %r, expected %d" % (what, got, want))

for i, c in enumerate(conns):
    check(c.ehlo("client%d.example" % i), 250, "EHLO %d" % i)
for i, c in enumerate(conns):
    check(c.mail("sender%d@example.org" % i), 250, "MAIL %d" % i)
for i, c in enumerate(conns):
    check(c.rcpt("rcpt%d@example.net" % i), 250, "RCPT %d" % i)
# Three deliveries open at once, their bodies sent in interleaved halves.
for i, c in enumerate(conns):
    check(c.docmd("DATA"), 354, "DATA %d" % i)
for i, c in enumerate(conns):
    c.send(("Subject: session %d\r\n\r\nhello from " % i).encode())
for i, c in enumerate(conns):
    # "..dotted" is the dot-stuffed form of ".dotted" (RFC 5321 4.5.2)
    c.send(("session %d\r\n..dotted\r\nend\r\n.\r\n" % i).encode())
for i, c in enumerate(conns):
    check(c.getreply(), 250, "end of DATA %d" % i)
for c in conns:
    c.quit()
print("ok")
EOF
	assert_success
	assert_output "ok"

	run find "$T/mail" -type f
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 3
	refute_output --partial ".tmp"
	for i in 0 1 2; do
		run grep -lx "Subject: session $i" "$T/mail"/msg.*
		assert_success
		assert_equal "$(printf '%s\n' "$output" | wc -l)" 1
		# Stored with LF line ends and the dot unstuffed.
		run diff <(printf 'Subject: session %d\n\nhello from session %d\n.dotted\nend\n' \
		    "$i" "$i") "$output"
		assert_success
	done
}

@test "embed: a session cut off inside DATA leaves no file behind" {
	start_embed
	run "$PY" - "$PORT" <<'EOF'
import smtplib, sys

port = int(sys.argv[1])
cut = smtplib.SMTP("127.0.0.1", port, timeout=10)
cut.ehlo("cut.example")
cut.mail("a@example.org")
cut.rcpt("b@example.net")
if cut.docmd("DATA")[0] != 354:
    sys.exit("DATA refused")
cut.send(b"Subject: never\r\n\r\nhalf a messa")
cut.close()
# The server goes on serving the others.
ok = smtplib.SMTP("127.0.0.1", port, timeout=10)
ok.sendmail("a@example.org", ["b@example.net"], "Subject: kept\r\n\r\nx\r\n")
ok.quit()
print("ok")
EOF
	assert_success
	assert_output "ok"
	run find "$T/mail" -type f
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 1
	run cat "$T/mail"/msg.*
	assert_line --index 0 "Subject: kept"
}

@test "embed: pipelined commands are answered in order" {
	start_embed
	run "$PY" - "$PORT" <<'EOF'
import socket, sys

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"EHLO p.example\r\nMAIL FROM:<a@example.org>\r\n"
          b"RCPT TO:<b@example.net>\r\nRCPT TO:<c d@example.net>\r\n"
          b"DATA\r\nSubject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
for line in data.decode().split("\r\n"):
    if line[:4] in ("220 ", "250 ", "354 ", "221 ") or line[:3] == "501":
        print(line[:3])
EOF
	assert_success
	assert_output "$(printf '%s\n' 220 250 250 250 501 354 250 221)"
	run find "$T/mail" -type f
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 1
}
