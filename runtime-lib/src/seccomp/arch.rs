//! The syscall ABIs a filter can meet, the kernels that run them, and how an
//! OCI `architectures` entry maps onto them.
//!
//! A kernel runs its native ABI and possibly compat ABIs (x86_64: i386 and
//! x32; arm64: arm; s390x: s390). `seccomp_data.arch` tells them apart by
//! their `AUDIT_ARCH_*` value, except x32, which shares `AUDIT_ARCH_X86_64`
//! with x86_64 and is told apart only by `__X32_SYSCALL_BIT` (0x4000_0000) in
//! `seccomp_data.nr`. No other `AUDIT_ARCH_*` value can reach a filter on
//! that kernel.
//!
//! The runtime compiles for the kernel of the build's `target_arch`
//! ([`Kernel::BUILD`]); the tests compile for every kernel.

use oci_spec::runtime::Arch;

use super::syscalls::{
    self, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_PPC64,
    AUDIT_ARCH_PPC64LE, AUDIT_ARCH_RISCV64, AUDIT_ARCH_S390, AUDIT_ARCH_S390X, AUDIT_ARCH_X86_64,
};

/// `__X32_SYSCALL_BIT`: set in the number of every x32 syscall.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    /// `SCMP_ARCH_X86_64`.
    X86_64,
    /// `SCMP_ARCH_X32`: x86_64's ILP32 ABI.
    X32,
    /// `SCMP_ARCH_X86`: i386, native or compat of x86_64.
    X86,
    /// `SCMP_ARCH_AARCH64`.
    Aarch64,
    /// `SCMP_ARCH_ARM`: EABI, native or compat of arm64.
    Arm,
    /// `SCMP_ARCH_RISCV64`.
    Riscv64,
    /// `SCMP_ARCH_PPC64LE`.
    Ppc64le,
    /// `SCMP_ARCH_PPC64` (big endian).
    Ppc64,
    /// `SCMP_ARCH_S390X` (big endian).
    S390x,
    /// `SCMP_ARCH_S390`: 31-bit, compat of s390x (big endian).
    S390,
}

/// What an `architectures` entry means on a kernel.
pub enum ArchMapping {
    /// One of the kernel's ABIs.
    Abi(Abi),
    /// A valid architecture that this kernel never reports, so a filter
    /// section for it could never run.
    Foreign,
    /// An ABI this kernel can run but that has no syscall table here: a
    /// filter without it would let its syscalls through the bad-arch action
    /// instead of the profile's rules, so the profile is refused.
    NoTable,
}

/// A kernel architecture: the ABIs its syscalls can arrive in, native first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel {
    abis: &'static [Abi],
    /// Compat ABIs it can run that have no table (libseccomp names them).
    untabled: &'static [Arch],
}

impl Kernel {
    pub const X86_64: Kernel = Kernel::new(&[Abi::X86_64, Abi::X32, Abi::X86]);
    pub const X86: Kernel = Kernel::new(&[Abi::X86]);
    pub const AARCH64: Kernel = Kernel::new(&[Abi::Aarch64, Abi::Arm]);
    pub const ARM: Kernel = Kernel::new(&[Abi::Arm]);
    pub const RISCV64: Kernel = Kernel::new(&[Abi::Riscv64]);
    // Little-endian powerpc kernels run no 32-bit ABI libseccomp knows.
    pub const PPC64LE: Kernel = Kernel::new(&[Abi::Ppc64le]);
    // A big-endian ppc64 kernel also runs 32-bit ppc, which has no table.
    pub const PPC64: Kernel = Kernel {
        abis: &[Abi::Ppc64],
        untabled: &[Arch::ScmpArchPpc],
    };
    pub const S390X: Kernel = Kernel::new(&[Abi::S390x, Abi::S390]);

    /// Every kernel with tables.
    pub const ALL: [Kernel; 8] = [
        Kernel::X86_64,
        Kernel::X86,
        Kernel::AARCH64,
        Kernel::ARM,
        Kernel::RISCV64,
        Kernel::PPC64LE,
        Kernel::PPC64,
        Kernel::S390X,
    ];

    /// The kernel of the build's architecture, if it has tables.
    pub const BUILD: Option<Kernel> = build_kernel();

    const fn new(abis: &'static [Abi]) -> Kernel {
        Kernel {
            abis,
            untabled: &[],
        }
    }

    /// The kernel whose native ABI is `arch` (`SCMP_ARCH_NATIVE`: the
    /// build's).
    pub fn from_oci(arch: Arch) -> Option<Kernel> {
        if arch == Arch::ScmpArchNative {
            return Kernel::BUILD;
        }
        Kernel::ALL
            .into_iter()
            .find(|k| Abi::from_oci(arch) == Some(k.native()))
    }

    /// The ABI the kernel itself speaks.
    pub fn native(self) -> Abi {
        self.abis[0]
    }

    /// Its ABIs, native first.
    pub fn abis(self) -> &'static [Abi] {
        self.abis
    }

    /// What `arch` means on this kernel.
    pub fn map(self, arch: Arch) -> ArchMapping {
        if arch == Arch::ScmpArchNative {
            return ArchMapping::Abi(self.native());
        }
        match Abi::from_oci(arch) {
            Some(abi) if self.abis.contains(&abi) => ArchMapping::Abi(abi),
            _ if self.untabled.contains(&arch) => ArchMapping::NoTable,
            _ => ArchMapping::Foreign,
        }
    }
}

const fn build_kernel() -> Option<Kernel> {
    if cfg!(target_arch = "x86_64") {
        Some(Kernel::X86_64)
    } else if cfg!(target_arch = "x86") {
        Some(Kernel::X86)
    } else if cfg!(target_arch = "aarch64") {
        Some(Kernel::AARCH64)
    } else if cfg!(target_arch = "arm") {
        Some(Kernel::ARM)
    } else if cfg!(target_arch = "riscv64") {
        Some(Kernel::RISCV64)
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        Some(Kernel::PPC64LE)
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "big")) {
        Some(Kernel::PPC64)
    } else if cfg!(target_arch = "s390x") {
        Some(Kernel::S390X)
    } else {
        None
    }
}

impl Abi {
    /// Every ABI with a table.
    pub const ALL: [Abi; 10] = [
        Abi::X86_64,
        Abi::X32,
        Abi::X86,
        Abi::Aarch64,
        Abi::Arm,
        Abi::Riscv64,
        Abi::Ppc64le,
        Abi::Ppc64,
        Abi::S390x,
        Abi::S390,
    ];

    /// libseccomp's name for it (`scmp_arch_resolve_name`'s spelling).
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::X32 => "x32",
            Abi::X86 => "x86",
            Abi::Aarch64 => "aarch64",
            Abi::Arm => "arm",
            Abi::Riscv64 => "riscv64",
            Abi::Ppc64le => "ppc64le",
            Abi::Ppc64 => "ppc64",
            Abi::S390x => "s390x",
            Abi::S390 => "s390",
        }
    }

    /// The ABI an OCI architecture names, if it has a table.
    pub fn from_oci(arch: Arch) -> Option<Abi> {
        Some(match arch {
            Arch::ScmpArchX86_64 => Abi::X86_64,
            Arch::ScmpArchX86 => Abi::X86,
            Arch::ScmpArchX32 => Abi::X32,
            Arch::ScmpArchAarch64 => Abi::Aarch64,
            Arch::ScmpArchArm => Abi::Arm,
            Arch::ScmpArchRiscv64 => Abi::Riscv64,
            Arch::ScmpArchPpc64le => Abi::Ppc64le,
            Arch::ScmpArchPpc64 => Abi::Ppc64,
            Arch::ScmpArchS390x => Abi::S390x,
            Arch::ScmpArchS390 => Abi::S390,
            _ => return None,
        })
    }

    /// The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
            Abi::Arm => AUDIT_ARCH_ARM,
            Abi::Riscv64 => AUDIT_ARCH_RISCV64,
            Abi::Ppc64le => AUDIT_ARCH_PPC64LE,
            Abi::Ppc64 => AUDIT_ARCH_PPC64,
            Abi::S390x => AUDIT_ARCH_S390X,
            Abi::S390 => AUDIT_ARCH_S390,
        }
    }

    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X86 => syscalls::X86,
            Abi::X32 => syscalls::X32,
            Abi::Aarch64 => syscalls::AARCH64,
            Abi::Arm => syscalls::ARM,
            Abi::Riscv64 => syscalls::RISCV64,
            Abi::Ppc64le | Abi::Ppc64 => syscalls::PPC64,
            Abi::S390x => syscalls::S390X,
            Abi::S390 => syscalls::S390,
        }
    }

    /// The syscall number for `name`, if this ABI has the syscall.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        let table = self.table();
        table
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }

    /// Whether argument comparisons use all 64 bits. libseccomp compares
    /// only the low 32 bits on its 32-bit ABIs — i386, arm, s390 *and* x32
    /// (`arch_def_x32.size = ARCH_SIZE_32`) — truncating the profile's value
    /// to 32 bits (`_db_rule_gen_32`); we do the same so a profile means
    /// what it means under runc.
    pub fn args_are_64bit(self) -> bool {
        matches!(
            self,
            Abi::X86_64 | Abi::Aarch64 | Abi::Riscv64 | Abi::Ppc64le | Abi::Ppc64 | Abi::S390x
        )
    }

    /// Whether the kernel fills `seccomp_data` big endian: the high word of
    /// each argument comes first.
    pub fn big_endian(self) -> bool {
        matches!(self, Abi::Ppc64 | Abi::S390x | Abi::S390)
    }

    /// Offsets of the (low, high) 32-bit words of `args[index]`.
    pub fn arg_words(self, index: u8) -> (u32, u32) {
        let first = super::bpf::data_arg(index);
        if self.big_endian() {
            (first + 4, first)
        } else {
            (first, first + 4)
        }
    }

    /// The range of `seccomp_data.nr` values this ABI's section handles,
    /// inclusive. x86_64 and x32 split the number space of
    /// `AUDIT_ARCH_X86_64` at `__X32_SYSCALL_BIT`.
    pub fn nr_range(self) -> (u32, u32) {
        match self {
            Abi::X86_64 => (0, X32_SYSCALL_BIT - 1),
            Abi::X32 => (X32_SYSCALL_BIT, u32::MAX),
            _ => (0, u32::MAX),
        }
    }

    /// i386, s390(x) and ppc64 also reach the socket and SysV IPC calls
    /// through the multiplexers `socketcall(2)` and `ipc(2)`, with the call
    /// number in `args[0]` and the real arguments in memory. libseccomp adds
    /// a rule for the multiplexer, `args[0] == call`, next to the direct
    /// syscall's, dropping conditions it cannot check; so do we. Returns the
    /// multiplexer's number and the call's.
    ///
    /// libseccomp 2.5.4 leaves out accept, send, recv, semop and semtimedop
    /// (no multiplexer rule for them); they are covered here, as the profile
    /// means them to be.
    pub fn multiplexed(self, name: &str) -> Option<(u32, u64)> {
        if !matches!(
            self,
            Abi::X86 | Abi::S390x | Abi::S390 | Abi::Ppc64le | Abi::Ppc64
        ) {
            return None;
        }
        let (mux, call) = mux_call(name)?;
        Some((self.syscall_nr(mux)?, call))
    }
}

/// The multiplexer and call number of a socket or SysV IPC syscall:
/// include/uapi/linux/net.h (SYS_*) and ipc.h (SEMOP, ...).
fn mux_call(name: &str) -> Option<(&'static str, u64)> {
    const SOCKETCALL: &str = "socketcall";
    const IPC: &str = "ipc";
    Some(match name {
        "socket" => (SOCKETCALL, 1),
        "bind" => (SOCKETCALL, 2),
        "connect" => (SOCKETCALL, 3),
        "listen" => (SOCKETCALL, 4),
        "accept" => (SOCKETCALL, 5),
        "getsockname" => (SOCKETCALL, 6),
        "getpeername" => (SOCKETCALL, 7),
        "socketpair" => (SOCKETCALL, 8),
        "send" => (SOCKETCALL, 9),
        "recv" => (SOCKETCALL, 10),
        "sendto" => (SOCKETCALL, 11),
        "recvfrom" => (SOCKETCALL, 12),
        "shutdown" => (SOCKETCALL, 13),
        "setsockopt" => (SOCKETCALL, 14),
        "getsockopt" => (SOCKETCALL, 15),
        "sendmsg" => (SOCKETCALL, 16),
        "recvmsg" => (SOCKETCALL, 17),
        "accept4" => (SOCKETCALL, 18),
        "recvmmsg" => (SOCKETCALL, 19),
        "sendmmsg" => (SOCKETCALL, 20),
        "semop" => (IPC, 1),
        "semget" => (IPC, 2),
        "semctl" => (IPC, 3),
        "semtimedop" => (IPC, 4),
        "msgsnd" => (IPC, 11),
        "msgrcv" => (IPC, 12),
        "msgget" => (IPC, 13),
        "msgctl" => (IPC, 14),
        "shmat" => (IPC, 21),
        "shmdt" => (IPC, 22),
        "shmget" => (IPC, 23),
        "shmctl" => (IPC, 24),
        _ => return None,
    })
}
