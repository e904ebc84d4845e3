#!/bin/sh
# bench/install-deps.sh: the tools `make bench` needs, installed with
# apt-get when missing (as root, Debian 12).  Not part of `make check`.
#   postfix         smtp-source, the load generator, and a peer run as a
#                   private instance (bench/peers.py); installed with
#                   debconf's "No configuration": no main.cf, so neither
#                   its init script nor its systemd unit starts anything
#   python3-aiosmtpd, mailfront
#                   the other peers (bench/peers.py)
#   musl-tools      musl-gcc: ./smtpd and the floor, static with musl
#   ucspi-tcp-ipv6  tcpserver
#   valgrind        callgrind's instruction counts
#   strace          system calls per session
#   time            GNU time -v: peak RSS
#   python3         the harness, bench/bench.py
#   dovecot-core, dovecot-lmtpd
#                   the LMTP server of bench/lmtp.py (a private
#                   instance; the system's service is never started)
set -u
PACKAGES="postfix python3-aiosmtpd mailfront musl-tools ucspi-tcp-ipv6
valgrind strace time python3 dovecot-core dovecot-lmtpd"

# shellcheck disable=SC2086
missing=$(sh "$(dirname "$0")/../tests/install-deps.sh" --missing $PACKAGES)
[ -z "$missing" ] && exit 0
missing=" $missing"

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "bench: missing packages:$missing" >&2
	echo "bench: as root, run:" >&2
	echo "    echo 'postfix postfix/main_mailer_type select No configuration'" \
	    "| debconf-set-selections" >&2
	echo "    apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "bench: installing$missing" >&2
echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections || exit 111
apt-get update -q || exit 111
DEBIAN_FRONTEND=noninteractive sh "$(dirname "$0")/../tests/install-deps.sh" \
    --no-services apt-get install -y -q $missing || exit 111
# "No configuration" leaves no main.cf: then Postfix cannot have started.
if [ -e /etc/postfix/main.cf ]; then
	echo "bench: warning: /etc/postfix/main.cf exists; Postfix may be" \
	    "running (the benchmark starts a private instance of its own)" >&2
fi
exit 0
