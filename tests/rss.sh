#!/bin/sh
# tests/rss.sh: peak resident memory of smtpd under hostile input (issue 7,
# SECURITY.md "Exhaustion").  Not part of make check: it pushes gigabytes.
#
#	sh tests/rss.sh [SMTPD]        default ./smtpd (build it first)
#	RSS_GB=1                       gigabytes for the big cases
#	RSS_MAX_KB=8192                fail when a case peaks above this
#
# Each case streams its input from a generator straight into smtpd on a
# pipe (no file of that size is made), smtpd's replies go to a file that
# is summarized, and the peak RSS is what /usr/bin/time -v reports as
# smtpd's "Maximum resident set size".  The
# cases: 1 GB of random octets inside DATA; a 1 GB message accepted (into
# a qmail-queue that reads to /dev/null, so no disk is used), and the
# same 1 GB message and a 1 KB one through each delivery target (Maildir
# DIR and TEMPLATE, pipe, qmail-queue: the big one must cost what the
# small one does); a message of one 1 GB line, accepted into
# that qmail-queue; a 1 GB command line; a million pipelined RCPTs (the
# default MAXRCPTS and MAXRCPTS=10000); 10000 recipients accepted for a
# Maildir template (MAXRCPTS=10000); a million pipelined NOOPs.
# Prints one line per case and exits 1 when any is over RSS_MAX_KB or
# got the wrong final reply.
set -u
cd "$(dirname "$0")/.." || exit 111
SMTPD=${1:-./smtpd}
case $SMTPD in /*) ;; *) SMTPD=$PWD/$SMTPD ;; esac
: "${RSS_GB:=1}"
: "${RSS_MAX_KB:=8192}"
[ -x "$SMTPD" ] || { echo "rss: no smtpd at $SMTPD (make smtpd)" >&2; exit 111; }
[ -x /usr/bin/time ] || { echo "rss: GNU time is needed (Debian: time)" >&2; exit 111; }
work=$(mktemp -d "${TMPDIR:-/tmp}/smtpd-rss.XXXXXX") || exit 111
trap 'rm -rf "$work"' EXIT

# A qmail-queue that takes anything and keeps nothing.
cat >"$work/qq-null" <<'EOF'
#!/bin/sh
cat >/dev/null && cat <&1 >/dev/null
EOF
chmod +x "$work/qq-null"

cat >"$work/run.py" <<'EOF'
import os, random, subprocess, sys, time

GB = float(os.environ.get("RSS_GB", "1"))
case, smtpd = sys.argv[1], sys.argv[2:]
HEAD = (b"EHLO rss.test\r\nMAIL FROM:<a@rss.test>\r\n"
        b"RCPT TO:<b@rss.test>\r\nDATA\r\n")
BLOCK = 1 << 20
total = int(GB * (1 << 30))

def garbage():
    rng = random.Random(7)
    block = bytes(rng.getrandbits(8) for _ in range(BLOCK))
    yield HEAD
    for _ in range(total // BLOCK):
        yield block
    yield b"\r\n.\r\nQUIT\r\n"

def message():
    line = b"x" * 76 + b"\r\n"
    block = line * (BLOCK // len(line))
    yield HEAD + b"Subject: big\r\n\r\n"
    for _ in range(total // len(block)):
        yield block
    yield line * (total % len(block) // len(line))
    yield b".\r\nQUIT\r\n"

def data_line():
    block = b"y" * BLOCK
    yield HEAD
    for _ in range(total // BLOCK):
        yield block
    yield b"\r\n.\r\nQUIT\r\n"

def command_line():
    block = b"z" * BLOCK
    yield b"EHLO rss.test\r\nNOOP "
    for _ in range(total // BLOCK):
        yield block
    yield b"\r\nQUIT\r\n"

def rcpts():
    yield b"EHLO rss.test\r\nMAIL FROM:<a@rss.test>\r\n"
    chunk = b"".join(b"RCPT TO:<u%d@rss.test>\r\n" % i for i in range(10000))
    for _ in range(100):
        yield chunk
    yield b"QUIT\r\n"

def rcpts_template():
    # Every recipient is accepted, for one existing Maildir: the whole
    # recipient table of the template delivery is in use.
    yield b"EHLO rss.test\r\nMAIL FROM:<a@rss.test>\r\n"
    yield b"RCPT TO:<b@rss.test>\r\n" * 10000
    yield b"DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n"

def noops():
    chunk = b"NOOP\r\n" * 100000
    yield b"EHLO rss.test\r\n"
    for _ in range(10):
        yield chunk
    yield b"QUIT\r\n"

gen = {"garbage": garbage, "message": message, "data-line": data_line,
       "command-line": command_line, "rcpts": rcpts, "rcpts-10000": rcpts,
       "template-10000": rcpts_template, "noops": noops}[
           os.environ.get("RSS_GEN", case)]
out = open(os.environ["RSS_OUT"], "wb")
t0 = time.monotonic()
# GNU time forks smtpd from its own small image: the peak it reports is
# smtpd's alone (a child forked from this Python would inherit ours).
timed = os.environ["RSS_OUT"] + ".time"
p = subprocess.Popen(["/usr/bin/time", "-v", "-o", timed] + smtpd,
                     stdin=subprocess.PIPE, stdout=out,
                     stderr=subprocess.DEVNULL)
sent = 0
try:
    for chunk in gen():
        p.stdin.write(chunk)
        sent += len(chunk)
except BrokenPipeError:
    pass
try:
    p.stdin.close()
except BrokenPipeError:
    pass
status = p.wait()
secs = time.monotonic() - t0
kb = -1
for line in open(timed):
    if "Maximum resident set size" in line:
        kb = int(line.split(":")[1])
print("%d %d %.1f %d" % (kb, sent, secs, status))
EOF

failed=0
run_case()
{
	name=$1
	shift
	RSS_OUT=$work/out env -i PATH=/usr/bin:/bin RSS_GB="$RSS_GB" \
	    RSS_OUT="$work/out" "$@" /usr/bin/python3 "$work/run.py" "$name" \
	    "$SMTPD" $SMTPD_ARGS >"$work/result" || {
		echo "rss: $name: the driver failed" >&2
		failed=1
		return
	}
	read -r kb sent secs status <"$work/result"
	replies=$(tr -d '\r' <"$work/out" | grep -E '^[0-9]{3} ' |
	    sort | uniq -c | sort -rn | head -n 3 |
	    awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2 " " $3, $1 }')
	last=$(tr -d '\r' <"$work/out" | grep -E '^[0-9]{3} ' | tail -n 2 |
	    head -n 1)
	printf 'rss: %-15s peak %6d KB  input %5d MB in %6.1f s  exit %s  replies: %s\n' \
	    "$name" "$kb" $((sent / 1048576)) "$secs" "$status" "$replies"
	if [ "$kb" -gt "${MAX_KB:-$RSS_MAX_KB}" ]; then
		echo "rss: $name: over ${MAX_KB:-$RSS_MAX_KB} KB" >&2
		failed=1
	fi
	case $last in
	"$WANT"*) ;;
	*) echo "rss: $name: the last reply before QUIT is [$last], expected [$WANT...]" >&2
	   failed=1 ;;
	esac
}

mkdir -p "$work/Maildir"
SMTPD_ARGS="maildir $work/Maildir"
WANT="554 5.6.0" run_case garbage DATABYTES=4294967296
WANT="500 5.5.6" run_case command-line
WANT="452 4.5.3" run_case rcpts
WANT="452 4.5.3" run_case rcpts-10000 MAXRCPTS=10000
WANT="250 2.0.0" run_case noops
# A template keeps one slot of about 4.2 KB (a PATH_MAX path) for each
# of MAXRCPTS recipients, touched as recipients are accepted.
mkdir -p "$work/b/Maildir/tmp" "$work/b/Maildir/new" "$work/b/Maildir/cur"
SMTPD_ARGS="maildir $work/%l/Maildir"
WANT="250 2.0.0" MAX_KB=65536 run_case template-10000 MAXRCPTS=10000
SMTPD_ARGS="qmail-queue $work/qq-null"
WANT="250 2.0.0" run_case message DATABYTES=4294967296
# A message of one 1 GB line: accepted (no line limit), memory flat.
WANT="250 2.0.0" run_case data-line DATABYTES=4294967296
# The same message, and a 1 KB one, through each delivery target; what
# was stored is removed after each case.
printf '#!/bin/sh\nexec cat >/dev/null\n' >"$work/hook-null"
chmod +x "$work/hook-null"
mkdir -p "$work/t/b/Maildir/tmp" "$work/t/b/Maildir/new" \
    "$work/t/b/Maildir/cur"
for target in maildir template pipe qmail-queue; do
	case $target in
	maildir) SMTPD_ARGS="maildir $work/accept" ;;
	template) SMTPD_ARGS="maildir $work/t/%l/Maildir" ;;
	pipe) SMTPD_ARGS="pipe $work/hook-null" ;;
	qmail-queue) SMTPD_ARGS="qmail-queue $work/qq-null" ;;
	esac
	for size in 1k 1g; do
		gb=$RSS_GB
		[ "$size" = 1k ] && gb=0.00000095367431640625
		WANT="250 2.0.0" run_case "$size-$target" RSS_GEN=message \
		    RSS_GB="$gb" DATABYTES=4294967296 TMPDIR="$work"
		rm -rf "$work/accept" "$work"/t/b/Maildir/new/*
	done
done
[ -z "$(ls "$work/Maildir/new" 2>/dev/null)" ] ||
    { echo "rss: something was stored" >&2; failed=1; }
exit "$failed"
