#!/usr/bin/env bats
# senders-mua.bats: the command-line senders people script and the mail
# programs they type into, each in batch mode: msmtp, s-nail, neomutt and
# curl (--crlf).  Plain sessions first, then STARTTLS with AUTH through
# Debian's tlswrapper -n and through a 20260428+ tlswrapper for all four.
# What lands is read back as a mail reader would (tests/helpers/mime-parts).

load helpers/common
load helpers/senders

setup()
{
	senders_setup
	# neomutt and s-nail look for their files in $HOME
	export HOME=$T
}

teardown()
{
	senders_teardown
}

# HOST is 127.0.0.1 for plain sessions, localhost with TLS (the name in
# the certificate).  NEOMUTT_SET: more of neomutt's settings.
HOST=127.0.0.1
NEOMUTT_SET=

msmtp_to()
{
	msmtp --host="$HOST" --port="$PORT" --from=a@example.org \
	    --logfile="$T/msmtp.log" "$@"
}

snail_to()
{
	s-nail -:/ -Sv15-compat -Sttycharset=utf-8 -Shostname=snail.example \
	    -r a@example.org "$@"
}

neomutt_to()
{
	# sendmail=/bin/false: never the system's sendmail, should
	# smtp_url not take
	neomutt -n -F /dev/null -e "set from=a@example.org hostname=neomutt.example record='' sendmail=/bin/false tmpdir=$T $NEOMUTT_SET" "$@"
}

curl_to()
{
	curl -sS --crlf --url "smtp://$HOST:$PORT/curl.example" \
	    --mail-from a@example.org "$@"
}

sha()
{
	sha256sum <"$1" | cut -d ' ' -f 1
}

@test "msmtp: a message as written, msmtp's own headers, 250 in msmtp's log" {
	start_server
	printf '%s\n' 'To: b@example.net' 'Subject: from msmtp' '' 'hello from msmtp' \
	    '.leading dot' '' 'end' >"$T/msg"
	run msmtp_to --domain=msmtp.example b@example.net <"$T/msg"
	assert_success
	run cat "$T/msmtp.log"
	assert_output --regexp "host=127\\.0\\.0\\.1 tls=off auth=off from=a@example\\.org recipients=b@example\\.net mailsize=[0-9]+ smtpstatus=250 smtpmsg='250 2\\.0\\.0 Message accepted' exitcode=EX_OK\$"
	assert_stored 1
	assert_smtpd_trace msmtp.example ESMTP a@example.org b@example.net
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
	# msmtp adds what a message lacks
	run grep -c -e '^From: a@example\.org$' -e '^Date: ' -e '^Message-ID: <' \
	    "$(message_file)"
	assert_output 3
}

# A device's host name (a printer, a Windows machine) as msmtp's EHLO.
@test "msmtp --domain=DESKTOP-AB_12: a device's HELO name is taken" {
	start_server
	printf 'Subject: scan\n\nscanned page\n' | msmtp_to --domain=DESKTOP-AB_12 \
	    b@example.net
	run cat "$T/msmtp.log"
	assert_output --partial "smtpstatus=250 smtpmsg='250 2.0.0 Message accepted'"
	assert_stored 1
	run sed -n '/^Received: /{N;p;q}' "$(message_file)"
	assert_output --partial 'DESKTOP-AB_12'
	assert_output --regexp $'\tby smtp\\.test \\(smtpd\\) with ESMTP id '
	run message_body
	assert_output 'scanned page'
}

@test "s-nail: UTF-8 subject and text with an attachment, in batch mode" {
	start_server
	head -c 20000 /dev/urandom >"$T/scan.pdf"
	printf 'Grüße aus Köln\n.leading dot\n' |
	    snail_to -Smta="smtp://127.0.0.1:$PORT" -Ssmtp-auth=none \
	    -s 'Grüße, 東京' -a "$T/scan.pdf" b@example.net
	assert_stored 1
	# s-nail says HELO when it needs no extension
	assert_smtpd_trace snail.example SMTP a@example.org b@example.net
	run "$HELPERS/mime-parts" "$(message_file)"
	assert_success
	assert_line 'subject: Grüße, 東京'
	assert_line 'type: multipart/mixed'
	assert_line "text/plain 'Grüße aus Köln\\n.leading dot\\n'"
	assert_line "attachment scan.pdf $(sha "$T/scan.pdf")"
	wait_for_log '\.1: from <a@example\.org> rcpts 1 size [0-9]+: 250'
}

@test "neomutt -n in batch mode: UTF-8 text with an attachment" {
	start_server
	head -c 20000 /dev/urandom >"$T/photo.jpg"
	# neomutt 2022 tries STARTTLS, offered or not, unless told
	NEOMUTT_SET="smtp_url=smtp://127.0.0.1:$PORT/ ssl_force_tls=no ssl_starttls=no"
	printf 'Grüße aus Köln\n.leading dot\n' |
	    neomutt_to -s 'Grüße von neomutt' -a "$T/photo.jpg" -- b@example.net
	assert_stored 1
	assert_smtpd_trace neomutt.example ESMTP a@example.org b@example.net
	run "$HELPERS/mime-parts" "$(message_file)"
	assert_success
	assert_line 'subject: Grüße von neomutt'
	assert_line 'type: multipart/mixed'
	assert_line "text/plain 'Grüße aus Köln\\n.leading dot\\n'"
	assert_line "attachment photo.jpg $(sha "$T/photo.jpg")"
}

@test "curl --crlf: UTF-8 addresses go with SMTPUTF8, with UTF8SMTP" {
	start_server
	printf 'From: jörg@example.org\nSubject: Grüße\n\nUTF-8 über curl\n' >"$T/msg"
	run curl -v -sS --crlf --url "smtp://127.0.0.1:$PORT/curl.example" \
	    --mail-from jörg@example.org --mail-rcpt zoë@example.net -T "$T/msg"
	assert_success
	assert_line --regexp '^> MAIL FROM:<jörg@example\.org> SIZE=[0-9]+ SMTPUTF8'
	assert_line --regexp '^< 250 2\.0\.0 Message accepted'
	assert_stored 1
	assert_smtpd_trace curl.example UTF8SMTP jörg@example.org zoë@example.net
	run message_body
	assert_output 'UTF-8 über curl'
}

@test "curl --crlf: a 5,000-octet line in DATA is stored as sent" {
	start_server
	"$PY" -c '
import sys
sys.stdout.write("Subject: long line\n\n" + "x" * 5000 + "\nnext line\n")
' >"$T/msg"
	run curl_to --mail-rcpt b@example.net -T "$T/msg"
	assert_success
	assert_stored 1
	sed '1,/^$/d' "$T/msg" >"$T/body"
	assert_body "$T/body"
}

# All four, each its own session, STARTTLS required and AUTH PLAIN for
# alice, against one server behind tlswrapper -n ($1: old or new); the
# certificate is checked for "localhost" by every client.
mua_starttls_auth()
{
	local cert
	tls_wrap "$1"
	cert=$T/tls/cert.pem
	auth_env
	start_server TLSWRAPPER=1 "${AUTH_ENV[@]}"
	HOST=localhost

	# (race_retry: through tlswrapper 20260501, a client whose
	# handshake that tlswrapper lost is run again)
	printf 'Subject: tls msmtp\n\nvia msmtp\n' >"$T/in.msmtp"
	race_retry "$T/in.msmtp" msmtp_to --domain=msmtp.example --tls=on \
	    --tls-starttls=on --tls-trust-file="$cert" --auth=plain \
	    --user=alice --passwordeval='echo wonderland' b@example.net
	echo 'via s-nail' >"$T/in.snail"
	race_retry "$T/in.snail" \
	    snail_to -Smta="smtp://alice:wonderland@localhost:$PORT" \
	    -Ssmtp-use-starttls -Stls-ca-file="$cert" -Stls-ca-no-defaults \
	    -Ssmtp-auth=plain -s 'tls s-nail' b@example.net
	NEOMUTT_SET="smtp_url=smtp://alice@localhost:$PORT/ smtp_pass=wonderland smtp_authenticators=plain ssl_starttls=yes ssl_force_tls=yes ssl_ca_certificates_file=$cert"
	echo 'via neomutt' >"$T/in.neomutt"
	race_retry "$T/in.neomutt" neomutt_to -s 'tls neomutt' -- b@example.net
	printf 'Subject: tls curl\n\nvia curl\n' >"$T/msg"
	race_retry "" curl_to --ssl-reqd --cacert "$cert" \
	    --user alice:wonderland --login-options AUTH=PLAIN \
	    --mail-rcpt b@example.net -T "$T/msg"

	run cat "$T/msmtp.log"
	assert_output --regexp "host=localhost tls=on auth=on user=alice .* smtpstatus=250 smtpmsg='250 2\\.0\\.0 Message accepted'"
	assert_stored 4
	local who
	for who in msmtp s-nail neomutt curl; do
		TRACE_FILE=$(message_with "Subject: tls $who")
		run sed '1,/^$/d' "$TRACE_FILE"
		assert_output "via $who"
	done
	TRACE_FILE=$(message_with 'Subject: tls msmtp')
	assert_smtpd_trace msmtp.example ESMTPSA a@example.org b@example.net
	TRACE_FILE=$(message_with 'Subject: tls s-nail')
	assert_smtpd_trace snail.example ESMTPSA a@example.org b@example.net
	TRACE_FILE=$(message_with 'Subject: tls neomutt')
	assert_smtpd_trace neomutt.example ESMTPSA a@example.org b@example.net
	TRACE_FILE=$(message_with 'Subject: tls curl')
	assert_smtpd_trace curl.example ESMTPSA a@example.org b@example.net
	run grep -c 'auth ok: ip=127\.0\.0\.1 user=alice mech=PLAIN' "$T/server.log"
	assert_output 4
}

@test "msmtp, s-nail, neomutt, curl: STARTTLS and AUTH through Debian's tlswrapper -n" {
	mua_starttls_auth old
}

@test "msmtp, s-nail, neomutt, curl: STARTTLS and AUTH through tlswrapper -n 20260428+" {
	mua_starttls_auth new
}
