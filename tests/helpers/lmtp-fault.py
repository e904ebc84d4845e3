#!/usr/bin/env python3
"""lmtp-fault.py MODE SOCKET: a broken LMTP server on a UNIX socket, for
smtpd's fault tests (the real Dovecot does not misbehave on demand).

  stall    accept, then say nothing (smtpd must give up at TIMEOUT)
  garbage  answer the connection with a line that is not a reply
  close    greet and take LHLO and MAIL, then close at the first RCPT

Serves connections one after another until killed; at most 60 s.
"""
import os
import socket
import sys
import time

mode, path = sys.argv[1], sys.argv[2]
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
    # close: a real greeting and LHLO, then gone at RCPT
    c.sendall(b"220 fault.test LMTP ready\r\n")
    f = c.makefile("rb")
    for line in f:
        verb = line[:4].upper()
        if verb == b"LHLO":
            c.sendall(b"250-fault.test\r\n250-PIPELINING\r\n"
                      b"250 ENHANCEDSTATUSCODES\r\n")
        elif verb == b"MAIL":
            c.sendall(b"250 2.1.0 OK\r\n")
        else:
            break
    f.close()
    c.close()
