# senders.bash: the real mail senders of tests/senders-*.bats, each started
# by the test itself, sending to smtpd under tcpserver (start_server).  Load
# after helpers/common.  Every process started here is stopped by pid in
# senders_teardown.
#
#	Postfix   a private instance (postfix_start)
#	Exim      unpacked into build/exim (tests/helpers/fetch-exim, run by
#	          tests/install-deps.sh), in a private mount namespace
#	          (exim_send)
#	tlswrapper -n, Debian's ($TLSWRAPPER_OLD) and a 20260428+ release
#	          built by make ($TLSWRAPPER_NEW): tls_wrap

: "${TLSWRAPPER_OLD:=tlswrapper}"
: "${TLSWRAPPER_NEW:=$BATS_TEST_DIRNAME/../build/tlswrapper-20260501/tlswrapper}"

senders_setup()
{
	common_setup
	POSTFIX_PID=
	PF=
	EX=
	SENDER_DIRS=()
}

senders_teardown()
{
	local d
	postfix_stop
	# the senders' logs stay with the test (bats --no-tempdir-cleanup)
	[ -n "${PF:-}" ] && cp "$PF/maillog" "$T/postfix.log" 2>/dev/null || true
	[ -n "${EX:-}" ] && cp "$EX/log/mainlog" "$T/exim.log" 2>/dev/null || true
	for d in "${SENDER_DIRS[@]}"; do
		case $d in
		/tmp/smtpd-sender.*) rm -rf "$d" ;;
		esac
	done
	common_teardown
}

# sender_dir VAR: set VAR to a new directory for a sender's queue, spool
# and log that its daemons, which drop root for their own user, can reach
# by full path: not under $T, whose parents bats makes 0700.  Removed in
# senders_teardown.
sender_dir()
{
	local d
	d=$(mktemp -d /tmp/smtpd-sender.XXXXXX)
	chmod 755 "$d"
	SENDER_DIRS+=("$d")
	printf -v "$1" '%s' "$d"
}

# wait_within SECONDS FILE REGEX: like wait_for_line, for what takes
# longer than its 5 s (a queue run, a 5 MB message under ASan); polls
# every 0.05 s.
wait_within()
{
	local i n=$(($1 * 20))
	for ((i = 0; i < n; i++)); do
		grep -qE "$3" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line matching /$3/ in $2 after $1 s: $(cat "$2" 2>&1)"
}

# tls_wrap old|new: SERVER_WRAP for STARTTLS through that tlswrapper -n
# (the certificate is made here); start_server TLSWRAPPER=1 then offers
# STARTTLS.  With the new one, a client whose ClientHello arrives before
# tlswrapper has read smtpd's zero byte on fd 5 loses its handshake
# (tlswrapper has already sent our 220 on; smtpd logs "the client's TLS
# handshake came in the clear"): a race of that protocol, seen once in
# 152 sessions (two at a time, the machine loaded ten times over).
tls_wrap()
{
	local bin=$TLSWRAPPER_OLD
	if [ "$1" = new ]; then
		bin=$TLSWRAPPER_NEW
		# make check builds it; this is for `bats tests/senders-*.bats`
		[ -x "$bin" ] || make -C "$BATS_TEST_DIRNAME/.." \
		    build/tlswrapper-20260501/tlswrapper >&2 || true
	fi
	command -v "$bin" >/dev/null ||
	    fail "no tlswrapper at $bin (make build/tlswrapper-20260501/tlswrapper)"
	"$HELPERS/mkcert" "$T/tls"
	SERVER_WRAP=("$bin" -T 5 -t 10 -n -f "$T/tls/both.pem")
	# -vv: its debug line "discarded pending cleartext_tochildbuf bytes"
	# tells when the race below cost the handshake on its side
	[ "$1" = new ] && SERVER_WRAP=("$bin" -vv "${SERVER_WRAP[@]:1}")
	return 0
}

# tls_races: how many handshakes tlswrapper 20260501's race (above) has
# cost so far: the ClientHello reached smtpd, which logged it, or
# tlswrapper threw it away with the cleartext it still held.  The session
# is lost; never an injection.
TLS_RACE='STARTTLS: the client.s TLS handshake came in the clear|discarded pending cleartext_tochildbuf bytes'
tls_races()
{
	local n
	n=$(grep -cE "$TLS_RACE" "$T/server.log" 2>/dev/null) || true
	echo "${n:-0}"
}

# race_retry FILE CMD...: CMD with FILE on stdin ("" for none), and again
# (twice at most) only when the try lost its handshake to that race; any
# other failure stands at once.
race_retry()
{
	local in=${1:-/dev/null} i before rc=0
	shift
	for i in 1 2 3; do
		before=$(tls_races)
		rc=0
		"$@" <"$in" || rc=$?
		[ "$rc" -eq 0 ] && return 0
		[ "$(tls_races)" -gt "$before" ] || return "$rc"
		echo "# tlswrapper's race lost a handshake: again" >&2
	done
	return "$rc"
}

# auth_env: AUTH_ENV, the variables for start_server that make smtpd
# offer AUTH (after STARTTLS) for alice, password wonderland.
auth_env()
{
	printf 'alice:wonderland\n' >"$T/users"
	AUTH_ENV=(CHECKPASSWORD="$HELPERS/checkpassword.py"
	    CHECKPW_USERS="$T/users" AUTHDELAY=0)
}

# message_with HEADER-LINE: the one message in new/ that has this exact
# header line ("Subject: x"); fails unless exactly one has.
message_with()
{
	local files
	# (in the message's own header: a bounce quotes the original's)
	mapfile -t files < <(awk -v h="$1" 'FNR == 1 { inhead = 1 }
	    inhead && $0 == "" { inhead = 0 }
	    inhead && $0 == h { print FILENAME; nextfile }' "$MD"/new/* 2>/dev/null)
	[ "${#files[@]}" -eq 1 ] ||
	    fail "expected one message with [$1], found ${#files[@]}"
	printf '%s\n' "${files[0]}"
}

# The headers smtpd adds in front of a message relayed by HELO name $1
# with protocol $2 (ESMTP, ESMTPS, UTF8SMTP, ...): Return-Path from $3,
# then Delivered-To for each further argument, then Received.  The
# message is the only one, or TRACE_FILE when set.
assert_smtpd_trace()
{
	local helo=$1 with=$2 from=$3 file=${TRACE_FILE:-} i=1 r
	shift 3
	[ -n "$file" ] || file=$(message_file)
	run head -n $(($# + 3)) "$file"
	assert_line --index 0 "Return-Path: <$from>"
	for r in "$@"; do
		assert_line --index $i "Delivered-To: $r"
		i=$((i + 1))
	done
	assert_line --index $i --regexp "^Received: from ${helo//./\\.} \\(\\[127\\.0\\.0\\.1\\]\\)\$"
	assert_line --index $((i + 1)) --regexp $'^\tby smtp\\.test \\(smtpd\\) with '"$with id "
}

# assert_body FILE: the only message's body is FILE's content, byte for
# byte (FILE with LF line ends, as smtpd stores it).
assert_body()
{
	sed '1,/^$/d' "$(message_file)" >"$T/body.got"
	cmp "$1" "$T/body.got" || fail "the stored body differs from $1"
}

# ---------------------------------------------------------------------
# Postfix 3.7: a private instance, everything under $PF, no system service.

# postfix_start [main.cf line...]: configure an instance that relays all
# mail to [127.0.0.1]:$PORT (start_server first) and start its master.
# Its log is $PF/maillog; debug_peer_list makes it hold the SMTP dialogue
# ("> ...: MAIL FROM:<...> BODY=8BITMIME", "< ...: 250 ...").
postfix_start()
{
	local d line
	sender_dir PF
	mkdir -p "$PF/etc" "$PF/data" "$PF/queue"
	chown postfix "$PF/data"
	# The queue as postfix-files makes it (postfix check takes 3 s).
	for d in active bounce corrupt defer deferred flush hold incoming \
	    private saved trace; do
		install -d -o postfix -g root -m 0700 "$PF/queue/$d"
	done
	install -d -o postfix -g postdrop -m 0730 "$PF/queue/maildrop"
	install -d -o postfix -g postdrop -m 0710 "$PF/queue/public"
	install -d -m 0755 "$PF/queue/pid"
	cat >"$PF/etc/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $PF/queue
	data_directory = $PF/data
	maillog_file = $PF/maillog
	maillog_file_prefixes = $PF
	myhostname = postfix.test
	mydomain = postfix.test
	myorigin = postfix.test
	mydestination =
	inet_interfaces = loopback-only
	inet_protocols = ipv4
	local_transport = error:no local delivery here
	alias_maps =
	alias_database =
	relayhost = [127.0.0.1]:$PORT
	smtputf8_enable = yes
	debug_peer_list = 127.0.0.1
	smtp_tls_loglevel = 1
	# a failed delivery is a failed test: no retry
	maximal_queue_lifetime = 0
	bounce_queue_lifetime = 0
	EOF
	for line in "$@"; do
		printf '%s\n' "$line" >>"$PF/etc/main.cf"
	done
	# Only the services a relaying client needs, none chrooted, no
	# smtp inet: the instance listens nowhere.
	cat >"$PF/etc/master.cf" <<-'EOF'
	pickup    unix  n  -  n  60     1  pickup
	cleanup   unix  n  -  n  -      0  cleanup
	qmgr      unix  n  -  n  300    1  qmgr
	rewrite   unix  -  -  n  -      -  trivial-rewrite
	bounce    unix  -  -  n  -      0  bounce
	defer     unix  -  -  n  -      0  bounce
	trace     unix  -  -  n  -      0  bounce
	flush     unix  n  -  n  1000?  0  flush
	proxymap  unix  -  -  n  -      -  proxymap
	smtp      unix  -  -  n  -      -  smtp
	relay     unix  -  -  n  -      -  smtp
	showq     unix  n  -  n  -      -  showq
	error     unix  -  -  n  -      -  error
	retry     unix  -  -  n  -      -  error
	discard   unix  -  -  n  -      -  discard
	anvil     unix  -  -  n  -      1  anvil
	scache    unix  -  -  n  -      1  scache
	tlsmgr    unix  -  -  n  1000?  1  tlsmgr
	postlog   unix-dgram n - n -    1  postlogd
	EOF
	# Postfix waits (up to 2 s) for a main.cf written in this very
	# second to age; it is complete
	touch -d '-1 minute' "$PF/etc/main.cf" "$PF/etc/master.cf"
	# its own process group (setsid), so that its SIGTERM reaches
	# every child; -d: in the foreground
	setsid /usr/lib/postfix/sbin/master -c "$PF/etc" -d \
	    >"$PF/master.out" 2>&1 </dev/null &
	POSTFIX_PID=$!
	wait_within 10 "$PF/maillog" 'postfix/master\[[0-9]+\]: daemon started'
	# the master's own word for its pid (setsid may have forked)
	POSTFIX_PID=$(tr -dc 0-9 <"$PF/queue/pid/master.pid")
}

# postfix_stop: SIGTERM to the master, which passes it to its process
# group; wait (at most 5 s) until no process of the group runs.  (Its
# children may stay zombies a little longer, until init reaps them.)
postfix_stop()
{
	local i
	[ -n "${POSTFIX_PID:-}" ] || return 0
	kill "$POSTFIX_PID" 2>/dev/null || true
	wait "$POSTFIX_PID" 2>/dev/null || true
	for i in $(seq 100); do
		ps -o stat= -g "$POSTFIX_PID" | grep -qv '^Z' || break
		sleep 0.05
	done
	POSTFIX_PID=
}

# postfix_send FROM RCPT... < message: inject with Postfix's sendmail.
postfix_send()
{
	local from=$1
	shift
	/usr/sbin/sendmail -C "$PF/etc" -f "$from" -oi -- "$@"
}

# postfix_wait_sent N [bounced]: wait until N recipients have
# status=sent; a deferral fails at once, and so does a bounce unless the
# second argument says one is expected.
# A deferral that tlswrapper 20260501's race caused (tls_races) is tried
# again at once (postqueue -f), twice at most.
postfix_wait_sent()
{
	local i n deferred retried=0
	for i in $(seq 600); do
		n=$(grep -c " status=sent " "$PF/maillog" 2>/dev/null) || true
		[ "${n:-0}" -ge "$1" ] && return 0
		deferred=$(grep -c " status=deferred " "$PF/maillog" 2>/dev/null) || true
		if [ "${deferred:-0}" -gt "$retried" ]; then
			[ "$retried" -lt 2 ] && [ "$(tls_races)" -gt "$retried" ] ||
			    break
			retried=$((retried + 1))
			echo "# tlswrapper's race lost a handshake: the queue again" >&2
			postqueue -c "$PF/etc" -f
			continue
		fi
		[ "${2:-}" != bounced ] &&
		    grep -q " status=bounced " "$PF/maillog" 2>/dev/null && break
		sleep 0.05
	done
	fail "expected $1 x status=sent: $(cat "$PF/maillog" "$T/server.log")"
}

# ---------------------------------------------------------------------
# Exim 4.96, unpacked (never installed: exim4 conflicts with postfix).
# It looks up its compiled-in user Debian-exim before it reads any
# configuration, and runs itself again as /usr/sbin/exim4 to deliver; so
# each run is in a private mount namespace where /etc/passwd and
# /etc/group name Debian-exim and /usr/sbin is the unpacked one.  With
# -odf it delivers before it exits: no daemon, nothing left running.

: "${EXIM_DIR:=$BATS_TEST_DIRNAME/../build/exim}"

# exim_config [smtp transport option...]: configure Exim in $EX to send
# every message to smtpd on 127.0.0.1:$PORT (start_server first), and to
# use CHUNKING (BDAT) there.  Its log is $EX/log/mainlog.
exim_config()
{
	local opt
	[ -x "$EXIM_DIR/usr/sbin/exim4" ] ||
	    fail "no Exim in $EXIM_DIR: run sh tests/install-deps.sh"
	sender_dir EX
	mkdir -p "$EX/spool" "$EX/log"
	chown 65534:65534 "$EX/spool" "$EX/log"
	grep -v '^Debian-exim:' /etc/passwd >"$EX/passwd"
	echo 'Debian-exim:x:65534:65534::/nonexistent:/usr/sbin/nologin' \
	    >>"$EX/passwd"
	grep -v '^Debian-exim:' /etc/group >"$EX/group"
	echo 'Debian-exim:x:65534:' >>"$EX/group"
	cat >"$EX/exim.conf" <<-EOF
	primary_hostname = exim.test
	qualify_domain = exim.test
	spool_directory = $EX/spool
	log_file_path = $EX/log/%slog
	log_selector = +smtp_confirmation +received_recipients
	keep_environment =
	trusted_users = root

	begin routers
	# a failed delivery is a failed test: no bounce to smtpd as well
	drop_bounces:
	  driver = redirect
	  senders = :
	  data = :blackhole:
	to_smtpd:
	  driver = manualroute
	  domains = *
	  route_list = * 127.0.0.1::$PORT
	  self = send
	  transport = smtpd
	  no_more

	begin transports
	smtpd:
	  driver = smtp
	  allow_localhost
	  hosts_try_chunking = *
	EOF
	for opt in "$@"; do
		printf '  %s\n' "$opt" >>"$EX/exim.conf"
	done
	printf '\nbegin retry\n* * F,1m,1m\n' >>"$EX/exim.conf"
}

# exim_send FROM RCPT... < message: submit and deliver at once (-odf);
# -v puts the SMTP dialogue on stderr ("SMTP+> BDAT 289 LAST").
exim_send()
{
	local from=$1
	shift
	unshare -m sh -c '
		mount --bind "$1/passwd" /etc/passwd &&
		mount --bind "$1/group" /etc/group &&
		mount --bind "$2/usr/sbin" /usr/sbin || exit 111
		conf=$1/exim.conf
		shift 2
		exec /usr/sbin/exim4 -C "$conf" -odf -v "$@"' \
	    sh "$EX" "$EXIM_DIR" -f "$from" -- "$@"
}

# exim_queue_run: one queue run that tries every queued message now,
# whatever its retry time (-qff).
exim_queue_run()
{
	unshare -m sh -c '
		mount --bind "$1/passwd" /etc/passwd &&
		mount --bind "$1/group" /etc/group &&
		mount --bind "$2/usr/sbin" /usr/sbin || exit 111
		exec /usr/sbin/exim4 -C "$1/exim.conf" -qff -v' \
	    sh "$EX" "$EXIM_DIR"
}

# assert_exim_delivered RCPT...: Exim's log marks the delivery of each
# to smtpd ("=>" for the first of a transaction, "->" for the others)
# with K (CHUNKING) and our 250, and no delivery failed or was deferred
# (but for EXIM_RACE_DEFERS deferrals, that tlswrapper 20260501's race
# caused and a queue run made good: see exim_starttls).
assert_exim_delivered()
{
	local r
	for r in "$@"; do
		run grep -E " [=-]> ${r//./\\.} R=to_smtpd T=smtpd H=127\.0\.0\.1 \[127\.0\.0\.1\]" \
		    "$EX/log/mainlog"
		assert_success
		assert_output --regexp ' K C="250 2\.0\.0 Message accepted"$'
	done
	run grep -c ' \*\* ' "$EX/log/mainlog"
	assert_output 0
	run grep -c ' == ' "$EX/log/mainlog"
	assert_output "${EXIM_RACE_DEFERS:-0}"
}
