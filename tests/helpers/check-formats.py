#!/usr/bin/python3
"""check-formats.py: every format smtpd's own sources give lib/fmt.c
(through log_line, fmt and die) uses only the conversions fmt.h lists.

    check-formats.py FILE...

The compiler checks those formats against printf, which is wider: a %x or
a %5d would compile and then be printed as it stands.  Prints each
offending call as FILE:LINE: FORMAT and exits 1; exits 0 when there is
none, after printing how many formats it checked.
"""
import re
import sys

# The callee and which argument (from 0) is the format.
CALLS = {"log_line": 1, "fmt": 2, "die": 1}
SUBSET = re.compile(r"%(\.\*s|s|d|u|ld|lu|lld|llu|zu|%)")
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[(),]|[^"\'(),]+')


def arguments(src, start):
    """The arguments of the call whose '(' is at start, as lists of
    tokens."""
    args, cur, depth = [], [], 0
    for m in TOKEN.finditer(src, start):
        t = m.group(0)
        if t == "(":
            depth += 1
            if depth == 1:
                continue
        elif t == ")":
            depth -= 1
            if depth == 0:
                args.append(cur)
                return args
        elif t == "," and depth == 1:
            args.append(cur)
            cur = []
            continue
        cur.append(t)
    return args


def main():
    bad = checked = 0
    for path in sys.argv[1:]:
        src = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)),
                     open(path).read(), flags=re.S)
        for m in re.finditer(r"\b(%s)\s*\(" % "|".join(CALLS), src):
            args = arguments(src, m.end() - 1)
            if len(args) <= CALLS[m.group(1)]:
                continue
            parts = [t.strip() for t in args[CALLS[m.group(1)]] if t.strip()]
            if not parts or not all(p.startswith('"') for p in parts):
                continue	# a definition, or a format passed on
            text = "".join(p[1:-1] for p in parts)
            checked += 1
            if "%" in SUBSET.sub("", text):
                bad += 1
                line = src[:m.start()].count("\n") + 1
                print("%s:%d: %s" % (path, line, text))
    print("%d formats checked, %d outside lib/fmt's subset" % (checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
