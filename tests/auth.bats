#!/usr/bin/env bats
# auth.bats: SMTP AUTH (RFC 4954) through a checkpassword program: PLAIN
# (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195) with real clients (swaks, curl,
# Python smtplib) against smtpd under tcpserver; our own checker
# (helpers/checkpassword.py) and Debian's checkpw; REQUIREAUTH,
# RCPTHOSTS/RELAYCLIENT (per client through a tcprules cdb), every error
# reply, the failure delay, 3 failures -> 421, and the log: fail2ban can
# match it and no password ever reaches it or the Maildir.
#
# Until TLS is in, every server sets CLEARTEXTAUTH=1 (AUTH is offered
# on a cleartext session only then).

load helpers/common

setup()
{
	common_setup
	printf 'alice:wonderland\nbob:builder\n' >"$T/users"
	CHECKER=$HELPERS/checkpassword.py
	AUTH_ENV=(CHECKPASSWORD="$CHECKER" CHECKPW_USERS="$T/users"
	    CHECKPW_LOG="$T/checkpw.log" CLEARTEXTAUTH=1 AUTHDELAY=0
	    TIMEOUT=10)
	printf 'Subject: auth test\r\n\r\nhello\r\n' >"$T/msg.eml"
}

# base64 of the PLAIN message authzid NUL authcid NUL passwd (RFC 4616).
plain()
{
	printf '%s\0%s\0%s' "$1" "$2" "$3" | base64 -w0
}

b64()
{
	printf '%s' "$1" | base64 -w0
}

swaks_auth()
{
	# swaks_auth MECH USER PASSWORD [swaks options...]
	local mech=$1 user=$2 pass=$3
	shift 3
	swaks --server "$SERVER_HOST:$PORT" --helo client.example \
	    --from a@example.org --to b@example.net --timeout 10 \
	    --auth "$mech" --auth-user "$user" --auth-password "$pass" "$@"
}

curl_auth()
{
	# curl_auth USER:PASSWORD [curl options...]: $T/msg.eml through
	# curl --user; -v puts the SMTP dialogue in what run captures
	local user=$1
	shift
	curl -sS -v --url "smtp://127.0.0.1:$PORT/client.example" \
	    --mail-from a@example.org --mail-rcpt b@example.net \
	    --user "$user" "$@" -T "$T/msg.eml"
}

# smtp_py SCRIPT [ARG...]: Python SCRIPT, for exchanges smtp-client.py
# cannot script (a digest over the challenge, a stopwatch), after a
# prelude that sets up
#	s	a socket connected to 127.0.0.1:$PORT (timeout 10 s)
#	f	its reading side
#	reply()	the final line of the next reply, CR LF removed
# and reads the greeting.  sys.argv[1] is $PORT, the ARGs follow it.
smtp_py()
{
	local script=$1
	shift
	"$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode()
        if line[3:4] != "-":
            return line.rstrip("\r\n")
reply()
'"$script" "$PORT" "$@"
}

assert_authenticated_message()
{
	# assert_authenticated_message USER: one message, Received: says so
	local f
	assert_stored 1
	f=$(message_file)
	grep -q "with ESMTPA id" "$f" || fail "no ESMTPA in: $(cat "$f")"
	grep -qF "(authenticated as $1)" "$f" ||
	    fail "no (authenticated as $1) in: $(cat "$f")"
}

# ---------------------------------------------------------------- offer

@test "AUTH offered: CHECKPASSWORD + CLEARTEXTAUTH advertise PLAIN LOGIN by default" {
	run smtp_session "$E$Q" "${AUTH_ENV[@]}"
	assert_success
	assert_line '250-AUTH PLAIN LOGIN'
}

@test "AUTHMECHS: names checked, upper-cased, once each, in the order given" {
	run smtp_session "$E$Q" "${AUTH_ENV[@]}" \
	    AUTHMECHS='cram-md5, plain  LOGIN plain'
	assert_success
	assert_line '250-AUTH CRAM-MD5 PLAIN LOGIN'
}

@test "AUTHMECHS with an unknown mechanism is a configuration error (exit 100)" {
	run smtp_session "$E$Q" "${AUTH_ENV[@]}" AUTHMECHS='PLAIN DIGEST-MD5'
	[ "$status" -eq 100 ] || fail "exit $status"
	run cat "$T/err"
	assert_output --partial 'fatal: AUTHMECHS: unknown mechanism: DIGEST-MD5'
}

@test "without CHECKPASSWORD no AUTH is offered and AUTH is 502" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    CLEARTEXTAUTH=1
	assert_success
	refute_reply_line 'AUTH'
	assert_replies "220" "250" "502 5.5.1" "221"
}

@test "cleartext session without CLEARTEXTAUTH: AUTH not advertised, AUTH is 538 5.7.11" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    CHECKPASSWORD="$CHECKER" CHECKPW_USERS="$T/users"
	assert_success
	refute_reply_line 'AUTH'
	assert_replies "220" "250" "538 5.7.11" "221"
	[ ! -e "$T/checkpw.log" ]
}

# ---------------------------------------------------------------- clients

@test "swaks --auth PLAIN: 235, the message says ESMTPA and the user" {
	start_server "${AUTH_ENV[@]}"
	run swaks_auth PLAIN alice wonderland
	assert_success
	assert_output --partial '<-  235 2.7.0'
	assert_authenticated_message alice
	run cat "$T/checkpw.log"
	assert_output --regexp '^login=alice method=plain result=ok ip=127\.0\.0\.1 argv=/bin/true$'
}

@test "swaks --auth LOGIN: 235 and the message is stored" {
	start_server "${AUTH_ENV[@]}"
	run swaks_auth LOGIN bob builder
	assert_success
	assert_output --partial '334 VXNlcm5hbWU6'
	assert_output --partial '334 UGFzc3dvcmQ6'
	assert_authenticated_message bob
}

@test "swaks --auth CRAM-MD5 (AUTHMECHS lists it): the checker verifies the digest" {
	start_server "${AUTH_ENV[@]}" AUTHMECHS="CRAM-MD5 PLAIN"
	run swaks_auth CRAM-MD5 alice wonderland
	assert_success
	assert_output --partial '<-  235 2.7.0'
	assert_authenticated_message alice
	run cat "$T/checkpw.log"
	assert_output --partial 'login=alice method=cram-md5 result=ok'
}

@test "swaks with a wrong password: 535 5.7.8, nothing stored" {
	start_server "${AUTH_ENV[@]}"
	for mech in PLAIN LOGIN; do
		run swaks_auth $mech alice wrong
		[ "$status" -eq 28 ] || fail "$mech: swaks exit $status: $output"
		assert_output --partial '<** 535 5.7.8'
	done
	start_server "${AUTH_ENV[@]}" AUTHMECHS=CRAM-MD5
	run swaks_auth CRAM-MD5 alice wrong
	[ "$status" -eq 28 ] || fail "CRAM-MD5: swaks exit $status: $output"
	assert_stored 0
}

@test "curl --user picks CRAM-MD5 when offered, PLAIN otherwise; both deliver" {
	start_server "${AUTH_ENV[@]}" AUTHMECHS="PLAIN LOGIN CRAM-MD5"
	run curl_auth alice:wonderland
	assert_success
	assert_output --partial 'AUTH CRAM-MD5'
	assert_authenticated_message alice
	rm -f "$MD"/new/*
	stop_server
	start_server "${AUTH_ENV[@]}"
	run curl_auth bob:builder
	assert_success
	assert_output --partial 'AUTH PLAIN'
	assert_authenticated_message bob
}

@test "curl --user with a wrong password fails with 535" {
	start_server "${AUTH_ENV[@]}"
	run curl_auth alice:nope --login-options AUTH=LOGIN
	assert_failure
	assert_output --partial '< 535 5.7.8'
	assert_stored 0
}

@test "python smtplib login() with CRAM-MD5, PLAIN and LOGIN; a wrong password tries all three and meets 421" {
	start_server "${AUTH_ENV[@]}" AUTHMECHS="LOGIN PLAIN CRAM-MD5"
	run "$PY" -c '
import smtplib, sys
port = int(sys.argv[1])
for mech in ("CRAM-MD5", "PLAIN", "LOGIN"):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=10)
    s.ehlo()
    if mech != "CRAM-MD5":
        s.esmtp_features["auth"] = mech   # restrict what login() tries
    code, text = s.login("alice", "wonderland")
    print(mech, code, text.decode())
    print(s.sendmail("a@example.org", ["b@example.net"], "Subject: %s\r\n\r\nhi\r\n" % mech))
    s.quit()
# A wrong password: login() tries CRAM-MD5, PLAIN, LOGIN in turn, and
# the third failure closes the session.
try:
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=10)
    s.login("alice", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("refused", e.smtp_code, e.smtp_error.decode())
' "$PORT"
	assert_success
	assert_line 'CRAM-MD5 235 2.7.0 Authentication succeeded'
	assert_line 'PLAIN 235 2.7.0 Authentication succeeded'
	assert_line 'LOGIN 235 2.7.0 Authentication succeeded'
	assert_line 'refused 421 4.7.0 Too many authentication failures, closing the connection'
	[ "$(count_files new)" -eq 3 ] || fail "expected 3 messages"
	run grep -l 'authenticated as alice' "$MD"/new/*
	[ "${#lines[@]}" -eq 3 ] || fail "not all three say authenticated"
	run cat "$T/checkpw.log"
	assert_line --index 0 --partial 'method=cram-md5 result=ok'
	assert_line --index 1 --partial 'method=plain result=ok'
	assert_line --index 2 --partial 'method=plain result=ok'
	assert_line --index 3 --partial 'method=cram-md5 result=fail'
	assert_line --index 4 --partial 'method=plain result=fail'
	assert_line --index 5 --partial 'method=plain result=fail'
	[ "${#lines[@]}" -eq 6 ] || fail "6 checks expected: $output"
}

@test "Debian checkpw as CHECKPASSWORD: PLAIN and LOGIN for a system user" {
	[ "$(id -u)" -eq 0 ] || fail "checkpw switches to the user: run as root"
	mkdir -p "$T/cpw"
	echo 'sekrit' >"$T/cpw/.password"
	chmod 600 "$T/cpw/.password"
	start_server CHECKPASSWORD=/usr/bin/checkpw MAILDIR="$T/cpw" \
	    CLEARTEXTAUTH=1 AUTHDELAY=0 TIMEOUT=10
	run swaks_auth PLAIN root sekrit
	assert_success
	run swaks_auth LOGIN root sekrit
	assert_success
	run swaks_auth PLAIN root wrong
	[ "$status" -eq 28 ] || fail "swaks exit $status: $output"
	assert_output --partial '<** 535 5.7.8'
	run swaks_auth LOGIN nosuchuser sekrit
	[ "$status" -eq 28 ] || fail "swaks exit $status: $output"
	[ "$(count_files new)" -eq 2 ] || fail "expected 2 messages"
	run grep -c 'authenticated as root' "$MD"/new/*
	refute_output --partial ':0'
}

# ---------------------------------------------------------------- wire

@test "checkpassword input on fd 3: PLAIN is user NUL password NUL NUL, subprogram /bin/true" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}" CHECKPW_DUMP="$T/fd3"
	assert_success
	assert_replies "220" "250" "235 2.7.0" "221"
	printf 'alice\0wonderland\0\0' >"$T/expected"
	cmp "$T/fd3" "$T/expected" || fail "fd 3: $(od -c "$T/fd3")"
	run cat "$T/checkpw.log"
	assert_output --partial 'argv=/bin/true'
}

@test "checkpassword input for CRAM-MD5: user NUL hex-digest NUL <pid.time@host> NUL, the challenge sent" {
	start_server "${AUTH_ENV[@]}" AUTHMECHS=CRAM-MD5 CHECKPW_DUMP="$T/fd3"
	run smtp_py '
import base64, hashlib, hmac
s.sendall(b"EHLO client.example\r\nAUTH CRAM-MD5\r\n")
reply()
r = reply()
challenge = base64.b64decode(r[4:])
print("challenge", challenge.decode())
digest = hmac.new(b"wonderland", challenge, hashlib.md5).hexdigest()
s.sendall(base64.b64encode(b"alice " + digest.encode()) + b"\r\n")
print(reply())
open(sys.argv[2], "w").write("alice\0" + digest + "\0" + challenge.decode() + "\0")
s.sendall(b"QUIT\r\n")
reply()
' "$T/expected"
	assert_success
	assert_line --regexp '^challenge <[0-9]+\.[0-9]+@smtp\.test>$'
	assert_line '235 2.7.0 Authentication succeeded'
	cmp "$T/fd3" "$T/expected" || fail "fd 3: $(od -c "$T/fd3")"
}

@test "PLAIN without an initial response: empty 334, then the credentials" {
	run smtp_session "${E}AUTH PLAIN\r\n$(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "334" "235 2.7.0" "221"
	run grep -c $'^334 \r$' "$T/raw"
	assert_output 1
}

@test "PLAIN with an authzid: the user itself is accepted, another is 535" {
	run smtp_session "${E}AUTH PLAIN $(plain alice alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_replies "220" "250" "235 2.7.0" "221"
	run smtp_session "${E}AUTH PLAIN $(plain bob alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_replies "220" "250" "535 5.7.8" "221"
	run grep -c 'authorization identity differs' "$T/err"
	assert_output 1
}

@test "LOGIN with the user name as initial response: 334 Password:" {
	run smtp_session "${E}AUTH LOGIN $(b64 alice)\r\n$(b64 wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "334 UGFzc3dvcmQ6" "235 2.7.0" "221"
}

# ---------------------------------------------------------------- errors

@test "AUTH before EHLO is 503 5.5.1 (HELO is not enough)" {
	run smtp_session "AUTH PLAIN $(plain '' alice wonderland)\r\nHELO client.example\r\nAUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "503 5.5.1" "250" "503 5.5.1" "221"
	[ ! -e "$T/checkpw.log" ]
}

@test "a second AUTH after success is 503 5.5.1" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\nAUTH PLAIN $(plain '' bob builder)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "235 2.7.0" "503 5.5.1" "221"
}

@test "AUTH inside a transaction is 503 5.5.1" {
	run smtp_session "${E}MAIL FROM:<a@example.org>\r\nAUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "503 5.5.1" "221"
}

@test "\"*\" cancels the exchange: 501 5.7.0, and AUTH may start again" {
	run smtp_session "${E}AUTH LOGIN\r\n$(b64 alice)\r\n*\r\nAUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "334 VXNlcm5hbWU6" "334 UGFzc3dvcmQ6" \
	    "501 5.7.0" "235 2.7.0" "221"
}

@test "bad base64 is 501 5.5.2 (no padding, a space, non-zero padding bits)" {
	# AGFsaWNlAHdvbmRlcmxhbmQ= is "\0alice\0wonderland"; each line below
	# differs from valid base64 in one way.
	run smtp_session "${E}AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ\r\nAUTH LOGIN\r\nYWxp Y2U=\r\nAUTH PLAIN\r\nAGFsaWNlAHdvbmRlcmxhbmR=\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "501 5.5.2" "334" "501 5.5.2" "334" \
	    "501 5.5.2" "221"
	[ ! -e "$T/checkpw.log" ]
}

@test "an unknown or unlisted mechanism is 504 5.5.4" {
	run smtp_session "${E}AUTH DIGEST-MD5\r\nAUTH CRAM-MD5\r\nAUTH XOAUTH2 dG9rZW4=\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "504 5.5.4" "504 5.5.4" "504 5.5.4" "221"
}

@test "an over-long AUTH line or response is 500 5.5.6" {
	local long
	long=$(head -c 12000 /dev/zero | base64 -w0)	# 16000 octets
	run smtp_session "${E}AUTH PLAIN $long\r\nAUTH PLAIN\r\n$long\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "500 5.5.6" "334" "500 5.5.6" "221"
	[ ! -e "$T/checkpw.log" ]
}

@test "CRAM-MD5 with an initial response is 501 (RFC 4954 section 4)" {
	run smtp_session "${E}AUTH CRAM-MD5 $(b64 alice)\r\n$Q" \
	    "${AUTH_ENV[@]}" AUTHMECHS=CRAM-MD5
	assert_success
	assert_replies "220" "250" "501 5.5.4" "221"
}

@test "checkpassword exit 111 (or 2) is 454 4.7.0, logged as deferred" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\nAUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}" CHECKPW_MODE=exit111
	assert_success
	assert_replies "220" "250" "454 4.7.0" "454 4.7.0" "221"
	run grep -c 'warning: .*: auth deferred: ip=unknown user=alice mech=PLAIN: CHECKPASSWORD .*/checkpassword.py: exit 111$' "$T/err"
	assert_output 2
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}" CHECKPW_MODE=exit2
	assert_replies "220" "250" "454 4.7.0" "221"
}

@test "checkpassword crashing is 454 4.7.0" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}" CHECKPW_MODE=crash
	assert_success
	assert_replies "220" "250" "454 4.7.0" "221"
	run grep -c 'auth deferred: .*: killed by signal 11$' "$T/err"
	assert_output 1
}

@test "checkpassword past the deadline (TIMEOUT) is killed: 454 4.7.0" {
	local t0 t1
	t0=$(date +%s%N)
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}" CHECKPW_MODE=sleep CHECKPW_PIDFILE="$T/pid" \
	    TIMEOUT=1
	t1=$(date +%s%N)
	assert_success
	assert_replies "220" "250" "454 4.7.0" "221"
	run grep -c 'auth deferred: .*: no answer within TIMEOUT, killed$' "$T/err"
	assert_output 1
	[ $(( (t1 - t0) / 1000000 )) -lt 5000 ] || fail "took too long"
	[ -s "$T/pid" ] || fail "the checker did not start"
	if kill -0 "$(cat "$T/pid")" 2>/dev/null; then
		fail "the checker still runs"
	fi
}

@test "a CHECKPASSWORD that cannot start is 454 4.7.0" {
	run smtp_session "${E}AUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}" CHECKPASSWORD="$T/no-such-program"
	assert_success
	assert_replies "220" "250" "454 4.7.0" "221"
	run grep -c 'auth deferred: .*: spawn: No such file or directory$' "$T/err"
	assert_output 1
}

# ---------------------------------------------------------------- policy

@test "REQUIREAUTH: MAIL before AUTH is 530 5.7.0, after AUTH 250; MAIL AUTH= is accepted" {
	run smtp_session "${E}MAIL FROM:<a@example.org>\r\nAUTH PLAIN $(plain '' alice wonderland)\r\nMAIL FROM:<a@example.org> AUTH=<>\r\nRSET\r\nMAIL FROM:<a@example.org> AUTH=alice+40example.org\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\n$Q" \
	    "${AUTH_ENV[@]}" REQUIREAUTH=1
	assert_success
	assert_replies "220" "250" "530 5.7.0" "235 2.7.0" "250 2.1.0" \
	    "250 2.0.0" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221"
	assert_authenticated_message alice
}

@test "REQUIREAUTH with RELAYCLIENT: MAIL without AUTH is accepted" {
	run smtp_session "${E}MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n$Q" \
	    "${AUTH_ENV[@]}" REQUIREAUTH=1 RELAYCLIENT=
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "221"
}

@test "RCPTHOSTS: relaying is 550 5.7.1 before AUTH and allowed after it" {
	printf 'example.net\n' >"$T/rcpthosts"
	run smtp_session "${E}MAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nRCPT TO:<b@example.net>\r\nRSET\r\nAUTH PLAIN $(plain '' alice wonderland)\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\n$Q" \
	    "${AUTH_ENV[@]}" RCPTHOSTS="$T/rcpthosts"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "550 5.7.1" "250 2.1.5" \
	    "250 2.0.0" "235 2.7.0" "250 2.1.0" "250 2.1.5" "354" \
	    "250 2.0.0" "221"
	assert_authenticated_message alice
	grep -q '^Delivered-To: x@elsewhere.example$' "$(message_file)"
}

@test "tcprules: RELAYCLIENT for 127.0.0.1; 127.0.0.2 relays only after AUTH" {
	printf 'example.net\n' >"$T/rcpthosts"
	printf '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n' >"$T/rules.txt"
	tcprules "$T/rules.cdb" "$T/rules.tmp" <"$T/rules.txt"
	SERVER_OPTS=(-x "$T/rules.cdb")
	start_server "${AUTH_ENV[@]}" RCPTHOSTS="$T/rcpthosts"
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to x@elsewhere.example --timeout 10
	assert_success
	run swaks --server "127.0.0.1:$PORT" --local-interface 127.0.0.2 \
	    --helo client.example --from a@example.org \
	    --to x@elsewhere.example --timeout 10
	[ "$status" -eq 24 ] || fail "swaks exit $status, expected 24: $output"
	assert_output --regexp '<\*\* +550 5\.7\.1'
	run swaks_auth PLAIN alice wonderland --local-interface 127.0.0.2 \
	    --to x@elsewhere.example
	assert_success
	[ "$(count_files new)" -eq 2 ] || fail "expected 2 messages"
	run grep -l 'authenticated as alice' "$MD"/new/*
	[ "${#lines[@]}" -eq 1 ] || fail "one message is authenticated"
	run cat "$T/checkpw.log"
	assert_output --partial 'ip=127.0.0.2'
}

@test "tcprules + REQUIREAUTH (submission): 127.0.0.1 as RELAYCLIENT sends, 127.0.0.2 gets 530 until AUTH" {
	printf '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n' >"$T/rules.txt"
	tcprules "$T/rules.cdb" "$T/rules.tmp" <"$T/rules.txt"
	SERVER_OPTS=(-x "$T/rules.cdb")
	start_server "${AUTH_ENV[@]}" REQUIREAUTH=1
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to b@example.net --timeout 10
	assert_success
	run swaks --server "127.0.0.1:$PORT" --local-interface 127.0.0.2 \
	    --helo client.example --from a@example.org --to b@example.net \
	    --timeout 10
	[ "$status" -eq 23 ] || fail "swaks exit $status, expected 23: $output"
	assert_output --regexp '<\*\* +530 5\.7\.0'
	run swaks_auth LOGIN bob builder --local-interface 127.0.0.2
	assert_success
	[ "$(count_files new)" -eq 2 ] || fail "expected 2 messages"
}

# ---------------------------------------------------------------- failures

@test "a failure is answered after AUTHDELAY; a success is not delayed" {
	start_server "${AUTH_ENV[@]}" AUTHDELAY=1
	run smtp_py '
import base64, time
s.sendall(b"EHLO client.example\r\n")
reply()
for pw in (b"wrong", b"wonderland"):
    t = time.monotonic()
    s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0" + pw) + b"\r\n")
    r = reply()
    print(r[:3], "%.2f" % (time.monotonic() - t))
'
	assert_success
	local fail_time ok_time
	fail_time=$(awk '$1 == 535 { print $2 }' <<<"$output")
	ok_time=$(awk '$1 == 235 { print $2 }' <<<"$output")
	[ -n "$fail_time" ] && [ -n "$ok_time" ] || fail "replies: $output"
	awk -v t="$fail_time" 'BEGIN { exit !(t >= 0.95 && t < 3) }' ||
	    fail "failure answered after $fail_time s"
	awk -v t="$ok_time" 'BEGIN { exit !(t < 0.9) }' ||
	    fail "success answered after $ok_time s"
}

@test "AUTHDELAY must be a number of seconds up to 60" {
	run smtp_session "$E$Q" "${AUTH_ENV[@]}" AUTHDELAY=61
	[ "$status" -eq 100 ] || fail "exit $status"
	run smtp_session "$E$Q" "${AUTH_ENV[@]}" AUTHDELAY=2s
	[ "$status" -eq 100 ] || fail "exit $status"
}

@test "3 failures: the third is 421 4.7.0 and the connection closes" {
	local bad
	bad=$(plain '' alice wrong)
	run smtp_session "${E}AUTH PLAIN $bad\r\nAUTH LOGIN\r\n$(b64 bob)\r\n$(b64 wrong)\r\nAUTH PLAIN $bad\r\nAUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "535 5.7.8" "334" "334" "535 5.7.8" \
	    "421 4.7.0"
	assert_line '421 4.7.0 Too many authentication failures, closing the connection'
	run grep -c 'auth failed' "$T/err"
	assert_output 3
	run grep -c 'too many authentication failures: ip=unknown: closing' "$T/err"
	assert_output 1
}

@test "2 failures, then the right password: 235" {
	local bad
	bad=$(plain '' alice wrong)
	run smtp_session "${E}AUTH PLAIN $bad\r\nAUTH PLAIN $bad\r\nAUTH PLAIN $(plain '' alice wonderland)\r\n$Q" \
	    "${AUTH_ENV[@]}"
	assert_success
	assert_replies "220" "250" "535 5.7.8" "535 5.7.8" "235 2.7.0" "221"
}

@test "failures are logged with client IP and user, one line each, and a fail2ban filter matches them" {
	start_server "${AUTH_ENV[@]}"
	run swaks_auth PLAIN alice wrong
	run swaks_auth LOGIN 'mallory ip=192.0.2.66' wrong --local-interface 127.0.0.2
	wait_for_log 'auth failed: ip=127\.0\.0\.2'
	run grep 'auth failed' "$T/server.log"
	assert_line --index 0 --regexp '^smtpd: pid [0-9]+: warning: [0-9a-f]+: auth failed: ip=127\.0\.0\.1 user=alice mech=PLAIN: rejected by CHECKPASSWORD$'
	assert_line --index 1 --regexp '^smtpd: pid [0-9]+: warning: [0-9a-f]+: auth failed: ip=127\.0\.0\.2 user=mallory\\x20ip\\x3d192\.0\.2\.66 mech=LOGIN: rejected by CHECKPASSWORD$'
	# No time stamps on smtpd's own lines (journald/multilog add them).
	run fail2ban-regex -v -d '{NONE}' "$T/server.log" \
	    "$BATS_TEST_DIRNAME/../contrib/fail2ban/filter.d/smtpd-auth.conf"
	assert_success
	assert_line 'Failregex: 2 total'
	assert_line --regexp '^\|      127\.0\.0\.1  '
	assert_line --regexp '^\|      127\.0\.0\.2  '
	refute_line --regexp '^\|      192\.0\.2\.66  '
}

@test "the password never appears in the log, the Maildir or the checker's log" {
	local pw='S3cr3t-Pa55w0rd' f
	printf 'carol:%s\n' "$pw" >>"$T/users"
	start_server "${AUTH_ENV[@]}" AUTHMECHS="PLAIN LOGIN CRAM-MD5"
	run swaks_auth PLAIN carol "$pw"
	assert_success
	run swaks_auth LOGIN carol "$pw"
	assert_success
	run swaks_auth CRAM-MD5 carol "$pw"
	assert_success
	run swaks_auth PLAIN carol "${pw}x"
	run swaks_auth LOGIN carol "x${pw}"
	wait_for_log 'auth failed: .*user=carol mech=LOGIN'
	stop_server
	[ "$(count_files new)" -eq 3 ] || fail "expected 3 messages"
	for f in "$T/server.log" "$T/checkpw.log" "$MD"/new/*; do
		# the password, its base64 forms (LOGIN, PLAIN) in any case
		for needle in "$pw" "$(b64 "$pw")" "$(plain '' carol "$pw")"; do
			if grep -qiF -- "$needle" "$f"; then
				fail "$needle found in $f"
			fi
		done
	done
	run grep -c 'auth ok: ip=127.0.0.1 user=carol' "$T/server.log"
	assert_output 3
}

# An AUTH line cut across TCP segments arrives in several reads: no part
# of it (base64 or decoded) may stay in smtpd's memory once it has been
# answered.  Each session sends the secret in 2 to 4 segments 0.3 s apart,
# then NOOP; while the session waits, tests/helpers/find-in-memory.py
# reads smtpd's whole memory (what a core dump would hold) for any 10
# octets in a row of the base64 or of the password.  The last two sessions
# send a second AUTH after a success (503: the engine refuses it without
# an event) and an over-long AUTH line (500 5.5.6).
@test "an AUTH line split across reads leaves no secret in smtpd's memory" {
	local pw
	pw=$("$PY" -c 'import secrets; print(secrets.token_hex(20))')
	printf 'dave:%s\n' "$pw" >>"$T/users"
	start_server "${AUTH_ENV[@]}" AUTHMECHS="PLAIN LOGIN"
	run "$PY" - "$PORT" "$SERVER_PID" "$HELPERS/find-in-memory.py" "$pw" <<'EOF'
import base64, os, secrets, socket, subprocess, sys, time
port, server, finder, good = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

def b64(b):
    return base64.b64encode(b).decode()

def smtpd_pid():
    """tcpserver's one child: the session's smtpd."""
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                stat = open("/proc/%s/stat" % p).read()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == server:
                return p
    raise SystemExit("no smtpd under tcpserver " + server)

class Session:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        self.f = self.s.makefile("rb")
        self.reply()
        self.send("EHLO client.example\r\n")
        self.reply()
    def send(self, text):
        self.s.sendall(text.encode())
    def reply(self):
        while True:
            line = self.f.readline().decode()
            if line[3:4] != "-":
                return line[:3]
    def segments(self, parts):
        """Each part its own segment, 0.3 s apart: its own read."""
        for i, p in enumerate(parts):
            if i:
                time.sleep(0.3)
            self.send(p)
        return self.reply()
    def check(self, what, secrets_):
        self.send("NOOP\r\n")
        assert self.reply() == "250"
        needles = set()
        for sec in secrets_:
            needles.update(sec[i:i + 10] for i in range(len(sec) - 9))
        r = subprocess.run([finder, smtpd_pid()] + sorted(needles),
                           capture_output=True, text=True)
        print(what + ":", "clean" if r.returncode == 0 else
              "LEAK" if r.returncode == 1 else "cannot read memory")
        if r.returncode != 0:
            print(r.stdout, end="")
        self.send("QUIT\r\n")
        self.reply()
        self.s.close()

def plain(pw):
    return b64(b"\0dave\0" + pw.encode())

# PLAIN, a long first segment and a short second one
s = Session()
pw = secrets.token_hex(24)
t = plain(pw)
s.segments(["AUTH PLAIN " + t[:len(t) - 6], t[len(t) - 6:] + "\r\n"])
s.check("PLAIN in 2 segments, wrong password", [t, pw])

s = Session()
t = plain(good)
code = s.segments(["AUTH PLAIN " + t[:40], t[40:50], t[50:] + "\r\n"])
assert code == "235", code
s.check("PLAIN in 3 segments, right password", [t, good])

# PLAIN cut at random places into 2 to 4 segments, 6 more times
rnd = __import__("random").Random(4954)
for i in range(6):
    s = Session()
    pw = secrets.token_hex(24)
    line = "AUTH PLAIN " + plain(pw) + "\r\n"
    cuts = sorted(rnd.sample(range(12, len(line) - 2), rnd.randint(1, 3)))
    parts = [line[a:b] for a, b in zip([0] + cuts, cuts + [len(line)])]
    assert s.segments(parts) == "535"
    s.check("PLAIN in random segments", [plain(pw), pw])

# LOGIN: the password line of the exchange split
s = Session()
assert s.segments(["AUTH LOGIN\r\n"]) == "334"
assert s.segments([b64(b"dave") + "\r\n"]) == "334"
t = b64(good.encode())
code = s.segments([t[:len(t) - 4], t[len(t) - 4:] + "\r\n"])
assert code == "235", code
s.check("LOGIN password line in 2 segments", [t, good])

# a second AUTH after success: refused by the engine, no event
s = Session()
t = plain(good)
assert s.segments(["AUTH PLAIN " + t + "\r\n"]) == "235"
pw = secrets.token_hex(24)
t2 = plain(pw)
code = s.segments(["AUTH PLAIN " + t2[:len(t2) - 5], t2[len(t2) - 5:] + "\r\n"])
assert code == "503", code
s.check("second AUTH (503) in 2 segments", [t2, pw])

# an over-long AUTH line: 500 5.5.6, never an event
s = Session()
pw = secrets.token_hex(24)
t = "A" * 9000 + plain(pw) + "A" * 4000
code = s.segments(["AUTH PLAIN " + t[:9000 + len(plain(pw))],
                   t[9000 + len(plain(pw)):] + "\r\n"])
assert code == "500", code
s.check("over-long AUTH line in 2 segments", [plain(pw), pw])
EOF
	assert_success
	assert_output - <<'EOF'
PLAIN in 2 segments, wrong password: clean
PLAIN in 3 segments, right password: clean
PLAIN in random segments: clean
PLAIN in random segments: clean
PLAIN in random segments: clean
PLAIN in random segments: clean
PLAIN in random segments: clean
PLAIN in random segments: clean
LOGIN password line in 2 segments: clean
second AUTH (503) in 2 segments: clean
over-long AUTH line in 2 segments: clean
EOF
}

@test "AUTHUSER reaches a pipe program; the password does not" {
	local san
	mapfile -t san < <(san_env)
	printf '#!/bin/sh\nenv >"$1"\ncat >>"$1"\n' >"$T/hook"
	chmod +x "$T/hook"
	printf '%b' "${E}AUTH PLAIN $(plain '' alice wonderland)\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\n$Q" |
	    env -i PATH=/usr/bin:/bin "${san[@]}" "${AUTH_ENV[@]}" \
	    "$SMTPD" pipe "$T/hook" "$T/got" >"$T/raw" 2>"$T/err"
	run tr -d '\r' <"$T/raw"
	assert_replies "220" "250" "235 2.7.0" "250 2.1.0" "250 2.1.5" "354" \
	    "250" "221"
	run grep -E '^(AUTHUSER|CHECKPASSWORD)=' "$T/got"
	assert_line 'AUTHUSER=alice'
	grep -q '(authenticated as alice)' "$T/got"
	if grep -q wonderland "$T/got" "$T/err"; then
		fail "the password reached the program or the log"
	fi
}

@test "RELAYCLIENT for a loopback peer logs a warning (behind a proxy it opens the relay)" {
	run smtp_session "$E$Q" TCPREMOTEIP=127.0.0.1 RELAYCLIENT=
	assert_success
	run grep -c 'warning: .*RELAYCLIENT is set for a loopback peer' "$T/err"
	assert_output 1
	run smtp_session "$E$Q" TCPREMOTEIP=192.0.2.1 RELAYCLIENT=
	assert_success
	run grep -c 'RELAYCLIENT' "$T/err"
	assert_output 0
}
