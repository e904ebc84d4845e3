#!/bin/sh
# bench/lmtp.sh: the LMTP row of `make bench` (bench/lmtp.py): smtpd lmtp
# to a private Dovecot beside smtpd maildir, instructions per message of
# smtpd itself and messages/s.  Options go to lmtp.py (--rounds N,
# --messages N); unknown ones (bench.py's) are ignored.
set -eu
cd "$(dirname "$0")/.."
[ -x smtpd ] || { echo "bench/lmtp: build ./smtpd first (make smtpd)" >&2; exit 100; }
exec /usr/bin/python3 bench/lmtp.py "$@"
