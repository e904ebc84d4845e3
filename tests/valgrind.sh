#!/bin/sh
# tests/valgrind.sh: `make check-valgrind`.  The test suite once under
# valgrind memcheck, on builds without sanitizers (build/valgrind/): the
# C unit tests, the fuzz seed replays, and every bats suite with SMTPD
# pointing at a wrapper that runs smtpd under valgrind (so smtpd started
# by tcpserver, xinetd or a test is checked too; the helper programs it
# starts are not, --trace-children=no).
#
# valgrind writes to smtpd's own stderr, and only when it finds something
# (-q): a log file would be one more descriptor, inherited by the
# programs smtpd starts and seen by the tests that count descriptors.
# The bats temporary directories are kept until the end and searched for
# valgrind's "==PID==" lines, wherever smtpd's stderr went (the test's
# err file, server.log, the syslog or multilog files).
#
# Passes when no valgrind report is found (an error, or a leak: definite,
# indirect or possible; memory still reachable at exit is the start-up
# allocation) and every test passes, except the few listed below that
# cannot pass under valgrind, each with the reason; they are shown, and
# a listed test that fails for another reason still shows its output.
# Slow (valgrind costs a second per smtpd start), so not in make check.
set -u
cd "$(dirname "$0")/.." || exit 111
command -v valgrind >/dev/null 2>&1 || {
	echo "check-valgrind: valgrind is needed (tests/install-deps.sh)" >&2
	exit 111
}

top=$PWD
vg=$top/build/valgrind
logs=$vg/logs
rm -rf "$logs"
mkdir -p "$logs"
# Sessions run as nobody in some tests (setuidgid, xinetd, systemd).
chmod 1777 "$logs"
: >"$logs/started"
chmod 666 "$logs/started"
VG_OPTS="-q --leak-check=full --show-leak-kinds=definite,indirect,possible
--errors-for-leak-kinds=definite,indirect,possible --track-origins=yes
--num-callers=30"

cat >"$vg/smtpd-valgrind" <<EOF
#!/bin/sh
echo \$\$ >>$logs/started 2>/dev/null
exec /usr/bin/valgrind $(echo $VG_OPTS) --log-fd=2 $vg/smtpd "\$@"
EOF
chmod +x "$vg/smtpd-valgrind"

# Tests that cannot pass under valgrind, and why.  valgrind runs
# posix_spawn's vfork as a fork, so a program that cannot be executed is
# seen as a child exiting 127, not as a spawn error (smtpd still answers
# 4xx, but says something else in its log); and systemd's hardening
# (MemoryDenyWriteExecute, SystemCallFilter) refuses valgrind itself; and
# tests that count on smtpd answering within half a second.  Any other
# test that fails is run once more, alone: on a loaded machine valgrind's
# slowness alone can miss a test's deadline; a second failure counts.
known()
{
	case $1 in
	"a CHECKPASSWORD that cannot start is 454 4.7.0" | \
	"a program that does not exist: 451, logged" | \
	"a queue program that cannot be started: 451 at DATA, logged" | \
	"a RCPTCHECK that cannot run defers the recipient (451 4.3.0), and says why in the log")
		echo "vfork runs as fork under valgrind: an exec failure is exit 127" ;;
	"systemd: contrib's smtpd.socket (Accept=yes) and smtpd@.service (hardened, unprivileged) under systemd --user")
		echo "MemoryDenyWriteExecute= and SystemCallFilter= refuse valgrind" ;;
	"UCSPI-TLS: a wrapper that closes SSLCTLFD after 'Y': the session ends cleanly")
		echo "timing: the client's 0.5 s pause is over before smtpd, slowed down, reaches STARTTLS" ;;
	"haproxy with contrib's config: two tcpserver backends, send-proxy-v2 and SMTP health checks")
		echo "timing: the test's 500 ms health check times out before smtpd greets" ;;
	*)
		return 1 ;;
	esac
}

failed=0
nknown=0
work=$(mktemp -d "${TMPDIR:-/tmp}/smtpd-valgrind.XXXXXX") || exit 111
trap 'rm -rf "$work"' EXIT
# valgrind writes its own temporary files in TMPDIR, also as nobody.
chmod 711 "$work"

# check_not_ok FILE: count the "not ok" lines of FILE that are not known.
check_not_ok()
{
	grep -E '^not ok ' "$1" | sed 's/^not ok [0-9]* *-\{0,1\} *//' |
	    while IFS= read -r name; do
		if why=$(known "$name"); then
			echo "# known under valgrind: $name ($why)" >&2
			echo known
		else
			echo "not ok - valgrind: $name" >&2
			echo new
		fi
	    done
}

for t in "$vg"/unit/test_* "$vg"/fuzz-replay/*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	args=""
	case $t in */fuzz-replay/*) args=tests/fuzz/corpus/$name ;; esac
	# shellcheck disable=SC2086
	valgrind $VG_OPTS --log-fd=2 "$t" $args >"$work/out" 2>"$logs/$name.log"
	rc=$?
	echo "$name" >>"$logs/started"
	check_not_ok "$work/out" >"$work/verdict"
	if grep -q new "$work/verdict" ||
	    { [ "$rc" -ne 0 ] && [ ! -s "$work/verdict" ]; }; then
		echo "not ok - valgrind: $name (exit $rc)"
		failed=$((failed + 1))
	else
		nknown=$((nknown + $(grep -c known "$work/verdict")))
		echo "ok - valgrind: $name"
	fi
done

set -- tests/*.bats
[ -n "${VALGRIND_BATS:-}" ] && set -- $VALGRIND_BATS
echo "# bats $* with SMTPD=$vg/smtpd-valgrind"
mkdir -p "$work/tmp"
chmod 1777 "$work/tmp"
TMPDIR=$work/tmp SMTPD=$vg/smtpd-valgrind bats --tap --no-tempdir-cleanup \
    "$@" >"$work/bats" 2>&1
cat "$work/bats"
nok=$(grep -cE '^ok ' "$work/bats")
nnot=$(grep -cE '^not ok ' "$work/bats")
check_not_ok "$work/bats" >"$work/verdict" 2>"$work/verdict.text"
nknown=$((nknown + $(grep -c known "$work/verdict")))
grep '^# known' "$work/verdict.text"

# Unknown failures: once more, alone.
nnew=0
grep -E '^not ok ' "$work/bats" | sed 's/^not ok [0-9]* *//' |
    while IFS= read -r name; do
	known "$name" >/dev/null && continue
	file=$(grep -lF "@test \"$name\"" tests/*.bats | head -n 1)
	regex=$(printf '%s' "$name" | sed 's/[][\.*^$()+?{}|]/\\&/g')
	echo "# again, alone: $name"
	if TMPDIR=$work/tmp SMTPD=$vg/smtpd-valgrind bats --tap \
	    --no-tempdir-cleanup -f "^$regex\$" "$file" >"$work/again" 2>&1 &&
	    grep -q '^ok ' "$work/again"; then
		echo "# passed alone (slow under load): $name"
	else
		cat "$work/again"
		echo "not ok - valgrind: $name"
		echo new >>"$work/new"
	fi
    done
[ -f "$work/new" ] && nnew=$(wc -l <"$work/new")
failed=$((failed + nnew))
[ "$nok" -gt 0 ] || { echo "not ok - valgrind: no bats test ran"; failed=$((failed + 1)); }

# Every valgrind report, wherever smtpd's stderr went, but in the
# directories of the tests known not to run under valgrind.
skip=$(grep -E '^not ok ' "$work/bats" | while read -r _ _ n name; do
	known "$name" >/dev/null && printf '/test/%s/|' "$n"
done)
grep -rlE '^==[0-9]+== ' "$logs" "$work/tmp" 2>/dev/null |
    grep -vE "${skip:-^$}NOTHING" >"$work/reports"
bad=$(wc -l <"$work/reports")
while IFS= read -r f; do
	echo "# valgrind report in $f:"
	grep -E '^==[0-9]+== ' "$f" | head -n 60
done <"$work/reports"
nproc=$(wc -l <"$logs/started")
echo "# valgrind: $nproc processes run under valgrind, $bad files with a report;" \
    "bats: $nok passed, $nnot failed ($nknown known under valgrind," \
    "$nnew failed again alone)"
[ "$nproc" -gt 0 ] || { echo "not ok - valgrind: nothing ran under valgrind"; bad=1; }
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
