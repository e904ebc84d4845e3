#!/usr/bin/python3
"""checkpassword.py: a checkpassword program for the AUTH tests.

    checkpassword.py SUBPROGRAM [ARG...]

Speaks the checkpassword interface (cr.yp.to/checkpwd/interface.html):
reads at most 512 bytes from fd 3, "login\\0secret\\0stamp\\0", and on
success sets USER and AUTHUSER and execs SUBPROGRAM.  Users come from the
file named by $CHECKPW_USERS, one "login:password" per line.

    stamp empty   PLAIN, LOGIN: secret must equal the password
    stamp set     CRAM-MD5 (the qmail-smtpd AUTH patch / vchkpw
                  convention): secret must be the lower-case hex
                  HMAC-MD5 of the stamp keyed with the password
                  (RFC 2195); the clear password is NOT accepted then

Exit 1: rejected; 2: misuse (no subprogram, no fd 3, more than 512 bytes,
malformed input); 111: the users file cannot be read.

Test knobs:
    CHECKPW_LOG=FILE   append "login=L method=M result=R ip=IP argv=..."
                       (never the secret)
    CHECKPW_DUMP=FILE  write the raw bytes read from fd 3 (they hold the
                       secret: only for tests of the wire format)
    CHECKPW_PIDFILE=F  write our pid to F (to check that a deadline
                       killed us)
    CHECKPW_MODE=      exitN (exit N after reading), crash (SIGSEGV),
                       sleep (sleep 60: for deadlines)

Python standard library only (hmac, hashlib).
"""
import hashlib
import hmac
import os
import signal
import sys
import time

INPUT_MAX = 512


def log(line):
    path = os.environ.get("CHECKPW_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def read_fd3():
    data = b""
    try:
        while len(data) <= INPUT_MAX:
            chunk = os.read(3, INPUT_MAX + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        try:
            os.close(3)
        except OSError:
            pass
    return data


def users():
    table = {}
    with open(os.environ["CHECKPW_USERS"], "rb") as f:
        for line in f.read().split(b"\n"):
            if b":" in line:
                login, password = line.split(b":", 1)
                table[login] = password
    return table


def main():
    if os.environ.get("CHECKPW_PIDFILE"):
        with open(os.environ["CHECKPW_PIDFILE"], "w") as f:
            f.write("%d\n" % os.getpid())
    if len(sys.argv) < 2:
        log("result=misuse reason=no-subprogram")
        return 2
    data = read_fd3()
    if data is None or len(data) > INPUT_MAX:
        log("result=misuse reason=fd3")
        return 2
    if os.environ.get("CHECKPW_DUMP"):
        with open(os.environ["CHECKPW_DUMP"], "wb") as f:
            f.write(data)
    fields = data.split(b"\0")
    # "login\0secret\0stamp\0" splits into 4 parts, the last empty; the
    # variant without the stamp ("login\0secret\0") into 3.
    if len(fields) not in (3, 4) or fields[-1] != b"" or not fields[0]:
        log("result=misuse reason=format")
        return 2
    login, secret = fields[0], fields[1]
    stamp = fields[2] if len(fields) == 4 else b""
    mode = os.environ.get("CHECKPW_MODE", "")
    if mode.startswith("exit"):
        return int(mode[4:])
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "sleep":
        time.sleep(60)
    try:
        table = users()
    except (KeyError, OSError):
        log("login=%s result=tempfail" % login.decode("latin-1"))
        return 111
    password = table.get(login)
    method = "cram-md5" if stamp else "plain"
    good = False
    if password is not None:
        if stamp:
            want = hmac.new(password, stamp, hashlib.md5).hexdigest()
            good = hmac.compare_digest(want.encode(), secret)
        else:
            good = hmac.compare_digest(password, secret)
    log("login=%s method=%s result=%s ip=%s argv=%s" % (
        login.decode("latin-1"), method, "ok" if good else "fail",
        os.environ.get("TCPREMOTEIP", ""), " ".join(sys.argv[1:])))
    if not good:
        return 1
    os.environ["USER"] = login.decode("latin-1")
    os.environ["AUTHUSER"] = login.decode("latin-1")
    os.execvp(sys.argv[1], sys.argv[1:])
    return 111


if __name__ == "__main__":
    sys.exit(main())
