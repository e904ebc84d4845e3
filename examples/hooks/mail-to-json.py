#!/usr/bin/env python3
"""mail-to-json.py: a hook for `smtpd pipe` that turns each message into
one JSON record, appended as one line to $MAIL_JSON (default mail.jsonl):

    MAIL_JSON=/srv/inbox.jsonl smtpd pipe /usr/bin/python3 /path/to/mail-to-json.py

A record holds the envelope (from smtpd's environment), the header
fields, the text (the text/plain part, else the text of the text/html
part) and a list of the attachments (name, type, size).  The message is
parsed with Python's standard email package; nothing else is needed.

What smtpd gives it (smtpd.8, "THE HOOK API"): the message on stdin,
SENDER, RECIPIENTS (one per line), HELO, AUTHUSER, TCPREMOTEIP in the
environment.  What it answers: its first output line is the reply's text;
exit 0 is 250, 75 (EX_TEMPFAIL) asks the sender to retry later (451).
"""
import email
import email.policy
import fcntl
import html.parser
import json
import os
import sys
import time

EX_TEMPFAIL = 75


class _Text(html.parser.HTMLParser):
    """The visible text of an HTML part, for a message without text/plain."""

    def __init__(self):
        super().__init__()
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def decoded(msg, name, raw):
    """A header field's value as text (RFC 2047 words decoded); a
    malformed one as it came."""
    try:
        return str(msg.policy.header_fetch_parse(name, raw))
    except Exception:  # the email package can raise on junk
        return raw


def header_value(msg, name):
    for key, raw in msg.raw_items():
        if key.lower() == name.lower():
            return decoded(msg, key, raw)
    return None


def body_text(msg):
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset
        text = part.get_payload(decode=True).decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        parser = _Text()
        parser.feed(text)
        text = "".join(parser.parts)
    return text


def attachments(msg):
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        found.append({
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "size": len(payload),
        })
    return found


def record(msg):
    env = os.environ
    rcpts = env.get("RECIPIENTS", "")
    return {
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "envelope": {
            "sender": env.get("SENDER", ""),
            "recipients": rcpts.split("\n") if rcpts else [],
            "helo": env.get("HELO"),
            "remote_ip": env.get("TCPREMOTEIP"),
            "auth_user": env.get("AUTHUSER"),
        },
        "headers": [[name, decoded(msg, name, raw)]
                    for name, raw in msg.raw_items()],
        "subject": header_value(msg, "Subject"),
        "from": header_value(msg, "From"),
        "to": header_value(msg, "To"),
        "date": header_value(msg, "Date"),
        "message_id": header_value(msg, "Message-ID"),
        "text": body_text(msg),
        "attachments": attachments(msg),
    }


def main():
    msg = email.message_from_binary_file(sys.stdin.buffer,
                                         policy=email.policy.default)
    line = json.dumps(record(msg), ensure_ascii=False) + "\n"
    path = os.environ.get("MAIL_JSON", "mail.jsonl")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # One record per line, whole, even with messages arriving on
            # several connections at once.
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = line.encode("utf-8")
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        print("Cannot store the message (%s), try again later" % e.strerror)
        return EX_TEMPFAIL
    print("Stored as JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
