#!/usr/bin/env python3
"""Prints the symbols of an ELF binary whose code lies on the given file pages.

usage: hot-symbols.py BINARY PAGES_FILE > ORDER
       hot-symbols.py --check BINARY ORDER

PAGES_FILE holds file page numbers (4 KiB), one per line: the pages of BINARY
that were read while it ran (see profile.sh). Output: the mangled names of
the functions that overlap one of those pages, in address order, one per
line: the format of lld's --symbol-ordering-file. With --check: how many of
ORDER's names BINARY has (a name goes when its function changes).
"""
import subprocess
import sys

PAGE = 4096


def load_segments(binary):
    """(file offset, vaddr, file size) of each PT_LOAD segment."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            segs.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
    return segs


def check(binary, order):
    syms = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    have = {l.split()[-1] for l in syms.splitlines() if l.split()}
    names = [l.strip() for l in open(order) if l.strip()]
    found = sum(1 for n in names if n in have)
    print(f"{found} of {len(names)} names of {order} are in {binary}")


def main():
    if sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3])
        return
    binary, pages_file = sys.argv[1], sys.argv[2]
    pages = {int(l) for l in open(pages_file) if l.strip()}
    hot_va = set()
    for off, va, size in load_segments(binary):
        for p in pages:
            start = p * PAGE
            if off <= start < off + size:
                hot_va.add((va + start - off) // PAGE)
    syms = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    hot = []
    for line in syms.splitlines():
        f = line.split()
        if len(f) != 4 or f[2] not in "tTwW":
            continue
        addr, size, name = int(f[0], 16), int(f[1], 16), f[3]
        if size == 0:
            continue
        if any(p in hot_va for p in range(addr // PAGE, (addr + size - 1) // PAGE + 1)):
            hot.append((addr, name))
    seen = set()
    for _, name in sorted(hot):
        if name not in seen:
            seen.add(name)
            print(name)


if __name__ == "__main__":
    main()
