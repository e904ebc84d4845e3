# dovecot.bash: a private Dovecot LMTP server for a test (Debian's
# dovecot-core and dovecot-lmtpd), never the system's service: its own
# configuration, base_dir, log and passwd-file user database under
# $T/dovecot, mailboxes in $T/dovecot/mail/USER (Maildir, written by
# Dovecot as the vmail user), an LMTP listener on a UNIX socket and one
# on 127.0.0.1.  Started as root (the tests run as root, as in CI).
#
#	dovecot_start      sets DV, LMTP_SOCKET, LMTP_TCP ("127.0.0.1:PORT")
#	dovecot_stop       stops it by the master's pid, waits (bounded)
#	mailbox_count USER messages in USER's new/ and cur/
#	mailbox_files USER their paths
#
# Users: alice (quota 100 MB), bob and dave (10 KB: a 20 KB message
# fails after the data), carol (1 KB, filled at start: refused at RCPT,
# lmtp_rcpt_check_quota).

# A free TCP port on 127.0.0.1 (the kernel's pick, then released).
free_port()
{
	"$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

dovecot_start()
{
	local i port dir
	DV=$T/dovecot
	mkdir -p "$DV/mail"
	id vmail >/dev/null 2>&1 ||
	    useradd -r -M -s /usr/sbin/nologin vmail 2>/dev/null ||
	    id vmail >/dev/null 2>&1 || fail "no vmail user (useradd failed)"
	# Dovecot's mail processes run as vmail: every directory above the
	# mailboxes must let them pass (not read).
	dir=$DV
	while [ "$dir" != / ] && [ "$dir" != /tmp ]; do
		chmod o+x "$dir"
		dir=$(dirname "$dir")
	done
	chown vmail:vmail "$DV/mail"
	port=$(free_port)
	cat >"$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/state
instance_name = smtpd-test-$$-$BATS_TEST_NUMBER
protocols = lmtp
listen = 127.0.0.1
log_path = $DV/dovecot.log
ssl = no
auth_username_format = %Ln
mail_location = maildir:$DV/mail/%n
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 1
mail_plugins = quota
lmtp_rcpt_check_quota = yes
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = passwd-file
  args = $DV/users
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $port
  }
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=100M
}
CONF
	cat >"$DV/users" <<USERS
alice:{PLAIN}x::::::
bob:{PLAIN}x::::::userdb_quota_rule=*:storage=10K
carol:{PLAIN}x::::::userdb_quota_rule=*:storage=1K
dave:{PLAIN}x::::::userdb_quota_rule=*:storage=10K
USERS
	# carol's mailbox is over her quota from the start.
	mkdir -p "$DV/mail/carol/new" "$DV/mail/carol/cur" "$DV/mail/carol/tmp"
	head -c 4096 /dev/zero | tr '\0' x |
	    sed 's/^/Subject: filler\n\n/' >"$DV/mail/carol/cur/1.filler.test:2,S"
	chown -R vmail:vmail "$DV/mail"
	LMTP_SOCKET=$DV/run/lmtp
	LMTP_TCP=127.0.0.1:$port
	dovecot -c "$DV/dovecot.conf" || fail "dovecot did not start"
	for i in $(seq 200); do
		[ -S "$LMTP_SOCKET" ] && [ -s "$DV/run/master.pid" ] &&
		    "$PY" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		    "$port" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "dovecot did not listen: $(cat "$DV/dovecot.log" 2>/dev/null)"
}

dovecot_stop()
{
	local pid p i kids
	[ -n "${DV:-}" ] && [ -s "$DV/run/master.pid" ] || return 0
	pid=$(cat "$DV/run/master.pid")
	# The master's children (log, auth, lmtp...), to wait for them too.
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	kill "$pid" 2>/dev/null || true
	# The master ends its children, then itself (within a second).
	for p in $pid $kids; do
		for i in $(seq 400); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
	done
	rm -f "$DV/run/master.pid"
}

mailbox_files()
{
	find "$DV/mail/$1/new" "$DV/mail/$1/cur" -type f 2>/dev/null | sort
}

mailbox_count()
{
	mailbox_files "$1" | wc -l
}
