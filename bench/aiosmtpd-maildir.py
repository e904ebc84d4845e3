#!/usr/bin/python3
"""aiosmtpd-maildir.py: aiosmtpd (Debian's python3-aiosmtpd) for `make
bench`, with its Mailbox handler storing into a Maildir.  The Mailbox
handler itself never fsyncs (Python's mailbox.Maildir writes tmp/, then
renames into new/): this one then fsyncs the stored file and new/ before
it answers 250, so that aiosmtpd is measured durable like the others.

    aiosmtpd-maildir.py PORT MAILDIR

Listens on 127.0.0.1:PORT, prints "ready" when it does, runs until
SIGTERM.
"""
import os
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class DurableMailbox(Mailbox):
    # Mailbox's handle_DATA calls this before it answers 250.
    def handle_message(self, message):
        key = self.mailbox.add(message)
        new = os.path.join(self.mail_dir, "new")
        for path, flags in ((os.path.join(new, key), os.O_RDONLY),
                            (new, os.O_RDONLY | os.O_DIRECTORY)):
            fd = os.open(path, flags)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def main():
    port = int(sys.argv[1])
    mail_dir = sys.argv[2]
    handler = DurableMailbox(mail_dir)
    handler.mail_dir = mail_dir
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            data_size_limit=0)
    # Blocked before the server's thread starts, so that only sigwait
    # takes it.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    controller.start()
    print("ready", flush=True)
    signal.sigwait([signal.SIGTERM])
    controller.stop()


if __name__ == "__main__":
    main()
