#!/bin/sh
# install-deps.sh: make sure the tools smtpd's tests (or `make serve`) need
# are installed.  Fast when they are: one dpkg-query call, no apt-get.
#
#	sh tests/install-deps.sh          the test tools (make check), then
#	                                  Exim and nodemailer into build/
#	sh tests/install-deps.sh serve    only tcpserver (make serve)
#	sh tests/install-deps.sh --list   print the test packages and exit
#	sh tests/install-deps.sh --preseed
#	                                  answer the packages' install-time
#	                                  questions (before apt-get install)
#	sh tests/install-deps.sh --no-services COMMAND...
#	                                  run COMMAND (apt-get install) with
#	                                  services kept from starting
#	                                  (policy-rc.d), as .ci/run does
#	sh tests/install-deps.sh --missing PACKAGE...
#	                                  print those not installed (one line;
#	                                  bench/install-deps.sh uses it)
#
# Missing packages are installed with apt-get when we are root (Debian 12);
# otherwise we print exactly what to install and exit 1.
set -u

# tcpserver, tcprules; musl-gcc for the production build (Makefile)
SERVE_PACKAGES="ucspi-tcp-ipv6 musl-tools"
# clients, Maildir readers, bats, and what later tests use (TLS wrappers,
# xinetd, haproxy, checkpw, the clang sanitizer/libFuzzer runtime, valgrind;
# daemontools' svscan/envdir/multilog, systemd --user and unshare for the
# launchers of deploy.bats);
# strace shows the Maildir delivery's system calls in order; fail2ban's
# fail2ban-regex checks contrib/fail2ban against the AUTH failure log;
# musl-tools builds ./smtpd (Makefile), which the bats suites run again;
# GNU parallel lets bats run two test files at a time (tests/run);
# libbearssl-dev builds tlswrapper 20260501 (tests/vendor) for tls.bats.
# The real senders of tests/senders-*.bats: Postfix (its sendmail injects;
# a private instance per test, never the system service), msmtp, s-nail,
# neomutt, Node.js (whose npm installs nodemailer), and the libraries of Exim,
# which conflicts with postfix and so is only unpacked (see below).
# Dovecot's LMTP server for tests/lmtp.bats (a private instance per test;
# the system's service is never started: --no-services), and GNU time for
# its peak memory; aiosmtpd's LMTP server, a second one (without CHUNKING).
TEST_PACKAGES="ucspi-tcp-ipv6 musl-tools parallel swaks curl bats bats-assert bats-support
mblaze python3 openssl socat tlswrapper stunnel4 xinetd haproxy checkpw
libclang-rt-14-dev clang valgrind strace fail2ban daemontools systemd
util-linux postfix msmtp s-nail neomutt nodejs dovecot-core dovecot-lmtpd time python3-aiosmtpd
libbearssl-dev libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libnsl2 libpcre2-8-0"

# Not Debian packages, fetched into build/ (gitignored) after the packages:
# Exim 4.96 unpacked from Debian 12's archive, and nodemailer from npm.
here=$(cd "$(dirname "$0")" && pwd)
EXIM_DIR=$here/../build/exim
NODE_DIR=$here/../build/node
NODEMAILER=nodemailer@10.6.0

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

# Postfix is only a client of the tests, each test its own instance:
# "No configuration" leaves the system's Postfix unconfigured, never
# started, and nothing listening on port 25.
preseed()
{
	echo 'postfix postfix/main_mailer_type select No configuration' |
	    debconf-set-selections
}

# no_services COMMAND...: run it with invoke-rc.d (and deb-systemd-invoke)
# refusing to start services: Dovecot's packages would otherwise start
# the system's dovecot.  A policy-rc.d already there is kept as it is.
no_services()
{
	made=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
		    chmod +x /usr/sbin/policy-rc.d && made=1
	fi
	"$@"
	rc=$?
	[ -z "$made" ] || rm -f /usr/sbin/policy-rc.d
	return $rc
}

case ${1:-} in
--no-services)
	shift
	no_services "$@"
	exit $?
	;;
serve)	packages=$SERVE_PACKAGES ;;
--list)	echo $TEST_PACKAGES; exit 0 ;;
--preseed)
	command -v debconf-set-selections >/dev/null 2>&1 && preseed
	exit 0
	;;
--missing)
	shift
	missing_packages "$@"
	echo $missing
	exit 0
	;;
'')	packages=$TEST_PACKAGES ;;
*)	echo "usage: sh tests/install-deps.sh [serve|--list|--preseed|--missing PACKAGE...]" >&2
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

# The senders that are not packages (only with the test tools): Exim
# unpacked by tests/helpers/fetch-exim, nodemailer installed by npm.
fetch_senders()
{
	[ "$packages" = "$TEST_PACKAGES" ] || return 0
	if [ ! -x "$EXIM_DIR/usr/sbin/exim4" ]; then
		echo "install-deps: unpacking Exim into build/exim" >&2
		sh "$here/helpers/fetch-exim" "$EXIM_DIR" || exit 111
	fi
	if ! grep -qs "\"version\": \"${NODEMAILER#*@}\"" \
	    "$NODE_DIR/node_modules/nodemailer/package.json"; then
		echo "install-deps: npm install $NODEMAILER into build/node" >&2
		mkdir -p "$NODE_DIR"
		npm install --prefix "$NODE_DIR" --no-audit --no-fund \
		    --loglevel=error "$NODEMAILER" >&2 || exit 111
	fi
}

# shellcheck disable=SC2086
missing_packages $packages
if [ -z "$missing" ]; then
	fetch_senders
	exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: as root, run:" >&2
	echo "    apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
preseed
apt-get update -q || exit 111
DEBIAN_FRONTEND=noninteractive no_services apt-get install -y -q $missing ||
    exit 111
fetch_senders
exit 0
