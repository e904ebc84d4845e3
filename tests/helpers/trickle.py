#!/usr/bin/python3
"""trickle.py: a client that sends its text one octet at a time.

    trickle.py -p PORT [-H HOST] [-i SECONDS] [-t LIMIT] PREFIX TEXT

Connects, waits for the 220, sends PREFIX at once (\\r \\n decoded) and
waits for its replies to go quiet, then TEXT one octet every SECONDS
(default 0.5), reading the replies meanwhile, until the server closes
the connection or LIMIT seconds (default 30) have passed.  Prints every
reply octet received, then "closed after N ms" (counted from the first
trickled octet) or "still open after N ms".  Exit 0.
"""
import getopt
import select
import socket
import sys
import time


def decode(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main():
    opts, args = getopt.getopt(sys.argv[1:], "H:p:i:t:")
    o = dict(opts)
    host, port = o.get("-H", "127.0.0.1"), int(o["-p"])
    interval, limit = float(o.get("-i", "0.5")), float(o.get("-t", "30"))
    prefix, text = decode(args[0]), decode(args[1])
    s = socket.create_connection((host, port), timeout=5)
    out = sys.stdout.buffer
    closed = False

    def pump(wait):
        """Read what arrives within wait seconds; False on EOF."""
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return True
            r, _, _ = select.select([s], [], [], left)
            if not r:
                return True
            try:
                data = s.recv(65536)
            except OSError:
                return False
            if not data:
                return False
            out.write(data)
            out.flush()

    pump(1.0)
    if prefix:
        s.sendall(prefix)
        closed = not pump(1.0)
    start = time.monotonic()
    i = 0
    while not closed and time.monotonic() - start < limit:
        if i < len(text):
            try:
                s.send(text[i:i + 1])
            except OSError:
                closed = True
                break
            i += 1
        closed = not pump(interval)
    ms = int((time.monotonic() - start) * 1000)
    print("%s after %d ms" % ("closed" if closed else "still open", ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
