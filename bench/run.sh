#!/bin/sh
# bench/run.sh: `make bench`.  Installs the benchmark's tools (as root on
# Debian; bench/install-deps.sh), builds the floor program and the
# trivial delivery programs into build/bench/, then runs bench/bench.py,
# which measures smtpd against the floor and then beside its peers
# (bench/peers.py: Postfix, aiosmtpd, mailfront), and prints the tables.  Options
# are passed on to bench.py (make bench BENCH="--rounds 3"); the whole run
# takes half an hour or more on 2 cores.
set -eu
cd "$(dirname "$0")/.."
sh bench/install-deps.sh	# fast when all are there (make bench-deps)
: "${CC:=cc}"
: "${CFLAGS:=-O2 -g}"
WARN="-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror"
mkdir -p build/bench
# The floor is built like smtpd (Makefile: CFLAGS), dynamic and static.
$CC $WARN $CFLAGS -o build/bench/floor bench/floor.c
$CC $WARN $CFLAGS -static -o build/bench/floor-static bench/floor.c
# And with musl, beside ./smtpd, when musl-gcc is there (Makefile).
rm -f build/bench/floor-musl
if command -v musl-gcc >/dev/null 2>&1; then
	musl-gcc $WARN $CFLAGS -static -o build/bench/floor-musl bench/floor.c
fi
# The delivery programs are static: a child should cost its exec only.
$CC $WARN -O2 -static -o build/bench/sink-pipe bench/sink.c
$CC $WARN -O2 -static -DSINK_QMAIL_QUEUE -o build/bench/sink-qq bench/sink.c
# What one process costs, start to exit (bench.py's "process").
$CC $WARN -O2 -o build/bench/spawnloop bench/spawnloop.c
# mailfront's qmail-queue: into a Maildir, durable (bench/peers.py).
$CC $WARN -O2 -static -o build/bench/qq-maildir bench/qq-maildir.c
for p in smtpd smtpd-glibc smtpd-static; do
	[ -x "$p" ] || { echo "bench: build $p first (make $p)" >&2; exit 100; }
done
/usr/bin/python3 bench/bench.py "$@"
# The LMTP row: smtpd lmtp to a private Dovecot, beside smtpd maildir.
exec sh bench/lmtp.sh "$@"
