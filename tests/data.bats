#!/usr/bin/env bats
# data.bats: message content: what is stored (trace fields, LF line ends,
# dot-unstuffing), the end of DATA and the smuggling vectors, bare CR/LF,
# BARELF, NUL, long text lines, hop count, 8-bit data, BDAT (CHUNKING).

load helpers/common

D="$E$M${R}DATA\r\n"
OK=("220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0")
REFUSED=("220" "250" "250 2.1.0" "250 2.1.5" "354" "554 5.6.0" "221 2.0.0")

# --- what is stored ---

@test "stored: Return-Path, Delivered-To per recipient, Received, then the message" {
	run smtp_session "$E$M${R}RCPT TO:<c@example.net>\r\nDATA\r\nSubject: stored\r\nFrom: a@example.org\r\n\r\nline one\r\nline two\r\n.\r\n$Q" \
	    TCPREMOTEIP=192.0.2.7 TCPLOCALHOST=mx.test
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" "354" \
	    "250 2.0.0" "221 2.0.0"
	local f
	f=$(message_file)
	run cat "$f"
	assert_line --index 0 'Return-Path: <a@example.org>'
	assert_line --index 1 'Delivered-To: b@example.net'
	assert_line --index 2 'Delivered-To: c@example.net'
	assert_line --index 3 --regexp '^Received: from client\.example '
	# The Received: field (with its continuation lines) names the
	# client's address, us, and the protocol.
	local received
	received=$(sed -n '4{p;:a;n;/^[ \t]/{p;ba};q}' "$f")
	[[ $received == *"[192.0.2.7]"* ]] || fail "no [IP]: $received"
	[[ $received == *$'\n\tby mx.test (smtpd) with ESMTP id '* ]] ||
	    fail "no by/with/id: $received"
	# Then the message as sent, with LF line ends.
	local nreceived
	nreceived=$(printf '%s\n' "$received" | wc -l)
	run sed -n "$((4 + nreceived)),\$p" "$f"
	assert_output "$(printf 'Subject: stored\nFrom: a@example.org\n\nline one\nline two')"
	run grep -c $'\r' "$f"
	assert_output 0
}

@test "stored: the null sender is Return-Path: <>, HELO gives 'with SMTP'" {
	run smtp_session "HELO old.example\r\nMAIL FROM:<>\r\n${R}DATA\r\nSubject: bounce\r\n\r\nx\r\n.\r\n$Q" \
	    TCPLOCALHOST=mx.test
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" \
	    "221 2.0.0"
	run cat "$(message_file)"
	assert_line --index 0 'Return-Path: <>'
	assert_line --index 2 --regexp '^Received: from old\.example '
	assert_line --regexp $'^\tby mx\\.test \\(smtpd\\) with SMTP id '
}

@test "stored: quoted local parts keep their spaces and specials in Return-Path and Delivered-To" {
	run smtp_session "${E}MAIL FROM:<\"john doe\"@example.org>\r\nRCPT TO:<\"a (b); <c>\"@example.net>\r\nDATA\r\nSubject: q\r\n\r\nx\r\n.\r\n$Q"
	assert_success
	assert_replies "${OK[@]}"
	run cat "$(message_file)"
	assert_line --index 0 'Return-Path: <"john doe"@example.org>'
	assert_line --index 1 'Delivered-To: "a (b); <c>"@example.net'
	assert_output --partial $'\tfor <"a (b); <c>"@example.net>;'
}

@test "stored: a source route is dropped from the addresses" {
	run smtp_session "${E}MAIL FROM:<@relay.example:a@example.org>\r\nRCPT TO:<@r1.example,@r2.example:b@example.net>\r\nDATA\r\nSubject: r\r\n\r\nx\r\n.\r\n$Q"
	assert_success
	assert_replies "${OK[@]}"
	run head -n 2 "$(message_file)"
	assert_line --index 0 'Return-Path: <a@example.org>'
	assert_line --index 1 'Delivered-To: b@example.net'
}

@test "stored: dot-unstuffing (RFC 5321 4.5.2)" {
	run smtp_session "${D}Subject: dots\r\n\r\n..leading dot\r\n..\r\n...\r\n.x\r\nend.\r\n.\r\n$Q"
	assert_success
	assert_replies "${OK[@]}"
	run message_body
	assert_output "$(printf '.leading dot\n.\n..\nx\nend.')"
}

@test "stored: 8-bit data is kept byte for byte (8BITMIME)" {
	run smtp_session "${E}MAIL FROM:<a@example.org> BODY=8BITMIME\r\n${R}DATA\r\nSubject: 8bit\r\n\r\ncaf\xc3\xa9 \xff\xfe\x80\r\n.\r\n$Q"
	assert_success
	assert_replies "${OK[@]}"
	message_body >"$T/body"
	printf 'caf\xc3\xa9 \xff\xfe\x80\n' >"$T/want"
	cmp "$T/body" "$T/want"
}

@test "stored: an empty message (DATA then .) is accepted" {
	run smtp_session "$D.\r\n$Q"
	assert_success
	assert_replies "${OK[@]}"
	run head -n 1 "$(message_file)"
	assert_output 'Return-Path: <a@example.org>'
}

@test "stored: a line ending in a dot, or a space and a dot, is data" {
	# "x.\r\n" is a line ending in a dot, not the end of data.
	run smtp_session "${D}Subject: t\r\n\r\nx.\r\n .\r\n.\r\n$Q"
	assert_success
	assert_replies "${OK[@]}"
	run message_body
	assert_output "$(printf 'x.\n .')"
}

# --- the end of DATA and SMTP smuggling ---

# smuggle VECTOR [NAME=value...]: a message whose body contains VECTOR
# followed by a second, smuggled transaction, then the real end.
smuggle()
{
	local vector=$1
	shift
	smtp_session "${D}Subject: outer\r\n\r\nhello${vector}MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n$Q" "$@"
}

@test "smuggling: LF.LF is not an end; the message is refused 554 5.6.0" {
	run smuggle '\n.\n'
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "smuggling: LF.CRLF is not an end; refused 554 5.6.0" {
	run smuggle '\n.\r\n'
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "smuggling: CRLF.LF is not an end; refused 554 5.6.0" {
	run smuggle '\r\n.\n'
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "smuggling: CR.CR is not an end; refused 554 5.6.0" {
	run smuggle '\r.\r'
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "smuggling: CR.CRLF and CRLF.CR are not ends; refused 554 5.6.0" {
	run smuggle '\r.\r\n'
	assert_success
	assert_replies "${REFUSED[@]}"
	run smuggle '\r\n.\r'
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "smuggling over TCP: LF.LF, the reply to the smuggled MAIL never comes" {
	start_server
	run client expect:'^220' "send:$D" expect:'^354' \
	    "send:Subject: outer\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nsmuggled\r\n.\r\n" \
	    expect:'^554' "send:$Q"
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "bare LF in the body: 554 5.6.0 after the end, and the session goes on" {
	run smtp_session "${D}Subject: lf\r\n\r\none\ntwo\r\n.\r\n$M${R}DATA\r\nSubject: good\r\n\r\nfine\r\n.\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "554 5.6.0" \
	    "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	assert_stored 1
	run message_body
	assert_output 'fine'
}

@test "bare CR in the body: 554 5.6.0 after the end, and the session goes on" {
	run smtp_session "${D}Subject: cr\r\n\r\none\rtwo\r\n.\r\nNOOP\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "554 5.6.0" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 0
}

@test "bare LF in a header line is refused too" {
	run smtp_session "${D}Subject: a\nX-Injected: b\r\n\r\nbody\r\n.\r\n$Q"
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

# --- BARELF: bare LF as a line end, for a known old client ---

@test "BARELF: a bare LF is a line end; the message is stored with LF ends" {
	run smtp_session "${D}Subject: old client\n\nline1\nline2\r\nline3\r\n.\r\n$Q" BARELF=1
	assert_success
	assert_replies "${OK[@]}"
	run message_body
	assert_output "$(printf 'line1\nline2\nline3')"
}

# A "." line next to a bare LF is where SMTP smuggling hides: even with
# BARELF it is never an end, and smtpd refuses such a message outright
# rather than guess (proto/smtp.c).
@test "BARELF: LF.LF is not the end; refused 554 5.6.0, nothing smuggled" {
	run smuggle '\n.\n' BARELF=1
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "BARELF: LF.CRLF and CRLF.LF are not the end; refused 554 5.6.0" {
	run smuggle '\n.\r\n' BARELF=1
	assert_success
	assert_replies "${REFUSED[@]}"
	run smuggle '\r\n.\n' BARELF=1
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "BARELF: a bare CR is still refused" {
	run smuggle '\r.\r' BARELF=1
	assert_success
	assert_replies "${REFUSED[@]}"
	assert_stored 0
}

@test "BARELF: dot-stuffed lines ending in bare LF are unstuffed" {
	run smtp_session "${D}Subject: s\n\n..dot\nend\r\n.\r\n$Q" BARELF=1
	assert_success
	assert_replies "${OK[@]}"
	run message_body
	assert_output "$(printf '.dot\nend')"
}

# --- NUL and line length ---

@test "NUL in the data: 554 5.6.0, nothing stored, the session goes on" {
	run smtp_session "${D}Subject: nul\r\n\r\na\0b\r\n.\r\n$M${R}DATA\r\nSubject: ok\r\n\r\nok\r\n.\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "554 5.6.0" \
	    "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	assert_stored 1
	run grep -c 'Subject: ok' "$(message_file)"
	assert_output 1
}

@test "text line: 1000 and 1001 octets with CRLF are both stored as sent" {
	local x998 x999
	x998=$(head -c 998 /dev/zero | tr '\0' x)
	x999=${x998}x
	run smtp_session "${D}Subject: long\r\n\r\n$x998\r\n.\r\n$M${R}DATA\r\nSubject: longer\r\n\r\n$x999\r\n.\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" \
	    "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	assert_stored 2
	run grep -h -c -x -e "$x998" -e "$x999" "$MD"/new/*
	assert_output "$(printf '1\n1')"
}

@test "text line: a 100 KB line is stored as sent; a command after it is data" {
	{
		printf 'EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n'
		printf 'RCPT TO:<b@example.net>\r\nDATA\r\nSubject: huge\r\n\r\n'
		head -c 102400 /dev/zero | tr '\0' y
		printf '\r\nMAIL FROM:<evil@example.org>\r\n.\r\nQUIT\r\n'
	} >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	assert_replies "${OK[@]}"
	assert_stored 1
	run message_body
	assert_line --index 0 "$(head -c 102400 /dev/zero | tr '\0' y)"
	assert_line --index 1 'MAIL FROM:<evil@example.org>'
}

# --- hop count (RFC 5321 6.3) ---

# hops N FIELD...: N header fields cycling through the given names.
hops()
{
	local n=$1 i
	shift
	local names=("$@")
	for ((i = 0; i < n; i++)); do
		printf '%s from h%d.example\r\n\tby h%d.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n' \
		    "${names[i % ${#names[@]}]}" "$i" "$i"
	done
}

@test "hops: 99 Received: fields are accepted" {
	{ printf "$D"; hops 99 Received:; printf 'Subject: h\r\n\r\nx\r\n.\r\nQUIT\r\n'; } >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	assert_replies "${OK[@]}"
	assert_stored 1
}

@test "hops: 100 Received: fields are refused 554 5.4.6, nothing stored" {
	{ printf "$D"; hops 100 Received:; printf 'Subject: h\r\n\r\nx\r\n.\r\nQUIT\r\n'; } >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "554 5.4.6" \
	    "221 2.0.0"
	assert_stored 0
}

@test "hops: Received: and Delivered-To: count together, in any case" {
	{ printf "$D"; hops 100 Received: delivered-to: RECEIVED:; printf 'Subject: h\r\n\r\nx\r\n.\r\nQUIT\r\n'; } >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "554 5.4.6" \
	    "221 2.0.0"
	assert_stored 0
}

@test "hops: Received: lines in the body do not count" {
	{ printf "${D}Subject: h\r\n\r\n"; hops 150 Received:; printf '.\r\nQUIT\r\n'; } >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	assert_replies "${OK[@]}"
	assert_stored 1
}

# --- BDAT (RFC 3030) ---

@test "BDAT: two chunks, then LAST; stored with LF line ends" {
	run smtp_session "$E$M${R}BDAT 14\r\nSubject: t\r\n\r\nBDAT 4 LAST\r\nhi\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 1
	run message_body
	assert_output 'hi'
	run grep -c '^Subject: t$' "$(message_file)"
	assert_output 1
	run grep -c $'\r' "$(message_file)"
	assert_output 0
}

@test "BDAT: dots and CRLF.CRLF are plain data inside a chunk" {
	local body='Subject: d\r\n\r\n..b\r\n.\r\nMAIL FROM:<x@example.org>\r\nend\r\n'
	local len
	len=$(printf "$body" | wc -c)
	run smtp_session "$E$M${R}BDAT $len LAST\r\n$body$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "221 2.0.0"
	run message_body
	assert_output "$(printf '..b\n.\nMAIL FROM:<x@example.org>\nend')"
}

@test "BDAT 0 LAST ends a chunked message; alone it is an empty message" {
	run smtp_session "$E$M${R}BDAT 12\r\nSubject: z\r\nBDAT 0 LAST\r\n$M${R}BDAT 0 LAST\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "250 2.0.0" "250 2.1.0" "250 2.1.5" "250 2.0.0" "221 2.0.0"
	assert_stored 2
}

@test "BDAT: DATA inside a BDAT transaction is 503 5.5.1" {
	run smtp_session "$E$M${R}BDAT 12\r\nSubject: z\r\nDATA\r\nBDAT 0 LAST\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "503 5.5.1" "250 2.0.0" "221 2.0.0"
	assert_stored 1
}

@test "BDAT: bad size syntax is 501 5.5.4" {
	run smtp_session "$E$M${R}BDAT\r\nBDAT x\r\nBDAT -1\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "501 5.5.4" \
	    "501 5.5.4" "501 5.5.4" "221 2.0.0"
	assert_stored 0
}

# A BDAT line whose size can be read but whose syntax is wrong still has
# its chunk behind it: a chunk of MAIL, RCPT and DATA lines is skipped,
# never answered, before a transaction, inside one and between chunks;
# the line and the chunk are cut into random segments sent with pauses.
@test "BDAT smuggling over TCP: a bad BDAT line's chunk is never run (60 split, paused sessions)" {
	start_server
	run "$PY" - "$PORT" <<'EOF'
import random, socket, sys, time
port = int(sys.argv[1])
chunk = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
         b"DATA\r\nsmuggled\r\n.\r\nNOOP\r\n")
bad = [b"BDAT %d  LAST", b"BDAT %d LASTX", b"BDAT %d foo", b"BDAT  %d LAST"]
txn = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
# (what comes before the bad BDAT, the replies expected)
where = [(b"", ["220", "250", "501", "221"]),
         (txn, ["220", "250", "250", "250", "501", "221"]),
         (txn + b"BDAT 4\r\nab\r\n",
          ["220", "250", "250", "250", "250", "501", "221"])]
rnd = random.Random(5321)
wrong = 0
for i in range(60):
    before, want = where[i % 3]
    data = (b"EHLO client.example\r\n" + before +
            bad[i % 4] % len(chunk) + b"\r\n" + chunk + b"QUIT\r\n")
    cuts = sorted(rnd.sample(range(1, len(data)), rnd.randint(1, 6)))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    prev = 0
    for c in cuts + [len(data)]:
        s.sendall(data[prev:c])
        prev = c
        time.sleep(rnd.random() * 0.02)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    codes = [l[:3].decode() for l in got.split(b"\r\n") if l[3:4] == b" "]
    if codes != want:
        wrong += 1
        print("session", i, "got", codes)
print("60 sessions,", wrong, "wrong")
EOF
	assert_success
	assert_output '60 sessions, 0 wrong'
	assert_stored 0
	# the 20 messages cut short between chunks are logged with the 501
	run grep -c 'rcpts 1 size [0-9]*: 501' "$T/server.log"
	assert_output 20
}

@test "BDAT with BODY=BINARYMIME is accepted; DATA with it is 503 5.5.1" {
	run smtp_session "${E}MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n${R}DATA\r\nBDAT 6 LAST\r\nabcd\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "503 5.5.1" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 1
}

@test "BDAT pipelined over TCP in one write" {
	start_server
	run client "send:$E$M${R}BDAT 12\r\nSubject: p\r\nBDAT 9 LAST\r\n\r\nchunk\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 1
	run message_body
	assert_output 'chunk'
}

# bdat_session MAILPARAMS CHUNK: one BDAT LAST transaction with CHUNK
# (printf escapes), its length counted here.
bdat_session()
{
	local len
	len=$(printf "$2" | wc -c)
	smtp_session "${E}MAIL FROM:<a@example.org>$1\r\n${R}BDAT $len LAST\r\n$2NOOP\r\n$Q"
}

@test "BDAT without BINARYMIME: NUL, bare CR or bare LF in a chunk is 554 5.6.0" {
	local chunk
	for chunk in 'Subject: n\r\n\r\na\0b\r\n' 'Subject: c\r\n\r\na\rb\r\n' \
	    'Subject: l\r\n\r\na\nb\r\n'; do
		run bdat_session "" "$chunk"
		assert_success
		assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "554 5.6.0" \
		    "250 2.0.0" "221 2.0.0"
	done
	assert_stored 0
}

@test "BDAT with BODY=BINARYMIME: NUL, bare CR and bare LF are kept (CRLF becomes LF)" {
	run bdat_session " BODY=BINARYMIME" 'Subject: b\r\n\r\na\0b\rc\nd\r\n'
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "250 2.0.0" "221 2.0.0"
	message_body >"$T/got"
	printf 'a\0b\rc\nd\n' >"$T/want"
	cmp "$T/got" "$T/want"
}
