//! podman's default profile (containers-common 0.50, as podman puts it in
//! config.json on x86_64): decisions, and the figures the benches track.

use std::time::Instant;

use super::*;

#[test]
fn podman_default_profile() {
    let profile = fixture("podman-default.json");
    let c = build(&profile);
    // Its names that x86 lacks (pciconfig_*, swapcontext, ...) are other
    // architectures' syscalls: skipped silently, or every podman container
    // would print them into its log.
    assert_eq!(c.warnings, vec![], "warnings for podman's default profile");
    let x = Abi::X86_64;
    let enosys = errno(38);

    assert_eq!(decide(&c, x, "read", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, x, "getppid", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, x, "clone3", NO_ARGS), RET_ALLOW);
    assert_eq!(
        decide(&c, x, "chroot", NO_ARGS),
        RET_ALLOW,
        "CAP_SYS_CHROOT is a default cap"
    );
    assert_eq!(
        decide(&c, x, "arch_prctl", NO_ARGS),
        RET_ALLOW,
        "amd64 only entry"
    );
    // This profile allows clone whatever its flags (Docker's restricts
    // CLONE_NEWUSER & co. without CAP_SYS_ADMIN; containers-common 0.50
    // does not).
    assert_eq!(decide(&c, x, "clone", arg(0, 0x1000_0000)), RET_ALLOW);
    for name in [
        "kexec_load",
        "bpf",
        "open_by_handle_at",
        "init_module",
        "acct",
        "vhangup",
    ] {
        assert_eq!(decide(&c, x, name, NO_ARGS), errno(1), "{name}");
    }
    // personality: only the listed personas.
    for (persona, want) in [
        (0, RET_ALLOW),
        (8, RET_ALLOW),
        (0x20000, RET_ALLOW),
        (0x20008, RET_ALLOW),
        (0xffff_ffff, RET_ALLOW),
        (1, enosys),
        (0x1_0000_0000, enosys),
    ] {
        assert_eq!(
            decide(&c, x, "personality", arg(0, persona)),
            want,
            "{persona:#x}"
        );
    }
    // socket: AF_NETLINK (16) + NETLINK_AUDIT (9) gets EINVAL.
    let socket = |d, t, p| decide(&c, x, "socket", [d, t, p, 0, 0, 0]);
    assert_eq!(socket(16, 3, 9), errno(22));
    assert_eq!(socket(16, 3, 0), RET_ALLOW);
    assert_eq!(socket(2, 1, 9), RET_ALLOW);
    assert_eq!(socket(2, 1, 0), RET_ALLOW);
    // Not in the profile: the default, ENOSYS.
    assert_eq!(decide(&c, x, "add_key", NO_ARGS), enosys);
    assert_eq!(run_nr(&c, x, 1000, NO_ARGS).0, enosys);
    // Compat ABIs.
    assert_eq!(decide(&c, Abi::X86, "getppid", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, Abi::X86, "socketcall", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, Abi::X86, "kexec_load", NO_ARGS), errno(1));
    assert_eq!(
        decide(&c, Abi::X86, "personality", arg(0, 0x1_0000_0008)),
        RET_ALLOW,
        "32-bit"
    );
    assert_eq!(decide(&c, Abi::X32, "read", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, Abi::X32, "kexec_load", NO_ARGS), errno(1));
    assert_eq!(c.flags.bits(), 0);
    assert!(!c.needs_listener());
}

/// The figures issue [3] tracks: program length, instructions run per
/// syscall, compile time. `cargo test -p cella-runtime podman_figures -- --nocapture`
/// prints them; the bounds catch regressions.
#[test]
fn podman_figures() {
    let profile = fixture("podman-default.json");
    let c = build(&profile);
    let steps = |abi: Abi, nr: u32, args| run_nr(&c, abi, nr, args).1;
    let nr = |name| Abi::X86_64.syscall_nr(name).unwrap();
    let getppid = steps(Abi::X86_64, nr("getppid"), NO_ARGS);
    let read = steps(Abi::X86_64, nr("read"), NO_ARGS);
    let unknown = steps(Abi::X86_64, 1000, NO_ARGS);
    let personality = steps(Abi::X86_64, nr("personality"), arg(0, 0xffff_ffff));
    let i386_getppid = steps(Abi::X86, 64, NO_ARGS);

    let runs = 200;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(compile(std::hint::black_box(&profile)).unwrap());
    }
    let per_compile = start.elapsed() / runs;

    eprintln!(
        "podman default profile: {} instructions, {} warnings; executed: getppid {getppid}, \
         read {read}, unknown nr {unknown}, personality(0xffffffff) {personality}, \
         i386 getppid {i386_getppid}; compile {per_compile:?}",
        c.program.len(),
        c.warnings.len(),
    );
    for w in &c.warnings {
        eprintln!("  {w}");
    }
    assert!(c.program.len() < 1000, "{}", c.program.len());
    assert!(
        getppid <= 16 && read <= 16 && unknown <= 16,
        "{getppid} {read} {unknown}"
    );
}
