#!/usr/bin/python3
"""find-in-memory.py: look for secrets in a live process's memory.

    find-in-memory.py PID NEEDLE...

Reads every readable mapping of process PID through /proc/PID/mem (what
a core dump of it would hold; needs ptrace rights over it, as root has)
and prints "found NEEDLE at ADDRESS MAPPING" for each NEEDLE (text) that
occurs, then "searched N octets".  Mappings over 64 MB are skipped: they
are a sanitizer's shadow memory, not data.  Exit 0 when no NEEDLE was
found, 1 when one was, 2 when the memory cannot be read.
"""
import sys

LARGEST = 64 << 20


def main():
    pid = int(sys.argv[1])
    needles = [n.encode("latin-1") for n in sys.argv[2:]]
    found = 0
    total = 0
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except OSError as e:
        print("cannot read process %d: %s" % (pid, e))
        return 2
    with mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else "[anon]"
            if f[1][0] != "r" or hi - lo > LARGEST:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, OverflowError, ValueError):
                continue	# [vvar] and the like
            total += len(data)
            for n in needles:
                i = data.find(n)
                if i >= 0:
                    found += 1
                    print("found %s at %#x %s" % (n.decode("latin-1"),
                                                  lo + i, name))
    if total == 0:
        print("cannot read process %d" % pid)
        return 2
    print("searched %d octets" % total)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
