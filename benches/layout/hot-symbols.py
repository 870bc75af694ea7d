#!/usr/bin/env python3
"""Maps the file pages a run of an ELF binary read to the functions on them.

usage: hot-symbols.py BINARY PAGES_FILE > ORDER
       hot-symbols.py --check BINARY PAGES_FILE ORDER

PAGES_FILE holds file page numbers (4 KiB), one per line: the pages of BINARY
that were read while it ran (see profile.sh).

Without --check: prints the mangled names of the functions that overlap one of
those pages, in address order, one per line: the format of lld's
--symbol-ordering-file (BINARY is the page-aligned profiling build).

With --check (BINARY is the binary linked with ORDER): prints how many of the
executable pages read hold no function named in ORDER, i.e. code that ran but
that the order did not place with the rest (each such page costs up to 64 KiB
of resident text: fault-around; a fresh ORDER leaves none but for the odd path
a run takes or not), then what percentage of ORDER's functions lie together
(whether the order was applied at all), then the functions on those pages.
"""
import subprocess
import sys

PAGE = 4096


def load_segments(binary):
    """(file offset, vaddr, file size, executable) of each PT_LOAD segment."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            segs.append((int(f[1], 16), int(f[2], 16), int(f[4], 16), "E" in f[6:-1]))
    return segs


def functions(binary):
    """(address, size, mangled name) of every function symbol with a size."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    funcs = []
    for line in out.splitlines():
        f = line.split()
        if len(f) != 4 or f[2] not in "tTwW":
            continue
        addr, size = int(f[0], 16), int(f[1], 16)
        if size:
            funcs.append((addr, size, f[3]))
    return funcs


def read_va_pages(binary, pages_file, exec_only):
    """The virtual page numbers of the file pages in PAGES_FILE."""
    pages = {int(l) for l in open(pages_file) if l.strip()}
    va_pages = set()
    for off, va, size, executable in load_segments(binary):
        if exec_only and not executable:
            continue
        for p in pages:
            start = p * PAGE
            if off <= start < off + size:
                va_pages.add((va + start - off) // PAGE)
    return va_pages


def pages_of(addr, size):
    return range(addr // PAGE, (addr + size - 1) // PAGE + 1)


def order(binary, pages_file):
    hot_va = read_va_pages(binary, pages_file, exec_only=False)
    seen = set()
    for addr, size, name in sorted(functions(binary)):
        if name not in seen and any(p in hot_va for p in pages_of(addr, size)):
            seen.add(name)
            print(name)


def together(binary, placed):
    """Percent of the bytes of ORDER's functions that lie within 1.25 times their total size
    from the first of them: about 100 when the order was applied (libc's __libc_freeres
    functions live in a section of their own), about 55 when it was not."""
    funcs = sorted((a, s) for a, s, name in functions(binary) if name in placed)
    if not funcs:
        return 0
    total = sum(s for _, s in funcs)
    end = funcs[0][0] + total * 5 // 4
    return 100 * sum(s for a, s in funcs if a + s <= end) // total


def check(binary, pages_file, order_file):
    placed = {l.strip() for l in open(order_file) if l.strip()}
    read = read_va_pages(binary, pages_file, exec_only=True)
    on_page = {p: [] for p in read}
    for addr, size, name in functions(binary):
        for p in pages_of(addr, size):
            if p in on_page:
                on_page[p].append(name)
    unplaced = sorted(p for p, names in on_page.items() if not placed.intersection(names))
    print(f"{len(unplaced)} of {len(read)} text pages read hold no function of {order_file}")
    print(f"{together(binary, placed)} % of the bytes of its functions lie together in {binary}")
    for p in unplaced:
        print(f"  page {p:#x}: {' '.join(sorted(set(on_page[p]))[:4]) or '(no symbol)'}")


def main():
    if sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        order(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
