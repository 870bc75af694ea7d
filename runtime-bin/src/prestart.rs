//! The re-execution from the sealed view, done before the C library starts
//! (x86_64, the shipped static build only).
//!
//! `create`, `run` and `exec` re-execute themselves from an unwritable view
//! of the binary (see `cella::exe` and [`crate::sealed`]), so the first
//! process of each of those commands only ever makes the view and calls
//! `execveat`. Yet it paid a whole start of a static glibc program first:
//! its self-relocation (about 11,700 relocations, some fifty pages copied
//! on write), glibc's CPU and cache detection (some forty `cpuid`, each a
//! trap to the hypervisor on a virtual machine, which is where most
//! Kubernetes nodes run) and Rust's runtime set-up. Measured on this
//! project's machine with a stand-in for this module, `run` of `/bin/true`
//! took 6.9 ms instead of 7.85 (hyperfine, 2 × 100 runs each).
//!
//! So the ELF entry point of the shipped binary is `cella_prestart`
//! (`build.rs` passes `-e`), which calls [`prestart`] with the initial
//! stack and then jumps to the C library's `_start` with the stack and
//! registers as the kernel left them. [`prestart`] re-executes at once when
//! it is sure it may, and otherwise returns: it is only ever a shortcut,
//! and everything it leaves is done as before by [`crate::sealed`], which
//! also checks, in the re-executed process, that the view is unwritable.
//!
//! Nothing here may use what is set up only by the C library's start: no
//! allocation, no thread-local, no formatting or panic, no call into libc
//! (even `memcpy` is resolved at start-up), and no data that holds a
//! pointer (not yet relocated). Hence the byte loops through
//! [`core::hint::black_box`] (so that the compiler does not turn them into
//! `memcpy`/`memcmp` calls), the uninitialized buffers (so that it emits no
//! `memset`), the literals compared in code rather than kept in tables, and
//! the raw system calls in [`raw`]. `scripts/check-prestart.sh` checks the
//! built binary for calls out of this module.

#![allow(unsafe_code)]

mod raw;

use core::hint::black_box;
use core::mem::MaybeUninit;

// The entry: the kernel leaves the argument count at the stack pointer,
// then the arguments, the environment and the auxiliary vector, and `rdx`
// (a function for `atexit`, from a dynamic loader; 0 from the kernel).
// Both are kept for `_start`; the call gets a 16-byte aligned stack.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
core::arch::global_asm!(
    ".globl cella_prestart",
    ".type cella_prestart, @function",
    "cella_prestart:",
    "    mov rdi, rsp",
    "    push rdx",
    "    sub rsp, 8",
    "    call {prestart}",
    "    add rsp, 8",
    "    pop rdx",
    "    jmp _start",
    ".size cella_prestart, . - cella_prestart",
    prestart = sym prestart,
);

/// `AT_EXECFN` in the auxiliary vector: the name the program was executed
/// by (`/dev/fd/N` after an `execveat` of an fd, as the re-execution does).
const AT_EXECFN: usize = 31;

/// Called by `cella_prestart` with the initial stack pointer; returns
/// unless it re-executes.
///
/// # Safety
/// `sp` is the stack pointer the kernel gave the program's entry point,
/// untouched: the argument count, the arguments, a null, the environment,
/// a null, then the auxiliary vector (System V ABI, x86_64 supplement).
unsafe extern "C" fn prestart(sp: *const usize) {
    // SAFETY: the caller gives the kernel's initial stack (see above): a
    // count, then that many argument pointers and a null, then environment
    // pointers up to a null, then (type, value) pairs up to type 0; every
    // pointer there is to a NUL-terminated string, and none of it is ever
    // freed or written while this process runs.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);
        let mut end = envp;
        while !(*end).is_null() {
            end = end.add(1);
        }
        let mut aux = end.add(1) as *const usize;
        while *aux != 0 {
            if *aux == AT_EXECFN && starts_with(cstr(*aux.add(1) as *const u8), b"/dev/fd/") {
                // Already re-executed (or started from an fd by someone
                // else: then `sealed` decides).
                return;
            }
            aux = aux.add(2);
        }
        let args = core::slice::from_raw_parts(argv, argc);
        if let Some(root) = scan(args.get(1..).unwrap_or(&[]), |p| cstr(p)) {
            reexec(argv, envp, root);
        }
    }
}

/// The bytes of the NUL-terminated string at `p`, without the NUL.
///
/// # Safety
/// `p` points to a NUL-terminated string that lives as long as the process
/// and is never written.
unsafe fn cstr(p: *const u8) -> &'static [u8] {
    let mut len = 0;
    // SAFETY: the caller's: every byte up to the NUL is readable.
    unsafe {
        while black_box(*p.add(len)) != 0 {
            len += 1;
        }
        core::slice::from_raw_parts(p, len)
    }
}

fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && starts_with(a, b)
}

fn starts_with(a: &[u8], prefix: &[u8]) -> bool {
    if a.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if black_box(a[i]) != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The state root to use as the view's second layer when `args` (after the
/// program's name) are a `create`, `run` or `exec` with only known global
/// flags before the command: the `--root` given there, or the default root
/// of a process whose effective user is root. `None` in every other case
/// (`sealed` decides then). A `--root` given after the command is not
/// looked for: the layer is any existing directory, only its cost differs.
fn scan<P: Copy>(args: &[P], bytes: impl Fn(P) -> &'static [u8]) -> Option<&'static [u8]> {
    let mut root = None;
    let mut i = 0;
    while i < args.len() {
        let arg = bytes(args[i]);
        i += 1;
        if eq(arg, b"create") || eq(arg, b"run") || eq(arg, b"exec") {
            return root.or_else(|| (raw::geteuid() == 0).then_some(&b"/run/cella"[..]));
        }
        if eq(arg, b"--debug") || eq(arg, b"--systemd-cgroup") {
            continue;
        }
        let eq_at = arg.iter().position(|&b| b == b'=');
        let name = &arg[..eq_at.unwrap_or(arg.len())];
        if !(eq(name, b"--root")
            || eq(name, b"--log")
            || eq(name, b"--log-format")
            || eq(name, b"--rootless"))
        {
            return None;
        }
        let value = match eq_at {
            Some(at) => &arg[at + 1..],
            None => {
                i += 1;
                bytes(*args.get(i - 1)?)
            }
        };
        if eq(name, b"--root") {
            root = Some(value);
        }
    }
    None
}

/// A fixed buffer that NUL-terminated strings are built in.
struct Buf<const N: usize> {
    bytes: [MaybeUninit<u8>; N],
    len: usize,
}

impl<const N: usize> Buf<N> {
    fn new() -> Self {
        Buf {
            bytes: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    /// Appends `s`; `None` when it does not fit with a NUL after it.
    fn push(&mut self, s: &[u8]) -> Option<()> {
        if self.len + s.len() >= N {
            return None;
        }
        for &b in s {
            self.bytes[self.len] = MaybeUninit::new(black_box(b));
            self.len += 1;
        }
        Some(())
    }

    fn as_bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `push` or
        // `readlink`.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr().cast(), self.len) }
    }

    /// The string, NUL-terminated (there is room: `push` keeps it).
    fn c_ptr(&mut self) -> *const u8 {
        self.bytes[self.len] = MaybeUninit::new(0);
        self.bytes.as_ptr().cast()
    }
}

/// A directory that may be named in `lowerdir` as it is (as `cella::exe`
/// requires): absolute, without the separators ':' and ',' or an escape.
fn usable_as_layer(dir: &[u8]) -> bool {
    dir.first() == Some(&b'/') && !dir.iter().any(|&b| b == b':' || b == b',' || b == b'\\')
}

/// Opens the running binary through a private, read-only overlay of its
/// directory over `root` (as `cella::exe` makes it) and executes it with
/// the same arguments and environment; returns if any step fails.
///
/// # Safety
/// `argv` and `envp` are the kernel's null-terminated vectors of the
/// initial stack.
unsafe fn reexec(argv: *const *const u8, envp: *const *const u8, root: &[u8]) {
    let mut exe = Buf::<4096>::new();
    let Some(len) = raw::readlink(c"/proc/self/exe", &mut exe.bytes) else {
        return;
    };
    exe.len = len;
    let path = exe.as_bytes();
    let Some(slash) = path.iter().rposition(|&b| b == b'/') else {
        return;
    };
    let (dir, name) = (&path[..slash], &path[slash + 1..]);
    if !usable_as_layer(dir) || !usable_as_layer(root) || name.is_empty() {
        return;
    }
    let mut lower = Buf::<8192>::new();
    let mut file = Buf::<256>::new();
    if lower
        .push(dir)
        .and(lower.push(b":"))
        .and(lower.push(root))
        .is_none()
        || file.push(name).is_none()
    {
        return;
    }
    // SAFETY: both are NUL-terminated by `c_ptr`, and live until the call
    // returns.
    let Some(view) = (unsafe { raw::overlay_view(lower.c_ptr(), file.c_ptr()) }) else {
        return;
    };
    if raw::same_file(view, c"/proc/self/exe") {
        // SAFETY: the caller's vectors, as the kernel gave them.
        unsafe { raw::execveat_empty(view, argv, envp) };
    }
    raw::close(view);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_str(args: &'static [&'static str]) -> Option<&'static [u8]> {
        scan(args, |a: &'static str| a.as_bytes())
    }

    #[test]
    fn the_commands_that_fork_into_a_container_are_found_with_their_root() {
        assert_eq!(scan_str(&["--root", "/r", "create", "x"]), Some(&b"/r"[..]));
        assert_eq!(
            scan_str(&["--root=/r", "--debug", "run", "x"]),
            Some(&b"/r"[..])
        );
        assert_eq!(
            scan_str(&[
                "--log",
                "l",
                "--log-format",
                "json",
                "--root",
                "/r",
                "exec",
                "x"
            ]),
            Some(&b"/r"[..])
        );
        assert_eq!(
            scan_str(&["--systemd-cgroup", "--root", "/r", "create"]),
            Some(&b"/r"[..])
        );
    }

    #[test]
    fn without_a_root_only_the_root_user_gets_the_default() {
        let expected = (raw::geteuid() == 0).then_some(&b"/run/cella"[..]);
        assert_eq!(scan_str(&["create", "x"]), expected);
        assert_eq!(scan_str(&["--log", "/l", "run", "x"]), expected);
    }

    #[test]
    fn anything_else_is_left_to_the_sealed_module() {
        for args in [
            &["state", "x"][..],
            &["--root", "/r", "delete", "x"],
            &["--help", "create"],
            &["--unknown", "create"],
            &["-v"],
            &["--root"],
            &["--debug=1", "create"],
            &[],
        ] {
            assert_eq!(scan_str(args), None, "{args:?}");
        }
    }

    #[test]
    fn a_root_value_that_looks_like_a_command_is_a_value() {
        assert_eq!(
            scan_str(&["--root", "run", "create", "x"]),
            Some(&b"run"[..])
        );
    }

    #[test]
    fn layers_with_separators_or_relative_paths_are_refused() {
        assert!(usable_as_layer(b"/usr/local/bin"));
        for dir in [&b""[..], b"bin", b"/a:b", b"/a,b", b"/a\\b"] {
            assert!(!usable_as_layer(dir), "{dir:?}");
        }
    }

    #[test]
    fn buffers_keep_room_for_the_nul() {
        let mut buf = Buf::<4>::new();
        assert_eq!(buf.push(b"abc"), Some(()));
        assert_eq!(buf.push(b"d"), None);
        assert_eq!(buf.as_bytes(), b"abc");
    }
}
