# common.bash: helpers for smtpd's bats suites.  Load with
#	load helpers/common
# in each .bats file; setup() and teardown() here are used unless a file
# defines its own (then it calls common_setup / common_teardown).
#
# Every test gets $T (its private temporary directory) and $MD (a Maildir
# path under it that does not exist yet: smtpd creates it).  $SMTPD is the
# binary under test (tests/run passes build/asan/smtpd; default ./smtpd).
# smtpd always runs under `env -i` with only the variables a test names,
# so the suite is hermetic.

bats_load_library bats-support
bats_load_library bats-assert

# The client's usual lines, CRLF included, for printf formats: EHLO, MAIL,
# RCPT, QUIT, and a short message with its end.  A file may set its own.
E='EHLO client.example\r\n'
M='MAIL FROM:<a@example.org>\r\n'
R='RCPT TO:<b@example.net>\r\n'
Q='QUIT\r\n'
MSG='Subject: m\r\n\r\nhello\r\n.\r\n'

common_setup()
{
	: "${SMTPD:=$BATS_TEST_DIRNAME/../smtpd}"
	case $SMTPD in
	/*) ;;
	*) SMTPD=$PWD/$SMTPD ;;
	esac
	T=$BATS_TEST_TMPDIR
	MD=$T/Maildir
	HELPERS=$BATS_TEST_DIRNAME/helpers
	# Debian's python3, not a pyenv shim.
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
	SERVER_PID=
	SERVER_PIDS=()
	SERVER_HOST=127.0.0.1
	SERVER_OPTS=()
	SERVER_WRAP=()
	[ -x "$SMTPD" ] || fail "no smtpd binary at $SMTPD (run make first)"
}

common_teardown()
{
	stop_server
	assert_no_sanitizer_report
}

setup()
{
	common_setup
}

teardown()
{
	common_teardown
}

# The sanitizer options of the caller (tests/run under make check) reach
# smtpd through env -i.
san_env()
{
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && printf '%s\n' "$v=${!v}"
	done
	return 0
}

# A sanitizer report anywhere in smtpd's stderr fails the test.
assert_no_sanitizer_report()
{
	local f
	for f in "$T/err" "$T/server.log"; do
		[ -f "$f" ] || continue
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
			cat "$f" >&2
			fail "sanitizer report in $f"
		fi
	done
}

# The delivery arguments of smtpd_run and start_server: `maildir $MD`,
# unless a test sets DELIVERY=(pipe PROGRAM ARG...) or (qmail-queue PROG).
delivery_args()
{
	if [ "${#DELIVERY[@]}" -gt 0 ]; then
		printf '%s\n' "${DELIVERY[@]}"
	else
		printf '%s\n' maildir "$MD"
	fi
}

# smtpd_run [NAME=value...] < input
# Runs one session of `smtpd maildir $MD` (or DELIVERY) on pipes with
# exactly the given environment.  The raw replies go to $T/raw, stderr to
# $T/err; prints the replies with CR removed.  Its status is smtpd's.  Use
# with bats' run.
smtpd_run()
{
	local san target
	mapfile -t san < <(san_env)
	mapfile -t target < <(delivery_args)
	env -i PATH=/usr/bin:/bin "${san[@]}" "$@" "$SMTPD" "${target[@]}" \
	    >"$T/raw" 2>"$T/err"
	local rc=$?
	tr -d '\r' <"$T/raw"
	return $rc
}

# smtp_session FORMAT [NAME=value...]: printf FORMAT (\r\n, \0, ...) is the
# client's whole input, written before smtpd even starts (so it also talks
# before the greeting).  Avoid % in FORMAT other than %%.
smtp_session()
{
	local fmt=$1
	shift
	# shellcheck disable=SC2059
	printf "$fmt" | smtpd_run "$@"
}

# The final line of each reply (a multi-line reply counts once), in order:
# "220 smtp.test ESMTP smtpd", "250 2.1.0 ok", ...  Reads $output.
final_replies()
{
	printf '%s\n' "$output" | grep -E '^[0-9]{3}( |$)' || true
}

# assert_replies PREFIX...: the replies in $output are exactly these, in
# order; each PREFIX must begin its reply's final line ("250", "250 2.1.5").
assert_replies()
{
	local got=() i
	mapfile -t got < <(final_replies)
	if [ "${#got[@]}" -ne "$#" ]; then
		printf 'expected %d replies: %s\n' "$#" "$*" >&2
		fail "got ${#got[@]} replies: $(printf '[%s] ' "${got[@]}")"
	fi
	i=0
	for want in "$@"; do
		case ${got[i]} in
		"$want"*) ;;
		*) fail "reply $((i + 1)) is [${got[i]}], expected [$want...]" ;;
		esac
		i=$((i + 1))
	done
}

# assert_reply_line REGEX: some line of $output matches (grep -E).
assert_reply_line()
{
	printf '%s\n' "$output" | grep -qE "$1" ||
	    fail "no reply matching /$1/ in: $output"
}

refute_reply_line()
{
	if printf '%s\n' "$output" | grep -qE "$1"; then
		fail "a reply matches /$1/: $output"
	fi
}

# Messages delivered: files in new/ (and, when asked, in tmp/ or cur/).
count_files()
{
	local sub=${1:-new}
	if [ -d "$MD/$sub" ]; then
		find "$MD/$sub" -type f | wc -l
	else
		echo 0
	fi
}

assert_stored()
{
	local n
	n=$(count_files new)
	[ "$n" -eq "$1" ] || fail "expected $1 messages in new/, found $n"
	n=$(count_files tmp)
	[ "$n" -eq 0 ] || fail "tmp/ is not empty: $(ls -l "$MD/tmp")"
}

# The only message in new/ (fails when there is not exactly one).
message_file()
{
	local files
	mapfile -t files < <(find "$MD/new" -type f 2>/dev/null)
	[ "${#files[@]}" -eq 1 ] ||
	    fail "expected one message in new/, found ${#files[@]}"
	printf '%s\n' "${files[0]}"
}

# The message body (what follows the first empty line) of the only message.
message_body()
{
	sed '1,/^$/d' "$(message_file)"
}

# start_server [NAME=value...]: tcpserver -HR on $SERVER_HOST with port 0;
# sets PORT and SERVER_PID.  smtpd's stderr (its log) and tcpserver's go to
# $T/server.log.  Extra tcpserver options: SERVER_OPTS=(-x rules.cdb).
# A program between tcpserver and smtpd (a TLS wrapper):
# SERVER_WRAP=(tlswrapper -n -f cert.pem).
start_server()
{
	local san i target
	mapfile -t san < <(san_env)
	mapfile -t target < <(delivery_args)
	# A second server in the same test must not read the first's port;
	# while the first still runs, both append to one log.
	rm -f "$T/port"
	[ "${#SERVER_PIDS[@]}" -gt 0 ] || : >"$T/server.log"
	env -i PATH=/usr/bin:/bin "${san[@]}" "$@" \
	    tcpserver -1 -HR -l smtp.test -c 20 "${SERVER_OPTS[@]}" \
	    "$SERVER_HOST" 0 "${SERVER_WRAP[@]}" "$SMTPD" "${target[@]}" \
	    >"$T/port" 2>>"$T/server.log" 3>&- &
	SERVER_PID=$!
	SERVER_PIDS+=("$SERVER_PID")
	PORT=$(port_from "$T/port")
	[ -n "$PORT" ] || fail "tcpserver did not start: $(cat "$T/server.log")"
}

# port_from FILE: the port tcpserver -1 writes into FILE, once it has
# (10 s at most; empty when it never does).
port_from()
{
	local i
	for i in $(seq 200); do
		[ -s "$1" ] && break
		sleep 0.05
	done
	head -n 1 "$1" 2>/dev/null
}

# start_backend NAME DELIVERY...: smtpd DELIVERY... behind a proxy
# (PROXYPROTOCOL set) under tcpserver -l NAME on 127.0.0.1, its port in
# $BACKEND_PORT, its log and tcpserver's appended to $T/server.log;
# stop_server stops it.
start_backend()
{
	local name=$1 san
	shift
	mapfile -t san < <(san_env)
	env -i PATH=/usr/bin:/bin "${san[@]}" PROXYPROTOCOL=1 TIMEOUT=10 \
	    tcpserver -1 -HR -l "$name" 127.0.0.1 0 "$SMTPD" "$@" \
	    >"$T/$name.port" 2>>"$T/server.log" 3>&- &
	SERVER_PIDS+=("$!")
	BACKEND_PORT=$(port_from "$T/$name.port")
	[ -n "$BACKEND_PORT" ] || fail "backend $name did not start"
}

stop_server()
{
	# Every server the test started, not only the last one.
	local pid
	for pid in "${SERVER_PIDS[@]}" ${SERVER_PID:-}; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
	SERVER_PID=
}

# client ACTION...: tests/helpers/smtp-client.py against the server; the
# transcript (CR removed) on stdout, raw in $T/raw.
client()
{
	"$PY" "$HELPERS/smtp-client.py" -H "$SERVER_HOST" -p "$PORT" "$@" \
	    >"$T/raw"
	local rc=$?
	tr -d '\r' <"$T/raw"
	return $rc
}

# wait_for_line FILE REGEX: wait (at most 5 s) for a line of FILE, which
# another process writes, to match (grep -E); fail showing FILE if none
# does.
wait_for_line()
{
	local i
	for i in $(seq 100); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line matching /$2/ in $1: $(cat "$1" 2>&1)"
}

# wait_for_log REGEX: smtpd logs after the client has gone; wait for a
# line of $T/server.log to match.
wait_for_log()
{
	wait_for_line "$T/server.log" "$1"
}

# The /proc checks of a long session, for a delivery helper that records
# smtpd's pid in DIR/ppid.N for message N (hook-recorder, fake-qmail-queue).
# long_session_start DIR [NAME=value...]: start_server with TIMEOUT=10, and
# in the background one client that sends a message, waits 1.5 s, sends
# half of a second message, waits 2 s, sends the rest ("second half"),
# waits 2 s and quits.  Returns once message 1 is logged, having checked
# that smtpd then has no child.  Sets SESSION_PID (smtpd's pid),
# SESSION_FDS (its descriptors between the messages, "0 1 2 ... ") and
# SESSION_CLIENT (the client's pid, for long_session_end).
long_session_start()
{
	local dir=$1 i
	local e='EHLO client.example\r\n' m='MAIL FROM:<a@example.org>\r\n'
	local r='RCPT TO:<b@example.net>\r\n'
	shift
	start_server "$@" TIMEOUT=10
	"$PY" "$HELPERS/smtp-client.py" -p "$PORT" -t 20 \
	    expect:^220 send:"$e" expect:'^250 ' \
	    send:"$m$r" expect:^250 expect:^250 send:'DATA\r\n' expect:^354 \
	    send:'Subject: m\r\n\r\nhello\r\n.\r\n' expect:'^250 2.0.0' \
	    sleep:1.5 \
	    send:"$m$r" expect:^250 expect:^250 send:'DATA\r\n' expect:^354 \
	    send:'Subject: two\r\n\r\nfirst half\r\n' sleep:2 \
	    send:'second half\r\n.\r\n' expect:'^250 2.0.0' sleep:2 \
	    send:'QUIT\r\n' expect:^221 >"$T/client.out" &
	SESSION_CLIENT=$!
	for i in $(seq 100); do
		[ -s "$dir/ppid.1" ] && break
		sleep 0.05
	done
	SESSION_PID=$(cat "$dir/ppid.1")
	# between the messages: what smtpd has open (whatever tcpserver
	# passed on included), and no child
	wait_for_log '\.1: from <a@example\.org> rcpts 1 size [0-9]+: 250'
	SESSION_FDS=$(ls "/proc/$SESSION_PID/fd" | sort -n | tr '\n' ' ')
	run bash -c "ps -o pid= --ppid $SESSION_PID | wc -l"
	assert_output 0
}

# long_session_end: after message 2, smtpd has exactly SESSION_FDS open
# again and no child, not even a zombie; then the client ends with 221.
long_session_end()
{
	run bash -c "ls /proc/$SESSION_PID/fd | sort -n | tr '\n' ' '"
	assert_output "$SESSION_FDS"
	run bash -c "ps -o pid=,stat= --ppid $SESSION_PID | wc -l"
	assert_output 0
	wait "$SESSION_CLIENT"
	grep -q '^221' "$T/client.out"
}

# A message of about N bytes: CRLF lines of 76 characters.
make_message()
{
	"$PY" -c '
import sys
n = int(sys.argv[1])
out = [b"Subject: big\r\n", b"\r\n"]
size = 16
i = 0
while size < n:
    line = b"%07d " % i + b"x" * 67 + b"\r\n"
    out.append(line)
    size += len(line)
    i += 1
sys.stdout.buffer.write(b"".join(out))
' "$1"
}

# on_tmpfs MOUNT_OPTIONS SCRIPT: run bash SCRIPT in a private mount
# namespace where $T/fs is a fresh tmpfs mounted with MOUNT_OPTIONS, so
# nothing outlives the test.  SCRIPT sees SMTPD, T, MD (= $T/fs/Maildir)
# and san (the sanitizer variables); it must write what it wants to keep
# outside $T/fs.
on_tmpfs()
{
	mkdir -p "$T/fs"
	MD=$T/fs/Maildir
	env SMTPD="$SMTPD" T="$T" MD="$MD" SAN="$(san_env | tr '\n' ' ')" \
	    unshare --mount --propagation private bash -c '
		mount -t tmpfs -o "$1" tmpfs "$T/fs" || exit 97
		eval "$2"' bash "$1" "$2"
}

# haproxy_config PORT PORT1 PORT2: contrib's haproxy.cfg, listening on
# 127.0.0.1:PORT with its two backends on 127.0.0.1:PORT1 and PORT2,
# logging to stderr, checking the backends every 0.5 s.
haproxy_config()
{
	sed -e "s|^\(\tlog\) /dev/log |\1 stderr format short |" \
	    -e "s|^\(\tbind\) :25\$|\1 127.0.0.1:$1|" \
	    -e "s|inter 30s|inter 500|" \
	    -e "s|^\(\tserver mx1\) .*|\1 127.0.0.1:$2|" \
	    -e "s|^\(\tserver mx2\) .*|\1 127.0.0.1:$3|" \
	    "$BATS_TEST_DIRNAME/../contrib/haproxy/haproxy.cfg"
}
