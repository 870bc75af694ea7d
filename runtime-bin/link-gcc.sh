#!/bin/sh
# The linker rustc calls on x86_64-unknown-linux-gnu (.cargo/config.toml), in place of cc. It links the `cella`
# binary as a static PIE and passes every other link (tests, tools, build scripts, proc-macros)
# to cc unchanged.
#
# Why static: a dynamically linked cella maps ld.so, libc.so and libgcc_s.so in every process,
# and the kernel's fault-around makes most of libc's text resident (1.3 MiB of a `run`'s
# 3.6 MiB peak RSS); linked statically only the libc functions cella calls are in the binary,
# and they are placed with cella's own hot functions (cella.order). Measured in
# benches/README.md ("Peak RSS"). A static PIE keeps ASLR.
#
# Why here: `-C target-feature=+crt-static` in rustflags would also apply to proc-macro crates
# when no --target is given, which cargo refuses, and cargo has no per-binary rustflags. The
# rewrite is the one rustc itself makes for crt-static (checked against `--print link-args`):
# `-pie` becomes `-static-pie`, libgcc_s becomes libgcc_eh + libgcc, and no library is
# searched as a shared object. A link line without those arguments (another rustc) is passed on unchanged.
set -eu

# Only the cella binary's link carries the ordering file (build.rs adds it for that binary).
case " $* " in
    *" -Wl,--symbol-ordering-file="*"/cella.order "*) ;;
    *) exec cc "$@" ;;
esac
case " $* " in
    *" -pie "*) ;;
    *) exec cc "$@" ;;
esac
case " $* " in
    *" -lgcc_s "*) ;;
    *) exec cc "$@" ;;
esac

for a in "$@"; do
    shift
    case $a in
        -pie) set -- "$@" -static-pie ;;
        -lgcc_s) set -- "$@" -lgcc_eh -lgcc -lc ;;
        -Wl,-Bdynamic) ;;
        *) set -- "$@" "$a" ;;
    esac
done
exec cc "$@"
