#!/usr/bin/env bats
# bench.bats: the floor program of `make bench` (bench/floor.c) is only a
# yardstick if it does the work smtpd does: the same message stored the
# same way (LF line ends, dot-unstuffed, tmp/ then new/), and handed to
# pipe and qmail-queue programs as smtpd hands it.  Nothing is timed here:
# speed is judged by `make bench` alone (issue 8).

load helpers/common

setup()
{
	common_setup
	FLOOR=$T/floor
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -O2 \
	    -o "$FLOOR" "$BATS_TEST_DIRNAME/../bench/floor.c" ||
	    fail "bench/floor.c does not build"
}

# Dot-stuffed lines, a line that is a lone "." (sent as ".."), an empty
# line; then a second message in the same session.
MSG='Subject: floor\r\n\r\n..leading dot\r\n..\r\n...\r\n\r\nend\r\n.\r\n'
ENV='MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n'
IN="EHLO client.example\r\n$ENV$MSG${ENV}Subject: two\r\n\r\nx\r\n.\r\nQUIT\r\n"
STORED=$'Subject: floor\n\n.leading dot\n.\n..\n\nend'

# The message as stored, without the trace fields in front of it.
strip_trace()
{
	awk 'copy { print; next }
	    /^(Return-Path|Delivered-To|Received):/ || /^\t/ { next }
	    { copy = 1; print }' "$1"
}

@test "the floor stores each message as smtpd does, tmp/ left empty" {
	run smtp_session "$IN"
	assert_success
	assert_stored 2
	local fmd=$T/floor-md
	# shellcheck disable=SC2059
	run sh -c 'printf "$1" | "$2" maildir "$3"' sh "$IN" "$FLOOR" "$fmd"
	assert_success
	assert_output --partial $'250 2.0.0 Message accepted\r\n221'
	[ "$(find "$fmd/new" -type f | wc -l)" -eq 2 ]
	[ "$(find "$fmd/tmp" -type f | wc -l)" -eq 0 ]
	local f g
	f=$(grep -l '^Subject: floor' "$fmd"/new/*)
	g=$(grep -l '^Subject: floor' "$MD"/new/*)
	[ "$(strip_trace "$f")" = "$STORED" ]
	[ "$(strip_trace "$g")" = "$STORED" ]
}

@test "the floor hands the message to a pipe program and to qmail-queue" {
	printf '#!/bin/sh\ncat >"%s/piped"\necho "$SENDER $RECIPIENT" >"%s/env"\nenv >"%s/env.all"\n' \
	    "$T" "$T" "$T" >"$T/hook"
	printf '#!/bin/sh\ncat >"%s/qq.msg"\ncat 0<&1 >"%s/qq.env"\n' \
	    "$T" "$T" >"$T/qq"
	chmod +x "$T/hook" "$T/qq"
	local one="EHLO client.example\r\n$ENV${MSG}QUIT\r\n"
	# shellcheck disable=SC2059
	run sh -c 'printf "$1" | "$2" pipe "$3"' sh "$one" "$FLOOR" "$T/hook"
	assert_success
	assert_output --partial '250 2.0.0 Message accepted'
	[ "$(strip_trace "$T/piped")" = "$STORED" ]
	[ "$(cat "$T/env")" = "a@example.org b@example.net" ]
	# the hook API's variables, as smtpd sets them, and the inherited ones
	# (from a small environment: the floor passes on the first
	# ENV_INHERIT_MAX only, and GNU parallel, under bats --jobs, adds
	# its own to what the test inherits)
	run sh -c 'printf "$1" | env -i PATH="$PATH" FLOORTEST=1 "$2" pipe "$3"' \
	    sh "$one" "$FLOOR" "$T/hook"
	assert_success
	run cut -d= -f1 "$T/env.all"
	assert_line SENDER
	assert_line RECIPIENT
	assert_line RECIPIENTS
	assert_line HELO
	assert_line TCPREMOTEIP
	assert_line FLOORTEST
	run grep -x 'HELO=client.example' "$T/env.all"
	assert_success
	# shellcheck disable=SC2059
	run sh -c 'printf "$1" | "$2" qmail-queue "$3"' sh "$one" "$FLOOR" \
	    "$T/qq"
	assert_success
	assert_output --partial '250 2.0.0 Message accepted'
	[ "$(strip_trace "$T/qq.msg")" = "$STORED" ]
	[ "$(tr '\0' '|' <"$T/qq.env")" = "Fa@example.org|Tb@example.net||" ]
}
