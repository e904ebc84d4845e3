#!/usr/bin/env bats
# proxy.bats: PROXYPROTOCOL under tcpserver, with a raw client that plays
# the proxy: valid v1 and v2 headers (the header's source becomes the peer
# in the log and Received:, and the client's pipelined SMTP bytes right
# after the header are not lost), LOCAL/UNKNOWN (the real peer), and
# malformed headers (truncated, wrong signature, oversized, unknown v2
# family, missing), each closed without a byte and logged.  haproxy
# itself is in deploy.bats.

load helpers/common

SIG='\r\n\r\n\0\r\nQUIT\n'
# The SMTP session a client sends right behind the header, in one write.
SESSION='EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: proxied\r\n\r\nhello\r\n.\r\nQUIT\r\n'

setup()
{
	common_setup
	start_server PROXYPROTOCOL=1 TIMEOUT=2
}

# refused WHY SEND...: the connection is closed without a single byte
# (no greeting) and the log says why.
refused()
{
	local why=$1
	shift
	run client -t 8 "$@"
	assert_success
	[ -z "$output" ] || fail "the client got bytes: $output"
	wait_for_log "warning: [0-9a-f]+: PROXY header refused after [0-9]+ octets: $why; closing"
	assert_stored 0
}

@test "PROXY v1 TCP4: the header's client is the peer in the log and Received:, pipelined SMTP survives" {
	run client "send:PROXY TCP4 192.0.2.10 198.51.100.2 56324 25\r\n$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	assert_reply_line '^221'
	run grep -A1 '^Received:' "$(message_file)"
	assert_output --partial 'Received: from client.example ([192.0.2.10])'
	wait_for_log 'info: [0-9a-f]+: PROXY v1: client 192.0.2.10 port 56324, to 198.51.100.2 port 25, via 127.0.0.1$'
	wait_for_log ': end: quit, 1 message'
}

@test "after a PROXY header, programs see its client: the pipe program's TCPREMOTEIP/PORT and TCPLOCALIP/PORT, the checkpassword program's TCPREMOTEIP" {
	local H=$T/hook auth
	mkdir -p "$H"
	printf 'alice:wonderland\n' >"$T/users"
	auth=$(printf '\0alice\0wonderland' | base64 -w0)
	stop_server
	DELIVERY=(pipe "$HELPERS/hook-recorder")
	start_server PROXYPROTOCOL=1 TIMEOUT=5 HOOK_DIR="$H" \
	    CHECKPASSWORD="$HELPERS/checkpassword.py" CHECKPW_USERS="$T/users" \
	    CHECKPW_LOG="$T/checkpw.log" CLEARTEXTAUTH=1 AUTHDELAY=0
	run client "send:PROXY TCP4 192.0.2.10 198.51.100.2 56324 25\r\nEHLO client.example\r\nAUTH PLAIN $auth\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: proxied\r\n\r\nhello\r\n.\r\nQUIT\r\n"
	assert_success
	assert_reply_line '^235 2\.7\.0'
	assert_reply_line '^250 2\.0\.0'
	# the pipe program: the header's client and destination, never the
	# proxy's 127.0.0.1 from tcpserver
	run bash -c "tr '\0' '\n' <'$H/env.1' | grep -E '^TCP(REMOTE|LOCAL)(IP|PORT)=' | sort"
	assert_output $'TCPLOCALIP=198.51.100.2\nTCPLOCALPORT=25\nTCPREMOTEIP=192.0.2.10\nTCPREMOTEPORT=56324'
	grep -q '^Received: from client\.example (\[192\.0\.2\.10\])' "$H/msg.1"
	grep -q '(authenticated as alice)' "$H/msg.1"
	# the checkpassword program (it logs the TCPREMOTEIP it got)
	run cat "$T/checkpw.log"
	assert_output --regexp '^login=alice method=plain result=ok ip=192\.0\.2\.10 '
	wait_for_log 'auth ok: ip=192\.0\.2\.10 user=alice mech=PLAIN'
}

@test "PROXY v1 TCP6: the address is logged in canonical form" {
	run client "send:PROXY TCP6 2001:DB8:0:0:0:0:0:7 2001:db8::1 40000 25\r\n$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '[IPv6:2001:db8::7]'
	wait_for_log 'PROXY v1: client 2001:db8::7 port 40000, to 2001:db8::1 port 25'
}

@test "PROXY v2 TCP4 (haproxy's bytes): the client is the peer, and the header is read exactly" {
	run client "send:${SIG}\x21\x11\x00\x0c\xc0\x00\x02\x21\xc6\x33\x64\x02\x8c\x10\x00\x19$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '([192.0.2.33])'
	wait_for_log 'PROXY v2: client 192.0.2.33 port 35856, to 198.51.100.2 port 25'
}

@test "PROXY v2 TCP6 with TLVs: the TLVs are skipped" {
	run client "send:${SIG}\x21\x21\x00\x2a\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x42\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x9c\x40\x02\x4b\x04\x00\x03abc$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '[IPv6:2001:db8::42]'
	wait_for_log 'PROXY v2: client 2001:db8::42 port 40000, to 2001:db8::1 port 587'
}

@test "PROXY v2 LOCAL (a proxy's health check) keeps the real peer" {
	run client "send:${SIG}\x20\x00\x00\x00$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '([127.0.0.1])'
	wait_for_log 'PROXY v2 LOCAL or unspecified: the connection.s own addresses stand'
}

@test "PROXY v1 UNKNOWN keeps the real peer" {
	run client "send:PROXY UNKNOWN\r\n$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '([127.0.0.1])'
	wait_for_log 'PROXY v1 UNKNOWN: the connection.s own addresses stand'
}

@test "the header may arrive in pieces" {
	run client send:'PROXY TCP4 192.0.2' sleep:0.2 send:'.44 198.51.100.2 1' \
	    sleep:0.2 send:'234 25\r' sleep:0.2 send:"\n$SESSION"
	assert_success
	assert_reply_line '^250 2.0.0'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '([192.0.2.44])'
}

@test "truncated v2 header, then the client waits: closed at the deadline, logged" {
	refused 'no complete header in time' \
	    "send:${SIG}\x21\x11\x00\x0c\xc0\x00\x02"
}

@test "truncated v1 header, then the client ends its side: closed, logged" {
	refused 'connection closed before the end of the header' \
	    'send:PROXY TCP4 192.0.2.1 19' shut
}

@test "wrong v2 signature: closed, logged" {
	refused 'not a PROXY protocol header' \
	    "send:\r\n\r\n\0\r\nQUIT\r\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x8c\x10\x00\x19"
}

@test "oversized v1 line (no CRLF within 107 octets): closed, logged" {
	refused 'v1: no CRLF within 107 octets' \
	    "send:PROXY UNKNOWN $(printf 'x%.0s' $(seq 100))\r\n"
}

@test "oversized v2 header (65535 octets announced): closed, logged" {
	refused 'v2: oversized header' "send:${SIG}\x21\x11\xff\xff"
}

@test "v2 with an unknown address family: closed, logged" {
	refused 'v2: unknown address family' \
	    "send:${SIG}\x21\x41\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x8c\x10\x00\x19"
}

@test "v1 with a malformed address: closed, logged" {
	refused 'v1: bad IPv4 address' \
	    'send:PROXY TCP4 192.0.2.001 198.51.100.2 1 25\r\n'
}

@test "no header at all (a client straight to the port waits for 220): nothing is sent, closed, logged" {
	refused 'no complete header in time' sleep:3
}

@test "an SMTP client without a header: closed, logged, nothing delivered" {
	refused 'not a PROXY protocol header' "send:$SESSION"
}

@test "without PROXYPROTOCOL a PROXY line is only a bad command, and the peer is the connection's" {
	stop_server
	start_server
	run client "send:PROXY TCP4 192.0.2.10 198.51.100.2 56324 25\r\n$SESSION"
	assert_success
	assert_reply_line '^500'
	run grep '^Received:' "$(message_file)"
	assert_output --partial '([127.0.0.1])'
	refute_output --partial '192.0.2.10'
}
