#!/bin/sh
# tests/fuzz/run.sh: `make fuzz`.  Builds every target tests/fuzz/fuzz_*.c
# with clang and libFuzzer (ASan + UBSan, -fno-sanitize-recover) and runs
# each for a bounded time, one after the other.
#
#	sh tests/fuzz/run.sh [TARGET...]
#	FUZZ_SECONDS=60      seconds per target (default 60)
#	FUZZ_MAX_LEN=8192    longest input libFuzzer makes
#	FUZZ_COVERAGE=1      afterwards, line coverage of proto/ and auth/
#	                     by each target's corpus (llvm-cov-14)
#
# The working corpus grows in build/fuzz/corpus/<target>/ (kept between
# runs); the committed seeds in tests/fuzz/corpus/<target>/ are read, not
# written.  A crash, leak, timeout or out-of-memory input is copied into
# tests/fuzz/corpus/<target>/ as a new seed, so that `make check` replays
# it from then on; make it a unit test too, and commit both.  Prints one
# summary line per target (executions, exec/s, coverage) and exits 1
# when any target failed.
set -u
cd "$(dirname "$0")/../.." || exit 111
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_CC:=clang}"
: "${FUZZ_COVERAGE:=}"
# Longer seeds (the 12 KB AUTH lines) are replayed whole by make check;
# mutating inputs that long would only slow the search.
: "${FUZZ_MAX_LEN:=8192}"

case $FUZZ_SECONDS in
'' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number" >&2; exit 100 ;;
esac
command -v "$FUZZ_CC" >/dev/null 2>&1 || {
	echo "fuzz: $FUZZ_CC is needed (Debian: clang libclang-rt-14-dev)" >&2
	exit 111
}

WARN="-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow
-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla -Werror"
# What the Makefile links into the replay drivers, in the same order.
SRC=$(ls proto/*.c lib/*.c auth/*.c deliver/*.c 2>/dev/null | sort)

if [ $# -gt 0 ]; then
	targets=$*
else
	targets=$(ls tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
fi

mkdir -p build/fuzz
summary=$(mktemp "${TMPDIR:-/tmp}/fuzz-summary.XXXXXX") || exit 111
trap 'rm -f "$summary"' EXIT
failed=0
for t in $targets; do
	bin=build/fuzz/$t
	work=build/fuzz/corpus/$t
	seeds=tests/fuzz/corpus/$t
	art=build/fuzz/artifacts/$t
	log=build/fuzz/$t.log
	mkdir -p "$work" "$art" "$seeds"
	echo "fuzz: building $t"
	# shellcheck disable=SC2086
	if ! $FUZZ_CC $WARN -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -fno-omit-frame-pointer \
	    -o "$bin" "tests/fuzz/$t.c" $SRC; then
		echo "fuzz: $t: build failed" | tee -a "$summary"
		failed=1
		continue
	fi
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	rm -f "$art"/*
	echo "fuzz: running $t for $FUZZ_SECONDS s"
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$FUZZ_SECONDS" \
	    -timeout=10 -rss_limit_mb=2048 -max_len="$FUZZ_MAX_LEN" \
	    -print_final_stats=1 \
	    -artifact_prefix="$art/" $dict "$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
	    sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
	new=0
	for a in "$art"/*; do
		[ -f "$a" ] || continue
		name=$(basename "$a")
		cp "$a" "$seeds/$name"
		echo "fuzz: $t: new seed $seeds/$name" | tee -a "$summary"
		new=$((new + 1))
	done
	if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
		tail -n 40 "$log"
		echo "fuzz: $t: FAILED (exit $rc), log in $log" | tee -a "$summary"
		failed=1
		continue
	fi
	echo "fuzz: $t: ${FUZZ_SECONDS} s, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-no coverage line}" |
	    tee -a "$summary"
done

# Line coverage of the pure layers by each target's corpus.
if [ -n "$FUZZ_COVERAGE" ]; then
	if ! command -v llvm-cov-14 >/dev/null 2>&1; then
		echo "fuzz: FUZZ_COVERAGE needs llvm-cov-14 (Debian: llvm-14)" >&2
	else
		for t in $targets; do
			bin=build/fuzz/$t.cov
			# shellcheck disable=SC2086
			$FUZZ_CC $WARN -O0 -fprofile-instr-generate \
			    -fcoverage-mapping -o "$bin" "tests/fuzz/$t.c" \
			    tests/fuzz/replay.c $SRC || continue
			rm -f "build/fuzz/$t.profraw"
			LLVM_PROFILE_FILE=build/fuzz/$t.profraw "$bin" \
			    "tests/fuzz/corpus/$t" "build/fuzz/corpus/$t" \
			    >/dev/null 2>&1
			llvm-profdata-14 merge -o "build/fuzz/$t.profdata" \
			    "build/fuzz/$t.profraw" || continue
			llvm-cov-14 report "$bin" \
			    -instr-profile="build/fuzz/$t.profdata" \
			    proto/*.c auth/*.c 2>/dev/null |
			    awk -v t="$t" '$1 ~ /^(proto|auth)\// && $(NF-3) != "0.00%" {
				printf "fuzz: %s: %s lines %s, branches %s\n",
				    t, $1, $(NF-3), $NF }' | tee -a "$summary"
		done
	fi
fi

echo "fuzz: summary"
cat "$summary"
exit "$failed"
