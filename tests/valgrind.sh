#!/bin/sh
# tests/valgrind.sh: `make check-valgrind`.  The test suite once under
# valgrind memcheck, on builds without sanitizers (build/valgrind/): the
# C unit tests, the fuzz seed replays, and every bats suite with SMTPD
# pointing at a wrapper that runs smtpd under valgrind (so smtpd started
# by tcpserver, xinetd or a test is checked too; the helper programs it
# starts are not, --trace-children=no).
#
# Passes when every test passes and no valgrind log reports an error or
# a leak (definite, indirect or possible; memory still reachable at exit
# is the once-per-process allocation of start-up and is not a leak).
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
VG_OPTS="--leak-check=full --show-leak-kinds=definite,indirect,possible
--errors-for-leak-kinds=definite,indirect,possible --track-origins=yes
--num-callers=30"

# smtpd under valgrind, for the bats suites (they run it under env -i).
cat >"$vg/smtpd-valgrind" <<EOF
#!/bin/sh
exec /usr/bin/valgrind $(echo $VG_OPTS) --log-file=$logs/smtpd.%p.log \\
    $vg/smtpd "\$@"
EOF
chmod +x "$vg/smtpd-valgrind"

failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/smtpd-valgrind.XXXXXX") || exit 111
trap 'rm -rf "$work"' EXIT

for t in "$vg"/unit/test_*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	echo "# valgrind $name"
	# shellcheck disable=SC2086
	if ! valgrind $VG_OPTS --log-file="$logs/$name.%p.log" "$t" \
	    >"$work/out" 2>&1; then
		grep -E '^not ok' "$work/out"
		echo "not ok - valgrind: $name failed"
		failed=$((failed + 1))
	else
		echo "ok - valgrind: $name ($(grep -cE '^ok ' "$work/out") tests)"
	fi
done

for f in "$vg"/fuzz-replay/*; do
	[ -x "$f" ] || continue
	name=${f##*/}
	# shellcheck disable=SC2086
	if ! valgrind $VG_OPTS --log-file="$logs/$name.%p.log" "$f" \
	    "tests/fuzz/corpus/$name" >"$work/out" 2>&1; then
		tail -n 5 "$work/out"
		echo "not ok - valgrind: fuzz replay $name failed"
		failed=$((failed + 1))
	else
		echo "ok - valgrind: fuzz replay $name"
	fi
done

set -- tests/*.bats
[ -n "${VALGRIND_BATS:-}" ] && set -- $VALGRIND_BATS
echo "# bats $* with SMTPD=$vg/smtpd-valgrind"
SMTPD=$vg/smtpd-valgrind bats --tap "$@" >"$work/bats" 2>&1
bats_rc=$?
cat "$work/bats"
nok=$(grep -cE '^ok ' "$work/bats")
nnot=$(grep -cE '^not ok ' "$work/bats")
if [ "$nnot" -gt 0 ] || [ "$bats_rc" -ne 0 ]; then
	echo "# bats under valgrind: $nnot failed:"
	grep -E '^not ok ' "$work/bats"
	failed=$((failed + nnot))
	[ "$nnot" -gt 0 ] || failed=$((failed + 1))
fi

# Every valgrind log: errors and leaks.
nlogs=0
bad=0
for l in "$logs"/*.log; do
	[ -f "$l" ] || continue
	nlogs=$((nlogs + 1))
	if grep -qE 'ERROR SUMMARY: [1-9]|(definitely|indirectly|possibly) lost: [1-9]' "$l"; then
		echo "# valgrind report in $l:"
		sed -n '1,80p' "$l"
		bad=$((bad + 1))
	fi
done
echo "# valgrind: $nlogs processes checked, $bad with errors or leaks;" \
    "bats: $nok passed, $nnot failed"
[ "$nlogs" -gt 0 ] || { echo "not ok - valgrind: no process was checked"; bad=1; }
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
