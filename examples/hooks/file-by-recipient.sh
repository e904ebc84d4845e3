#!/bin/sh
# file-by-recipient.sh: a hook for `smtpd pipe` that files each message
# into one Maildir per recipient:
#
#	MAILROOT=/srv/mail smtpd pipe /path/to/file-by-recipient.sh
#
# puts a copy for <Bob@Example.ORG> in /srv/mail/example.org/bob/new/,
# creating the Maildir on first use, with the Return-Path: and
# Delivered-To: a final delivery adds.  Every copy is written to tmp/
# first and moved into new/ only when all of them are written, so the
# message lands everywhere or nowhere.
#
# What smtpd gives it (smtpd.8, "THE HOOK API"): the message on stdin,
# SENDER, RECIPIENTS (one per line) and the rest in the environment.
# What it answers: its first line of output becomes the reply's text;
# exit 0 is 250, 100 refuses the message (554), 111 asks the sender to
# try again later (451).
set -uf			# -f: an address may hold '*' or '?'
umask 077
nl='
'
IFS=$nl				# lists here are one item per line

root=${MAILROOT:-./mail}
host=$(uname -n | tr '/:' '__')
spool=
written=

fail()
{
	# $1: exit code, $2: the reply's text.  Nothing may stay behind.
	for f in $written; do
		rm -f "$f"
	done
	[ -n "$spool" ] && rm -f "$spool"
	echo "$2"
	exit "$1"
}

mkdir -p "$root" || fail 111 "Mail store unavailable, try again later"
spool=$(mktemp "$root/.spool.XXXXXX") ||
	fail 111 "Mail store unavailable, try again later"
cat >"$spool" || fail 111 "Mail store unavailable, try again later"

# Check every recipient before writing anything.  The local part and the
# domain become directory names: lowercase them and refuse anything that
# could leave $root ('/', a leading '.', empty parts).
targets=
n=0
for rcpt in $RECIPIENTS; do
	rcpt=$(printf '%s' "$rcpt" | tr 'A-Z' 'a-z')
	local=${rcpt%@*}
	domain=${rcpt##*@}
	[ "$local" = "$rcpt" ] && domain=localhost
	case $local/$domain in
	*/*/* | .* | */.* | /* | */) fail 100 "Refused: no mailbox for <$rcpt>" ;;
	esac
	n=$((n + 1))
	targets="$targets$nl$domain/$local"
done
[ "$n" -gt 0 ] || fail 100 "Refused: no recipients"

# Write a copy into each tmp/ ...
i=0
for t in $targets; do
	i=$((i + 1))
	dir=$root/$t
	mkdir -p "$dir/tmp" "$dir/new" "$dir/cur" ||
		fail 111 "Cannot create the mailbox $t, try again later"
	name=$(date +%s).P$$Q$i.$host
	{
		printf 'Return-Path: <%s>\n' "$SENDER"
		printf 'Delivered-To: %s\n' "${t#*/}@${t%%/*}"
		cat "$spool"
	} >"$dir/tmp/$name" || {
		written="$written$nl$dir/tmp/$name"
		fail 111 "Cannot write to the mailbox $t, try again later"
	}
	written="$written$nl$dir/tmp/$name"
done
# ... and only then move them all into new/.
for f in $written; do
	mv "$f" "${f%/tmp/*}/new/${f##*/}" ||
		fail 111 "Cannot file the message, try again later"
done
rm -f "$spool"
if [ "$n" -eq 1 ]; then
	echo "Filed for 1 recipient"
else
	echo "Filed for $n recipients"
fi
exit 0
