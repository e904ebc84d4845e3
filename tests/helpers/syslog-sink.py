#!/usr/bin/python3
"""syslog-sink.py SOCKET OUT: a syslog(3) receiver for tests.

Binds a Unix datagram socket at SOCKET (what /dev/log is to syslog(3))
and appends each message it receives, one per line, to OUT, until it is
killed or 60 seconds pass.  Standard library only.
"""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
end = time.monotonic() + 60
with open(out, "ab", buffering=0) as f:
    while time.monotonic() < end:
        sock.settimeout(max(0.1, end - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        f.write(data.rstrip(b"\0\n") + b"\n")
