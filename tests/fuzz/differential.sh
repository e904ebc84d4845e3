#!/bin/sh
# tests/fuzz/differential.sh REV: the engine at git revision REV against
# the engine in the working tree, on the same random sessions split the
# same random ways (tests/fuzz/differential.c); replies and events must
# be identical byte for byte.  Not part of make check: run it after a
# change to proto/ that must not change behaviour.
#
#	sh tests/fuzz/differential.sh REV [SESSIONS [SEED [SECONDS]]]
#
# Both engines are built with the same session driver (diff_session.c);
# the old one, with its driver, is linked into one relocatable object
# whose global symbols then get an old_ prefix, so that both fit in one
# program.  The driver relays some answers (DIFF_RELAYED) only when the
# old engine has smtp_answer_relayed too, and DIFF_NO_RELAY is not set
# (set it to compare across a change meant for relayed answers alone).
set -eu
cd "$(dirname "$0")/../.." || exit 111
[ $# -ge 1 ] || { echo "usage: $0 REV [SESSIONS [SEED [SECONDS]]]" >&2; exit 100; }
rev=$1
sessions=${2:-3000}
seed=${3:-1}
seconds=${4:-300}
CC=${CC:-cc}
CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old/proto" "$tmp/new" "$tmp/old/obj" "$tmp/new/obj"

git rev-parse --verify -q "$rev^{commit}" >/dev/null ||
	{ echo "differential: no such revision: $rev" >&2; exit 100; }
for f in $(git ls-tree --name-only "$rev" proto/); do
	git show "$rev:$f" >"$tmp/old/$f"
done

relayed=
if [ -z "${DIFF_NO_RELAY:-}" ] &&
    grep -q smtp_answer_relayed "$tmp/old/proto/smtp.h"; then
	relayed=-DDIFF_RELAYED
fi

build() {	# build DIR PREFIX: DIR/engine.o from DIR's proto/ and the driver
	dir=$1 src=$2
	for c in "$src"/proto/*.c; do
		$CC $CFLAGS -I"$src/proto" -c "$c" \
		    -o "$dir/obj/$(basename "$c" .c).o"
	done
	$CC $CFLAGS -I"$src/proto" -DDIFF_RUN=diff_run $relayed \
	    -c tests/fuzz/diff_session.c -o "$dir/obj/diff_session.o"
	ld -r -o "$dir/engine.o" "$dir"/obj/*.o
}
build "$tmp/old" "$tmp/old"
build "$tmp/new" .

# Every global symbol an engine defines gets its prefix.
for side in old new; do
	nm -g --defined-only "$tmp/$side/engine.o" |
	    awk -v p="${side}_" 'NF == 3 { print $3, p $3 }' >"$tmp/$side.syms"
	objcopy --redefine-syms="$tmp/$side.syms" "$tmp/$side/engine.o" \
	    "$tmp/$side.o"
done
$CC $CFLAGS -o "$tmp/differential" tests/fuzz/differential.c \
    "$tmp/old.o" "$tmp/new.o"
echo "differential: $rev ($(git rev-parse --short "$rev")) against the working tree${relayed:+, answers relayed}"
"$tmp/differential" -n "$sessions" -s "$seed" -t "$seconds"
