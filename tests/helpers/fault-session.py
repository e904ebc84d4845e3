#!/usr/bin/python3
"""fault-session.py: one smtpd session on pipes, with faults made between
the client's steps, and a check that smtpd keeps no descriptor and no
child process from what failed.

    fault-session.py [-t SECONDS] [-e ERRFILE] ACTION... -- COMMAND [ARG...]

COMMAND (smtpd, possibly behind prlimit) runs with this program's own
environment, stdin and stdout on pipes, stderr appended to ERRFILE
(default: ours).  The actions, in order:

    send:TEXT      send TEXT (\\r \\n \\0 \\xNN decoded)
    file:PATH      send the file's bytes
    expect:REGEX   wait for a new reply line (CRLF stripped) that matches;
                   every reply line before it is skipped
    run:COMMAND    run a shell command and wait for it (a fault: fill the
                   disk, remount read-only, ...); it must exit 0
    fds            the smtpd process's open descriptors and children must
                   be what they were after the greeting, but for the
                   Maildir's tmp/ and new/ directories, which smtpd keeps
                   open from its first message on (deliver/maildir.c)
    shut           close smtpd's stdin

The transcript (every reply line, CR removed) goes to stdout, then
"exit N" with smtpd's status.  smtpd is the process COMMAND execs into
(prlimit does); its descriptors are read from /proc.  Exit 0 when every
action succeeded, 3 when an expect, run or fds failed (said on stderr).
Python standard library only.
"""
import os
import re
import select
import subprocess
import sys
import time


def decode(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def snapshot(pid):
    """(descriptors as 'n -> target', child pids) of a live process; a
    directory named tmp or new (a Maildir's) is left out.  A file in
    one, such as a message left open in tmp/, is not."""
    fds = []
    base = "/proc/%d/fd" % pid
    for name in sorted(os.listdir(base), key=int):
        try:
            target = os.readlink(os.path.join(base, name))
        except OSError:
            continue
        if (os.path.basename(target) in ("tmp", "new") and
                os.path.isdir(target)):
            continue
        fds.append("%s -> %s" % (name, target))
    children = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                children += f.read().split()
        except OSError:
            pass
    return fds, children


def main():
    args = sys.argv[1:]
    timeout = 10.0
    err = None
    while len(args) >= 2 and args[0] in ("-t", "-e"):
        if args[0] == "-t":
            timeout = float(args[1])
        else:
            err = open(args[1], "ab")
        args = args[2:]
    if "--" not in args:
        print(__doc__, file=sys.stderr)
        return 100
    i = args.index("--")
    actions, command = args[:i], args[i + 1:]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=err, bufsize=0)
    rfd = proc.stdout.fileno()
    buf = b""
    pending = []
    closed = False
    baseline = None
    failed = False

    def read_some(deadline):
        nonlocal buf, closed
        left = deadline - time.monotonic()
        if closed or left <= 0:
            return False
        ready, _, _ = select.select([rfd], [], [], left)
        if not ready:
            return False
        data = os.read(rfd, 65536)
        if not data:
            closed = True
            return False
        buf += data
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            text = line.decode("latin-1")
            print(text)
            pending.append(text)
        return True

    def expect(regex):
        deadline = time.monotonic() + timeout
        while True:
            while pending:
                if re.search(regex, pending.pop(0)):
                    return True
            if not read_some(deadline):
                return False

    for action in actions:
        kind, _, arg = action.partition(":")
        if kind == "send" or kind == "file":
            data = decode(arg) if kind == "send" else open(arg, "rb").read()
            try:
                proc.stdin.write(data)
            except (BrokenPipeError, OSError):
                pass
        elif kind == "expect":
            if not expect(arg):
                print("fault-session: no reply matching /%s/" % arg,
                      file=sys.stderr)
                failed = True
                break
            if baseline is None:
                baseline = snapshot(proc.pid)
        elif kind == "run":
            r = subprocess.run(arg, shell=True)
            if r.returncode != 0:
                print("fault-session: exit %d: %s" % (r.returncode, arg),
                      file=sys.stderr)
                failed = True
                break
        elif kind == "fds":
            now = snapshot(proc.pid)
            if baseline is None or now != baseline:
                print("fault-session: descriptors or children changed:\n"
                      "  before: %s\n  now:    %s" % (baseline, now),
                      file=sys.stderr)
                failed = True
            else:
                print("fds: %d open, %d children, as after the greeting" %
                      (len(now[0]), len(now[1])))
        elif kind == "shut":
            proc.stdin.close()
        else:
            print("fault-session: unknown action %s" % action, file=sys.stderr)
            return 100
    try:
        proc.stdin.close()
    except OSError:
        pass
    deadline = time.monotonic() + timeout
    while read_some(deadline):
        pass
    try:
        status = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
    print("exit %d" % status)
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
