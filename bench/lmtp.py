#!/usr/bin/python3
"""lmtp.py: what the LMTP hop costs smtpd (`smtpd lmtp` to a private
Dovecot, beside `smtpd maildir`).  Run by bench/lmtp.sh (from
bench/run.sh, `make bench`), as root: Dovecot (dovecot-core,
dovecot-lmtpd) is started with its own configuration in a temporary
directory, its LMTP listener on a UNIX socket, and stopped at the end.

For ./smtpd (the production build) and each target (maildir DIR,
lmtp SOCKET):
  1. instructions of smtpd itself (valgrind callgrind; Dovecot is not
     counted) for a session of 1 and of 11 messages of 1 KB fed on stdin
     as one pipelined write, and per further message: (N=11 - N=1) / 10;
  2. messages/s: 2000 messages of 1 KB, 100 per session, 20 sessions at
     a time under tcpserver, with Postfix's smtp-source as the client
     (for lmtp this includes Dovecot's own work: it writes the mailbox).
Rates are the best of --rounds runs.  Prints a Markdown table and writes
it to build/bench/lmtp.md.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from peers import sum_callgrind

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
MSG_LEN = 1024


def die(msg):
    print("bench/lmtp: " + msg, file=sys.stderr)
    sys.exit(1)


def message():
    head = (b"From: <bench@example.org>\r\nTo: <rcpt@example.net>\r\n"
            b"Subject: bench\r\nMessage-ID: <bench@example.org>\r\n\r\n")
    line = b".." + b"x" * 75 + b"\r\n"
    return head + line * ((MSG_LEN - len(head)) // len(line))


class Dovecot:
    def __init__(self, tmp):
        self.d = os.path.join(tmp, "dovecot")
        os.makedirs(os.path.join(self.d, "mail"))
        subprocess.run(["sh", "-c", "id vmail >/dev/null 2>&1 || useradd -r "
                        "-M -s /usr/sbin/nologin vmail"], check=True)
        d = self.d
        while d not in ("/", "/tmp"):
            os.chmod(d, os.stat(d).st_mode | 0o001)
            d = os.path.dirname(d)
        shutil.chown(os.path.join(self.d, "mail"), "vmail", "vmail")
        conf = os.path.join(self.d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("""base_dir = {d}/run
state_dir = {d}/state
instance_name = smtpd-bench-{pid}
protocols = lmtp
listen = 127.0.0.1
log_path = {d}/dovecot.log
ssl = no
auth_username_format = %Ln
mail_location = maildir:{d}/mail/%n
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
""".format(d=self.d, pid=os.getpid()))
        with open(os.path.join(self.d, "users"), "w") as f:
            f.write("rcpt:{PLAIN}x::::::\n")
        self.conf = conf
        self.socket = os.path.join(self.d, "run", "lmtp")
        subprocess.run(["dovecot", "-c", conf], check=True)
        for _ in range(200):
            if os.path.exists(self.socket):
                return
            time.sleep(0.05)
        die("dovecot did not start")

    def stored(self):
        new = os.path.join(self.d, "mail", "rcpt", "new")
        return len(os.listdir(new)) if os.path.isdir(new) else 0

    def clear(self):
        shutil.rmtree(os.path.join(self.d, "mail", "rcpt"),
                      ignore_errors=True)

    def stop(self):
        pidfile = os.path.join(self.d, "run", "master.pid")
        try:
            pid = int(open(pidfile).read())
        except (OSError, ValueError):
            return
        os.kill(pid, 15)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="smtpd-bench-lmtp.")
        self.env = {"PATH": "/usr/bin:/bin", "TCPLOCALHOST": "bench.example"}
        self.smtpd = os.path.join(TOP, "smtpd")
        self.dovecot = None

    def argv(self, target):
        if target == "maildir":
            return [self.smtpd, "maildir", os.path.join(self.tmp, "md")]
        return [self.smtpd, "lmtp", self.dovecot.socket]

    def session_input(self, nmsg):
        out = [b"EHLO bench.example\r\n"]
        for _ in range(nmsg):
            out.append(b"MAIL FROM:<bench@example.org>\r\n"
                       b"RCPT TO:<rcpt@example.net>\r\nDATA\r\n")
            out.append(message() + b".\r\n")
        out.append(b"QUIT\r\n")
        path = os.path.join(self.tmp, "in.%d" % nmsg)
        with open(path, "wb") as f:
            f.write(b"".join(out))
        return path

    def instructions(self, target, nmsg):
        out = os.path.join(self.tmp, "cg")
        shutil.rmtree(out, ignore_errors=True)
        os.mkdir(out)
        wrap = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                "--callgrind-out-file=" + os.path.join(out, "cg.%p")]
        with open(self.session_input(nmsg), "rb") as f:
            p = subprocess.run(wrap + self.argv(target), stdin=f,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=self.env)
        codes = re.findall(rb"^(\d{3}) ", p.stdout, re.M)
        if codes.count(b"250") < 2 * nmsg + 1 or codes[-1] != b"221":
            die("%s: %s" % (target, p.stdout.decode(errors="replace")))
        total = sum_callgrind(out)
        return total

    def rate(self, target):
        n = self.args.messages
        shutil.rmtree(os.path.join(self.tmp, "md"), ignore_errors=True)
        self.dovecot.clear()
        log = open(os.path.join(self.tmp, "server.log"), "wb")
        server = subprocess.Popen(
            ["tcpserver", "-1", "-HR", "-l", "bench.example", "-c", "20",
             "-b", "64", "127.0.0.1", "0"] + self.argv(target),
            stdout=subprocess.PIPE, stderr=log, env=self.env)
        log.close()
        port = server.stdout.readline().strip().decode()
        try:
            t0 = time.perf_counter()
            p = subprocess.run(
                ["smtp-source", "-s", "20", "-m", str(n), "-l",
                 str(MSG_LEN), "-M", "bench.example", "-f",
                 "bench@example.org", "-t", "rcpt@example.net", "-d",
                 "127.0.0.1:" + port],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                timeout=300)
            dt = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait()
        if p.returncode != 0:
            die("smtp-source: %s" % p.stderr.decode(errors="replace"))
        if target == "maildir":
            stored = len(os.listdir(os.path.join(self.tmp, "md", "new")))
        else:
            stored = self.dovecot.stored()
        if stored != n:
            die("%s stored %d of %d messages" % (target, stored, n))
        return n / dt

    def main(self):
        rows = []
        try:
            self.dovecot = Dovecot(self.tmp)
            res = {}
            for target in ("maildir", "lmtp"):
                i1 = self.instructions(target, 1)
                i11 = self.instructions(target, 11)
                rate = max(self.rate(target)
                           for _ in range(self.args.rounds))
                res[target] = (i1, (i11 - i1) / 10, rate)
                print("bench/lmtp: %s: %d instructions for a 1-message "
                      "session, %.0f per further message, %.0f messages/s"
                      % (target, i1, (i11 - i1) / 10, rate), flush=True)
        finally:
            if self.dovecot is not None:
                self.dovecot.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)
        m, l = res["maildir"], res["lmtp"]
        rows.append("| delivery | instructions, 1-message session | "
                    "instructions per further message | messages/s "
                    "(100 per session) |")
        rows.append("|---|---:|---:|---:|")
        rows.append("| smtpd maildir DIR | %d | %.0f | %.0f |" % m)
        rows.append("| smtpd lmtp SOCKET (Dovecot) | %d | %.0f | %.0f |" % l)
        rows.append("| LMTP / Maildir | %.2f | %.2f | %.2f |" % (
            l[0] / m[0], l[1] / m[1], l[2] / m[2]))
        text = "\n".join(rows) + "\n"
        print(text)
        os.makedirs(os.path.join(TOP, "build", "bench"), exist_ok=True)
        with open(os.path.join(TOP, "build", "bench", "lmtp.md"), "w") as f:
            f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=2000)
    args, _ = ap.parse_known_args()
    if os.geteuid() != 0:
        die("needs root (Dovecot's mail processes run as vmail)")
    if shutil.which("dovecot") is None:
        die("no dovecot (Debian: dovecot-core dovecot-lmtpd)")
    Bench(args).main()


if __name__ == "__main__":
    main()
