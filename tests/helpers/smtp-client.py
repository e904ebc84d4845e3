#!/usr/bin/python3
"""smtp-client.py: a raw SMTP client for exact transcripts in the tests.

    smtp-client.py [-H HOST] [-t SECONDS] -p PORT ACTION...
    smtp-client.py [-t SECONDS] -x 'SHELL COMMAND' ACTION...

Connects to HOST:PORT (default 127.0.0.1), or runs the command with its
stdin/stdout on pipes, then performs the actions in order:

    send:TEXT     send TEXT; \\r \\n \\t \\0 \\xNN \\\\ are decoded
    file:PATH     send the file's bytes
    expect:REGEX  wait until a new reply line (CRLF stripped) matches
    sleep:SECONDS pause
    shut          end our side (shutdown SHUT_WR / close the pipe)

then reads until the server closes (or the time runs out) and prints
every byte it received, unchanged.  No bytes are ever sent before the
actions say so: send before expect:^220 to talk before the greeting.

Exit 0; 2 cannot connect; 3 an expect failed (time out or closed first);
the transcript is printed in every case.  Python standard library only.
"""
import os
import re
import select
import socket
import subprocess
import sys
import time


def decode(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Conn:
    def __init__(self, host, port, command):
        self.proc = None
        if command:
            self.proc = subprocess.Popen(command, shell=True,
                                         stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
            self.rfd = self.proc.stdout.fileno()
            self.wfile = self.proc.stdin
        else:
            self.sock = socket.create_connection((host, port), timeout=5)
            self.rfd = self.sock.fileno()
        self.closed = False

    def send(self, data):
        try:
            if self.proc:
                self.wfile.write(data)
                self.wfile.flush()
            else:
                self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def shut(self):
        if self.proc:
            self.wfile.close()
        else:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def read(self, deadline):
        """Bytes that arrive before deadline; b'' on EOF; None on time."""
        if self.closed:
            return b""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([self.rfd], [], [], left)
        if not ready:
            return None
        try:
            data = os.read(self.rfd, 65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
        return data


def main():
    args = sys.argv[1:]
    host, port, command, timeout = "127.0.0.1", None, None, 10.0
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt == "-H":
            host = args.pop(0)
        elif opt == "-p":
            port = int(args.pop(0))
        elif opt == "-x":
            command = args.pop(0)
        elif opt == "-t":
            timeout = float(args.pop(0))
        else:
            sys.exit("usage: smtp-client.py [-H host] [-t s] -p port|-x cmd action...")
    try:
        conn = Conn(host, port, command)
    except OSError as e:
        sys.stderr.write("smtp-client: cannot connect: %s\n" % e)
        sys.exit(2)
    deadline = time.monotonic() + timeout
    received = b""
    seen = 0            # received[:seen] has been matched already
    status = 0
    for action in args:
        kind, _, arg = action.partition(":")
        if kind == "send":
            conn.send(decode(arg))
        elif kind == "file":
            with open(arg, "rb") as f:
                conn.send(f.read())
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "shut":
            conn.shut()
        elif kind == "expect":
            pattern = re.compile(arg.encode("latin-1"))
            found = False
            while not found:
                while b"\n" in received[seen:]:
                    end = received.index(b"\n", seen) + 1
                    line = received[seen:end].rstrip(b"\r\n")
                    seen = end
                    if pattern.search(line):
                        found = True
                        break
                if found:
                    break
                data = conn.read(deadline)
                if not data:
                    sys.stderr.write("smtp-client: no line matching %r (%s)\n"
                                     % (arg, "closed" if data == b""
                                        else "timeout"))
                    status = 3
                    break
                received += data
            if status:
                break
        else:
            sys.exit("smtp-client: unknown action %r" % action)
    while True:
        data = conn.read(deadline)
        if not data:
            break
        received += data
    sys.stdout.buffer.write(received)
    sys.stdout.flush()
    if conn.proc:
        try:
            conn.wfile.close()
        except OSError:
            pass
        try:
            conn.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            conn.proc.kill()
            conn.proc.wait()
    sys.exit(status)


if __name__ == "__main__":
    main()
