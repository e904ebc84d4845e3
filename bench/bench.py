#!/usr/bin/python3
"""bench.py: smtpd against the floor program, side by side in one run.

Run by bench/run.sh (`make bench`), which installs the tools and builds
the programs first.  Servers listen on 127.0.0.1 only; Maildirs and
spools go to one temporary directory on disk that is removed at the end;
the 1 GB message is generated on the fly, never stored.

For each delivery target that smtpd has (maildir, pipe, qmail-queue) and
each build (musl static: ./smtpd, the production build, beside the floor
built with musl-gcc -static; glibc dynamic: smtpd-glibc; glibc static:
smtpd-static), smtpd and the floor (bench/floor.c) built the same way
are measured in turns:
  1. instructions (valgrind callgrind, children included) for a
     1-message session fed on stdin as one pipelined write, and per
     further message: (N=11 - N=1) / 10;
  2. sessions/s: 2000 sessions of one 1 KB message, 20 at a time, under
     tcpserver, with Postfix's smtp-source as the client;
  3. messages/s: the same 2000 messages, 100 per session;
  4. MB/s and peak RSS (GNU time -v) for one 50 MB message, and the
     peak RSS of a 1 KB and a 1 GB one (the least of a few runs; growth
     from 1 KB to 1 GB is judged on the static builds, whose RSS does
     not vary from run to run);
  and, for information, system calls per session and per further message
  (strace -f -c).  The glibc builds get (1), (2), the system calls and
  RSS (--full-static: everything).  Then bench/peers.py's table: the
  builds, the floors, Postfix, aiosmtpd and mailfront side by side.
Rates are the best of --rounds runs, smtpd and the floor alternating
which goes first: a shared machine slows a run down, never speeds it up.
Instruction and system call counts are exact and need one run.

Prints a table of ratios to the floor with their targets and writes it
as Markdown to build/bench/results.md for bench/README.md.  The
production build (musl static) is held to the targets of issue 15: under
40,000 instructions for a one-message session, per further message at
most 1.5 times the floor's, and at least 0.95 of its one-message sessions
per second.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

from peers import PeerTable, sum_callgrind

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "bench")
TARGETS = ("maildir", "pipe", "qmail-queue")
WHO = ("smtpd", "floor")
# The builds, each smtpd's beside the floor built the same way: ./smtpd is
# the production build (musl static when musl-gcc is there, Makefile).
BUILDS = {
    "musl static": {"smtpd": os.path.join(ROOT, "smtpd"),
                    "floor": os.path.join(BIN, "floor-musl")},
    "glibc dynamic": {"smtpd": os.path.join(ROOT, "smtpd-glibc"),
                      "floor": os.path.join(BIN, "floor")},
    "glibc static": {"smtpd": os.path.join(ROOT, "smtpd-static"),
                     "floor": os.path.join(BIN, "floor-static")},
}
MB = 1024 * 1024
MSG_LEN = 1024			# payload of the small messages
BIG = 50 * MB
HUGE = 1024 * MB
FURTHER = 10			# N = 1 + FURTHER for the per-message count
# The static build's RSS may differ this much without growing with the
# message: a 1 KB message touches only the start of the 64 KB input and
# body buffers.
RSS_SLACK_KB = 160
# The generator of the big messages: 78-octet dot-stuffed lines, in
# 64 KB writes.
GENERATOR = r"""
import sys
size = int(sys.argv[1])
w = sys.stdout.buffer.write
w(b"EHLO bench.example\r\nMAIL FROM:<bench@example.org>\r\n"
  b"RCPT TO:<rcpt@example.net>\r\nDATA\r\nSubject: big\r\n\r\n")
line = b"." + b"x" * 76 + b"\r\n"
block = line * (65536 // len(line))
for _ in range(size // len(block)):
    w(block)
w(b".\r\nQUIT\r\n")
"""


def die(msg):
    sys.exit("bench: " + msg)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="smtpd-bench.", dir=args.tmpdir)
        self.env = {
            "PATH": "/usr/bin:/bin",
            "TMPDIR": self.tmp,
            "DATABYTES": str(2 * HUGE),	# up to the 1 GB message
            "TIMEOUT": "60",
        }
        # (section, measure, smtpd, floor, ratio, target, verdict)
        self.results = []
        self.notes = []
        self.inputs = {}
        # musl first (the production build, every measure), when there
        self.builds = [b for b in BUILDS
                       if os.path.exists(BUILDS[b]["floor"])]

    # ------------------------------------------------------------ helpers

    def argv(self, who, build, target, maildir):
        prog = BUILDS[build][who]
        if target == "maildir":
            return [prog, "maildir", maildir]
        if target == "pipe":
            return [prog, "pipe", os.path.join(BIN, "sink-pipe")]
        return [prog, "qmail-queue", os.path.join(BIN, "sink-qq")]

    def fresh_dir(self, name):
        d = os.path.join(self.tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        return d

    @staticmethod
    def message():
        """The 1 KB message as sent: CRLF, some lines dot-stuffed."""
        head = (b"From: <bench@example.org>\r\nTo: <rcpt@example.net>\r\n"
                b"Subject: bench\r\nMessage-ID: <bench@example.org>\r\n\r\n")
        line = b".." + b"x" * 75 + b"\r\n"
        return head + line * ((MSG_LEN - len(head)) // len(line))

    def session_input(self, nmsg):
        """A file holding a whole session of nmsg messages, as a client
        that pipelines everything would send it in one write."""
        if nmsg in self.inputs:
            return self.inputs[nmsg]
        out = [b"EHLO bench.example\r\n"]
        for _ in range(nmsg):
            out.append(b"MAIL FROM:<bench@example.org>\r\n"
                       b"RCPT TO:<rcpt@example.net>\r\nDATA\r\n")
            out.append(self.message() + b".\r\n")
        out.append(b"QUIT\r\n")
        path = os.path.join(self.tmp, "in.%d" % nmsg)
        self.write_synced(path, b"".join(out))
        self.inputs[nmsg] = path
        return path

    @staticmethod
    def write_synced(path, data):
        # Written back now, so that no later fsync of a measured program
        # has to flush it (ext4's ordered mode would).
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def run_stdin(self, argv, infile, wrap=()):
        with open(infile, "rb") as f:
            p = subprocess.run(list(wrap) + argv, stdin=f,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=self.env)
        self.check_replies(argv, p.stdout, p.stderr)
        return p

    @staticmethod
    def check_replies(argv, out, err):
        codes = re.findall(rb"^(\d{3})[ -]", out, re.M)
        if (not codes or codes[-1] != b"221" or
                any(c[:1] in (b"4", b"5") for c in codes)):
            die("%s failed:\n%s\n%s" % (
                " ".join(argv), out.decode(errors="replace")[-600:],
                err.decode(errors="replace")[-600:]))

    def has_target(self, target):
        """Does this smtpd deliver to target (it may not be built yet)?"""
        argv = self.argv("smtpd", self.builds[0], target,
                         self.fresh_dir("probe"))
        with open(self.session_input(1), "rb") as f:
            p = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=self.env)
        return re.search(rb"^354 .*\n250 ", p.stdout, re.M) is not None

    def check_same_message(self):
        """smtpd and the floor must store the same message (LF line ends,
        dot-unstuffed) after their trace fields: else the floor would be
        measuring something else."""
        want = (self.message().replace(b"\r\n", b"\n")
                .replace(b"\n..", b"\n."))
        for who in WHO:
            for build in self.builds:
                md = self.fresh_dir("check")
                self.run_stdin(self.argv(who, build, "maildir", md),
                               self.session_input(1))
                names = os.listdir(os.path.join(md, "new"))
                if len(names) != 1:
                    die("%s stored %d messages, not 1" % (who, len(names)))
                with open(os.path.join(md, "new", names[0]), "rb") as f:
                    got = f.read()
                if not got.endswith(b"\n" + want):
                    die("%s stored the message differently:\n%r" % (
                        who, got[-300:]))
        shutil.rmtree(md)

    # ------------------------------------------------------- measurements

    def instructions(self, who, build, target, nmsg):
        out = self.fresh_dir("cg")
        os.mkdir(out)
        wrap = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                "--callgrind-out-file=" + os.path.join(out, "cg.%p")]
        self.run_stdin(self.argv(who, build, target, self.fresh_dir("md")),
                       self.session_input(nmsg), wrap=wrap)
        total = sum_callgrind(out)
        shutil.rmtree(out)
        return total

    def syscalls(self, who, build, target, nmsg):
        log = os.path.join(self.tmp, "strace")
        wrap = ["strace", "-f", "-c", "-o", log]
        self.run_stdin(self.argv(who, build, target, self.fresh_dir("md")),
                       self.session_input(nmsg), wrap=wrap)
        with open(log) as f:
            for line in f:
                if line.rstrip().endswith("total"):
                    # % time, seconds, usecs/call, calls, [errors,] total
                    return int(line.split()[3])
        die("no strace summary for %s" % who)

    def process_us(self, who, build, target):
        """Microseconds per process, spawn to exit, of a one-message
        session on stdin (bench/spawnloop.c, 500 in a row), with the
        environment tcpserver gives and the Maildir on tmpfs when there
        is one: what the process itself costs, without the client, TCP
        and fsync, which make the sessions/s runs noisy."""
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else self.tmp
        md = tempfile.mkdtemp(prefix="smtpd-bench-md.", dir=shm)
        env = dict(self.env, PROTO="TCP", TCPREMOTEIP="127.0.0.1",
                   TCPREMOTEPORT="40000", TCPLOCALIP="127.0.0.1",
                   TCPLOCALPORT="25", TCPLOCALHOST="bench.example")
        try:
            p = subprocess.run(
                [os.path.join(BIN, "spawnloop"), "500",
                 self.session_input(1)] + self.argv(who, build, target, md),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        finally:
            shutil.rmtree(md, ignore_errors=True)
        if p.returncode != 0:
            die("spawnloop: %s" % p.stderr.decode(errors="replace"))
        return float(p.stdout)

    def start_server(self, argv):
        """tcpserver on 127.0.0.1, on a port the kernel picks (-1 prints
        it); returns (process, port)."""
        log = open(os.path.join(self.tmp, "server.log"), "wb")
        p = subprocess.Popen(
            ["tcpserver", "-v", "-1", "-HR", "-l", "bench.example",
             "-c", "20", "-b", "64", "127.0.0.1", "0"] + argv,
            stdout=subprocess.PIPE, stderr=log, env=self.env)
        log.close()
        port = p.stdout.readline().strip()
        if not port.isdigit():
            p.kill()
            p.wait()
            die("tcpserver did not start: %s" % " ".join(argv))
        return p, int(port)

    def rate(self, who, build, target, per_session):
        """The 2000 messages of 1 KB, 20 sessions at a time, per_session
        in each; returns messages (= sessions, for 1) per second.  A run
        that fails is tried once more (and noted): a busy shared machine
        has been seen to lose a connection."""
        try:
            return self.rate_once(who, build, target, per_session)
        except RuntimeError as e:
            self.notes.append("%s %s: a rate run failed and was repeated: "
                              "%s" % (who, target, e))
            print("bench: retrying: %s" % e, flush=True)
            return self.rate_once(who, build, target, per_session)

    def rate_once(self, who, build, target, per_session):
        n = self.args.messages
        md = self.fresh_dir("md")
        server, port = self.start_server(self.argv(who, build, target, md))
        cmd = ["smtp-source", "-s", "20", "-m", str(n), "-l", str(MSG_LEN),
               "-M", "bench.example", "-f", "bench@example.org",
               "-t", "rcpt@example.net"]
        if per_session > 1:
            cmd.append("-d")	# all messages of a session on one
        cmd.append("127.0.0.1:%d" % port)
        try:
            t0 = time.perf_counter()
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=120)
            dt = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait()
        if p.returncode != 0:
            with open(os.path.join(self.tmp, "server.log"), "rb") as f:
                log = f.read().decode(errors="replace")
            # The first unusual lines (tcpserver -v, smtpd's log) tell
            # what went wrong; what follows is smtp-source giving up.
            odd = [l for l in log.splitlines()
                   if not re.search(r"info: \S+: (connect from|end: quit|"
                                    r"from <)|^tcpserver: (status|pid|ok) |"
                                    r"^tcpserver: end \d+ status 0$", l)]
            raise RuntimeError("smtp-source: %s; server log: %s" % (
                p.stderr.decode(errors="replace").strip()[-200:],
                " | ".join(odd[:4]) or "nothing unusual"))
        if target == "maildir":
            stored = len(os.listdir(os.path.join(md, "new")))
            if stored != n:
                raise RuntimeError("%s stored %d of %d messages" % (
                    who, stored, n))
        shutil.rmtree(md, ignore_errors=True)
        return n / dt

    def peak_rss(self, log):
        with open(log) as f:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                          f.read())
        if m is None:
            die("no peak RSS in GNU time's output")
        return int(m.group(1))

    def big(self, who, build, target, size):
        """One message of size octets (the 50 MB one from a file on disk,
        any other generated into a pipe); returns (MB/s, peak RSS KB).
        The time is the program's whole run: start, the message, the
        fsyncs and the exit."""
        argv = self.argv(who, build, target, self.fresh_dir("md"))
        tlog = os.path.join(self.tmp, "time")
        gen = None
        if size == BIG:
            src = open(self.big_input, "rb")
        else:
            gen = subprocess.Popen([sys.executable, "-c", GENERATOR,
                                    str(size)], stdout=subprocess.PIPE)
            src = gen.stdout
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tlog] + argv,
                           stdin=src, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=self.env)
        dt = time.perf_counter() - t0
        src.close()
        if gen is not None:
            gen.wait()
        self.check_replies(argv, p.stdout, p.stderr)
        shutil.rmtree(os.path.join(self.tmp, "md"), ignore_errors=True)
        return size / MB / dt, self.peak_rss(tlog)

    def small_rss(self, who, build, target):
        tlog = os.path.join(self.tmp, "time")
        self.run_stdin(self.argv(who, build, target, self.fresh_dir("md")),
                       self.session_input(1),
                       wrap=["/usr/bin/time", "-v", "-o", tlog])
        return self.peak_rss(tlog)

    # ------------------------------------------------------------- table

    def add(self, section, label, s, f, goal, higher_is_better, fmt,
            below=None):
        """goal: for the ratio to the floor; below: a bound on smtpd's
        own figure instead (it must stay under it)."""
        ratio = s / f if f else float("nan")
        verdict = ""
        if below is not None:
            verdict = "ok" if s < below else "MISS"
            g = "< {:,}".format(below)
        else:
            if goal is not None:
                met = ratio >= goal if higher_is_better else ratio <= goal
                verdict = "ok" if met else "MISS"
            g = "" if goal is None else ("≥ %g" if higher_is_better
                                         else "≤ %g") % goal
        self.results.append((section, label, fmt % s, fmt % f,
                             "%.2f" % ratio, g, verdict))
        self.print_row(self.results[-1])

    @staticmethod
    def print_row(r):
        print("  %-38s %10s %10s %6s %6s %4s" % r[1:], flush=True)

    def section(self, name):
        print("\n" + name, flush=True)
        self.print_row(("", "", "smtpd", "floor", "ratio", "target", ""))

    def turns(self, fn, rounds):
        """fn(who) for both, rounds times, alternating who goes first;
        returns {who: [results]}."""
        out = {w: [] for w in WHO}
        for i in range(rounds):
            for w in (WHO if i % 2 else WHO[::-1]):
                out[w].append(fn(w))
        return out

    def run_target(self, target, build):
        sec = "%s, %s" % (target, build)
        prod = build == "musl static"
        # the glibc builds: the start-up measures only (--full-static: all)
        short = build != "musl static" and not self.args.full_static
        self.section(sec)
        one = {w: self.instructions(w, build, target, 1) for w in WHO}
        more = {w: (self.instructions(w, build, target, 1 + FURTHER) -
                    one[w]) / FURTHER for w in WHO}
        self.add(sec, "instructions, 1-message session", one["smtpd"],
                 one["floor"], 1.5, False, "%d",
                 below=40000 if prod else None)
        self.add(sec, "instructions per further message", more["smtpd"],
                 more["floor"], 1.5 if prod else 2, False, "%d")
        if self.args.syscalls:
            one = {w: self.syscalls(w, build, target, 1) for w in WHO}
            more = {w: (self.syscalls(w, build, target, 1 + FURTHER) -
                        one[w]) / FURTHER for w in WHO}
            self.add(sec, "system calls, 1-message session", one["smtpd"],
                     one["floor"], None, False, "%d")
            self.add(sec, "system calls per further message",
                     more["smtpd"], more["floor"], None, False, "%.1f")
        r = self.turns(lambda w: self.rate(w, build, target, 1),
                       self.args.rounds)
        self.add(sec, "sessions/s (1 KB, 20 at a time)", max(r["smtpd"]),
                 max(r["floor"]), 0.95 if prod else 0.9, True, "%.0f")
        if target == "maildir" and os.path.exists(
                os.path.join(BIN, "spawnloop")):
            r = self.turns(lambda w: self.process_us(w, build, target),
                           max(self.args.rounds, 5))
            self.add(sec, "µs per process, 1-message session",
                     min(r["smtpd"]), min(r["floor"]), None, False, "%.0f")
        if short:
            self.rss(sec, build, target, None)
            return
        r = self.turns(lambda w: self.rate(w, build, target, 100),
                       self.args.rounds)
        self.add(sec, "messages/s (100 per session)", max(r["smtpd"]),
                 max(r["floor"]), 0.9, True, "%.0f")
        # 50 MB takes a fraction of a second: more rounds, same budget.
        big = self.turns(lambda w: self.big(w, build, target, BIG),
                         max(self.args.rounds, 5))
        self.add(sec, "MB/s, one 50 MB message",
                 max(x[0] for x in big["smtpd"]),
                 max(x[0] for x in big["floor"]), 0.8, True, "%.0f")
        self.rss(sec, build, target, big)

    def rss(self, sec, build, target, big):
        """Peak RSS for 1 KB, 50 MB (from big, when measured) and 1 GB.
        A dynamically linked program's peak RSS differs by up to 300 KB
        from run to run (how many of the shared libraries' pages it
        maps), a static one's by a page or two: the least of a few runs
        is taken, and whether memory grows with the message
        is judged on the static build."""
        static = build != "glibc dynamic"
        small = self.turns(lambda w: self.small_rss(w, build, target),
                           3 if static else 5)
        small = {w: min(small[w]) for w in WHO}
        self.add(sec, "peak RSS KB, 1 KB message", small["smtpd"],
                 small["floor"], 1.5, False, "%d")
        if big is not None:
            self.add(sec, "peak RSS KB, 50 MB message",
                     min(x[1] for x in big["smtpd"]),
                     min(x[1] for x in big["floor"]), 1.5, False, "%d")
        if not self.args.huge:
            return
        huge = self.turns(lambda w: self.big(w, build, target, HUGE)[1],
                          1 if static else 3)
        huge = {w: min(huge[w]) for w in WHO}
        self.add(sec, "peak RSS KB, 1 GB message", huge["smtpd"],
                 huge["floor"], 1.5, False, "%d")
        if not static:
            return
        grow = {w: huge[w] - small[w] for w in WHO}
        r = (sec, "RSS growth KB, 1 KB to 1 GB", "%+d" % grow["smtpd"],
             "%+d" % grow["floor"], "", "≤ +%d" % RSS_SLACK_KB,
             "ok" if grow["smtpd"] <= RSS_SLACK_KB else "MISS")
        self.results.append(r)
        self.print_row(r)

    def header(self):
        cpu = "unknown CPU"
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            if m:
                cpu = m.group(1).strip()
        cc = subprocess.run([os.environ.get("CC", "cc"), "--version"],
                            stdout=subprocess.PIPE,
                            text=True).stdout.splitlines()[0]
        self.machine = "%s, %d cores, Linux %s, %s" % (
            cpu, os.cpu_count(), platform.release(), cc)
        self.date = datetime.date.today().isoformat()
        return "smtpd bench, %s: %s; rates: best of %d" % (
            self.date, self.machine, self.args.rounds)

    def compact_table(self):
        """One row per measure, one column per target and build: the
        form bench/README.md shows."""
        cols = []
        for r in self.results:
            if r[0] not in cols:
                cols.append(r[0])
        rows = []
        for r in self.results:
            label = r[1] + (" (%s)" % r[5] if r[5] else "")
            if label not in rows:
                rows.append(label)
        cell = {}
        for r in self.results:
            label = r[1] + (" (%s)" % r[5] if r[5] else "")
            if r[4]:
                v = "%s / %s = **%s**" % (r[2], r[3], r[4])
            else:
                v = "%s / %s" % (r[2], r[3])
            if r[6] == "MISS":
                v += " ✗"
            cell[(label, r[0])] = v
        out = ["| smtpd / floor | " + " | ".join(cols) + " |",
               "|---|" + "---|" * len(cols)]
        for label in rows:
            out.append("| %s | %s |" % (label, " | ".join(
                cell.get((label, c), "") for c in cols)))
        return out

    def write_markdown(self):
        out = ["Measured %s on %s; rates are the best of %d runs "
               "(MB/s of %d)." % (self.date, self.machine, self.args.rounds,
                                  max(self.args.rounds, 5)), "",
               "| target, build | measure | smtpd | floor | ratio | target |",
               "|---|---|---:|---:|---:|---|"]
        for r in self.results:
            goal = (r[5] + " " + r[6]).strip()
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                r[0], r[1], r[2], r[3], r[4], goal))
        out += ["", "The same, one column per target (✗: target missed):",
                ""] + self.compact_table()
        for n in self.notes:
            out.append("")
            out.append(n)
        path = os.path.join(BIN, "results.md")
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        print("\nbench: table written to %s" % os.path.relpath(path, ROOT))

    def main(self):
        t0 = time.time()
        try:
            print(self.header(), flush=True)
            self.check_same_message()
            self.big_input = os.path.join(self.tmp, "in.big")
            gen = subprocess.run([sys.executable, "-c", GENERATOR, str(BIG)],
                                 stdout=subprocess.PIPE, check=True)
            self.write_synced(self.big_input, gen.stdout)
            targets = [t for t in TARGETS if t in self.args.targets]
            for t in targets:
                if not self.has_target(t):
                    self.notes.append("%s: not in this smtpd yet, not "
                                      "measured." % t)
            targets = [t for t in targets if self.has_target(t)]
            if not self.args.peers_only:
                for build in self.builds[:1 + 2 * self.args.static]:
                    for t in targets:
                        self.run_target(t, build)
            if self.args.peers:
                PeerTable(self).run()
            self.write_markdown()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for n in self.notes:
            print("note: " + n)
        misses = sum(1 for r in self.results if r[6] == "MISS")
        print("bench: %d measurements, %d targets missed, %.0f s" % (
            len(self.results), misses, time.time() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5,
                    help="runs per rate, best kept (default 5)")
    ap.add_argument("--messages", type=int, default=2000,
                    help="messages per rate run (default 2000)")
    ap.add_argument("--targets", default=",".join(TARGETS),
                    help="comma-separated (default: all three)")
    ap.add_argument("--no-huge", dest="huge", action="store_false",
                    help="skip the 1 GB message")
    ap.add_argument("--no-static", dest="static", action="store_false",
                    help="only the first build (musl static when there)")
    ap.add_argument("--full-static", action="store_true",
                    help="every measure for the glibc builds too")
    ap.add_argument("--no-peers", dest="peers", action="store_false",
                    help="skip the table of peers (bench/peers.py)")
    ap.add_argument("--peers-only", action="store_true",
                    help="only the table of peers")
    ap.add_argument("--no-idle", dest="idle", action="store_false",
                    help="skip the 1,000 idle sessions of the peer table")
    ap.add_argument("--no-syscalls", dest="syscalls", action="store_false")
    ap.add_argument("--tmpdir", default=None,
                    help="where Maildirs and spools go (default: TMPDIR "
                    "or /tmp; a disk, not a tmpfs, for real fsyncs)")
    args = ap.parse_args()
    args.targets = args.targets.split(",")
    Bench(args).main()


if __name__ == "__main__":
    main()
