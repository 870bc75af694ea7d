#!/usr/bin/env python3
"""Generate runtime-lib/src/seccomp/syscalls.rs: syscall name -> number tables
for every ABI the seccomp compiler knows, and the AUDIT_ARCH_* values, from the
Linux UAPI headers Debian ships for each architecture.

    python3 runtime-lib/src/seccomp/gen-syscalls.py > runtime-lib/src/seccomp/syscalls.rs
    python3 runtime-lib/src/seccomp/gen-syscalls.py --check   # exit 1 if syscalls.rs differs

The headers come from Debian's cross packages (Linux 6.1 in Debian 12), one
per architecture, so the script gives the same output on any host:

    scripts/ensure-packages.sh linux-libc-dev-amd64-cross linux-libc-dev-arm64-cross \
        linux-libc-dev-armhf-cross linux-libc-dev-riscv64-cross \
        linux-libc-dev-ppc64el-cross linux-libc-dev-s390x-cross

Numbers are read the way a compiler for that ABI reads them: the host's `cpp`
preprocesses <asm/unistd.h> with the target's predefined macros (`__aarch64__`,
`__ILP32__`, ...) and no host ones (`-undef -nostdinc`), so generated headers
(x86's unistd_64.h) and asm-generic/unistd.h's conditionals (arm64, riscv64)
both come out as that ABI's kernel has them. Each `__NR_x` (and arm's
`__ARM_NR_x` private calls) expands to an integer expression that is
evaluated here.

Debian 12's headers are Linux 6.1's. Syscalls added since are listed in NEWER
below, checked against the kernel's tables at Linux 6.18:
scripts/syscall.tbl (arm64, riscv64; asm-generic numbering),
arch/arm/tools/syscall.tbl, arch/arm64/tools/syscall_32.tbl,
arch/powerpc/kernel/syscalls/syscall.tbl, arch/s390/kernel/syscalls/syscall.tbl
and arch/x86/entry/syscalls/syscall_{64,32}.tbl. Since Linux 5.1 every
architecture but alpha gives a new syscall the same number, so one list
serves all.
"""

import difflib
import os
import re
import subprocess
import sys
import tempfile

X32_SYSCALL_BIT = 0x40000000

# The predefined macros <asm/unistd.h> and <asm/bitsperlong.h> look at.
LP64 = ["__LP64__", "__SIZEOF_POINTER__=8", "__SIZEOF_LONG__=8"]
ILP32 = ["__ILP32__", "__SIZEOF_POINTER__=4", "__SIZEOF_LONG__=4"]

# (Rust table, what it is, include dir under /usr, Debian package, cpp -D flags)
ABIS = [
    ("X86_64", "x86_64 (`AUDIT_ARCH_X86_64`, numbers below `__X32_SYSCALL_BIT`).",
     "x86_64-linux-gnu", "linux-libc-dev-amd64-cross", ["__x86_64__"] + LP64),
    ("X86", "i386 (`AUDIT_ARCH_I386`).",
     "x86_64-linux-gnu", "linux-libc-dev-amd64-cross", ["__i386__"] + ILP32),
    ("X32", "x32 (`AUDIT_ARCH_X86_64`, numbers carry `X32_BIT`).",
     "x86_64-linux-gnu", "linux-libc-dev-amd64-cross", ["__x86_64__"] + ILP32),
    ("AARCH64", "arm64 (`AUDIT_ARCH_AARCH64`; asm-generic numbering).",
     "aarch64-linux-gnu", "linux-libc-dev-arm64-cross", ["__aarch64__"] + LP64),
    ("ARM", "arm EABI (`AUDIT_ARCH_ARM`), with the ARM private calls at 0xf0000.",
     "arm-linux-gnueabihf", "linux-libc-dev-armhf-cross", ["__arm__", "__ARM_EABI__"] + ILP32),
    ("RISCV64", "riscv64 (`AUDIT_ARCH_RISCV64`; asm-generic numbering).",
     "riscv64-linux-gnu", "linux-libc-dev-riscv64-cross",
     ["__riscv", "__riscv_xlen=64"] + LP64),
    ("PPC64", "ppc64 and ppc64le (`AUDIT_ARCH_PPC64`, `AUDIT_ARCH_PPC64LE`: one table).",
     "powerpc64le-linux-gnu", "linux-libc-dev-ppc64el-cross",
     ["__powerpc__", "__powerpc64__"] + LP64),
    ("S390X", "s390x (`AUDIT_ARCH_S390X`).",
     "s390x-linux-gnu", "linux-libc-dev-s390x-cross", ["__s390__", "__s390x__"] + LP64),
    ("S390", "s390, 31-bit compat of s390x (`AUDIT_ARCH_S390`).",
     "s390x-linux-gnu", "linux-libc-dev-s390x-cross", ["__s390__"] + ILP32),
]

# Macros named like syscalls that are not syscalls.
NOT_SYSCALLS = {"syscalls", "arch_specific_syscall", "SYSCALL_BASE", "OABI_SYSCALL_BASE",
                "SYSCALL_MASK", "BASE"}

X86 = {"X86_64", "X86", "X32"}
NOT_X86 = {"AARCH64", "ARM", "RISCV64", "PPC64", "S390X", "S390"}
EVERY = X86 | NOT_X86

# (name, number, tables) for syscalls newer than Linux 6.1 (see the docstring).
NEWER = [
    ("cachestat", 451, EVERY),                  # 6.5
    ("fchmodat2", 452, EVERY),                  # 6.6
    # `64` in syscall_64.tbl; no i386 entry; reserved as `common` in every
    # other table (6.6).
    ("map_shadow_stack", 453, {"X86_64"} | NOT_X86),
    ("futex_wake", 454, EVERY),                 # 6.7
    ("futex_wait", 455, EVERY),
    ("futex_requeue", 456, EVERY),
    ("statmount", 457, EVERY),                  # 6.8
    ("listmount", 458, EVERY),
    ("lsm_get_self_attr", 459, EVERY),
    ("lsm_set_self_attr", 460, EVERY),
    ("lsm_list_modules", 461, EVERY),
    ("mseal", 462, EVERY),                      # 6.10
    ("setxattrat", 463, EVERY),                 # 6.13
    ("getxattrat", 464, EVERY),
    ("listxattrat", 465, EVERY),
    ("removexattrat", 466, EVERY),
    ("open_tree_attr", 467, EVERY),             # 6.15
    ("file_getattr", 468, EVERY),               # 6.17
    ("file_setattr", 469, EVERY),
    ("listns", 470, EVERY),                     # 6.18
    ("riscv_hwprobe", 258, {"RISCV64"}),        # 6.4; `riscv` in scripts/syscall.tbl
    ("uretprobe", 335, {"X86_64"}),             # 6.11; `64` in syscall_64.tbl
    # 6.18; x86_64 only, like uretprobe (on a 6.18 x86_64 kernel syscall 336
    # answers ENXIO, not ENOSYS).
    ("uprobe", 336, {"X86_64"}),
]

# AUDIT_ARCH_* values from <linux/audit.h>, for arch.rs.
AUDIT_ARCHES = ["X86_64", "I386", "AARCH64", "ARM", "RISCV64", "PPC64", "PPC64LE",
                "S390X", "S390"]

HERE = os.path.dirname(os.path.abspath(__file__))
SAFE_EXPR = re.compile(r"^[0-9a-fA-FxX+|() ]+$")


def cpp(inc, defines, source, dump_macros=False):
    """Preprocesses `source` as a compiler for the target would."""
    with tempfile.NamedTemporaryFile("w", suffix=".c") as f:
        f.write(source)
        f.flush()
        args = ["cpp", "-undef", "-nostdinc", "-P", f"-I{inc}"]
        args += [f"-D{d}" for d in defines]
        if dump_macros:
            args.append("-dM")
        out = subprocess.run(args + [f.name], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"cpp failed for {inc} {defines}:\n{out.stderr}")
    return out.stdout


def evaluate(expr, what):
    if not SAFE_EXPR.match(expr):
        sys.exit(f"{what}: unexpected expansion {expr!r}")
    return eval(expr, {"__builtins__": {}})  # digits, + and | only: checked above


def expand(inc, defines, header, macros):
    """The integer value of each macro in `macros` after including `header`."""
    lines = [f"#include <{header}>"]
    # The label is a string literal so that cpp leaves it alone.
    lines += [f'"{m}" {m}' for m in macros]
    out = cpp(inc, defines, "\n".join(lines) + "\n")
    values = {}
    for line in out.splitlines():
        m = re.match(r'^"(\w+)" (.*)$', line)
        if m:
            values[m.group(1)] = evaluate(m.group(2), f"{inc}: {m.group(1)}")
    return values


def read_table(inc, defines):
    """{name: number} for one ABI."""
    source = "#include <asm/unistd.h>\n"
    macros = {}
    for line in cpp(inc, defines, source, dump_macros=True).splitlines():
        m = re.match(r"^#define (__NR_|__ARM_NR_)(\w+) ", line)
        if m and m.group(2) not in NOT_SYSCALLS:
            macros[m.group(1) + m.group(2)] = m.group(2)
    values = expand(inc, defines, "asm/unistd.h", sorted(macros))
    table = {macros[k]: v for k, v in values.items()}
    if len(table) < 250:
        sys.exit(f"{inc} {defines}: only {len(table)} syscalls found")
    return table


def kernel_version(inc):
    v = expand(inc, [], "linux/version.h", ["LINUX_VERSION_CODE"])["LINUX_VERSION_CODE"]
    return f"{v >> 16}.{(v >> 8) & 0xff}"


def emit_table(out, name, doc, table):
    out.append(f"/// {doc}")
    out.append(f"pub(super) static {name}: &[(&str, u32)] = &[")
    for sys_name in sorted(table):
        nr = table[sys_name]
        if name == "X32":
            low = nr & ~X32_SYSCALL_BIT
            out.append(f'    ("{sys_name}", X32_BIT | {low}),' if low else
                       f'    ("{sys_name}", X32_BIT),')
        else:
            out.append(f'    ("{sys_name}", {nr:#x}),' if nr > 0xffff else
                       f'    ("{sys_name}", {nr}),')
    out.append("];")
    out.append("")


def other_arch_names(known):
    """Names libseccomp knows (libseccomp-names.txt, the first column of its
    src/syscalls.csv) that no table here has: syscalls of architectures without
    a table (mips, parisc, ...). A profile naming one is fine (podman's default
    profile names several), so the compiler skips them without a warning, as
    libseccomp does."""
    with open(os.path.join(HERE, "libseccomp-names.txt")) as f:
        names = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    return sorted(names - known)


def tables():
    result = {}
    versions = set()
    for name, _, triplet, package, defines in ABIS:
        inc = f"/usr/{triplet}/include"
        if not os.path.isdir(f"{inc}/asm"):
            sys.exit(f"{inc}/asm missing: scripts/ensure-packages.sh {package}")
        result[name] = read_table(inc, defines)
        versions.add(kernel_version(inc))
    for sys_name, nr, where in NEWER:
        for name in where:
            nr_here = nr | X32_SYSCALL_BIT if name == "X32" else nr
            result[name].setdefault(sys_name, nr_here)
    return result, versions


def audit_arches():
    inc = f"/usr/{ABIS[0][2]}/include"
    return expand(inc, [], "linux/audit.h", [f"AUDIT_ARCH_{a}" for a in AUDIT_ARCHES])


def generate():
    result, versions = tables()
    packages = sorted({a[3] for a in ABIS})
    out = [
        "// @generated by runtime-lib/src/seccomp/gen-syscalls.py -- do not edit.",
        "//",
        "//     python3 runtime-lib/src/seccomp/gen-syscalls.py > runtime-lib/src/seccomp/syscalls.rs",
        "//",
        f"// Source: <asm/unistd.h> of Linux {', '.join(sorted(versions))} as Debian packages it for each",
        "// architecture:",
        *[f"//     {p}" for p in packages],
        "// plus the syscalls added after Linux 6.1 listed in the script.",
        "",
        "//! Syscall name to number tables, sorted by name for binary search, and the",
        "//! `AUDIT_ARCH_*` values `seccomp_data.arch` carries.",
        "",
        "/// `__X32_SYSCALL_BIT`: set in every x32 syscall number.",
        "const X32_BIT: u32 = 0x4000_0000;",
        "",
    ]
    for arch, value in sorted(audit_arches().items()):
        out.append(f"/// `{arch}` (<linux/audit.h>).")
        out.append(f"pub(super) const {arch}: u32 = 0x{value >> 16:04x}_{value & 0xffff:04x};")
    out.append("")
    known = set()
    for name, doc, _, _, _ in ABIS:
        emit_table(out, name, doc, result[name])
        known |= set(result[name])
    out.append("/// Syscalls of architectures without a table only (from libseccomp's")
    out.append("/// list): skipped without a warning.")
    out.append("pub(super) static OTHER_ARCHES: &[&str] = &[")
    out += [f'    "{n}",' for n in other_arch_names(known)]
    out.append("];")
    return "\n".join(out) + "\n"


def main():
    text = generate()
    if sys.argv[1:] == ["--check"]:
        path = os.path.join(HERE, "syscalls.rs")
        with open(path) as f:
            current = f.read()
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), path, "generated"))
            sys.exit(f"{path} is not what gen-syscalls.py generates")
        print(f"{path}: up to date")
    elif sys.argv[1:]:
        sys.exit(__doc__)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
