#!/bin/sh
# install-deps.sh: make sure the tools smtpd's tests (or `make serve`) need
# are installed.  Fast when they are: one dpkg-query call, no apt-get.
#
#	sh tests/install-deps.sh          the test tools (make check)
#	sh tests/install-deps.sh serve    only tcpserver (make serve)
#	sh tests/install-deps.sh --list   print the test packages and exit
#	sh tests/install-deps.sh --missing PACKAGE...
#	                                  print those not installed (one line;
#	                                  bench/install-deps.sh uses it)
#
# Missing packages are installed with apt-get when we are root (Debian 12);
# otherwise we print exactly what to install and exit 1.
set -u

# tcpserver, tcprules
SERVE_PACKAGES="ucspi-tcp-ipv6"
# clients, Maildir readers, bats, and what later tests use (TLS wrappers,
# xinetd, haproxy, checkpw, the clang sanitizer/libFuzzer runtime, valgrind;
# daemontools' svscan/envdir/multilog, systemd --user and unshare for the
# launchers of deploy.bats);
# strace shows the Maildir delivery's system calls in order; fail2ban's
# fail2ban-regex checks contrib/fail2ban against the AUTH failure log;
# libbearssl-dev builds tlswrapper 20260501 (tests/vendor) for tls.bats.
TEST_PACKAGES="ucspi-tcp-ipv6 swaks curl bats bats-assert bats-support
mblaze python3 openssl socat tlswrapper stunnel4 xinetd haproxy checkpw
libclang-rt-14-dev clang valgrind strace fail2ban daemontools systemd
util-linux libbearssl-dev"

# missing_packages PACKAGE...: set $missing to those not installed, one
# dpkg-query call for all (a package never installed prints nothing).
missing_packages()
{
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
	    awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }')
	missing=""
	for p in "$@"; do
		case " $(echo $installed) " in
		*" $p "*) ;;
		*) missing="$missing $p" ;;
		esac
	done
}

case ${1:-} in
serve)	packages=$SERVE_PACKAGES ;;
--list)	echo $TEST_PACKAGES; exit 0 ;;
--missing)
	shift
	missing_packages "$@"
	echo $missing
	exit 0
	;;
'')	packages=$TEST_PACKAGES ;;
*)	echo "usage: sh tests/install-deps.sh [serve|--list|--missing PACKAGE...]" >&2
	exit 100 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	# Not Debian: we cannot name packages, so name the programs instead.
	missing=""
	for tool in tcpserver swaks curl bats mlist python3 openssl socat; do
		[ "$packages" = "$SERVE_PACKAGES" ] && [ "$tool" != tcpserver ] &&
		    continue
		command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
	done
	[ -z "$missing" ] && exit 0
	echo "install-deps: missing programs:$missing" >&2
	echo "install-deps: install them with your system's packages" \
	    "(Debian 12: $packages)" >&2
	exit 1
fi

# shellcheck disable=SC2086
missing_packages $packages
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: as root, run:" >&2
	echo "    apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
apt-get update -q || exit 111
DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing || exit 111
exit 0
