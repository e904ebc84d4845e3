"""peers.py: smtpd's builds, the floors and three peers in one table, for
bench.py (`make bench`; bench.py --peers-only runs only this).

Every one is measured durable (a 250 after DATA means on disk, fsync),
storing into a Maildir, on 127.0.0.1, with the same client (Postfix's
smtp-source) in the same run:
  smtpd         ./smtpd (the production build: musl static when musl-gcc
                is there), smtpd-glibc (dynamic), smtpd-static (glibc
                static), each under tcpserver, one process per session;
  floor         bench/floor.c, glibc dynamic and musl static;
  Postfix       a private instance (its own main.cf, master.cf and queue
                directory under the benchmark's temporary directory):
                resident smtpd processes, cleanup (fsync of the queue
                file before the 250), qmgr, then virtual(8) into a
                Maildir; only its smtpd listens, on a port of its own;
  aiosmtpd      Debian's python3-aiosmtpd, its Mailbox handler, then an
                fsync of the file and of new/ (bench/aiosmtpd-maildir.py);
  mailfront     Debian's mailfront under tcpserver (smtp, the qmail
                back end) with bench/qq-maildir.c as its qmail-queue.

Measures: sessions/s (2000 one-message sessions of 1 KB, 20 at a time);
messages/s (the same 2000 messages, 100 per session); MB/s for one 50 MB
message over TCP; peak memory: the largest sum of the serving processes'
PSS (tcpserver not counted; every Postfix process counted) sampled every
10 ms during the 50 MB message; instructions (callgrind, children
included) for a one-message session and per further message: a program
started per session runs the session on stdin; a resident server
(Postfix, aiosmtpd) runs under callgrind twice, each time started, given
one session to warm up and stopped, once with K = 10 more sessions in
between: the difference over K is what a session costs it, not its
start-up (Postfix with one process of each kind for this, so that both
runs start the same processes).  Also the PSS sum of 1,000 idle
sessions, each greeted, for ./smtpd and Postfix.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "bench")
PY = "/usr/bin/python3"
POSTFIX_LIBEXEC = "/usr/lib/postfix/sbin"


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    """pid's descendants (not pid), from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, ()):
            out.append(k)
            todo.append(k)
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on port %d" % port)


def tcp_session(port, infile, timeout=120):
    """Send a whole session (a file of pipelined commands) and read the
    replies to the end; returns them."""
    with open(infile, "rb") as f:
        data = f.read()
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.settimeout(timeout)
    got = []
    try:
        got.append(s.recv(4096))	# the greeting first
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got.append(b)
    finally:
        s.close()
    return b"".join(got)


class Contender:
    """One server: started per measurement, listening on self.port."""
    resident = False

    def __init__(self, bench, name):
        self.b = bench
        self.name = name
        self.proc = None
        self.port = None

    def maildir(self):
        return os.path.join(self.b.tmp, "peer-md")

    def stored(self):
        try:
            return len(os.listdir(os.path.join(self.maildir(), "new")))
        except OSError:
            return 0

    def wait_stored(self, n, seconds=120):
        """Postfix stores after its 250 (queue, then virtual(8))."""
        end = time.time() + seconds
        while self.stored() < n and time.time() < end:
            time.sleep(0.05)
        return self.stored()

    def serving_pids(self):
        return children(self.proc.pid)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Tcpserver(Contender):
    """A program started per session by tcpserver; argv runs one session
    on stdin."""

    def __init__(self, bench, name, argv, env=None, limit=20):
        super().__init__(bench, name)
        self.argv_fn = argv
        self.extra_env = env or {}
        self.limit = limit

    def env(self):
        e = dict(self.b.env)
        for k, v in self.extra_env.items():
            e[k] = v.replace("@MD@", self.maildir())
        return e

    def session_argv(self):
        return self.argv_fn(self.maildir())

    def start(self):
        shutil.rmtree(self.maildir(), ignore_errors=True)
        os.makedirs(os.path.join(self.maildir(), "new"))
        os.makedirs(os.path.join(self.maildir(), "tmp"))
        os.makedirs(os.path.join(self.maildir(), "cur"))
        log = open(os.path.join(self.b.tmp, "peer-server.log"), "ab")
        self.proc = subprocess.Popen(
            ["tcpserver", "-1", "-HR", "-l", "bench.example",
             "-c", str(self.limit), "-b", "64", "127.0.0.1", "0"] +
            self.session_argv(),
            stdout=subprocess.PIPE, stderr=log, env=self.env())
        log.close()
        port = self.proc.stdout.readline().strip()
        if not port.isdigit():
            self.stop()
            raise RuntimeError("tcpserver did not start for %s" % self.name)
        self.port = int(port)

    def instructions(self, nmsg):
        out = os.path.join(self.b.tmp, "cg")
        shutil.rmtree(out, ignore_errors=True)
        os.mkdir(out)
        shutil.rmtree(self.maildir(), ignore_errors=True)
        e = self.env()
        e.update({"TCPREMOTEIP": "127.0.0.1", "TCPLOCALIP": "127.0.0.1",
                  "TCPLOCALPORT": "25", "TCPREMOTEPORT": "40000",
                  "PROTO": "TCP", "TCPLOCALHOST": "bench.example"})
        with open(self.b.session_input(nmsg), "rb") as f:
            p = subprocess.run(
                ["valgrind", "--tool=callgrind", "--trace-children=yes",
                 "--callgrind-out-file=" + os.path.join(out, "cg.%p")] +
                self.session_argv(), stdin=f, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=e)
        check_replies(self.name, p.stdout, nmsg)
        total = sum_callgrind(out)
        shutil.rmtree(out)
        return total


def sum_callgrind(out):
    total = 0
    for name in os.listdir(out):
        with open(os.path.join(out, name)) as f:
            for line in f:
                m = re.match(r"(?:summary|totals): (\d+)", line)
                if m:
                    total += int(m.group(1))
                    break
    return total


def check_replies(name, out, nmsg):
    codes = re.findall(rb"^(\d{3})[ -]", out, re.M)
    if (not codes or codes[-1] != b"221" or
            any(c[:1] in (b"4", b"5") for c in codes) or
            codes.count(b"354") != nmsg):
        raise RuntimeError("%s: the session failed: %r" % (
            name, out[-400:]))


class Resident(Contender):
    """A server that stays up across sessions (Postfix, aiosmtpd)."""
    resident = True

    def command(self):
        raise NotImplementedError

    def start(self, wrap=()):
        shutil.rmtree(self.maildir(), ignore_errors=True)
        self.prepare()
        self.port = free_port()
        log = open(os.path.join(self.b.tmp, "peer-server.log"), "ab")
        argv, env = self.command()
        self.proc = subprocess.Popen(list(wrap) + argv, env=env,
                                     stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        wait_port(self.port, self.proc, 300 if wrap else 60)

    def prepare(self):
        pass

    def instructions(self, nmsg):
        """Under callgrind (children too), by difference: started, one
        session to warm up, then K more, stopped; less the same with no
        more; divided by K.  (callgrind_control cannot reach Postfix's
        daemons once they have dropped root, so the counters are read
        at exit.)"""
        k = 10
        return (self.callgrind_run(nmsg, k) -
                self.callgrind_run(nmsg, 0)) / k

    def callgrind_run(self, nmsg, k):
        out = os.path.join(self.b.tmp, "cg")
        shutil.rmtree(out, ignore_errors=True)
        os.mkdir(out)
        self.start(wrap=["valgrind", "--tool=callgrind",
                         "--trace-children=yes",
                         "--callgrind-out-file=" + os.path.join(out, "cg.%p")])
        try:
            inp = self.b.session_input(nmsg)
            for i in range(1 + k):
                check_replies(self.name, tcp_session(self.port, inp), nmsg)
            self.wait_stored((1 + k) * nmsg, 300)
            time.sleep(1)	# Postfix: qmgr has virtual(8)'s answer
            # Each process's file was made when it started, as root;
            # Postfix's daemons write it at exit as the postfix user.
            for f in os.listdir(out):
                os.chmod(os.path.join(out, f), 0o666)
        finally:
            self.stop()
        total = sum_callgrind(out)
        shutil.rmtree(out, ignore_errors=True)
        return total

    def stop(self):
        if self.proc is None:
            return
        pids = [self.proc.pid] + self.serving_pids()
        self.shutdown()
        end = time.time() + 120	# under callgrind, each process dumps
        while time.time() < end and any(
                os.path.exists("/proc/%d" % p) and self.proc.pid != p
                for p in pids):
            time.sleep(0.1)
        try:
            self.proc.wait(max(1, end - time.time()))
        except subprocess.TimeoutExpired:
            pass
        for pid in pids:	# what is left of our own processes
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.wait()
        self.proc = None

    def shutdown(self):
        self.proc.terminate()


class Aiosmtpd(Resident):
    def command(self):
        return ([PY, os.path.join(ROOT, "bench", "aiosmtpd-maildir.py"),
                 str(self.port), self.maildir()], dict(self.b.env))


class Postfix(Resident):
    """A private Postfix: master -d in the foreground, config and queue
    in the benchmark's temporary directory; the 250 after DATA comes
    once cleanup has fsynced the queue file, virtual(8) then stores the
    message into the Maildir (with an fsync) on its own time."""

    SERVICES = """\
{port} inet n - n - {procs} smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""

    def __init__(self, bench, name, procs=100):
        super().__init__(bench, name)
        self.procs = procs
        self.dir = os.path.join(bench.tmp, "postfix")

    def maildir(self):
        return os.path.join(self.dir, "mail", "md")

    def prepare(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        self.port = free_port()
        etc = os.path.join(self.dir, "etc")
        os.makedirs(etc)
        pw = pwd.getpwnam("postfix")
        mail = os.path.join(self.dir, "mail")
        os.makedirs(os.path.join(self.dir, "data"))
        os.chown(os.path.join(self.dir, "data"), pw.pw_uid, pw.pw_gid)
        os.makedirs(mail)
        os.chown(mail, pw.pw_uid, pw.pw_gid)
        os.makedirs(os.path.join(self.dir, "queue"))
        os.chmod(self.dir, 0o755)
        os.chmod(self.b.tmp, 0o711)	# mkdtemp's 0700 keeps postfix out
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("\n".join([
                "compatibility_level = 3.6",
                "queue_directory = %s/queue" % self.dir,
                "data_directory = %s/data" % self.dir,
                "maillog_file = %s/maillog" % self.dir,
                "maillog_file_prefixes = %s" % self.dir,
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "myhostname = bench.example",
                "mydestination =",
                "mynetworks = 127.0.0.0/8",
                "local_transport = error:off",
                "alias_maps =",
                "alias_database =",
                "virtual_mailbox_domains = example.net",
                "virtual_mailbox_base = %s" % mail,
                "virtual_mailbox_maps = static:md/",
                "virtual_uid_maps = static:%d" % pw.pw_uid,
                "virtual_gid_maps = static:%d" % pw.pw_gid,
                "virtual_minimum_uid = 1",
                "virtual_mailbox_limit = 0",
                "message_size_limit = 0",
                "smtpd_peername_lookup = no",
                "smtpd_client_connection_count_limit = 0",
                "smtpd_client_event_limit_exceptions = 127.0.0.0/8",
                "default_process_limit = %d" % self.procs,
                "biff = no",
                ""]))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(self.SERVICES.format(port="127.0.0.1:%d" % self.port,
                                         procs=self.procs))
        subprocess.run(["/usr/sbin/postfix", "-c", etc, "check"], check=True,
                       stdout=subprocess.DEVNULL)

    def start(self, wrap=()):
        # prepare() picks the port: Resident.start must not pick another
        shutil.rmtree(self.maildir(), ignore_errors=True)
        self.prepare()
        log = open(os.path.join(self.b.tmp, "peer-server.log"), "ab")
        env = dict(self.b.env)
        env["MAIL_CONFIG"] = os.path.join(self.dir, "etc")
        self.proc = subprocess.Popen(
            list(wrap) + [os.path.join(POSTFIX_LIBEXEC, "master"), "-d",
                          "-c", env["MAIL_CONFIG"]],
            env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_port(self.port, self.proc, 300 if wrap else 60)

    def callgrind_run(self, nmsg, k):
        # One process of each kind, so that both runs start the same
        # processes: the master starts a second smtpd when the first is
        # busy, and a start-up costs more than a session.
        procs, self.procs = self.procs, 1
        try:
            return super().callgrind_run(nmsg, k)
        finally:
            self.procs = procs


def available(cmd):
    return shutil.which(cmd) is not None or os.path.exists(cmd)


class PssSampler:
    """The largest sum of the serving processes' PSS, sampled every 10 ms
    in a thread while a measurement runs."""

    def __init__(self, contender):
        import threading
        self.c = contender
        self.peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.c.memory_kb())
            self.done.wait(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def memory_kb(self):
    """PSS sum of what serves: tcpserver's children, or every process of
    a resident server."""
    pids = self.serving_pids()
    if self.resident:
        pids = [self.proc.pid] + pids
    return sum(pss_kb(p) for p in pids)


Contender.memory_kb = memory_kb


class PeerTable:
    MSG_LEN = 1024
    BIG = 50 * 1024 * 1024

    def __init__(self, bench):
        self.b = bench
        self.rows = []
        self.notes = []

    def contenders(self):
        def prog(path):
            return lambda md: [path, "maildir", md]
        c = []
        # --no-static: the first build only, as in bench.py's own table.
        builds = self.b.builds[:1 + 2 * self.b.args.static]
        for build, progs in (("musl static", ("smtpd", "floor-musl")),
                             ("glibc dynamic", ("smtpd-glibc", "floor")),
                             ("glibc static", ("smtpd-static", None))):
            if build not in builds:
                continue
            c.append(Tcpserver(self.b, "smtpd, " + build,
                               prog(os.path.join(ROOT, progs[0]))))
            if progs[1]:
                c.append(Tcpserver(self.b, "floor, " + build,
                                   prog(os.path.join(BIN, progs[1]))))
        if available(os.path.join(POSTFIX_LIBEXEC, "master")):
            c.append(Postfix(self.b, "Postfix (smtpd, cleanup, qmgr, "
                             "virtual)"))
        else:
            self.notes.append("Postfix: not installed, not measured.")
        if subprocess.run([PY, "-c", "import aiosmtpd"],
                          stderr=subprocess.DEVNULL).returncode == 0:
            c.append(Aiosmtpd(self.b, "aiosmtpd (Mailbox, fsync)"))
        else:
            self.notes.append("aiosmtpd: python3-aiosmtpd not installed.")
        if available("/usr/sbin/mailfront"):
            c.append(Tcpserver(
                self.b, "mailfront (qmail-queue: qq-maildir)",
                lambda md: ["/usr/sbin/mailfront", "smtp", "qmail",
                            "accept"],
                env={"QMAILHOME": self.b.tmp,
                     "QMAILQUEUE": os.path.join(BIN, "qq-maildir"),
                     "QQ_MAILDIR": "@MD@"}))
        else:
            self.notes.append("mailfront: not installed, not measured.")
        return c

    def smtp_source(self, c, n, per_session, length, sessions):
        cmd = ["smtp-source", "-s", str(sessions), "-m", str(n),
               "-l", str(length), "-M", "bench.example",
               "-f", "bench@example.org", "-t", "rcpt@example.net"]
        if per_session > 1:
            cmd.append("-d")
        cmd.append("127.0.0.1:%d" % c.port)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=300)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("%s: smtp-source: %s" % (
                c.name, p.stderr.decode(errors="replace")[-300:]))
        return dt

    def rate(self, c, per_session):
        n = self.b.args.messages
        c.start()
        try:
            warm = 0
            if c.resident:	# its processes up, as they are in service
                warm = 100
                self.smtp_source(c, warm, 1, self.MSG_LEN, 20)
            dt = self.smtp_source(c, n, per_session, self.MSG_LEN, 20)
            got = c.wait_stored(warm + n)
        finally:
            c.stop()
        if got != warm + n:
            raise RuntimeError("%s stored %d of %d" % (c.name, got,
                                                       warm + n))
        return n / dt

    def big(self, c):
        c.start()
        try:
            with PssSampler(c) as s:
                dt = self.smtp_source(c, 1, 1, self.BIG, 1)
                c.wait_stored(1)
        finally:
            c.stop()
        return self.BIG / (1024 * 1024) / dt, s.peak

    def idle(self, c, n):
        """PSS sum of n idle sessions, each greeted and left waiting."""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, n + 256)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        if isinstance(c, Tcpserver):
            c.limit = n
        elif isinstance(c, Postfix):
            c.procs = n
        c.start()
        socks = []
        try:
            end = time.time() + 120
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", c.port), 30)
                socks.append(s)
            greeted = 0
            for s in socks:
                s.settimeout(max(1, end - time.time()))
                if s.recv(512).startswith(b"220"):
                    greeted += 1
            kb = c.memory_kb()
            procs = len(c.serving_pids())
        finally:
            for s in socks:
                s.close()
            c.stop()
        return kb, procs, greeted

    def run(self):
        rounds = self.b.args.rounds
        cs = self.contenders()
        print("\npeers: %s" % ", ".join(x.name for x in cs), flush=True)
        res = {x.name: {} for x in cs}
        for x in cs:
            try:
                one = x.instructions(1)
                more = x.instructions(11)
                res[x.name]["ins1"] = one
                res[x.name]["insm"] = (more - one) / 10
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                self.notes.append("%s: instructions not measured: %s" % (
                    x.name, e))
            print("  %-40s instructions %s" % (
                x.name, res[x.name].get("ins1")), flush=True)
        for key, per in (("sess", 1), ("msgs", 100)):
            for i in range(rounds):
                for x in (cs if i % 2 == 0 else cs[::-1]):
                    try:
                        r = self.rate(x, per)
                    except (RuntimeError, OSError,
                            subprocess.SubprocessError) as e:
                        self.notes.append("%s: a rate run failed: %s" % (
                            x.name, e))
                        continue
                    res[x.name][key] = max(res[x.name].get(key, 0), r)
            print("  %s done" % key, flush=True)
        for i in range(max(rounds, 3)):
            for x in (cs if i % 2 == 0 else cs[::-1]):
                try:
                    mbs, kb = self.big(x)
                except (RuntimeError, OSError,
                        subprocess.SubprocessError) as e:
                    self.notes.append("%s: 50 MB failed: %s" % (x.name, e))
                    continue
                res[x.name]["mbs"] = max(res[x.name].get("mbs", 0), mbs)
                res[x.name]["mem"] = max(res[x.name].get("mem", 0), kb)
        idle = []
        if self.b.args.idle:
            for x in cs:
                if x.name.startswith(("smtpd, musl", "Postfix")):
                    try:
                        idle.append((x.name,) + self.idle(x, 1000))
                    except (RuntimeError, OSError,
                            subprocess.SubprocessError) as e:
                        self.notes.append("%s: idle sessions: %s" % (
                            x.name, e))
        self.table(cs, res, idle)

    def table(self, cs, res, idle):
        def f(v):
            return "" if v is None else "{:,.0f}".format(v)
        out = ["| server (durable, Maildir) | sessions/s | messages/s | "
               "MB/s (50 MB) | peak memory KB (PSS) | instructions, "
               "1-message session | instructions per further message |",
               "|---|---:|---:|---:|---:|---:|---:|"]
        for x in cs:
            r = res[x.name]
            out.append("| %s | %s |" % (x.name, " | ".join(
                f(r.get(k)) for k in ("sess", "msgs", "mbs", "mem", "ins1",
                                      "insm"))))
        if idle:
            out += ["", "| 1,000 idle sessions | PSS sum | processes | "
                    "greeted |", "|---|---:|---:|---:|"]
            for name, kb, procs, greeted in idle:
                out.append("| %s | %.1f MB | %d | %d |" % (
                    name, kb / 1024, procs, greeted))
        out += [""] + self.notes
        text = "\n".join(out) + "\n"
        print("\n" + text, flush=True)
        with open(os.path.join(BIN, "peers.md"), "w") as fh:
            fh.write("Measured %s on %s; rates: best of %d.\n\n" % (
                self.b.date, self.b.machine, self.b.args.rounds) + text)
        self.b.notes += self.notes
