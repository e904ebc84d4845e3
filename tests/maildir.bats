#!/usr/bin/env bats
# maildir.bats: delivery into the Maildir: creation, unique names, and
# every way it can fail (a file where a directory should be, a full disk,
# no inodes, a read-only file system, EOF or a timeout mid-message): a
# clear 4xx reply, nothing half-written in tmp/ or new/, the session sane.

load helpers/common

D="$E$M${R}DATA\r\n"

@test "the Maildir and its tmp/ new/ cur/ are created when missing" {
	[ ! -e "$MD" ]
	run smtp_session "$D$MSG$Q"
	assert_success
	[ -d "$MD/tmp" ] && [ -d "$MD/new" ] && [ -d "$MD/cur" ]
	assert_stored 1
	[ "$(count_files cur)" -eq 0 ]
}

@test "an existing Maildir is used as it is; earlier mail stays" {
	mkdir -p "$MD/tmp" "$MD/new" "$MD/cur"
	printf 'Subject: old\n\nold\n' >"$MD/cur/1.2.old:2,S"
	printf 'Subject: older\n\nolder\n' >"$MD/new/1.1.old"
	run smtp_session "$D$MSG$Q"
	assert_success
	assert_stored 2
	[ "$(cat "$MD/cur/1.2.old:2,S")" = "$(printf 'Subject: old\n\nold')" ]
}

@test "file names are unique and follow the Maildir convention" {
	local in="$E" i
	for i in 1 2 3 4 5; do in="$in$M${R}DATA\r\nSubject: $i\r\n\r\nx\r\n.\r\n"; done
	run smtp_session "$in$Q"
	run smtp_session "$in$Q"
	assert_success
	assert_stored 10
	local names
	names=$(ls "$MD/new")
	[ "$(printf '%s\n' "$names" | sort -u | wc -l)" -eq 10 ]
	# time.unique.host, no ":2," info in new/, no "/" tricks
	run grep -cvE '^[0-9]+\.[A-Za-z0-9_.=-]+\.[^/:]+$' <<<"$names"
	assert_output 0
}

@test "read back with Python's mailbox module: headers and body intact" {
	run smtp_session "${D}Subject: mailbox\r\nMessage-ID: <m1@example.org>\r\n\r\nbody line\r\n.\r\n$Q"
	assert_success
	run "$PY" -c '
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
for key, msg in md.items():
    print(msg.get_subdir(), msg["Return-Path"], msg["Delivered-To"],
          msg["Subject"], msg["Message-ID"], msg.get_payload().strip())
' "$MD"
	assert_success
	assert_output 'new <a@example.org> b@example.net mailbox <m1@example.org> body line'
}

@test "read back with mblaze: mlist, mshow; nothing moved to cur/" {
	run smtp_session "${D}Subject: mblaze test\r\nFrom: A <a@example.org>\r\n\r\nthe body\r\n.\r\n$Q"
	assert_success
	run bash -c 'mlist "$1" | mshow -q' bash "$MD"
	assert_success
	assert_output --partial 'Subject: mblaze test'
	run bash -c 'mlist "$1" | mshow -N' bash "$MD"
	assert_output --partial 'the body'
	assert_stored 1
	[ "$(count_files cur)" -eq 0 ]
}

# --- a Maildir that cannot be written ---

@test "tmp/ is a file: 451 4.3.0, nothing stored, the session goes on" {
	mkdir -p "$MD/new" "$MD/cur"
	: >"$MD/tmp"
	run smtp_session "$D$MSG$Q"
	# The failure shows at DATA (no 354; the message lines are then
	# unknown commands) or after the data; either way the reply is
	# 451 4.3.0 and nothing is accepted.
	assert_reply_line '^451 4\.3\.0'
	refute_reply_line '^250 2\.0\.0'
	[ -f "$MD/tmp" ] && [ ! -s "$MD/tmp" ]
	[ "$(count_files new)" -eq 0 ]
	assert_line --index -1 --regexp '^221 2\.0\.0'
	# The message has its log line with the final reply, like any other.
	grep -qE 'info: [0-9a-f]+\.1: from <a@example\.org> rcpts 1 size [0-9]+: 451 4\.3\.0 reason=local-error$' \
	    "$T/err" || fail "no message line with 451 in: $(cat "$T/err")"
}

@test "new/ is a file: 451 4.3.0 after the data, tmp/ left empty" {
	mkdir -p "$MD/tmp" "$MD/cur"
	: >"$MD/new"
	run smtp_session "$D${MSG}NOOP\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "451 4.3.0" \
	    "250 2.0.0" "221 2.0.0"
	[ "$(count_files tmp)" -eq 0 ] || fail "left in tmp/: $(ls "$MD/tmp")"
	[ -f "$MD/new" ] && [ ! -s "$MD/new" ]
	grep -q 'warning: \|fatal: ' "$T/err" || fail "the failure is not logged"
}

@test "the Maildir path is a regular file: 421 4.3.0, exit 111, the file untouched" {
	printf 'precious\n' >"$MD"
	run smtp_session "$D$MSG$Q"
	[ "$status" -eq 111 ] || fail "exit $status, expected 111"
	assert_replies "421 4.3.0"
	[ "$(cat "$MD")" = precious ]
	grep -q 'fatal: ' "$T/err"
}

@test "full disk (64 KB tmpfs): a big message is refused 452 4.3.1, nothing left; a small one then fits" {
	{
		printf "$D"
		make_message 300000
		printf ".\r\n$M${R}DATA\r\nSubject: small\r\n\r\nsmall\r\n.\r\nQUIT\r\n"
	} >"$T/in"
	run on_tmpfs size=64k '
		env -i $SAN "$SMTPD" maildir "$MD" <"$T/in" >"$T/raw" 2>"$T/err"
		echo $? >"$T/status"
		(cd "$MD" && find tmp new -type f | sort) >"$T/files"
		cat "$MD"/new/* >"$T/stored" 2>/dev/null
		true'
	assert_success
	run tr -d '\r' <"$T/raw"
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "452 4.3.1" \
	    "250 2.1.0" "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	run cat "$T/files"
	assert_line --regexp '^new/'
	[ "${#lines[@]}" -eq 1 ] || fail "files left: $output"
	grep -q '^Subject: small$' "$T/stored"
	[ "$(cat "$T/status")" -eq 0 ]
}

@test "no inodes left: 452 4.3.1 at DATA, nothing stored" {
	printf "$D$MSG$Q" >"$T/in"
	run on_tmpfs size=1m,nr_inodes=5 '
		mkdir -p "$MD/tmp" "$MD/new" "$MD/cur"
		env -i $SAN "$SMTPD" maildir "$MD" <"$T/in" >"$T/raw" 2>"$T/err"
		(cd "$MD" && find tmp new -type f) >"$T/files"
		true'
	assert_success
	run tr -d '\r' <"$T/raw"
	# The DATA reply; the message lines that follow are then commands.
	local r
	mapfile -t r < <(final_replies)
	[[ ${r[4]} == "452 4.3.1"* ]] || fail "DATA got [${r[4]}]"
	refute_reply_line '^(354|250 2\.0\.0)'
	assert_line --index -1 --regexp '^221 2\.0\.0'
	[ ! -s "$T/files" ] || fail "files left: $(cat "$T/files")"
}

@test "read-only file system: 451 4.3.0, nothing stored" {
	printf "$D$MSG$Q" >"$T/in"
	run on_tmpfs size=1m '
		mkdir -p "$MD/tmp" "$MD/new" "$MD/cur"
		mount -o remount,ro "$T/fs" || exit 98
		env -i $SAN "$SMTPD" maildir "$MD" <"$T/in" >"$T/raw" 2>"$T/err"
		(cd "$MD" && find tmp new -type f) >"$T/files"
		true'
	assert_success
	run tr -d '\r' <"$T/raw"
	assert_reply_line '^451 4\.3\.0'
	refute_reply_line '^250 2\.0\.0'
	assert_line --index -1 --regexp '^221 2\.0\.0'
	[ ! -s "$T/files" ]
}

# --- the message ends early ---

@test "EOF in the middle of DATA: nothing stored, nothing in tmp/" {
	run smtp_session "${D}Subject: cut\r\n\r\npartial line"
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354"
	assert_stored 0
	run tail -n 1 "$T/err"
	assert_output --regexp 'smtpd: pid [0-9]+: (info|warning): '
	# the cut message has its own log line, with what had arrived
	grep -Eq 'info: [0-9a-f]+\.1: from <a@example.org> rcpts 1 size 28: aborted$' "$T/err" ||
	    fail "no 'aborted' line: $(cat "$T/err")"
	grep -q 'end: client closed the connection, 0 messages, 1 refused' "$T/err"
}

@test "EOF in the middle of a large DATA (after data reached the disk): nothing left" {
	{ printf "$D"; make_message 1000000; } >"$T/in"
	run smtpd_run <"$T/in"
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354"
	assert_stored 0
}

@test "EOF in the middle of a BDAT chunk: nothing stored" {
	run smtp_session "$E$M${R}BDAT 100 LAST\r\nSubject: cut\r\n"
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5"
	assert_stored 0
}

@test "EOF between BDAT chunks: nothing stored" {
	run smtp_session "$E$M${R}BDAT 12\r\nSubject: c\r\n"
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.0.0"
	assert_stored 0
}

@test "TIMEOUT in the middle of DATA: 421 4.4.2, nothing stored" {
	start_server TIMEOUT=1
	run client -t 8 expect:'^220' "send:$D" expect:'^354' \
	    "send:Subject: slow\r\n\r\nstarted" expect:'^421'
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "354" "421 4.4.2"
	wait_for_log 'info: .*(timeout|timed out)'
	assert_stored 0
}

@test "TIMEOUT in the middle of a BDAT chunk, after data reached tmp/: 421 4.4.2, nothing left" {
	start_server TIMEOUT=1
	make_message 200000 >"$T/part"	# over one 64 KB BODY flush
	run client -t 8 expect:'^220' "send:$E$M${R}BDAT 1000000 LAST\r\n" \
	    "file:$T/part" expect:'^421'
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "421 4.4.2"
	wait_for_log 'end: timeout'
	assert_stored 0
}

@test "the client vanishes mid-message over TCP: nothing stored" {
	start_server
	run client expect:'^220' "send:$D" expect:'^354' \
	    "send:Subject: gone\r\n\r\nhalf" shut
	assert_success
	wait_for_log 'info: .*(eof|EOF|disconnect|closed|lost)'
	assert_stored 0
}

# --- durability ---

@test "delivery order: write in tmp/, fsync, link or rename into new/, fsync new/, then 250" {
	command -v strace >/dev/null || fail "strace is needed (tests/install-deps.sh)"
	# QUIT comes later, so that the 250 is written on its own, as soon
	# as smtpd sends it (before its next read).
	# LeakSanitizer cannot run under ptrace.
	{ printf "$D$MSG"; sleep 0.5; printf "$Q"; } |
	    env -i ASAN_OPTIONS=detect_leaks=0 strace -f -s 256 -o "$T/trace" \
	    -e trace=openat,open,write,sendto,fsync,fdatasync,link,linkat,rename,renameat,renameat2,unlink,unlinkat,close \
	    "$SMTPD" maildir "$MD" >"$T/raw" 2>"$T/err"
	run "$PY" - "$T/trace" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
ev = []
fd_path = {}
# A name relative to a directory fd (openat, linkat, ...) is resolved
# with the path that fd was opened with.
def path(dirfd, name):
    if dirfd is None or dirfd == "AT_FDCWD" or name.startswith("/"):
        return name
    return fd_path.get(dirfd, "?") + "/" + name
FD = r'(?:(AT_FDCWD|\d+), )?"([^"]*)"'
for l in lines:
    m = re.search(r'(?:openat|open)\(' + FD + r'.*\)\s+=\s+(\d+)', l)
    if m:
        p = path(m.group(1), m.group(2))
        fd_path[m.group(3)] = p
        ev.append(("open", p))
        continue
    m = re.search(r'(fsync|fdatasync)\((\d+)\)\s+=\s+0', l)
    if m:
        ev.append(("fsync", fd_path.get(m.group(2), "?")))
        continue
    m = re.search(r'(?:link|linkat|rename|renameat2?)\(' + FD + ', ' + FD + r'.*\)\s+=\s+0', l)
    if m and re.search(r"(^|/)tmp/[^/]+$", path(m.group(1), m.group(2))) and \
            re.search(r"(^|/)new/[^/]+$", path(m.group(3), m.group(4))):
        ev.append(("move", path(m.group(3), m.group(4))))
        continue
    if re.search(r'(write|sendto)\(1, ".*250 2\.0\.0 Message accepted', l):
        ev.append(("reply", "250"))
def first(pred, start=0):
    for i in range(start, len(ev)):
        if pred(ev[i]):
            return i
    sys.exit("missing step after %d: %r" % (start, ev))
o = first(lambda e: e[0] == "open" and re.search(r"(^|Maildir/)tmp/[^/]+$", e[1]))
tmpname = ev[o][1]
f = first(lambda e: e[0] == "fsync" and e[1] == tmpname, o)
mv = first(lambda e: e[0] == "move", f)
d = first(lambda e: e[0] == "fsync" and re.search(r"(^|/)new$", e[1].rstrip("/")), mv)
# The 250 leaves only after all of it, and never before.
if any(e[0] == "reply" for e in ev[:d]):
    sys.exit("250 sent before the commit: %r" % ev)
first(lambda e: e[0] == "reply", d)
print("ok")
EOF
	assert_success
	assert_output ok
	assert_stored 1
}

# --- maildir TEMPLATE: one Maildir per recipient ---

# template_session INPUT: smtpd maildir "$T/mail/%d/%l" on pipes.
template_session()
{
	printf "$1" | env -i $(san_env) "$SMTPD" maildir "$T/mail/%d/%l" \
	    >"$T/raw" 2>"$T/err"
	local rc=$?
	tr -d '\r' <"$T/raw"
	return $rc
}

@test "template: each recipient's own Maildir; the domain is lowercased; one copy per Maildir" {
	mkdir -p "$T/mail/example.net/b/"{tmp,new,cur} "$T/mail/example.net/c/"{tmp,new,cur}
	run template_session "$E${M}RCPT TO:<b@example.net>\r\nRCPT TO:<c@EXAMPLE.net>\r\nRCPT TO:<b@Example.NET>\r\nDATA\r\n$MSG$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "250 2.1.5" "250 2.1.5" \
	    "250 2.1.5" "354" "250 2.0.0" "221 2.0.0"
	[ "$(find "$T/mail/example.net/b/new" -type f | wc -l)" -eq 1 ]
	[ "$(find "$T/mail/example.net/c/new" -type f | wc -l)" -eq 1 ]
	run head -n 1 "$T/mail/example.net/c/new/"*
	assert_output 'Return-Path: <a@example.org>'
}

@test "template: a recipient without a Maildir is 550 5.1.1; none is created" {
	mkdir -p "$T/mail/example.net/b/"{tmp,new,cur}
	run template_session "$E${M}RCPT TO:<nobody@example.net>\r\nRCPT TO:<b@elsewhere.example>\r\n$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "550 5.1.1" "550 5.1.1" \
	    "221 2.0.0"
	[ ! -e "$T/mail/example.net/nobody" ]
	[ ! -e "$T/mail/elsewhere.example" ]
}

@test "template: local parts with / or equal to . or .. never leave the tree" {
	mkdir -p "$T/mail/example.net/b/"{tmp,new,cur} "$T/mail/example.net/x/"{tmp,new,cur}
	mkdir -p "$T/mail/"{tmp,new,cur} "$T/mail/example.net/"{tmp,new,cur}
	run template_session "$E$M"'RCPT TO:<"../b"@example.net>\r\nRCPT TO:<"b/../x"@example.net>\r\nRCPT TO:<".."@example.net>\r\nRCPT TO:<"."@example.net>\r\n'"$Q"
	assert_success
	assert_replies "220" "250" "250 2.1.0" "550 5.1.1" "550 5.1.1" \
	    "550 5.1.1" "550 5.1.1" "221 2.0.0"
	[ "$(find "$T/mail" -type f | wc -l)" -eq 0 ]
}
