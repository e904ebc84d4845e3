#!/usr/bin/env bats
# senders-exim.bats: Exim 4.96, the other big MTA, which sends with BDAT
# (CHUNKING) where the server offers it.  Exim is Debian 12's, unpacked
# into build/exim by tests/install-deps.sh and run per message in a
# private mount namespace (tests/helpers/senders.bash).  Each test checks
# the Maildir, Exim's SMTP dialogue (-v) and its log: every delivery to
# smtpd is marked K (CHUNKING) with our 250.

load helpers/common
load helpers/senders

setup()
{
	senders_setup
}

teardown()
{
	senders_teardown
}

@test "Exim: a message in one BDAT LAST, K in its log, stored as written" {
	start_server
	exim_config
	printf '%s\n' 'From: a@example.org' 'To: b@example.net, c@example.net' \
	    'Subject: from Exim' '' 'hello from Exim' '.leading dot' '' 'end' \
	    >"$T/msg"
	run exim_send a@example.org b@example.net c@example.net <"$T/msg"
	assert_success
	assert_line --regexp '^  SMTP\|> MAIL FROM:<a@example\.org> SIZE=[0-9]+$'
	assert_line --regexp '^  SMTP\+> BDAT [0-9]+ LAST$'
	refute_line --regexp 'SMTP.> DATA'
	assert_exim_delivered b@example.net c@example.net
	assert_stored 1
	assert_smtpd_trace exim.test ESMTP a@example.org b@example.net c@example.net
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
	run grep -c -e '^Subject: from Exim$' -e '^Message-Id: <.*@exim\.test>$' \
	    "$(message_file)"
	assert_output 2
	wait_for_log '\.1: from <a@example\.org> rcpts 2 size [0-9]+: 250'
}

@test "Exim: 8-bit text over BDAT, stored byte for byte" {
	start_server
	exim_config
	{
		printf '%s\n' 'Subject: =?utf-8?q?K=C3=B6ln?=' 'MIME-Version: 1.0' \
		    'Content-Type: text/plain; charset=utf-8' \
		    'Content-Transfer-Encoding: 8bit' ''
		printf 'Grüße aus Köln, naïve café, 東京\n'
		printf 'Latin-1 as sent: caf\351\n'
	} >"$T/msg"
	run exim_send a@example.org b@example.net <"$T/msg"
	assert_success
	assert_line --regexp '^  SMTP\+> BDAT [0-9]+ LAST$'
	assert_exim_delivered b@example.net
	assert_stored 1
	assert_smtpd_trace exim.test ESMTP a@example.org b@example.net
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
}

@test "Exim: a 240 KB message in two BDAT chunks" {
	start_server
	exim_config
	"$PY" -c '
import sys
out = ["Subject: two chunks\n", "\n"]
out += ["%07d %s\n" % (i, "z" * 70) for i in range(3000)]
sys.stdout.write("".join(out))
' >"$T/msg"
	run exim_send a@example.org b@example.net <"$T/msg"
	assert_success
	assert_line --regexp '^  SMTP\+> BDAT [0-9]+$'
	assert_line --regexp '^  SMTP\+> BDAT 240000 LAST$'
	assert_line '  SMTP<< 250 2.0.0 Chunk received'
	assert_exim_delivered b@example.net
	assert_stored 1
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
}

# Exim itself will not send a line over 998 octets (its transport's
# message_linelength_limit, RFC 5322 §2.1.1) unless told to, as a relay
# that passes on such mail is; smtpd must then take it whole.
@test "Exim: a 5,000-octet line over BDAT is stored as sent" {
	start_server
	exim_config 'message_linelength_limit = 100000'
	"$PY" -c '
import sys
line = "<p>" + "Grüße aus Köln " * 300
line = line[:4990] + "</p>"
sys.stdout.write("Subject: long line\nMIME-Version: 1.0\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n\n" + line + "\nnext line\n")
' >"$T/msg"
	[ "$(sed -n 6p "$T/msg" | wc -c)" -ge 5001 ]
	run exim_send a@example.org b@example.net <"$T/msg"
	assert_success
	assert_line --regexp '^  SMTP\+> BDAT [0-9]+ LAST$'
	assert_exim_delivered b@example.net
	assert_stored 1
	assert_smtpd_trace exim.test ESMTP a@example.org b@example.net
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
}

# STARTTLS required, and smtpd's certificate verified (it names 127.0.0.1).
exim_starttls()
{
	tls_wrap "$1"
	start_server TLSWRAPPER=1
	# Exim's transport runs as Debian-exim, which cannot read $T: the
	# certificate goes beside its spool
	exim_config 'hosts_require_tls = *' 'tls_verify_hosts = *' \
	    'tls_verify_certificates = $spool_directory/../ca.pem'
	cp "$T/tls/cert.pem" "$EX/ca.pem"
	chmod 644 "$EX/ca.pem"
	printf 'Subject: Exim over TLS\n\nencrypted\n' >"$T/msg"
	local races i
	EXIM_RACE_DEFERS=0
	races=$(tls_races)
	run exim_send a@example.org b@example.net <"$T/msg"
	assert_success
	# a handshake that tlswrapper 20260501's race lost (tls_races) is
	# deferred: a queue run tries it again, twice at most
	for i in 1 2; do
		grep -qF '=> b@example.net' "$EX/log/mainlog" && break
		[ "$(tls_races)" -gt "$races" ] || break
		races=$(tls_races)
		EXIM_RACE_DEFERS=$((EXIM_RACE_DEFERS + 1))
		echo "# tlswrapper's race lost a handshake: the queue again" >&3
		run exim_queue_run
		assert_success
	done
	assert_line '  SMTP>> STARTTLS'
	assert_line --regexp '^  SMTP\+> BDAT [0-9]+ LAST$'
	assert_exim_delivered b@example.net
	run grep -F '=> b@example.net' "$EX/log/mainlog"
	assert_output --regexp ' X=TLS1\.[23]:[^ ]+ CV=yes '
	assert_stored 1
	assert_smtpd_trace exim.test ESMTPS a@example.org b@example.net
	run message_body
	assert_output encrypted
}

@test "Exim: STARTTLS through Debian's tlswrapper -n, then BDAT" {
	exim_starttls old
}

@test "Exim: STARTTLS through tlswrapper -n 20260428+, then BDAT" {
	exim_starttls new
}
