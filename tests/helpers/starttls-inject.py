#!/usr/bin/python3
"""starttls-inject.py PORT CAFILE: the STARTTLS command injection attack
(CVE-2011-0411) against the server on 127.0.0.1:PORT.

Sends EHLO, then "STARTTLS\\r\\nRSET\\r\\n" in one write, as a man in the
middle would: the RSET travels in the clear behind the STARTTLS.  Then it
reads what comes back in the clear, does the TLS handshake (verifying the
certificate against CAFILE for "localhost"), sends EHLO and QUIT, and reads
until the server closes.  Prints one line per event:

    S: <reply line>         in the clear
    clear after 220: <n>    octets that arrived in the clear after the 220
    tls: <version>          the handshake succeeded
    tls failed: <error>
    S~: <reply line>        inside TLS

Exit 0 whatever happened: the test reads the transcript.
"""
import select
import socket
import ssl
import sys
import time


def lines(data):
    return data.decode("latin-1").split("\r\n")[:-1]


def read_reply(sock, deadline):
    """One whole reply (up to the line "NNN text"), as bytes."""
    data = b""
    while True:
        for ln in lines(data):
            if len(ln) >= 4 and ln[3] == " ":
                return data
        left = deadline - time.monotonic()
        if left <= 0:
            return data
        sock.settimeout(left)
        try:
            chunk = sock.recv(1)       # one octet: never read past a reply
        except (socket.timeout, ssl.SSLError, OSError):
            return data
        if not chunk:
            return data
        data += chunk


def main():
    port, cafile = int(sys.argv[1]), sys.argv[2]
    deadline = time.monotonic() + 10
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    for ln in lines(read_reply(sock, deadline)):
        print("S: " + ln)
    sock.sendall(b"EHLO client.example\r\n")
    for ln in lines(read_reply(sock, deadline)):
        print("S: " + ln)
    sock.sendall(b"STARTTLS\r\nRSET\r\n")
    for ln in lines(read_reply(sock, deadline)):
        print("S: " + ln)
    # Anything more in the clear would be the answer to the injected RSET.
    ready, _, _ = select.select([sock], [], [], 0.3)
    extra = b""
    if ready:
        sock.setblocking(False)
        try:
            extra = sock.recv(4096, socket.MSG_PEEK)
        except OSError:
            pass
        sock.setblocking(True)
    print("clear after 220: %d" % len(extra))
    if extra:
        for ln in lines(extra):
            print("S: " + ln)
        return
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        tls = ctx.wrap_socket(sock, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        print("tls failed: %s" % e)
        return
    print("tls: " + tls.version())
    tls.sendall(b"EHLO client.example\r\n")
    got = read_reply(tls, deadline)
    tls.sendall(b"QUIT\r\n")
    while True:
        more = read_reply(tls, deadline)
        if not more:
            break
        got += more
    for ln in lines(got):
        print("S~: " + ln)


if __name__ == "__main__":
    main()
