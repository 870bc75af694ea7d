#!/usr/bin/env python3
"""incore.py FILE: prints the 4 KiB pages of FILE in the page cache (mincore(2)), one per line.
incore.py --drop FILE: drops FILE's clean pages from the page cache first (POSIX_FADV_DONTNEED)."""
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
PROT_READ, MAP_SHARED, PAGE = 1, 1, 4096


def main():
    drop = sys.argv[1] == "--drop"
    path = sys.argv[-1]
    fd = os.open(path, os.O_RDONLY)
    if drop:
        # Dirty pages (a fresh copy) stay cached: write them back first.
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return
    size = os.fstat(fd).st_size
    addr = libc.mmap(None, size, PROT_READ, MAP_SHARED, fd, 0)
    n = (size + PAGE - 1) // PAGE
    vec = (ctypes.c_ubyte * n)()
    if libc.mincore(addr, size, vec) != 0:
        sys.exit(f"incore.py: mincore: {os.strerror(ctypes.get_errno())}")
    for i in range(n):
        if vec[i] & 1:
            print(i)


if __name__ == "__main__":
    main()
