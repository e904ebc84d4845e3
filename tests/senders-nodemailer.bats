#!/usr/bin/env bats
# senders-nodemailer.bats: nodemailer, what Node.js applications send
# with (installed from npm into build/node by tests/install-deps.sh),
# driven by tests/helpers/nodemailer-send.js: a pooled connection, a MIME
# message with attachments, AUTH after STARTTLS through both tlswrappers.

load helpers/common
load helpers/senders

setup()
{
	senders_setup
	NODE_MODULES=$BATS_TEST_DIRNAME/../build/node/node_modules
	[ -d "$NODE_MODULES/nodemailer" ] ||
	    fail "no nodemailer in $NODE_MODULES: run sh tests/install-deps.sh"
}

teardown()
{
	senders_teardown
}

nodemailer_send()
{
	env NODE_PATH="$NODE_MODULES" ATTACH_DIR="$T/attach" \
	    node "$HELPERS/nodemailer-send.js" "$@"
}

@test "nodemailer: one pooled connection carries 20 messages" {
	start_server
	run nodemailer_send pool "$PORT"
	assert_success
	local i
	for i in $(seq 20); do
		assert_line "$i 250 2.0.0 Message accepted accepted=b@example.net"
	done
	assert_line done
	assert_stored 20
	# each message once, subject and body: "Subject: pooled N|message N"
	run bash -c 'for f in "$1"/new/*; do
		printf "%s|%s\n" "$(grep -m 1 "^Subject: " "$f")" "$(sed "1,/^\$/d" "$f")"
	done | sort -t " " -k 3 -n' bash "$MD"
	assert_output "$(for i in $(seq 20); do echo "Subject: pooled $i|message $i"; done)"
	TRACE_FILE=$(message_with 'Subject: pooled 20')
	assert_smtpd_trace node.example ESMTP a@example.org b@example.net
	# one connection, one session for all 20
	wait_for_log 'end: .*, 20 messages$'
	run grep -c 'connect from 127\.0\.0\.1 ' "$T/server.log"
	assert_output 1
	run grep -c '\.[0-9]*: from <a@example\.org> rcpts 1 size [0-9]*: 250$' \
	    "$T/server.log"
	assert_output 20
}

@test "nodemailer: text, HTML and two attachments come back byte for byte" {
	start_server
	mkdir -p "$T/attach"
	head -c 30000 /dev/urandom >"$T/attach/blob.bin"
	printf 'Notizen: Grüße aus Köln\n.leading dot\n' >"$T/attach/notes.txt"
	run nodemailer_send attach "$PORT"
	assert_success
	assert_line '1 250 2.0.0 Message accepted accepted=b@example.net,c@example.net'
	assert_stored 1
	assert_smtpd_trace node.example ESMTP a@example.org b@example.net c@example.net
	run "$HELPERS/mime-parts" "$(message_file)"
	assert_success
	assert_line 'subject: attachments, Grüße'
	assert_line 'type: multipart/mixed'
	assert_line "text/plain 'the text part\\n'"
	assert_line "text/html '<p>the <b>HTML</b> part</p>'"
	assert_line "attachment blob.bin $(sha256sum <"$T/attach/blob.bin" | cut -d ' ' -f 1)"
	assert_line "attachment notizen-ü.txt $(sha256sum <"$T/attach/notes.txt" | cut -d ' ' -f 1)"
}

nodemailer_auth()
{
	tls_wrap "$1"
	auth_env
	start_server TLSWRAPPER=1 "${AUTH_ENV[@]}"
	run race_retry "" nodemailer_send auth "$PORT" "$T/tls/cert.pem"
	assert_success
	assert_line '1 250 2.0.0 Message accepted accepted=b@example.net'
	assert_stored 1
	assert_smtpd_trace node.example ESMTPSA a@example.org b@example.net
	run message_body
	assert_output authenticated
	wait_for_log 'auth ok: ip=127\.0\.0\.1 user=alice mech=PLAIN'
}

@test "nodemailer: requireTLS, AUTH PLAIN after STARTTLS through Debian's tlswrapper -n" {
	nodemailer_auth old
}

@test "nodemailer: requireTLS, AUTH PLAIN after STARTTLS through tlswrapper -n 20260428+" {
	nodemailer_auth new
}
