#!/usr/bin/env bats
# logs.bats: issue 13 items 2 and 6, run as the attacker ran them, over
# tcpserver with real clients (smtp-client.py in split segments with
# pauses, Python smtplib), repeated.
#
# Item 2: a client that fills HELO, MAIL, RCPT, the AUTH user and a
# program's reply with the text of another log line cannot forge one:
# each value is escaped (lib/logesc.c), every line of the log is smtpd's
# or tcpserver's own, and the anchored fail2ban filter (contrib/fail2ban)
# finds only the real client's address, in a plain log, behind multilog's
# TAI64N stamps and behind a syslog/journal prefix (Debian's
# fail2ban-regex).  Every refusal line says why (reason=WORD).
#
# Item 6: U+2028, U+2029, the C1 controls (NEL U+0085 among them) and the
# bidirectional controls are refused in addresses (501 5.1.3 / 5.1.7),
# nothing is delivered to <victim@evil.com U+2028 x.example.org> although
# RCPTHOSTS has .example.org, and a hook that splits RECIPIENTS with
# Python's splitlines() sees only the real recipients.  The writers
# (AUTHUSER, Received:) turn them into ?, for an AUTH user too.

load helpers/common

# A line with the syntax of smtpd's own, and the review's forged local
# part (a local part has at most 64 octets).
FORGED='smtpd: pid 1: warning: a: auth failed: ip=203.0.113.9 user=x mech=PLAIN: rejected by CHECKPASSWORD'
FL='smtpd: pid 1: warning: a: auth failed: ip=203.0.113.9 user='

setup()
{
	common_setup
	printf 'alice:wonderland\n' >"$T/users"
	printf 'example.net\nexample.org\n.example.org\n' >"$T/rcpthosts"
}

# cut TEXT AT: AT moved back before any smtp-client.py escape (\xNN)
# it would fall into.
cut_at()
{
	local s=$1 c=$2 k
	for k in 1 2 3; do
		[ "$c" -gt "$k" ] && [ "${s:c-k:1}" = '\' ] && c=$((c - k))
	done
	echo "$c"
}

# split TEXT: smtp-client.py actions that send TEXT and CR LF in three
# segments with a pause between them (the attack split across TCP
# segments).
split()
{
	local s=$1 n=${#1} a b
	a=$(cut_at "$s" $((n / 3)))
	b=$(cut_at "$s" $((2 * n / 3)))
	printf '%s\n' "send:${s:0:a}" sleep:0.02 "send:${s:a:b-a}" \
	    sleep:0.02 "send:${s:b}\r\n"
}

# tai64n SECONDS: multilog's stamp for that Unix time.
tai64n()
{
	printf '@4%015x%08x' $(($1 + 10)) 0
}

# f2b_hosts LOG [fail2ban-regex options...]: the addresses the shipped
# filter matches in LOG, one per line.
f2b_hosts()
{
	local log=$1
	shift
	fail2ban-regex -v "$@" "$log" \
	    "$BATS_TEST_DIRNAME/../contrib/fail2ban/filter.d/smtpd-auth.conf" \
	    >"$T/f2b.out" 2>&1 || fail "fail2ban-regex: $(cat "$T/f2b.out")"
	sed -n 's/^|      \([0-9a-f.:]*\)  .*/\1/p' "$T/f2b.out"
}

@test "forged HELO, MAIL, RCPT, AUTH user and program reply: escaped, one line each, and fail2ban matches only the real client" {
	local i args plain b64 now
	printf '#!/bin/sh\ncat >/dev/null\necho "%s"\nexit 100\n' "$FORGED" \
	    >"$T/hook"
	chmod +x "$T/hook"
	DELIVERY=(pipe "$T/hook")
	mkdir "$T/rc"
	start_server CHECKPASSWORD="$HELPERS/checkpassword.py" \
	    CHECKPW_USERS="$T/users" CLEARTEXTAUTH=1 AUTHDELAY=0 TIMEOUT=10 \
	    RCPTHOSTS="$T/rcpthosts" RCPTCHECK="$HELPERS/rcptcheck" \
	    RC_DIR="$T/rc"
	# AUTH PLAIN: no authzid, the forged line as the user, a wrong
	# password.
	b64=$(printf '\0%s\0wrong' "$FORGED" | base64 -w0)
	for i in 1 2 3 4 5; do
		mapfile -t args < <(
		    echo 'expect:^220 '
		    split "EHLO $FORGED"; echo 'expect:^(250|501) '
		    split 'EHLO client.example'; echo 'expect:^250 '
		    split "AUTH PLAIN $b64"; echo 'expect:^535 '
		    split "MAIL FROM:<\"$FL\"@evil.com>"
		    echo 'expect:^250 '
		    split "RCPT TO:<\"$FL\"@evil.com>"
		    echo 'expect:^550 5\.7\.1'
		    split "RCPT TO:<\"$FL\"@example.net>"
		    echo 'expect:^451 4\.3\.0'
		    split "RCPT TO:$FORGED"; echo 'expect:^501 '
		    split "RCPT TO:<\"\\xe2\\x80\\xa8$FL\"@example.org>"
		    echo 'expect:^501 5\.1\.3'
		    split 'RCPT TO:<ok@example.net>'; echo 'expect:^250 '
		    split 'DATA'; echo 'expect:^354'
		    split 'Subject: x\r\n\r\nx\r\n.'
		    echo 'expect:^554 5\.0\.0'
		    echo 'send:QUIT\r\n' 'expect:^221')
		run client "${args[@]}"
		assert_success
	done
	wait_for_log 'end: quit, 0 messages, 1 refused'
	sleep 0.5
	stop_server
	# Every line is smtpd's or tcpserver's own: nothing a client sent
	# started a line.
	run grep -cvE '^(smtpd: pid [0-9]+: (info|warning): [0-9a-f.]+: |tcpserver: )' "$T/server.log"
	assert_output 0
	# Each value is one escaped word: no space, quote or '=' of the
	# client's survives in it.
	run grep -c 'auth failed: ip=127\.0\.0\.1 user=smtpd:\\x20pid\\x201:\\x20warning:\\x20a:\\x20auth\\x20failed:\\x20ip\\x3d203\.0\.113\.9\\x20user\\x3dx\\x20mech\\x3dPLAIN:\\x20rejected\\x20by\\x20CHECKPASSWORD mech=PLAIN: rejected by CHECKPASSWORD$' "$T/server.log"
	assert_output 5
	# A HELO argument that is no domain is refused, and logged escaped
	# (or, where any printable HELO is accepted, not logged).
	run grep -c 'EHLO refused: 501 5\.5\.4 reason=syntax arg=smtpd:\\x20pid\\x201:' "$T/server.log"
	[ "$output" = 5 ] || [ "$output" = 0 ] || fail "EHLO lines: $output"
	run grep -c 'recipient <\\x22smtpd:\\x20pid\\x201:\\x20warning:[^ ]*\\x22@evil\.com> refused: 550 5\.7\.1 reason=relay$' "$T/server.log"
	assert_output 5
	run grep -c 'RCPTCHECK: <\\x22smtpd:\\x20pid[^ ]*@example\.net>: exit 3$' "$T/server.log"
	assert_output 5
	run grep -c 'recipient <\\x22smtpd:\\x20pid[^ ]*@example\.net> refused: 451 4\.3\.0 reason=rcptcheck$' "$T/server.log"
	assert_output 5
	run grep -c 'RCPT refused: 501 5\.5\.4 reason=syntax arg=TO:smtpd:\\x20pid' "$T/server.log"
	assert_output 5
	run grep -c 'RCPT refused: 501 5\.1\.3 reason=bad-char arg=TO:<\\x22\\xe2\\x80\\xa8smtpd:\\x20pid' "$T/server.log"
	assert_output 5
	run grep -c 'program exit 100: smtpd:\\x20pid\\x201:\\x20warning:' "$T/server.log"
	assert_output 5
	run grep -cE 'from <\\x22smtpd:\\x20pid[^ ]*@evil\.com> rcpts 1 size [0-9]+: 554 5\.0\.0 reason=program failed at exit$' "$T/server.log"
	assert_output 5
	# Every refusal says why, in one word.
	run grep -E ' refused: ' "$T/server.log"
	refute_line --regexp ' refused: [0-9]{3}( [245]\.[0-9]+\.[0-9]+)?$'
	run grep -cvE ' refused: [45][0-9]{2} [45]\.[0-9]+\.[0-9]+ reason=[a-z0-9-]+( |$)' <(grep ' refused: ' "$T/server.log")
	assert_output 0
	# fail2ban: 5 failures, all from 127.0.0.1; never 203.0.113.9.
	run f2b_hosts "$T/server.log" -d '{NONE}'
	assert_output "$(printf '127.0.0.1\n%.0s' 1 2 3 4 5)"
	# Behind multilog (TAI64N) and behind syslog/journald's prefix.
	now=$(date +%s)
	sed "s/^/$(tai64n "$now") /" "$T/server.log" >"$T/multilog.log"
	run f2b_hosts "$T/multilog.log"
	assert_output "$(printf '127.0.0.1\n%.0s' 1 2 3 4 5)"
	sed "s/^/$(date -d "@$now" '+%b %e %H:%M:%S') mx smtpd[4242]: /" \
	    "$T/server.log" >"$T/syslog.log"
	run f2b_hosts "$T/syslog.log"
	assert_output "$(printf '127.0.0.1\n%.0s' 1 2 3 4 5)"
}

@test "the filter is anchored: a forged auth-failed line inside another line never matches" {
	# The review's lines as the unescaped code logged them, behind each
	# carrier's prefix: none may match, the real one does.
	local now pre
	now=$(date +%s)
	for pre in "" "$(tai64n "$now") " \
	    "$(date -d "@$now" '+%b %e %H:%M:%S') mx smtpd[7]: "; do
		printf '%s\n' \
		    "${pre}smtpd: pid 9: info: 6a: recipient <\"$FL\"@evil.com> refused: 550" \
		    "${pre}smtpd: pid 9: info: 6a.1: from <\"$FL\"@evil.com> rcpts 1 size 3: 250" \
		    "${pre}smtpd: pid 9: info: 6a: RCPTCHECK: <$FORGED>: exit 100" \
		    "${pre}x $FORGED" \
		    "${pre}smtpd: pid 9: warning: 6a: auth failed: ip=192.0.2.1 user=a mech=LOGIN: rejected by CHECKPASSWORD" \
		    >>"$T/forged.log"
	done
	run f2b_hosts "$T/forged.log"
	assert_output "$(printf '192.0.2.1\n%.0s' 1 2 3)"
}

# utf8_session MARK ADDRESS...: Python's smtplib, commands in UTF-8 (RFC
# 6531): MAIL FROM with SMTPUTF8, RCPT TO each ADDRESS (\uXXXX escapes
# decoded), printing "CODE ENHANCED" for each; then a message with
# Subject: MARK when any was accepted ("data CODE").
utf8_session()
{
	"$PY" - "$PORT" "$@" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.command_encoding = "utf-8"
s.ehlo("client.example")
s.mail("a@example.org", ["SMTPUTF8"])
accepted = 0
for a in sys.argv[3:]:
    addr = a.encode("ascii").decode("unicode_escape")
    code, msg = s.docmd("RCPT", "TO:<%s>" % addr)
    print(code, msg.decode().split(" ")[0])
    accepted += code == 250
if accepted:
    code, msg = s.data(("Subject: %s\r\n\r\nx\r\n" % sys.argv[2]).encode())
    print("data", code)
s.quit()
EOF
}

@test "U+2028, U+2029, C1 and bidi controls in a RCPT: 501 5.1.3 for each, nothing delivered to them; U+00A0, U+2027, U+202F pass" {
	local cps=() c i hex out
	# The hook records RECIPIENTS as Python's splitlines() sees it.
	printf '#!/usr/bin/python3\nimport os, sys\nsys.stdin.buffer.read()\nwith open(sys.argv[1], "a") as f:\n    for r in os.environ["RECIPIENTS"].splitlines():\n        f.write(ascii(r) + "\\n")\n' >"$T/hook"
	chmod +x "$T/hook"
	DELIVERY=(pipe "$T/hook" "$T/got")
	start_server RCPTHOSTS="$T/rcpthosts" TIMEOUT=10
	for c in $(seq 128 159) 8232 8233 1564 8206 8207 $(seq 8234 8238) \
	    $(seq 8294 8297); do
		cps+=("$c")
	done
	# Ten refusals per session (the error limit is 20), then the
	# real recipients and a message.
	for ((i = 0; i < ${#cps[@]}; i += 10)); do
		local addrs=()
		for c in "${cps[@]:i:10}"; do
			hex=$(printf '%04x' "$c")
			addrs+=("victim@evil.com\\u${hex}x.example.org")
		done
		run utf8_session "batch $i" "${addrs[@]}" 'a\u00a0b@example.org' \
		    'c\u2027d@x.example.org' 'e\u202ff@example.net'
		assert_success
		out=$(printf '501 5.1.3\n%.0s' "${cps[@]:i:10}")
		assert_output "$out
250 2.1.5
250 2.1.5
250 2.1.5
data 250"
	done
	stop_server
	# The hook saw only the three real recipients of each message.
	run sort -u "$T/got"
	assert_output "'a\\xa0b@example.org'
'c\\u2027d@x.example.org'
'e\\u202ff@example.net'"
	run grep -c 'evil' "$T/got"
	assert_output 0
	# Each refusal is logged, escaped, with its reason.
	run grep -c 'RCPT refused: 501 5\.1\.3 reason=bad-char arg=TO:<victim@evil\.com\\x' "$T/server.log"
	assert_output "${#cps[@]}"
}

@test "U+2028 split inside its UTF-8 sequence across TCP segments, 20 times: 501 5.1.3 each time, no message" {
	local i
	start_server RCPTHOSTS="$T/rcpthosts" TIMEOUT=10
	for i in $(seq 20); do
		run client expect:'^220 ' send:'EHLO client.example\r\n' \
		    expect:'^250 ' \
		    send:'MAIL FROM:<a@example.org> SMTPUTF8\r\n' \
		    expect:'^250 ' send:'RCPT TO:<victim@evil.com\xe2' \
		    sleep:0.02 send:'\x80' sleep:0.02 \
		    send:'\xa8x.example.org>\r\n' expect:'^501 5\.1\.3' \
		    send:'DATA\r\n' expect:'^503 ' send:'QUIT\r\n' \
		    expect:'^221'
		assert_success
	done
	stop_server
	[ "$(count_files new)" -eq 0 ]
	run grep -c 'reason=bad-char arg=TO:<victim@evil\.com\\xe2\\x80\\xa8x\.example\.org>$' "$T/server.log"
	assert_output 20
}

@test "a forbidden character in MAIL FROM: 501 5.1.7, logged with its reason; an EHLO name with NEL is refused" {
	run smtp_session 'EHLO client.example\r\nMAIL FROM:<a\xc2\x85b@example.org> SMTPUTF8\r\nMAIL FROM:<\xe2\x80\xaeb@example.org> SMTPUTF8\r\nEHLO a\xc2\x85b.example\r\nQUIT\r\n'
	assert_success
	assert_replies 220 250 '501 5.1.7 Sender address contains a control' \
	    '501 5.1.7' 501 221
	run grep -c 'MAIL refused: 501 5\.1\.7 reason=bad-char arg=FROM:<' "$T/err"
	assert_output 2
}

@test "an AUTH user with U+2028 and NEL (no address rule stops it): '?' in AUTHUSER and Received:, escaped in the log" {
	local user pw=secret
	user=$(printf 'al\u2028ice\u0085x')
	printf '%s:%s\n' "$user" "$pw" >>"$T/users"
	printf '#!/bin/sh\n{ env; cat; } >"$1"\n' >"$T/hook"
	chmod +x "$T/hook"
	DELIVERY=(pipe "$T/hook" "$T/got")
	start_server CHECKPASSWORD="$HELPERS/checkpassword.py" \
	    CHECKPW_USERS="$T/users" CLEARTEXTAUTH=1 AUTHDELAY=0 TIMEOUT=10
	run client expect:'^220 ' send:'EHLO client.example\r\n' \
	    expect:'^250 ' \
	    send:"AUTH PLAIN $(printf '\0%s\0%s' "$user" "$pw" | base64 -w0)\r\n" \
	    expect:'^235 ' send:'MAIL FROM:<a@example.org>\r\n' \
	    expect:'^250 ' send:'RCPT TO:<b@example.net>\r\n' \
	    expect:'^250 ' send:'DATA\r\n' expect:'^354' \
	    send:'Subject: s\r\n\r\nx\r\n.\r\n' expect:'^250 ' \
	    send:'QUIT\r\n' expect:'^221'
	assert_success
	wait_for_log 'end: quit, 1 message'
	run grep -a '^AUTHUSER=' "$T/got"
	assert_output 'AUTHUSER=al?ice?x'
	grep -aq '(authenticated as al???ice??x)' "$T/got" ||
	    fail "Received: $(grep -a -A3 '^Received:' "$T/got")"
	if grep -aq $'\xe2\x80\xa8\|\xc2\x85' "$T/got"; then
		fail "a separator reached the program"
	fi
	run grep -c 'auth ok: ip=127\.0\.0\.1 user=al\\xe2\\x80\\xa8ice\\xc2\\x85x mech=PLAIN$' "$T/server.log"
	assert_output 1
}

@test "every log format smtpd's sources give lib/fmt uses only its conversions (the compiler checks against printf, which is wider)" {
	cd "$BATS_TEST_DIRNAME/.."
	run python3 "$HELPERS/check-formats.py" smtpd.c lib/*.c deliver/*.c \
	    auth/*.c
	assert_success
	assert_output --regexp '^[0-9]+ formats checked, 0 outside'
	# and it does find one: a %x and a width
	printf 'void f(void) { log_line("info", "%%s: %%x", a, b);\n' \
	    >"$T/bad.c"
	printf '\tfmt(o, 9, "n %%5d", 1); }\n' >>"$T/bad.c"
	run python3 "$HELPERS/check-formats.py" "$T/bad.c"
	assert_failure
	assert_line --partial 'bad.c:1: %s: %x'
	assert_line --partial 'bad.c:2: n %5d'
}
