#!/usr/bin/env bats
# hook_examples.bats: the hook programs in examples/hooks/, run the way
# README.md ("A program of your own: the hook API") shows: smtpd pipe
# under tcpserver, real clients, and what the program made read back.

load helpers/common

setup()
{
	common_setup
	EX=$BATS_TEST_DIRNAME/../examples/hooks
}

@test "file-by-recipient.sh: one Maildir per recipient, readable by Python's mailbox" {
	DELIVERY=(pipe "$EX/file-by-recipient.sh")
	start_server MAILROOT="$T/mail"
	run swaks --server "127.0.0.1:$PORT" --helo client.example \
	    --from a@example.org --to Bob@Example.ORG,carol@example.net \
	    --header 'Subject: filed' --body 'for two' --timeout 10
	assert_success
	assert_output --partial '<-  250 2.0.0 Filed for 2 recipients'
	run "$PY" - "$T/mail" <<'EOF'
import mailbox, sys
for box in ("example.org/bob", "example.net/carol"):
    md = mailbox.Maildir(sys.argv[1] + "/" + box, create=False)
    for key, msg in md.items():
        print(box, msg["Return-Path"], msg["Delivered-To"], msg["Subject"],
              msg.get_payload().strip(), msg["Received"].split()[1])
EOF
	assert_success
	assert_output $'example.org/bob <a@example.org> bob@example.org filed for two client.example\nexample.net/carol <a@example.org> carol@example.net filed for two client.example'
	# nothing left in tmp/, no spool left behind
	[ "$(find "$T/mail"/*/*/tmp -type f | wc -l)" -eq 0 ]
	[ "$(find "$T/mail" -maxdepth 1 -name '.spool*' | wc -l)" -eq 0 ]
}

@test "file-by-recipient.sh: a hostile recipient refuses the message, nothing is written" {
	DELIVERY=(pipe "$EX/file-by-recipient.sh")
	run smtp_session 'EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ok@example.net>\r\nRCPT TO:<"../../etc"@example.net>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n' \
	    MAILROOT="$T/mail"
	assert_replies 220 250 250 250 250 354 '554 5.0.0 Refused: no mailbox for <"../../etc"@example.net>' 221
	[ "$(find "$T/mail" -type f | wc -l)" -eq 0 ]
}

@test "file-by-recipient.sh: a mail store it cannot write is 451, try again later" {
	DELIVERY=(pipe "$EX/file-by-recipient.sh")
	: >"$T/file"
	run smtp_session 'EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ok@example.net>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n' \
	    MAILROOT="$T/file/mail"
	assert_replies 220 250 250 250 354 '451 4.3.0 Mail store unavailable, try again later' 221
}

@test "mail-to-json.py: one JSON record per message, through tcpserver with smtplib" {
	DELIVERY=(pipe /usr/bin/python3 "$EX/mail-to-json.py")
	start_server MAIL_JSON="$T/mail.jsonl"
	run "$PY" - "$PORT" <<'EOF'
import email.policy, smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Zoë <zoe@example.org>"
m["To"] = "app@example.net"
m["Subject"] = "Grüße, order #42"
m["Message-ID"] = "<42@example.org>"
m.set_content("plain text body\nsecond line\n")
m.add_alternative("<p>html <b>body</b></p>", subtype="html")
m.add_attachment(b"\x00\x01" * 500, maintype="application",
                 subtype="octet-stream", filename="data.bin")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example") as s:
    s.send_message(m, "zoe@example.org", ["app@example.net", "log@example.net"])
    code, text = s.noop()
    m2 = EmailMessage()
    m2["Subject"] = "only html"
    m2.set_content("<html><style>p{}</style><p>Hi <i>there</i></p></html>", subtype="html")
    print(s.sendmail("", ["app@example.net"], m2.as_bytes(policy=email.policy.SMTP)))
EOF
	assert_success
	run "$PY" - "$T/mail.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    e = r["envelope"]
    print(e["sender"] or "<>", ",".join(e["recipients"]), e["helo"], e["remote_ip"])
    print(r["subject"], "|", r["from"], "|", r["message_id"])
    print(repr(r["text"]))
    print(r["attachments"])
    print([n for n, v in r["headers"]][:2])
EOF
	assert_success
	assert_output "zoe@example.org app@example.net,log@example.net client.example 127.0.0.1
Grüße, order #42 | Zoë <zoe@example.org> | <42@example.org>
'plain text body\\nsecond line\\n'
[{'filename': 'data.bin', 'content_type': 'application/octet-stream', 'size': 1000}]
['Received', 'From']
<> app@example.net client.example 127.0.0.1
only html | None | None
'Hi there\\n'
[]
['Received', 'Subject']"
	wait_for_log ': 250$'
}

@test "README's hook example as shown: swaks gets '250 2.0.0 Stored as JSON', the record holds what README says" {
	DELIVERY=(pipe /usr/bin/python3 "$EX/mail-to-json.py")
	start_server MAIL_JSON="$T/inbox.jsonl"
	run swaks --server "127.0.0.1:$PORT" --helo client.example.org \
	    --from alice@example.org --to app@example.net \
	    --header 'Subject: Order 42' --body 'Please ship it.' --timeout 10
	assert_success
	assert_output --partial '<-  250 2.0.0 Stored as JSON'
	run "$PY" - "$T/inbox.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
print(len(lines), "record")
r = json.loads(lines[0])
print(sorted(r["envelope"].items()))
print(r["headers"][0][0], r["headers"][0][1].split()[:3])
print(r["subject"], "|", r["from"], "|", r["text"].strip(), "|", r["attachments"])
print(r["received_at"][:2], r["received_at"][-1])
EOF
	assert_success
	assert_output "1 record
[('auth_user', None), ('helo', 'client.example.org'), ('recipients', ['app@example.net']), ('remote_ip', '127.0.0.1'), ('sender', 'alice@example.org')]
Received ['from', 'client.example.org', '([127.0.0.1])']
Order 42 | alice@example.org | Please ship it. | []
20 Z"
}

@test "mail-to-json.py: a store it cannot write is 451 with its reason" {
	DELIVERY=(pipe /usr/bin/python3 "$EX/mail-to-json.py")
	run smtp_session 'EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ok@example.net>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n' \
	    MAIL_JSON="$T/no/such/dir/mail.jsonl"
	assert_replies 220 250 250 250 354 '451 4.3.0 Cannot store the message (No such file or directory), try again later' 221
}
