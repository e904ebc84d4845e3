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

# The engine as a library: `make install` into a temporary PREFIX, then
# examples/embed.c built from the installed files alone (a copy of it in
# another directory, pkg-config for the flags), then a session through it.
@test "embed: built from the installed library with pkg-config, it takes a message" {
	command -v pkg-config >/dev/null || fail "pkg-config is needed"
	local top=$BATS_TEST_DIRNAME/..
	make -s -C "$top" install PREFIX="$T/prefix" >"$T/install.log" 2>&1 ||
	    fail "make install: $(tail -n 5 "$T/install.log")"
	[ -f "$T/prefix/lib/libsmtpproto.a" ]
	[ -f "$T/prefix/include/smtpproto/smtp.h" ]
	[ -f "$T/prefix/share/man/man3/smtp_engine.3" ]
	# ascii.h and session.h are the engine's own.
	[ ! -e "$T/prefix/include/smtpproto/ascii.h" ]
	[ ! -e "$T/prefix/include/smtpproto/session.h" ]
	mkdir "$T/src"
	cp "$top/examples/embed.c" "$T/src/"
	cd "$T/src"
	run env PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" \
	    pkg-config --cflags --libs smtpproto
	assert_success
	# (pkg-config ends the line with a space)
	assert_equal "$(echo $output)" \
	    "-I$T/prefix/include/smtpproto -L$T/prefix/lib -lsmtpproto"
	# shellcheck disable=SC2046
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	    -o embed embed.c $(PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" \
	    pkg-config --cflags --libs smtpproto)
	EMBED=$T/src/embed
	start_embed
	run "$PY" - "$PORT" <<'PYEOF'
import smtplib, sys

c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
c.sendmail("a@example.org", ["b@example.net"],
           b"Subject: installed\r\n\r\nfrom the library\r\n")
c.quit()
print("ok")
PYEOF
	assert_success
	assert_output "ok"
	run cat "$T/mail"/msg.*
	assert_output "$(printf 'Subject: installed\n\nfrom the library')"
}

# smtp_engine(3)'s EXAMPLE, cut out of the installed page, built against
# a DESTDIR install (pkg-config finds it through its sysroot), and run on
# a pipelined session: the example must compile and work as printed.
@test "embed: smtp_engine(3)'s example compiles from a DESTDIR install and takes a message" {
	command -v pkg-config >/dev/null || fail "pkg-config is needed"
	local top=$BATS_TEST_DIRNAME/..
	local dest=$T/dest prefix=/usr/local
	make -s -C "$top" install DESTDIR="$dest" PREFIX="$prefix" \
	    >"$T/install.log" 2>&1 ||
	    fail "make install: $(tail -n 5 "$T/install.log")"
	# The second .EX block is the program; \e is roff's backslash.
	awk '/^\.EX$/ { n++; on = 1; next } /^\.EE$/ { on = 0 } on && n == 2' \
	    "$dest$prefix/share/man/man3/smtp_engine.3" |
	    sed 's/\\e/\\/g' >"$T/example.c"
	grep -q '^main(void)' "$T/example.c"
	# shellcheck disable=SC2046
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	    -o "$T/example" "$T/example.c" $(PKG_CONFIG_SYSROOT_DIR="$dest" \
	    PKG_CONFIG_PATH="$dest$prefix/lib/pkgconfig" \
	    pkg-config --cflags --libs smtpproto)
	run sh -c 'printf "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: man\r\n\r\n..dot\r\n.\r\nQUIT\r\n" |
	    "$1" 2>"$2" >"$3"' sh "$T/example" "$T/message" "$T/replies"
	assert_success
	run tr -d '\r' <"$T/replies"
	assert_success
	assert_line --index 0 "220 mx.example ESMTP smtpd"
	assert_line "250 2.0.0 Message accepted"
	assert_equal "${lines[-1]}" "221 2.0.0 Goodbye"
	run cat "$T/message"
	assert_output "$(printf 'Subject: man\n\n.dot')"
}
