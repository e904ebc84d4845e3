#!/usr/bin/env bats
# limits.bats: MAXRCPTS, DATABYTES (SIZE= at MAIL, the body, BDAT chunks).
# Each limit answers with its reply and the session stays sane.

load helpers/common

rcpts()
{
	local i
	for ((i = 1; i <= $1; i++)); do
		printf 'RCPT TO:<r%d@example.net>\r\n' "$i"
	done
}

@test "MAXRCPTS=3: the 4th RCPT is 452 4.5.3, the message goes to 3" {
	{ printf "$E$M"; rcpts 4; printf 'DATA\r\nSubject: m\r\n\r\nx\r\n.\r\nQUIT\r\n'; } >"$T/in"
	run smtpd_run MAXRCPTS=3 <"$T/in"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" \
	    "250 2.1.5" "452 4.5.3" "354" "250 2.0.0" "221 2.0.0"
	run grep -c '^Delivered-To:' "$(message_file)"
	assert_output 3
}

@test "MAXRCPTS default 100: the 101st RCPT is 452 4.5.3" {
	{ printf "$E$M"; rcpts 101; printf 'QUIT\r\n'; } >"$T/in"
	run smtpd_run <"$T/in"
	assert_success
	local replies=$output
	run grep -c '^250 2\.1\.5' <<<"$replies"
	assert_output 100
	run grep -c '^452 4\.5\.3' <<<"$replies"
	assert_output 1
}

@test "MAXRCPTS counts per transaction: RSET starts again" {
	run smtp_session "$E$M${R}RCPT TO:<c@example.net>\r\nRSET\r\n$M$R$Q" MAXRCPTS=1
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "452 4.5.3" \
	    "250 2.0.0" "250 2.1.0" "250 2.1.5" "221 2.0.0"
}

@test "DATABYTES: SIZE= over it is 552 5.3.4 at MAIL, SIZE= at it is fine" {
	run smtp_session "${E}MAIL FROM:<a@example.org> SIZE=1001\r\nMAIL FROM:<a@example.org> SIZE=1000\r\n$Q" DATABYTES=1000
	assert_success
	assert_replies "220" "250" "552 5.3.4" "250 2.1.0" "221 2.0.0"
}

@test "DATABYTES: SIZE= far over any limit (overflow) is 552 5.3.4" {
	run smtp_session "${E}MAIL FROM:<a@example.org> SIZE=99999999999999999999999\r\n$Q"
	assert_success
	assert_replies "220" "250" "552 5.3.4" "221 2.0.0"
}

@test "DATABYTES: a body over it is read to its end, then 552 5.3.4; nothing stored" {
	{
		printf "$E$M${R}DATA\r\n"
		make_message 5000
		# Looks like commands, but is message text: must not run.
		printf 'MAIL FROM:<evil@example.org>\r\n.\r\n'
		printf 'NOOP\r\nQUIT\r\n'
	} >"$T/in"
	run smtpd_run DATABYTES=1000 <"$T/in"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "552 5.3.4" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 0
}

@test "DATABYTES: a body under it is accepted in the same session after a refusal" {
	{
		printf "$E$M${R}DATA\r\n"
		make_message 3000
		printf '.\r\n'
		printf "$M${R}DATA\r\nSubject: small\r\n\r\nsmall\r\n.\r\nQUIT\r\n"
	} >"$T/in"
	run smtpd_run DATABYTES=1000 <"$T/in"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "552 5.3.4" \
	    "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	assert_stored 1
	run message_body
	assert_output small
}

@test "BDAT: a chunk over DATABYTES is 552 5.3.4, its bytes are skipped, not run" {
	local chunk
	chunk=$(printf 'MAIL FROM:<evil@example.org>\\r\\n%.0s' $(seq 10))
	# 10 x 30 octets
	run smtp_session "$E$M${R}BDAT 300 LAST\r\n${chunk}NOOP\r\n$Q" DATABYTES=100
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "552 5.3.4" \
	    "250 2.0.0" "221 2.0.0"
	assert_stored 0
	# logged as every refused message is, with the chunk's size
	grep -qE 'info: [0-9a-f]+\.1: from <a@example\.org> rcpts 1 size 300: 552 5\.3\.4 reason=size$' \
	    "$T/err" || fail "no log line for the refused message: $(cat "$T/err")"
}

@test "BDAT: chunks that add up to more than DATABYTES are refused 552 5.3.4" {
	local sixty
	sixty=$(head -c 58 /dev/zero | tr '\0' z)
	run smtp_session "$E$M${R}BDAT 60\r\n$sixty\r\nBDAT 60 LAST\r\n$sixty\r\nNOOP\r\n$Q" DATABYTES=100
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0" \
	    "552 5.3.4" "250 2.0.0" "221 2.0.0"
	assert_stored 0
}

@test "BDAT: a size too large to represent is refused and nothing is stored" {
	run smtp_session "$E$M${R}BDAT 99999999999999999999999 LAST\r\nabc"
	assert_success
	local r
	mapfile -t r < <(final_replies)
	[[ ${r[4]} == 5[0-9][0-9]" 5."* ]] || fail "BDAT got [${r[4]}]"
	assert_stored 0
}
