#!/usr/bin/python3
"""crash-client.py: kill smtpd with SIGKILL in the middle of a stream of
pipelined messages, again and again, and check the Maildir each time.

    crash-client.py [--kills N] [--messages M] [--seed S] SMTPD MAILDIR

Each round starts `SMTPD maildir MAILDIR` on pipes (environment: PATH and
the caller's sanitizer variables only), sends EHLO, then M messages with
PIPELINING (RFC 2920): MAIL, RCPT and DATA in one write, the body after
the 354, and the next MAIL, RCPT, DATA right behind the final dot.  It
records which messages got their 250, and kills smtpd with SIGKILL at a
random point: after a random number of octets of the stream were
written, or after a random time.  Then, with smtpd dead, the Maildir
must show:

  - every message that got 250 is in new/, once, complete;
  - every file in new/ is a complete message (none is cut short), and
    they are the first ones sent, in order (a stored message may lack
    its 250 when smtpd died after the commit, before the reply);
  - no message was refused;
  - tmp/ holds at most one file, of the transaction that was cut (a
    prefix of it), or the last stored message when the kill came
    between link() and unlink().

Leftovers in tmp/ are then removed (as a Maildir reader's 36-hour rule
would) and the next round begins.  A last round without a kill checks
that the Maildir still takes mail.  Messages are numbered uniquely:
"Subject: crash ROUND-N LINES", lines "ROUND-N k ...", so any file can
be checked against what was sent.

Prints one line per round and a summary; exit 0 when every check held,
1 otherwise.  Python standard library only.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time


ENVELOPE = (b"MAIL FROM:<a@crash.test>\r\nRCPT TO:<b@crash.test>\r\n"
            b"DATA\r\n")


def message(ident, nlines):
    """The message text as sent (CRLF, no line starts with a dot)."""
    out = [b"Subject: crash %s %d\r\n" % (ident.encode(), nlines), b"\r\n"]
    for k in range(nlines):
        out.append(b"%s %06d %s\r\n" % (ident.encode(), k, b"x" * (k % 61)))
    out.append(b"END %s\r\n" % ident.encode())
    return b"".join(out)


def stored_form(ident, nlines):
    """What the Maildir file holds after the trace fields: LF ends."""
    return message(ident, nlines).replace(b"\r\n", b"\n")


def parse_file(data):
    """(ident, nlines, body) of a stored file, or None without Subject."""
    pos = data.find(b"\nSubject: crash ")
    if pos < 0:
        return None
    line_end = data.find(b"\n", pos + 1)
    if line_end < 0:
        return None
    fields = data[pos + 1:line_end].split()
    if len(fields) != 4:
        return None
    return fields[2].decode(), int(fields[3]), data[pos + 1:]


class Replies(threading.Thread):
    """Reads smtpd's output; keeps the final line of every reply."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd = fd
        self.finals = []
        self.cond = threading.Condition()
        self.done = False

    def run(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                if len(line) >= 4 and line[3:4] == b"-":
                    continue
                with self.cond:
                    self.finals.append(line.decode("latin-1"))
                    self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait_for(self, count, timeout=30):
        """Wait until `count` replies arrived; False on EOF or time."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.finals) < count and not self.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return len(self.finals) >= count


def smtpd_env():
    env = {"PATH": "/usr/bin:/bin"}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class Round:
    def __init__(self, args, number, rng, kill):
        self.args = args
        self.number = number
        self.rng = rng
        self.kill = kill
        self.written = 0
        self.kill_at = None
        self.killed = False
        self.messages = []
        for n in range(args.messages):
            # Sizes from 100 octets to about 400 KB, log-uniform.
            nlines = int(10 ** rng.uniform(0.5, 4.0))
            self.messages.append(("%d-%d" % (number, n), nlines))

    def write(self, proc, data):
        """Write data, or only up to the kill offset, then kill."""
        if self.kill_at is not None and self.written + len(data) >= self.kill_at:
            data = data[:self.kill_at - self.written]
            self.send(proc, data)
            self.do_kill(proc)
            return False
        return self.send(proc, data)

    def send(self, proc, data):
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        self.written += len(data)
        return True

    def do_kill(self, proc):
        if not self.killed:
            self.killed = True
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def run(self, err):
        args = self.args
        stream = len(b"EHLO crash.test\r\n") + sum(
            len(ENVELOPE) + len(message(i, n)) + 3 for i, n in self.messages)
        timer = None
        proc = subprocess.Popen([args.smtpd, "maildir", args.maildir],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=err, env=smtpd_env(), bufsize=0)
        replies = Replies(proc.stdout.fileno())
        replies.start()
        if self.kill == "offset":
            self.kill_at = self.rng.randrange(0, stream)
        elif self.kill == "time":
            # Anywhere in a session as long as the ones seen so far.
            delay = self.rng.uniform(0.0, args.typical)
            timer = threading.Timer(delay, self.do_kill, (proc,))
            timer.start()
        start = time.monotonic()
        ok = self.converse(proc, replies)
        if ok and not self.killed:
            args.typical = max(args.typical, time.monotonic() - start)
        if not self.killed and self.kill is not None:
            # The stream ended before the kill point: kill now, while
            # smtpd may still be committing the last message.
            self.do_kill(proc)
        if timer is not None:
            timer.cancel()
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.do_kill(proc)
            proc.wait()
        replies.join(10)
        return ok, replies.finals, proc.returncode

    def converse(self, proc, replies):
        """Greeting, EHLO, then the messages; False when cut off."""
        if not replies.wait_for(1):
            return False
        if not self.write(proc, b"EHLO crash.test\r\n"):
            return False
        envelope = ENVELOPE
        pending = envelope
        for n, (ident, nlines) in enumerate(self.messages):
            if not self.write(proc, pending):
                return False
            # Greeting, EHLO, then MAIL RCPT DATA end for each message.
            if not replies.wait_for(2 + 4 * n + 3):
                return False
            if not replies.finals[2 + 4 * n + 2].startswith("354"):
                return False
            pending = message(ident, nlines) + b".\r\n"
            if n + 1 < len(self.messages):
                pending += envelope
        # A round with a kill sends no QUIT: smtpd must die, not exit.
        if self.kill is None:
            pending += b"QUIT\r\n"
        if not self.write(proc, pending):
            return False
        return replies.wait_for(2 + 4 * len(self.messages) +
                                (1 if self.kill is None else 0))

    def acked(self, finals):
        """The messages whose final dot got 250."""
        out = []
        for n, (ident, nlines) in enumerate(self.messages):
            i = 2 + 4 * n + 3
            if i < len(finals) and finals[i].startswith("250"):
                out.append((ident, nlines))
        return out


def list_dir(path):
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def check(args, rnd, finals, seen_new, problems):
    """Check the Maildir after a round; returns (acked, stored, tmp)."""
    md = args.maildir
    order = [ident for ident, _ in rnd.messages]
    sent = dict(rnd.messages)
    acked = rnd.acked(finals)
    for n in range(len(rnd.messages)):
        i = 2 + 4 * n + 3
        if i < len(finals) and not finals[i].startswith("250"):
            problems.append("%s refused: %s" % (order[n], finals[i]))
    stored = {}
    for name in list_dir(os.path.join(md, "new")):
        if name in seen_new:
            continue
        seen_new.add(name)
        with open(os.path.join(md, "new", name), "rb") as f:
            data = f.read()
        parsed = parse_file(data)
        if parsed is None:
            problems.append("new/%s: not one of ours: %r" % (name, data[:200]))
            continue
        ident, nlines, body = parsed
        if ident in stored:
            problems.append("new/%s: %s stored twice" % (name, ident))
        stored[ident] = name
        if ident not in sent or sent[ident] != nlines:
            problems.append("new/%s: %s was not sent this round" % (name, ident))
            continue
        if body != stored_form(ident, nlines):
            problems.append("new/%s: %s is incomplete (%d of %d octets)" %
                            (name, ident, len(body),
                             len(stored_form(ident, nlines))))
    # Messages are committed in order, each before its 250 is sent: the
    # acknowledged ones are a prefix of the stored ones, which are a
    # prefix of those sent.  More stored than acknowledged means smtpd
    # died after the commit and before the reply reached us.
    nstored = len(stored)
    if set(stored) != set(order[:nstored]):
        problems.append("new/ holds %s, not the first %d sent" %
                        (sorted(stored), nstored))
    if len(acked) > nstored or [i for i, _ in acked] != order[:len(acked)]:
        problems.append("acknowledged %s, stored only %s" %
                        ([i for i, _ in acked], sorted(stored)))
    # tmp/: at most the message that was cut (the first not in new/), or
    # the last stored one when the kill fell between link and unlink.
    tmp = list_dir(os.path.join(md, "tmp"))
    if len(tmp) > 1:
        problems.append("tmp/ holds %d files: %s" % (len(tmp), tmp))
    cut = order[nstored] if nstored < len(order) else None
    last = order[nstored - 1] if nstored > 0 else None
    for name in tmp:
        path = os.path.join(md, "tmp", name)
        with open(path, "rb") as f:
            data = f.read()
        parsed = parse_file(data)
        if parsed is not None:
            ident, nlines, body = parsed
            want = stored_form(ident, nlines)
            if ident == cut and want.startswith(body):
                pass
            elif ident == last and body == want:
                pass
            else:
                problems.append("tmp/%s: %s (%d octets) is neither a prefix "
                                "of the message cut (%s) nor the last one "
                                "stored" % (name, ident, len(body), cut))
        elif not (data.startswith(b"Return-Path:") or
                  b"Return-Path:".startswith(data)):
            problems.append("tmp/%s: unexpected content %r" % (name, data[:100]))
        os.unlink(path)
    return len(acked), nstored, len(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--messages", type=int, default=6)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("smtpd")
    ap.add_argument("maildir")
    args = ap.parse_args()
    args.typical = 0.01
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print("# seed %d" % seed)
    problems = []
    seen_new = set()
    totals = [0, 0, 0, 0]
    with open(os.environ.get("CRASH_ERR", "/dev/null"), "ab") as err:
        for number in range(args.kills + 1):
            kill = None
            if number < args.kills:
                kill = "offset" if number % 2 == 0 else "time"
            rnd = Round(args, number, rng, kill)
            before = len(problems)
            ok, finals, status = rnd.run(err)
            acked, stored, tmp = check(args, rnd, finals, seen_new, problems)
            if kill is None:
                if status != 0 or acked != len(rnd.messages):
                    problems.append("round %d without a kill: exit %s, %d of "
                                    "%d accepted" % (number, status, acked,
                                                     len(rnd.messages)))
            elif status != -signal.SIGKILL:
                problems.append("round %d: smtpd exited %s before the kill" %
                                (number, status))
            totals[0] += acked
            totals[1] += stored
            totals[2] += tmp
            totals[3] += rnd.killed
            print("# round %d: %s kill, %d octets written, %d acked, %d in "
                  "new/, %d in tmp/%s" %
                  (number, kill or "no", rnd.written, acked, stored, tmp,
                   "" if len(problems) == before else ": PROBLEM"))
    for p in problems:
        print("problem: %s" % p)
    print("kills %d, acked %d, stored %d, cut in tmp %d, problems %d" %
          (totals[3], totals[0], totals[1], totals[2], len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
