//! Kernels other than x86_64: their tables, podman's default profile as
//! podman builds it on each, the arch dispatch, byte order, and what an
//! `architectures` entry means on each kernel.

use super::*;
use crate::seccomp::arch::Kernel;
use crate::seccomp::bpf::{LD_W_ABS, RET_KILL_THREAD};
use crate::seccomp::{compile, Warning};

/// GOARCH of the fixture, the kernel, and the ABIs podman's profile lists.
const PODMAN: [(&str, Arch, &[Abi]); 5] = [
    ("arm64", Arch::ScmpArchAarch64, &[Abi::Aarch64, Abi::Arm]),
    ("arm", Arch::ScmpArchArm, &[Abi::Arm]),
    ("riscv64", Arch::ScmpArchRiscv64, &[Abi::Riscv64]),
    ("ppc64le", Arch::ScmpArchPpc64le, &[Abi::Ppc64le]),
    ("s390x", Arch::ScmpArchS390x, &[Abi::S390x, Abi::S390]),
];

fn build_for(profile: &LinuxSeccomp, kernel: Arch) -> Compiled {
    let c = compile_for(profile, kernel).unwrap_or_else(|e| panic!("{kernel}: {e}"));
    if let Err(e) = bpf::check(&c.program) {
        panic!("{kernel}: {e}\n{}", listing(&c));
    }
    c
}

fn profile(json: &str) -> LinuxSeccomp {
    parse_profile(json).unwrap()
}

#[test]
fn tables_of_other_architectures() {
    let cases = [
        (Abi::Aarch64, "openat", 56),
        (Abi::Aarch64, "mkdirat", 34),
        (Abi::Aarch64, "getppid", 173),
        (Abi::Aarch64, "renameat", 38), // __ARCH_WANT_RENAMEAT
        (Abi::Aarch64, "listns", 470),  // NEWER in the script
        (Abi::Arm, "openat", 322),
        (Abi::Arm, "getppid", 64),
        (Abi::Arm, "cacheflush", 0xf_0002), // __ARM_NR_BASE + 2
        (Abi::Arm, "set_tls", 0xf_0005),
        (Abi::Riscv64, "openat", 56),
        (Abi::Riscv64, "fstat", 80), // asm-generic, 64-bit
        (Abi::Riscv64, "riscv_flush_icache", 259),
        (Abi::Riscv64, "riscv_hwprobe", 258), // NEWER (6.4)
        (Abi::Ppc64le, "openat", 286),
        (Abi::Ppc64, "openat", 286),
        (Abi::Ppc64le, "socketcall", 102),
        (Abi::S390x, "openat", 288),
        (Abi::S390x, "getppid", 64),
        (Abi::S390, "mmap2", 192),
        (Abi::S390x, "map_shadow_stack", 453),
    ];
    for (abi, name, nr) in cases {
        assert_eq!(abi.syscall_nr(name), Some(nr), "{abi:?} {name}");
    }
    // Only where the kernel has them.
    assert_eq!(Abi::Riscv64.syscall_nr("renameat"), None);
    assert_eq!(Abi::Aarch64.syscall_nr("mmap2"), None);
    assert_eq!(Abi::Riscv64.syscall_nr("mmap2"), None);
    assert_eq!(Abi::S390x.syscall_nr("mmap2"), None);
    assert_eq!(Abi::Aarch64.syscall_nr("uretprobe"), None);
    assert_eq!(Abi::Aarch64.syscall_nr("open"), None);
    // The values `seccomp_data.arch` carries (<linux/audit.h>).
    for (abi, audit) in [
        (Abi::Aarch64, 0xc000_00b7),
        (Abi::Arm, 0x4000_0028),
        (Abi::Riscv64, 0xc000_00f3),
        (Abi::Ppc64le, 0xc000_0015),
        (Abi::Ppc64, 0x8000_0015),
        (Abi::S390x, 0x8000_0016),
        (Abi::S390, 0x0000_0016),
    ] {
        assert_eq!(abi.audit_arch(), audit, "{abi:?}");
    }
}

/// podman's default profile, as podman builds it on each architecture
/// (`podman-to-oci.py GOARCH`): decisions on each of the kernel's ABIs.
#[test]
fn podman_default_profile_on_every_kernel() {
    let enosys = errno(38);
    for (goarch, kernel, listed) in PODMAN {
        let c = build_for(&fixture(&format!("podman-default-{goarch}.json")), kernel);
        assert_eq!(c.warnings, vec![], "{goarch}");
        for &abi in listed {
            let d = |name, args| {
                (
                    decide(&c, abi, name, args),
                    format!("{goarch} {abi:?} {name}"),
                )
            };
            for name in ["openat", "mkdirat", "read", "getppid", "clone", "execve"] {
                let (got, what) = d(name, NO_ARGS);
                assert_eq!(got, RET_ALLOW, "{what}");
            }
            for name in ["kexec_load", "bpf", "init_module", "acct", "vhangup"] {
                let (got, what) = d(name, NO_ARGS);
                assert_eq!(got, errno(1), "{what}");
            }
            // Not in the profile: the default, ENOSYS.
            let (got, what) = d("add_key", NO_ARGS);
            assert_eq!(got, enosys, "{what}");
            // Argument rules: socket(AF_NETLINK, *, NETLINK_AUDIT) gets
            // EINVAL, other sockets are allowed.
            let (got, what) = d("socket", [16, 3, 9, 0, 0, 0]);
            assert_eq!(got, errno(22), "{what}");
            let (got, what) = d("socket", [2, 1, 0, 0, 0, 0]);
            assert_eq!(got, RET_ALLOW, "{what}");
            // personality: 64 bits compared on 64-bit ABIs, 32 on the others.
            let (got, what) = d("personality", arg(0, 0xffff_ffff));
            assert_eq!(got, RET_ALLOW, "{what}");
            let (got, what) = d("personality", arg(0, 0x1_0000_0008));
            let want = if abi.args_are_64bit() {
                enosys
            } else {
                RET_ALLOW
            };
            assert_eq!(got, want, "{what}");
        }
        // An ABI the profile does not list, or another kernel's: bad arch.
        for abi in [Abi::X86_64, Abi::X86, Abi::Arm, Abi::S390, Abi::Ppc64] {
            if !listed.contains(&abi) {
                let (got, _) = run_nr(&c, abi, 64, NO_ARGS);
                assert_eq!(got, RET_KILL_THREAD, "{goarch}: a call from {abi:?}");
            }
        }
    }
}

/// s390x and ppc64 reach socket calls through `socketcall(2)` too.
#[test]
fn multiplexers_on_s390x() {
    let c = build_for(&fixture("podman-default-s390x.json"), Arch::ScmpArchS390x);
    for abi in [Abi::S390x, Abi::S390] {
        // SYS_CONNECT (3): allowed like connect(2).
        assert_eq!(decide(&c, abi, "socketcall", arg(0, 3)), RET_ALLOW);
    }
    let c = build_for(
        &profile(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["connect"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]}"#,
        ),
        Arch::ScmpArchPpc64le,
    );
    assert_eq!(decide(&c, Abi::Ppc64le, "connect", NO_ARGS), errno(5));
    assert_eq!(decide(&c, Abi::Ppc64le, "socketcall", arg(0, 3)), errno(5));
    assert_eq!(decide(&c, Abi::Ppc64le, "socketcall", arg(0, 2)), RET_ALLOW);
}

/// A 64-bit comparison loads the high word of the argument first: on a
/// big-endian kernel it is the first of the two, on a little-endian one the
/// second.
#[test]
fn argument_words_follow_the_byte_order() {
    let p = profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
                          "args": [{"index": 1, "value": 4294967298, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let first_arg_load = |c: &Compiled| {
        c.program
            .iter()
            .find(|i| i.code == LD_W_ABS && i.k >= 16)
            .map(|i| i.k)
    };
    for (kernel, abi, high_word) in [
        (Arch::ScmpArchS390x, Abi::S390x, 24),
        (Arch::ScmpArchPpc64, Abi::Ppc64, 24),
        (Arch::ScmpArchAarch64, Abi::Aarch64, 28),
        (Arch::ScmpArchPpc64le, Abi::Ppc64le, 28),
    ] {
        let c = build_for(&p, kernel);
        assert_eq!(first_arg_load(&c), Some(high_word), "{abi:?}");
        let get = |a1| decide(&c, abi, "getppid", arg(1, a1));
        assert_eq!(get(0x1_0000_0002), errno(3), "{abi:?}");
        assert_eq!(get(0x2_0000_0001), RET_ALLOW, "{abi:?}");
        assert_eq!(get(2), RET_ALLOW, "{abi:?}");
    }
    // s390 (31-bit) compares the low word only, which is the second.
    let c = build_for(
        &profile(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_S390"],
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
                              "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#,
        ),
        Arch::ScmpArchS390x,
    );
    assert_eq!(decide(&c, Abi::S390, "getppid", arg(1, 2)), errno(3));
    assert_eq!(
        decide(&c, Abi::S390, "getppid", arg(1, 0x5_0000_0002)),
        errno(3)
    );
    assert_eq!(decide(&c, Abi::S390, "getppid", arg(1, 3)), RET_ALLOW);
}

#[test]
fn architectures_entries_on_other_kernels() {
    let getppid = |archs: &str| {
        profile(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "architectures": [{archs}],
                "syscalls": [{{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9}}]}}"#
        ))
    };
    // NATIVE is the kernel's own ABI; x86_64 never runs on arm64: skipped
    // with a warning, as runc's libseccomp adds a section that never runs.
    let c = build_for(
        &getppid(r#""SCMP_ARCH_NATIVE", "SCMP_ARCH_X86_64", "SCMP_ARCH_ARM""#),
        Arch::ScmpArchAarch64,
    );
    assert_eq!(
        c.warnings,
        [Warning::ForeignArchitecture {
            field: "linux.seccomp.architectures[1]".into(),
            arch: "SCMP_ARCH_X86_64".into(),
            kernel: "aarch64".into(),
        }]
    );
    assert_eq!(
        c.warnings[0].to_string(),
        "linux.seccomp.architectures[1]: SCMP_ARCH_X86_64 never runs on an aarch64 kernel, skipped"
    );
    assert_eq!(decide(&c, Abi::Aarch64, "getppid", NO_ARGS), errno(9));
    assert_eq!(decide(&c, Abi::Arm, "getppid", NO_ARGS), errno(9));
    assert_eq!(run_nr(&c, Abi::X86_64, 110, NO_ARGS).0, RET_KILL_THREAD);

    // Without ARM listed, an arm call on arm64 is a bad-arch call.
    let c = build_for(&getppid(""), Arch::ScmpArchAarch64);
    assert_eq!(decide(&c, Abi::Aarch64, "getppid", NO_ARGS), errno(9));
    assert_eq!(decide(&c, Abi::Arm, "getppid", NO_ARGS), RET_KILL_THREAD);

    // A big-endian ppc64 kernel runs 32-bit ppc, which has no table: a
    // filter without its section would kill those calls instead of applying
    // the profile, so the entry is refused.
    let e = compile_for(
        &getppid(r#""SCMP_ARCH_PPC64", "SCMP_ARCH_PPC""#),
        Arch::ScmpArchPpc64,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linux.seccomp.architectures[1]: "),
        "{e}"
    );
    // On ppc64le the same entry is only foreign.
    let c = build_for(&getppid(r#""SCMP_ARCH_PPC""#), Arch::ScmpArchPpc64le);
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn kernels_without_tables_are_refused() {
    let p = profile(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
    for arch in [Arch::ScmpArchMips64, Arch::ScmpArchX32, Arch::ScmpArchS390] {
        let e = compile_for(&p, arch).unwrap_err();
        assert!(
            matches!(e, SeccompError::UnsupportedKernel { .. }),
            "{arch}: {e}"
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("linux.seccomp: no syscall tables for a "),
            "{msg}"
        );
        assert!(
            msg.ends_with("x86_64, x86, aarch64, arm, riscv64, ppc64le, ppc64, s390x"),
            "{msg}"
        );
    }
}

/// The runtime compiles for the build's kernel: `compile` is
/// `compile_for(SCMP_ARCH_NATIVE)`, and every supported `target_arch` has
/// one.
#[test]
fn compile_is_for_the_build_architecture() {
    let p = fixture("podman-default.json");
    let native = Kernel::BUILD.expect("the tests run on an architecture with tables");
    assert_eq!(compile(&p).unwrap(), build_for(&p, Arch::ScmpArchNative));
    let expected = match std::env::consts::ARCH {
        "x86_64" => Abi::X86_64,
        "x86" => Abi::X86,
        "aarch64" => Abi::Aarch64,
        "arm" => Abi::Arm,
        "riscv64" => Abi::Riscv64,
        "powerpc64" if cfg!(target_endian = "little") => Abi::Ppc64le,
        "powerpc64" => Abi::Ppc64,
        "s390x" => Abi::S390x,
        other => panic!("no kernel for {other}"),
    };
    assert_eq!(native.native(), expected);
}

/// Program length and instructions run for podman's profile on each kernel
/// (`-- --nocapture` prints them).
#[test]
fn podman_figures_on_every_kernel() {
    for (goarch, kernel, listed) in PODMAN {
        let c = build_for(&fixture(&format!("podman-default-{goarch}.json")), kernel);
        let native = listed[0];
        let steps = |name| run_nr(&c, native, native.syscall_nr(name).unwrap(), NO_ARGS).1;
        let (getppid, read) = (steps("getppid"), steps("read"));
        eprintln!(
            "{goarch}: {} instructions; executed: getppid {getppid}, read {read}",
            c.program.len()
        );
        assert!(c.program.len() < 1000, "{goarch}: {}", c.program.len());
        assert!(getppid <= 16 && read <= 16, "{goarch}: {getppid} {read}");
    }
}
