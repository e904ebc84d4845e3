#!/usr/bin/env bats
# deploy.bats: smtpd under the launchers people run it with, using the
# files shipped in contrib/: tcpserver with a tcprules cdb, the
# daemontools service (run, log/run, env/), xinetd in the foreground,
# systemd-socket-activate --inetd, the systemd units under a real
# `systemd --user`, and haproxy with send-proxy /
# send-proxy-v2 in front of one and two tcpserver backends.  In each, a
# message sent with swaks lands in the Maildir with the client's real
# address in Received:, and nothing smtpd logs reaches the client.
# Also `smtpd --help` and `--version`.

load helpers/common

CONTRIB=$BATS_TEST_DIRNAME/../contrib

# One test at a time in this file: two `systemd --user` managers started
# from the same cgroup fight over it (one stopped accepting on its
# socket, and a client waited on it for good).
setup_file()
{
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
}

setup()
{
	common_setup
	PIDS=()
	SVCDIRS=()
}

teardown()
{
	local p d
	# supervise first (svscan reaps it), then the rest
	for d in "${SVCDIRS[@]}"; do
		svc -dx "$d" "$d/log" 2>/dev/null || true
		for p in $(seq 40); do
			svok "$d" 2>/dev/null || svok "$d/log" 2>/dev/null ||
			    break
			sleep 0.05
		done
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	[ -f "$T/sink.pid" ] && kill "$(cat "$T/sink.pid")" 2>/dev/null
	common_teardown
}

# A TCP port on 127.0.0.1 that nothing listens on just now.
free_port()
{
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_port PORT [HOST]: until something accepts there (10 s at most:
# a systemd --user manager took over 5 s to listen under a loaded make
# check).
wait_port()
{
	local i
	for i in $(seq 200); do
		"$PY" -c 'import socket, sys
socket.create_connection((sys.argv[2], int(sys.argv[1])), 0.2).close()' \
		    "$1" "${2:-127.0.0.1}" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "nothing listens on ${2:-127.0.0.1}:$1"
}

# The test's directories, down from /, searchable by an unprivileged
# account (bats makes them 0700), so a service can run as nobody.
open_path()
{
	local d=$1
	while [ "$d" != / ] && [ -n "$d" ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# send PORT [SWAKS OPTION...]: a message with swaks; its transcript in
# $T/swaks.out and $output.
send()
{
	local port=$1
	shift
	# (timeout: swaks's own --timeout does not cover a TLS handshake)
	run timeout 60 swaks --server "127.0.0.1:$port" --helo client.example \
	    --from a@example.org --to b@example.org \
	    --header 'Subject: deploy test' --body 'hello from swaks' \
	    --timeout 10 "$@"
	printf '%s\n' "$output" >"$T/swaks.out"
}

# Nothing smtpd logged reached the client: no "smtpd: pid N:" line, no
# level word, in what swaks received.
assert_no_log_to_client()
{
	if grep -E '^<.*(smtpd: pid|info:|warning:|fatal:)' "$T/swaks.out"; then
		fail "smtpd's log reached the client"
	fi
}

# The only message's Received: names the client with this address.
assert_received_from()
{
	run grep -A1 '^Received:' "$(message_file)"
	assert_output --partial "([$1])"
}

# The session ran as nobody: the only message's file is nobody's.
assert_delivered_as_nobody()
{
	local owner
	owner=$(stat -c %U "$(message_file)")
	[ "$owner" = nobody ] ||
	    fail "message owned by $owner: the session did not run as nobody"
}

# assert_submission TLS_OPTION: a submission service on $PORT, reached
# with swaks TLS_OPTION (--tls or --tls-on-connect), refuses MAIL without
# AUTH (530), and takes a message after AUTH PLAIN as alice over
# TLS 1.2; Received: says ESMTPSA from 127.0.0.1, the session ran as
# nobody and nothing smtpd logged reached the client.
assert_submission()
{
	send "$PORT" "$1"
	[ "$status" -eq 23 ] || fail "MAIL without AUTH: swaks $status"
	assert_output --regexp '<~\*+ +530 5\.7\.0'
	send "$PORT" "$1" -a PLAIN -au alice -ap wonderland
	assert_success
	assert_output --partial '=== TLS started with cipher TLSv1.2'
	assert_no_log_to_client
	run grep -A2 '^Received:' "$(message_file)"
	assert_output --partial '([127.0.0.1])'
	assert_output --partial 'with ESMTPSA'
	assert_delivered_as_nobody
}

@test "smtpd --help: usage, the exit codes, and every variable smtpd.c reads through getenv, env_or, env_number or tls_env_fd" {
	run "$SMTPD" --help
	assert_success
	assert_line --index 0 --partial 'usage: smtpd'
	assert_output --partial 'Exit: 0 normal end, 100 usage or configuration error, 111 temporary failure.'
	local v missing=
	for v in $(grep -oE '(getenv|env_or|env_number|tls_env_fd)\("[A-Z_0-9]+"' \
	    "$BATS_TEST_DIRNAME/../smtpd.c" | sed 's/.*("//; s/"$//' | sort -u); do
		printf '%s\n' "$output" | grep -qw "$v" || missing="$missing $v"
	done
	[ -z "$missing" ] || fail "smtpd --help does not mention:$missing"
}

# smtpd.8 is the reference: a variable the C sources read (or set for
# programs) must be in it.  The calls are found by name, wherever they
# are, so the check follows the code when files move.
@test "smtpd.8 names every variable that getenv, env_or, env_number, env_get, tls_env_fd, env_set and SESSION_ENV_NAME name in the C sources" {
	local root=$BATS_TEST_DIRNAME/.. v names missing=
	names=$(find "$root" -name '*.c' -not -path "$root/tests/*" \
	    -not -path "$root/build/*" -not -path "$root/bench/*" \
	    -not -path "$root/examples/*" -print0 |
	    xargs -0 grep -hE '\b(getenv|env_or|env_number|env_get|tls_env_fd|env_set|SESSION_ENV_NAME)\(' |
	    grep -oE '"[A-Z][A-Z_0-9]+"' | tr -d '"' | sort -u)
	[ "$(wc -w <<<"$names")" -ge 30 ] ||
	    fail "only $(wc -w <<<"$names") variables found: $names"
	for v in $names; do
		grep -qw -- "$v" "$root/smtpd.8" || missing="$missing $v"
	done
	[ -z "$missing" ] || fail "smtpd.8 does not mention:$missing"
}

@test "smtpd --version prints the version; bad usage exits 100" {
	run "$SMTPD" --version
	assert_success
	assert_output --regexp '^smtpd [0-9]+\.[0-9]+\.[0-9]+$'
	run "$SMTPD"
	assert_failure 100
	run "$SMTPD" nosuchmode x
	assert_failure 100
}

@test "tcpserver + tcprules cdb: RELAYCLIENT and DATABYTES for 127.0.0.2 only" {
	printf 'example.org\n' >"$T/rcpthosts"
	printf '127.0.0.2:allow,RELAYCLIENT="",DATABYTES="2000"\n:allow\n' \
	    >"$T/rules.txt"
	tcprules "$T/rules.cdb" "$T/rules.tmp" <"$T/rules.txt"
	SERVER_OPTS=(-x "$T/rules.cdb")
	start_server RCPTHOSTS="$T/rcpthosts"
	# 127.0.0.1: the service's policy
	send "$PORT" --to x@elsewhere.example
	[ "$status" -eq 24 ] || fail "relaying from 127.0.0.1: swaks $status"
	assert_output --regexp '<\*\* +550 5\.7\.1'
	assert_output --regexp '<- +250-SIZE 36700160'
	# 127.0.0.2: RELAYCLIENT and a 2000-octet limit
	send "$PORT" --local-interface 127.0.0.2 --to x@elsewhere.example
	assert_success
	assert_output --regexp '<- +250-SIZE 2000'
	assert_no_log_to_client
	assert_received_from 127.0.0.2
	send "$PORT" --local-interface 127.0.0.2 --to x@elsewhere.example \
	    --body "$(seq 1 700)"
	[ "$status" -ne 0 ] || fail "a 3000-octet message passed DATABYTES=2000"
	assert_output --regexp '<\*\* +552 5\.3\.4'
	assert_stored 1
}

# run_daemontools NAME: contrib/daemontools/NAME under a real svscan,
# listening on 127.0.0.1:$PORT (picked here), sessions and multilog as
# nobody, mail into $MD (under $T/mail, nobody's); extra env/ files can
# be written to $SVC/env before.  softlimit -m caps the address space,
# which the sanitizer build cannot run under: this runs the plain build.
prepare_daemontools()
{
	SVC=$T/service/$1
	PORT=$(free_port)
	mkdir -p "$T/service" "$T/mail" "$T/bin"
	cp -R "$CONTRIB/daemontools/$1" "$SVC"
	ln -sf "$BATS_TEST_DIRNAME/../smtpd" "$T/bin/smtpd"
	echo 127.0.0.1 >"$SVC/env/IP"
	echo "$PORT" >"$SVC/env/PORT"
	echo smtp.test >"$SVC/env/LOCALNAME"
	echo nobody >"$SVC/env/SMTPUSER"
	echo nobody >"$SVC/env/LOGUSER"
	MD=$T/mail/Maildir
	echo "$MD" >"$SVC/env/MAILSTORE"
	chown nobody "$T/mail"
	open_path "$T"
	open_path "$(readlink -f "$BATS_TEST_DIRNAME/..")"
}

run_daemontools()
{
	SVCDIRS+=("$SVC")
	env -i PATH="$T/bin:/usr/bin:/bin" svscan "$T/service" \
	    >"$T/svscan.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	PIDS+=($!)
	wait_port "$PORT"
}

# wait_multilog REGEX: a line of the service's log/main/current matches.
wait_multilog()
{
	wait_for_line "$SVC/log/main/current" "$1"
}

@test "daemontools: contrib's run (envdir, tcprules, softlimit, setuidgid) and log/run (multilog)" {
	prepare_daemontools smtpd
	run_daemontools
	send "$PORT"
	assert_success
	assert_no_log_to_client
	assert_output --regexp '<- +220 smtp\.test ESMTP'
	assert_received_from 127.0.0.1
	assert_delivered_as_nobody
	[ -f "$SVC/rules.cdb" ] || fail "run did not compile rules.cdb"
	# multilog, as nobody, with time stamps, got tcpserver's and
	# smtpd's lines
	wait_multilog 'end: quit'
	run cat "$SVC/log/main/current"
	assert_line --regexp '^@[0-9a-f]{24} tcpserver: ok [0-9]+ smtp\.test:'
	assert_line --regexp '^@[0-9a-f]{24} smtpd: pid [0-9]+: info: [0-9a-f]+: connect from 127\.0\.0\.1 port [0-9]+$'
	assert_line --regexp '^@[0-9a-f]{24} smtpd: pid [0-9]+: info: [0-9a-f]+: end: quit, 1 message$'
	[ "$(stat -c %U "$SVC/log/main/current")" = nobody ] ||
	    fail "multilog did not run as nobody"
}

# The TLS and AUTH set-up of the submission services: a certificate for
# tlswrapper and the test checker with one user.
prepare_submission()
{
	prepare_daemontools "$1"
	sh "$HELPERS/mkcert" "$T/tls"
	echo "$T/tls/both.pem" >"$SVC/env/TLSCERT"
	echo "$HELPERS/checkpassword.py" >"$SVC/env/CHECKPASSWORD"
	printf 'alice:wonderland\n' >"$T/users"
	chmod 644 "$T/users"
	echo "$T/users" >"$SVC/env/CHECKPW_USERS"
	open_path "$HELPERS"
}

@test "daemontools submission (587): STARTTLS through tlswrapper -n, AUTH required, as nobody" {
	prepare_submission submission
	run_daemontools
	# no STARTTLS, no AUTH offered
	send "$PORT" -a PLAIN -au alice -ap wonderland
	[ "$status" -eq 28 ] || fail "AUTH without TLS: swaks $status"
	assert_submission --tls
	wait_multilog 'end: quit, 1 message'
}

@test "daemontools submissions (465): implicit TLS through tlswrapper, AUTH required, as nobody" {
	prepare_submission submissions
	run_daemontools
	assert_submission --tls-on-connect
	wait_multilog 'end: quit, 1 message'
}

# in_private_dev SCRIPT: run bash SCRIPT in a private mount namespace
# whose /dev is a fresh tmpfs with null, zero, random and urandom, and
# /dev/log a syslog sink writing to $T/syslog.txt; SCRIPT should exec
# the launcher.  Nothing of it outlives the namespace.  It replaces the
# calling shell: run it in the background (&), and $! is the launcher.
in_private_dev()
{
	exec env T="$T" PY="$PY" SINK="$HELPERS/syslog-sink.py" \
	    unshare --mount --propagation private bash -c '
		set -e
		mkdir -p "$T/olddev"
		mount --bind /dev "$T/olddev"
		mount -t tmpfs -o mode=755 tmpfs /dev
		for n in null zero random urandom; do
			touch "/dev/$n"
			mount --bind "$T/olddev/$n" "/dev/$n"
		done
		ln -s /proc/self/fd /dev/fd
		"$PY" "$SINK" /dev/log "$T/syslog.txt" &
		echo $! >"$T/sink.pid"
		for i in $(seq 100); do
			[ -S /dev/log ] && break
			sleep 0.05
		done
		eval "$1"' bash "$1"
}

@test "xinetd in the foreground: contrib's service; fd 2 is the client, so smtpd logs to syslog" {
	local port
	port=$(free_port)
	mkdir -p "$T/mail"
	chown nobody "$T/mail"
	open_path "$T"
	open_path "$(dirname "$SMTPD")"
	{
		printf 'defaults\n{\n\tlog_type = FILE %s\n}\n' "$T/xinetd.log"
		sed -e "s|^{\$|{\n\ttype = UNLISTED\n\tport = $port\n\tbind = 127.0.0.1|" \
		    -e "s|^\(\tuser *=\).*|\1 nobody|" \
		    -e "s|^\(\tgroup *=\).*|\1 nogroup|" \
		    -e "s|^\(\tserver *=\).*|\1 $SMTPD|" \
		    -e "s|^\(\tserver_args *=\).*|\1 maildir $T/mail/Maildir|" \
		    "$CONTRIB/xinetd/smtpd"
	} >"$T/xinetd.conf"
	in_private_dev 'exec xinetd -dontfork -f "$T/xinetd.conf" -pidfile "$T/xinetd.pid"' \
	    >"$T/xinetd.out" 2>&1 &
	PIDS=($!)
	wait_port "$port"
	MD=$T/mail/Maildir
	send "$port"
	assert_success
	assert_output --regexp '<- +220 mail\.example\.org ESMTP'
	assert_no_log_to_client
	assert_received_from 127.0.0.1
	assert_delivered_as_nobody
	# smtpd's lines went to syslog (facility mail), with REMOTE_HOST
	wait_for_line "$T/syslog.txt" 'end: quit'
	run cat "$T/syslog.txt"
	assert_line --regexp '^<22>smtpd\[[0-9]+\]: .*info: [0-9a-f]+: connect from 127\.0\.0\.1'
	assert_line --regexp 'info: [0-9a-f]+: end: quit, 1 message$'
	run cat "$T/xinetd.log"
	assert_output --regexp 'START: smtp pid=[0-9]+ from=127\.0\.0\.1'
}

# user_systemd: a real `systemd --user` manager with its
# units in $T/config/systemd/user, in a private mount namespace where
# /run/systemd/system exists, and /run/systemd/inaccessible/ (which PID 1
# would make) for ProtectHome= and the like.  Its runtime directory is in
# that private /run too, so that credentials are not under /tmp, which
# PrivateTmp= hides.  It replaces the calling shell: run it in the
# background (&), and $! is the manager.
user_systemd()
{
	exec env -i PATH=/usr/bin:/bin XDG_CONFIG_HOME="$T/config" \
	    XDG_RUNTIME_DIR=/run/systemd/test-runtime \
	    unshare --mount --propagation private /bin/sh -c '
		set -e
		mount -t tmpfs tmpfs /run/systemd
		mkdir /run/systemd/system
		mkdir -m 700 "$XDG_RUNTIME_DIR"
		i=/run/systemd/inaccessible
		mkdir -p $i
		mkdir -m 0 $i/dir
		: >$i/reg
		chmod 0 $i/reg
		mkfifo -m 0 $i/fifo
		mknod -m 0 $i/chr c 0 0
		mknod -m 0 $i/blk b 0 0
		exec /lib/systemd/systemd --user'
}

# prepare_systemd NAME: contrib's NAME.socket and NAME@.service as they
# are, in $UNITS, with a drop-in for the socket's address (port in $PORT);
# the service's drop-in is $UNITS/NAME@.service.d/test.conf, to write.
prepare_systemd()
{
	UNITS=$T/config/systemd/user
	PORT=$(free_port)
	mkdir -p "$UNITS/sockets.target.wants" "$UNITS/$1.socket.d" \
	    "$UNITS/$1@.service.d" "$T/mail"
	cp "$CONTRIB/systemd/$1.socket" "$CONTRIB/systemd/$1@.service" \
	    "$UNITS/"
	ln -s "../$1.socket" "$UNITS/sockets.target.wants/$1.socket"
	cat >"$UNITS/$1.socket.d/test.conf" <<-CONF
	[Socket]
	ListenStream=
	ListenStream=127.0.0.1:$PORT
	CONF
	open_path "$T"
	open_path "$(dirname "$SMTPD")"
}

run_systemd()
{
	chown -R nobody "$T/mail"
	user_systemd >"$T/systemd.log" 2>&1 &
	PIDS+=($!)
	wait_port "$PORT"
}

@test "systemd: contrib's smtpd.socket (Accept=yes) and smtpd@.service (hardened, unprivileged) under systemd --user" {
	prepare_systemd smtpd
	# The Maildir template is written as users write it, with %%.
	cat >"$UNITS/smtpd@.service.d/test.conf" <<-CONF
	[Service]
	ExecStart=
	ExecStart=$SMTPD maildir $T/mail/%%d/%%l
	User=nobody
	Group=nogroup
	ReadWritePaths=
	ReadWritePaths=$T/mail
	# the test's Maildir is under /tmp, which PrivateTmp= replaces
	BindPaths=$T/mail
	# and so may be the checkout itself (CI clones anywhere)
	BindReadOnlyPaths=$(readlink -f "$BATS_TEST_DIRNAME/..")
	StandardError=append:$T/server.log
	# LeakSanitizer needs ptrace, which SystemCallFilter= refuses.
	Environment=ASAN_OPTIONS=detect_leaks=0
	CONF
	MD=$T/mail/example.org/b
	mkdir -p "$MD/new" "$MD/cur" "$MD/tmp"
	run_systemd
	send "$PORT"
	assert_success
	assert_no_log_to_client
	assert_received_from 127.0.0.1
	assert_delivered_as_nobody
	wait_for_log 'info: [0-9a-f]+: connect from 127\.0\.0\.1 port [0-9]+$'
	wait_for_log 'end: quit, 1 message'
}

# The drop-in of the submission services: the test's certificate, the
# test checker, smtpd as nobody.  tlswrapper limits its child's address
# space, which the sanitizer build cannot run under: the plain build.
submission_dropin()
{
	sh "$HELPERS/mkcert" "$T/tls"
	printf 'alice:wonderland\n' >"$T/users"
	chmod 644 "$T/users"
	open_path "$HELPERS"
	MD=$T/mail/Maildir
	cat >"$UNITS/$1@.service.d/test.conf" <<-CONF
	[Service]
	ExecStart=
	ExecStart=/usr/bin/tlswrapper $2 -f $T/tls/both.pem -u nobody $(readlink -f "$BATS_TEST_DIRNAME/../smtpd") maildir $MD
	Environment=CHECKPASSWORD=$HELPERS/checkpassword.py CHECKPW_USERS=$T/users
	ReadWritePaths=
	ReadWritePaths=$T/mail
	# the test's files are under /tmp, which PrivateTmp= replaces
	BindPaths=$T/mail
	BindReadOnlyPaths=$T/tls $T/users
	BindReadOnlyPaths=$(readlink -f "$BATS_TEST_DIRNAME/..")
	StandardError=append:$T/server.log
	Environment=ASAN_OPTIONS=detect_leaks=0
	CONF
}

@test "systemd submission.socket + submission@.service: STARTTLS through tlswrapper -n, AUTH required" {
	prepare_systemd submission
	submission_dropin submission -n
	run_systemd
	assert_submission --tls
	wait_for_log 'end: quit, 1 message'
}

@test "systemd submissions.socket + submissions@.service: implicit TLS, AUTH required" {
	prepare_systemd submissions
	submission_dropin submissions ''
	run_systemd
	assert_submission --tls-on-connect
	wait_for_log 'end: quit, 1 message'
}

# start_ssa [NAME=value...]: systemd-socket-activate --inetd on
# 127.0.0.1:$PORT (picked here) running smtpd with delivery_args's
# target.  It passes on only HOME, PATH, TERM and its -E variables: the
# arguments.  smtpd's log in $T/server.log.
start_ssa()
{
	local san=() target=() setenv=() v
	PORT=$(free_port)
	mapfile -t san < <(san_env)
	mapfile -t target < <(delivery_args)
	# systemd-socket-activate passes smtpd only HOME, PATH, TERM and
	# its -E variables: the sanitizer options go that way too.
	for v in "${san[@]}" "$@"; do
		setenv+=(-E "$v")
	done
	env -i PATH=/usr/bin:/bin \
	    systemd-socket-activate --inetd -a -l "127.0.0.1:$PORT" \
	    "${setenv[@]}" "$SMTPD" "${target[@]}" \
	    >"$T/ssa.out" 2>"$T/server.log" &
	PIDS+=($!)
	wait_port "$PORT"
}

@test "systemd-socket-activate --inetd: no address variables, the peer comes from the socket" {
	start_ssa SMTPGREETING=ssa.test
	send "$PORT"
	assert_success
	assert_output --regexp '<- +220 ssa\.test ESMTP'
	assert_no_log_to_client
	assert_received_from 127.0.0.1
	wait_for_log 'info: [0-9a-f]+: connect from 127\.0\.0\.1 port [0-9]+$'
	wait_for_log 'end: quit, 1 message'
}

@test "systemd-socket-activate --inetd: a pipe program gets TCPREMOTEIP and TCPLOCALIP from the socket" {
	mkdir -p "$T/hook"
	DELIVERY=(pipe "$HELPERS/hook-recorder")
	start_ssa HOOK_DIR="$T/hook"
	send "$PORT"
	assert_success
	run tr '\0' '\n' <"$T/hook/env.1"
	assert_line 'TCPREMOTEIP=127.0.0.1'
	assert_line 'TCPLOCALIP=127.0.0.1'
	assert_line "TCPLOCALPORT=$PORT"
	assert_line --regexp '^TCPREMOTEPORT=[0-9]+$'
}

# start_haproxy CONFIG: haproxy in the foreground; its log in
# $T/haproxy.log.
start_haproxy()
{
	haproxy -c -q -f "$1" || fail "haproxy -c refused $1"
	haproxy -db -f "$1" >"$T/haproxy.log" 2>&1 &
	PIDS+=($!)
}

# All Received: lines of the messages in the Maildirs given.
received_lines()
{
	local d
	for d in "$@"; do
		find "$d/new" -type f -exec grep -h -A1 '^Received:' {} +
	done
}

@test "haproxy send-proxy (v1) and send-proxy-v2 in front of tcpserver: Received: names the client, IPv4 and IPv6" {
	local p1 p2
	start_backend mx1 maildir "$MD"
	p1=$(free_port)
	p2=$(free_port)
	cat >"$T/haproxy.cfg" <<-CFG
	defaults
		mode tcp
		timeout connect 5s
		timeout client 30s
		timeout server 30s
	frontend fe_v1
		bind 127.0.0.1:$p1
		bind [::1]:$p1
		default_backend be_v1
	backend be_v1
		server s1 127.0.0.1:$BACKEND_PORT send-proxy
	frontend fe_v2
		bind 127.0.0.1:$p2
		bind [::1]:$p2
		default_backend be_v2
	backend be_v2
		server s2 127.0.0.1:$BACKEND_PORT send-proxy-v2
	CFG
	start_haproxy "$T/haproxy.cfg"
	wait_port "$p1"
	wait_port "$p2"
	# haproxy reaches the backend from 127.0.0.1; the clients come from
	# 127.0.0.2 and ::1
	send "$p1" --local-interface 127.0.0.2
	assert_success
	assert_no_log_to_client
	send "$p2" --local-interface 127.0.0.2
	assert_success
	assert_no_log_to_client
	send "$p1" --server ::1 --port "$p1"
	assert_success
	send "$p2" --server ::1 --port "$p2"
	assert_success
	assert_no_log_to_client
	assert_stored 4
	run received_lines "$MD"
	[ "$(grep -c '(\[127\.0\.0\.2\])' <<<"$output")" -eq 2 ] ||
	    fail "not two messages from 127.0.0.2: $output"
	[ "$(grep -c '(\[IPv6:::1\])' <<<"$output")" -eq 2 ] ||
	    fail "not two messages from ::1: $output"
	refute_output --partial '[127.0.0.1]'
	wait_for_log "PROXY v1: client 127\.0\.0\.2 port [0-9]+, to 127\.0\.0\.1 port $p1, via 127\.0\.0\.1\$"
	wait_for_log "PROXY v2: client 127\.0\.0\.2 port [0-9]+, to 127\.0\.0\.1 port $p2, via 127\.0\.0\.1\$"
	wait_for_log "PROXY v1: client ::1 port [0-9]+, to ::1 port $p1, via 127\.0\.0\.1\$"
	wait_for_log "PROXY v2: client ::1 port [0-9]+, to ::1 port $p2, via 127\.0\.0\.1\$"
}

@test "haproxy with contrib's config: two tcpserver backends, send-proxy-v2 and SMTP health checks" {
	local port p1 p2 i
	mkdir -p "$T/md1" "$T/md2"
	start_backend mx1 maildir "$T/md1"
	p1=$BACKEND_PORT
	start_backend mx2 maildir "$T/md2"
	p2=$BACKEND_PORT
	port=$(free_port)
	haproxy_config "$port" "$p1" "$p2" >"$T/haproxy.cfg"
	start_haproxy "$T/haproxy.cfg"
	wait_port "$port"
	for i in 1 2 3 4; do
		send "$port" --local-interface 127.0.0.2
		assert_success
		assert_no_log_to_client
	done
	local n1 n2
	n1=$(find "$T/md1/new" -type f | wc -l)
	n2=$(find "$T/md2/new" -type f | wc -l)
	[ $((n1 + n2)) -eq 4 ] || fail "$n1 + $n2 messages, expected 4"
	[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] ||
	    fail "not balanced: mx1 got $n1, mx2 got $n2"
	run received_lines "$T/md1" "$T/md2"
	[ "$(grep -c '(\[127\.0\.0\.2\])' <<<"$output")" -eq 4 ] ||
	    fail "not four messages from 127.0.0.2: $output"
	# the health checks: a v2 LOCAL header, HELO, and a clean end
	wait_for_log 'PROXY v2 LOCAL or unspecified: the connection.s own addresses stand'
	run grep -c 'PROXY header refused' "$T/server.log"
	assert_output 0
}
