//! The re-execution from a sealed view of the binary (CVE-2019-5736: see
//! `cella::exe`), as early as it can be decided.
//!
//! `create`, `run` and `exec` re-execute themselves before they fork. The
//! process that does so only needs to know the command and the state root:
//! parsing the whole command line first (clap builds every subcommand's
//! definition, about 0.3 ms here) would be paid twice, once before and once
//! after the re-exec. So [`early`] reads just those two from the arguments,
//! before clap, and re-executes when it is sure. When it is not (an unknown
//! flag, `--help`, anything unusual), it does nothing, and [`after_parse`],
//! from the parsed command line, re-executes as before: the scan only ever
//! saves work, it never decides that a command skips the re-exec.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What the scan found: a command that runs from a sealed view, and the
/// `--root` given, if any.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub(crate) root: Option<PathBuf>,
}

/// Global flags that take a value (as the next argument or after `=`).
const VALUE_FLAGS: [&str; 4] = ["--root", "--log", "--log-format", "--rootless"];
/// Global flags without a value.
const BARE_FLAGS: [&str; 2] = ["--debug", "--systemd-cgroup"];

/// Reads `args` (without the program's name) up to the command: `Some` when
/// the command is `create`, `run` or `exec` and every argument before it is
/// a known global flag. `--root` is also looked for after the command, up to
/// its first argument that is not a flag (global flags may follow the
/// command).
pub(crate) fn scan(args: &[OsString]) -> Option<Sealed> {
    let mut root = None;
    let mut i = 0;
    let command = loop {
        let arg = args.get(i)?;
        i += 1;
        match global_flag(arg, args.get(i))? {
            Flag::Command => break arg.as_bytes(),
            Flag::Bare => {}
            Flag::Value {
                root: r,
                takes_next,
            } => {
                root = r.or(root);
                i += usize::from(takes_next);
            }
        }
    };
    if !matches!(command, b"create" | b"run" | b"exec") {
        return None;
    }
    // Flags of the command itself may take values this scan does not know:
    // stop at the first argument that is not a flag, so as not to read a
    // value as a `--root`. What is missed here is found after clap.
    while let Some(arg) = args.get(i) {
        i += 1;
        if !arg.as_bytes().starts_with(b"-") {
            break;
        }
        if let Some(Flag::Value {
            root: r,
            takes_next,
        }) = global_flag(arg, args.get(i))
        {
            root = r.or(root);
            i += usize::from(takes_next);
        }
    }
    Some(Sealed { root })
}

enum Flag {
    /// Not a flag: the command.
    Command,
    Bare,
    /// A flag with a value: `--root`'s, and whether the value is the next
    /// argument.
    Value {
        root: Option<PathBuf>,
        takes_next: bool,
    },
}

/// Classifies `arg`; `None` for a flag the scan does not know (`-h`,
/// `--version`, a typo: clap says what it is) or a value that is missing.
fn global_flag(arg: &OsStr, next: Option<&OsString>) -> Option<Flag> {
    let bytes = arg.as_bytes();
    if !bytes.starts_with(b"-") {
        return Some(Flag::Command);
    }
    if BARE_FLAGS.iter().any(|f| f.as_bytes() == bytes) {
        return Some(Flag::Bare);
    }
    let (name, inline) = match bytes.iter().position(|&b| b == b'=') {
        Some(eq) => (&bytes[..eq], Some(&bytes[eq + 1..])),
        None => (bytes, None),
    };
    if !VALUE_FLAGS.iter().any(|f| f.as_bytes() == name) {
        return None;
    }
    let value = match inline {
        Some(v) => OsStr::from_bytes(v),
        None => next?.as_os_str(),
    };
    Some(Flag::Value {
        root: (name == b"--root").then(|| PathBuf::from(value)),
        takes_next: inline.is_none(),
    })
}

/// Re-executes from the sealed view when [`scan`] is sure the command needs
/// it (it returns only if it does not, or on an error): `true` when it
/// found this process running from the view already, so that
/// [`after_parse`] need not look again.
pub(crate) fn early() -> Result<bool, cella::Error> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match scan(&args) {
        Some(sealed) => reexec(sealed.root).map(|()| true),
        None => Ok(false),
    }
}

/// The same, once clap has parsed the command line: for what [`early`] left.
pub(crate) fn after_parse(root: Option<&Path>) -> Result<(), cella::Error> {
    reexec(root.map(Path::to_path_buf))
}

fn reexec(root: Option<PathBuf>) -> Result<(), cella::Error> {
    // The state root, where it exists, is the overlay view's second layer:
    // cheaper than a tmpfs made for the purpose (see `cella::exe`).
    let beside = root
        .or_else(|| cella::rootless::default_state_root(&cella::rootless::Caller::detect()).ok())
        .filter(|root| root.is_absolute());
    cella::exe::reexec_from_sealed_view(beside.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_str(args: &[&str]) -> Option<Sealed> {
        scan(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn root(path: &str) -> Option<Sealed> {
        Some(Sealed {
            root: Some(PathBuf::from(path)),
        })
    }

    #[test]
    fn the_commands_that_fork_into_a_container_are_found() {
        for cmd in ["create", "run", "exec"] {
            assert_eq!(scan_str(&[cmd, "id"]), Some(Sealed { root: None }), "{cmd}");
        }
        for cmd in [
            "start", "delete", "state", "kill", "list", "spec", "runx", "id",
        ] {
            assert_eq!(scan_str(&[cmd, "id"]), None, "{cmd}");
        }
        assert_eq!(scan_str(&[]), None);
    }

    #[test]
    fn global_flags_before_the_command_are_skipped_with_their_values() {
        assert_eq!(
            scan_str(&["--root", "/r", "--log", "/l", "--debug", "run", "id"]),
            root("/r")
        );
        assert_eq!(
            scan_str(&[
                "--log-format=json",
                "--root=/r",
                "--systemd-cgroup",
                "create"
            ]),
            root("/r")
        );
        // The value of a value flag is not the command.
        assert_eq!(scan_str(&["--root", "run", "start", "id"]), None);
        assert_eq!(scan_str(&["--log", "create", "delete", "id"]), None);
        assert_eq!(
            scan_str(&["--rootless", "true", "exec", "id", "sh"]),
            Some(Sealed { root: None })
        );
    }

    #[test]
    fn anything_unknown_is_left_to_clap() {
        for args in [
            &["-h", "run"][..],
            &["--help"],
            &["--version", "run"],
            &["-v"],
            &["--rot", "/r", "run"],
            &["--root"],
            &["--root", "/r"],
        ] {
            assert_eq!(scan_str(args), None, "{args:?}");
        }
    }

    #[test]
    fn root_after_the_command_is_read_up_to_its_first_argument() {
        assert_eq!(scan_str(&["run", "--root", "/r", "-d", "id"]), root("/r"));
        assert_eq!(scan_str(&["create", "--root=/r", "id"]), root("/r"));
        assert_eq!(
            scan_str(&["--root", "/a", "run", "--root", "/b", "id"]),
            root("/b")
        );
        // The exec'd command's own arguments are not cella's.
        assert_eq!(
            scan_str(&["exec", "id", "sh", "--root", "/x"]),
            Some(Sealed { root: None })
        );
        // A command flag's value ends the scan: what follows is left to clap.
        assert_eq!(
            scan_str(&["run", "--bundle", "b", "--root", "/r", "id"]),
            Some(Sealed { root: None })
        );
    }
}
