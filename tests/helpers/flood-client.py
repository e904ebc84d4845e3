#!/usr/bin/python3
"""flood-client.py: send many pipelined command lines, as an attacker does.

    flood-client.py -p PORT [-t SECONDS] [-e FILE] [-n COUNT] [-s LINES]
                    [-z PAUSE] HEAD LINE [TAIL]

Connects to 127.0.0.1:PORT, waits for the greeting, sends HEAD, then
COUNT copies of LINE ("{i}" becomes the copy's number), LINES lines a
segment, each segment itself cut in two at an odd place (so that a line
spans two TCP segments), PAUSE seconds between segments; then TAIL.  It
reads the server's replies all along (a flood that never reads would
only test the socket buffers) and stops sending once the server has
closed.  Then it reads until the server closes or SECONDS (default 30)
have passed since the connection was made.

Prints every byte received, unchanged.  With -e, writes to FILE the
seconds from the connection to the server's close ("none" when it did
not close in time).  HEAD, LINE and TAIL decode \\r \\n as smtp-client.py
does.  Exit 0; 2 cannot connect.  Python standard library only.
"""
import argparse
import select
import socket
import sys
import time


def decode(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", type=int, required=True)
    ap.add_argument("-t", type=float, default=30.0)
    ap.add_argument("-e")
    ap.add_argument("-n", type=int, default=1)
    ap.add_argument("-s", type=int, default=100)
    ap.add_argument("-z", type=float, default=0.0)
    ap.add_argument("head")
    ap.add_argument("line")
    ap.add_argument("tail", nargs="?", default="")
    a = ap.parse_args()
    try:
        sock = socket.create_connection(("127.0.0.1", a.p), timeout=5)
    except OSError:
        return 2
    start = time.monotonic()
    deadline = start + a.t
    got = bytearray()
    closed_at = None

    def pump(wait):
        """Read what is there (waiting at most wait s); False once closed."""
        nonlocal closed_at
        if closed_at is not None:
            return False
        r, _, _ = select.select([sock], [], [], max(wait, 0))
        if not r:
            return True
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            closed_at = time.monotonic()
            return False
        got.extend(data)
        return True

    def send(data):
        # non-blocking steps, reading between them: never deadlocks
        # against a server that waits for us to read
        view = memoryview(data)
        while view and time.monotonic() < deadline:
            if not pump(0):
                return False
            _, w, _ = select.select([], [sock], [], 0.05)
            if not w:
                continue
            try:
                n = sock.send(view[:65536], socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                return False
            view = view[n:]
        return True

    while b"\n" not in got and pump(deadline - time.monotonic()):
        pass
    ok = send(decode(a.head))
    line = a.line
    i = 0
    while ok and i < a.n and time.monotonic() < deadline:
        k = min(a.s, a.n - i)
        seg = b"".join(decode(line.replace("{i}", str(i + j)))
                       for j in range(k))
        i += k
        cut = max(1, len(seg) // 2 - 3)
        ok = send(seg[:cut]) and send(seg[cut:])
        if ok and a.z > 0:
            end = time.monotonic() + a.z
            while ok and time.monotonic() < end:
                ok = pump(end - time.monotonic())
    if ok and a.tail:
        send(decode(a.tail))
    while pump(deadline - time.monotonic()) and time.monotonic() < deadline:
        pass
    sock.close()
    sys.stdout.buffer.write(bytes(got))
    if a.e:
        with open(a.e, "w") as f:
            f.write("none\n" if closed_at is None else
                    "%.3f\n" % (closed_at - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
