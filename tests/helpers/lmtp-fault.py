#!/usr/bin/env python3
"""lmtp-fault.py MODE SOCKET: a broken LMTP server on a UNIX socket, for
smtpd's fault tests (the real Dovecot does not misbehave on demand).

  stall    accept, then say nothing (smtpd must give up at TIMEOUT)
  garbage  answer the connection with a line that is not a reply
  close    greet and take LHLO and MAIL, then close at the first RCPT
  odd      a working server whose replies are odd but seen in the wild:
           RCPT by local part: nostatus "250 OK", bare "250",
           wrongclass "550 4.1.1 mismatched", busy "421 4.3.2 shutting
           down" and the connection closed; the data: a bare "250" for
           each recipient taken, the message appended to SOCKET.mbox

Serves connections one after another until killed; at most 60 s.
"""
import os
import socket
import sys
import time

mode, path = sys.argv[1], sys.argv[2]

ODD_RCPT = {
    b"nostatus": b"250 OK",
    b"bare": b"250",
    b"wrongclass": b"550 4.1.1 mismatched",
    b"busy": b"421 4.3.2 shutting down",
}


def serve(c, odd):
    """A working server (odd: with the odd replies above); without odd,
    gone at the first RCPT."""
    c.sendall(b"220 fault.test LMTP ready\r\n")
    f = c.makefile("rb")
    taken = 0
    for line in f:
        verb = line[:4].upper()
        if verb == b"LHLO":
            c.sendall(b"250-fault.test\r\n250-PIPELINING\r\n"
                      b"250 ENHANCEDSTATUSCODES\r\n")
        elif verb == b"MAIL":
            c.sendall(b"250 OK\r\n" if odd else b"250 2.1.0 OK\r\n")
        elif verb == b"RCPT" and not odd:
            break
        elif verb == b"RCPT":
            local = line.split(b"<", 1)[1].split(b"@", 1)[0]
            reply = ODD_RCPT.get(local, b"550 5.1.1 unknown")
            taken += reply.startswith(b"250")
            c.sendall(reply + b"\r\n")
            if reply.startswith(b"421"):
                break
        elif verb == b"DATA":
            c.sendall(b"354 go\r\n")
            with open(path + ".mbox", "ab") as box:
                for body in f:
                    if body == b".\r\n":
                        break
                    box.write(body)
            c.sendall(b"250\r\n" * taken)
            taken = 0
        elif verb == b"RSET":
            taken = 0
            c.sendall(b"250 2.0.0 OK\r\n")
        elif verb == b"QUIT":
            c.sendall(b"221 2.0.0 bye\r\n")
            break
        else:
            c.sendall(b"500 5.5.1 what\r\n")
    f.close()
    c.close()


try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
srv.settimeout(1)
end = time.monotonic() + 60
held = []
while time.monotonic() < end:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    if mode == "stall":
        held.append(c)          # open, silent
        continue
    if mode == "garbage":
        c.sendall(b"hello, this is not LMTP\r\n")
        time.sleep(0.2)
        c.close()
        continue
    # close (gone at the first RCPT) or odd (the replies above)
    serve(c, mode == "odd")
