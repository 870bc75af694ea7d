//! The command lines engines send most (`create`, `start`, `state`, `kill`,
//! `delete`, `run`, with the global flags), parsed without clap.
//!
//! clap builds the definition of every subcommand before it parses one: about
//! 0.3 ms of a `start` or `delete` that takes 2 ms (benches/README.md, "Where
//! the time goes"). [`parse`] reads the usual forms itself and gives up
//! (`None`) on anything else: an unknown or repeated flag, a short-flag
//! cluster, `--`, a value that starts with `-` or is empty, a missing or extra
//! argument, a non-UTF-8 id. clap then parses the line as before and reports
//! any error. The tests check, over every line [`parse`] accepts in a corpus
//! of thousands, that clap makes the same [`Cli`] of it.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::commands::{self, CreateFlags};
use crate::{Cli, Command};

/// The line's words (without the program's name), read front to back.
struct Words<'a> {
    args: &'a [OsString],
    next: usize,
}

/// A flag split from its inline value (`--root=/x`).
struct Flag<'a> {
    name: &'a [u8],
    inline: Option<&'a [u8]>,
}

impl<'a> Words<'a> {
    fn next_word(&mut self) -> Option<&'a OsString> {
        let w = self.args.get(self.next)?;
        self.next += 1;
        Some(w)
    }

    /// The value of `flag`: inline, or the next word; `None` if missing,
    /// empty or flag-like (clap would read those differently).
    fn value(&mut self, flag: &Flag<'_>) -> Option<OsString> {
        let word = match flag.inline {
            Some(v) => OsString::from(std::ffi::OsStr::from_bytes(v)),
            None => self.next_word()?.clone(),
        };
        let bytes = word.as_bytes();
        (!bytes.is_empty() && !bytes.starts_with(b"-")).then_some(word)
    }
}

fn split_flag(word: &OsString) -> Option<Flag<'_>> {
    let bytes = word.as_bytes();
    if !bytes.starts_with(b"-") || bytes == b"-" || bytes == b"--" {
        return None;
    }
    if bytes.starts_with(b"--") {
        return Some(match bytes.iter().position(|&b| b == b'=') {
            Some(eq) => Flag {
                name: &bytes[..eq],
                inline: Some(&bytes[eq + 1..]),
            },
            None => Flag {
                name: bytes,
                inline: None,
            },
        });
    }
    // One short flag, alone: `-d`, not `-df` or `-b/x`.
    (bytes.len() == 2).then_some(Flag {
        name: bytes,
        inline: None,
    })
}

/// Sets `slot` once; a second time is clap's error to report.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// The global flags, wherever they appear.
#[derive(Default)]
struct Globals {
    root: Option<PathBuf>,
    log: Option<PathBuf>,
    log_format: Option<String>,
    debug: Option<()>,
    systemd_cgroup: Option<()>,
    rootless: Option<cella::rootless::RootlessMode>,
}

impl Globals {
    /// Takes `flag` if it is a global one (`before` the command: `--rootless`
    /// too, which is not global). `Some(false)`: not a global flag.
    fn take(&mut self, flag: &Flag<'_>, words: &mut Words<'_>, before: bool) -> Option<bool> {
        match flag.name {
            b"--root" => once(&mut self.root, PathBuf::from(words.value(flag)?))?,
            b"--log" => once(&mut self.log, PathBuf::from(words.value(flag)?))?,
            b"--log-format" => {
                let v = words.value(flag)?.into_string().ok()?;
                if v != "text" && v != "json" {
                    return None;
                }
                once(&mut self.log_format, v)?
            }
            b"--rootless" if before => {
                let v = words.value(flag)?.into_string().ok()?;
                once(&mut self.rootless, v.parse().ok()?)?
            }
            b"--debug" | b"--systemd-cgroup" if flag.inline.is_some() => return None,
            b"--debug" => once(&mut self.debug, ())?,
            b"--systemd-cgroup" => once(&mut self.systemd_cgroup, ())?,
            _ => return Some(false),
        }
        Some(true)
    }
}

/// The command's own flags and arguments, as they come.
#[derive(Default)]
struct Parsed {
    bundle: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    console_socket: Option<PathBuf>,
    pidfd_socket: Option<PathBuf>,
    no_pivot: Option<()>,
    no_new_keyring: Option<()>,
    preserve_fds: Option<u32>,
    detach: Option<()>,
    keep: Option<()>,
    force: Option<()>,
    all: Option<()>,
    positional: Vec<String>,
}

/// Which flags a command takes besides the global ones.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Create,
    Run,
    Start,
    State,
    Kill,
    Delete,
}

impl Parsed {
    /// Takes `flag` if `kind` has it; `None` when it does not (or it is
    /// repeated, or its value is odd).
    fn take(&mut self, kind: Kind, flag: &Flag<'_>, words: &mut Words<'_>) -> Option<()> {
        let creates = matches!(kind, Kind::Create | Kind::Run);
        let bare = flag.inline.is_none();
        match flag.name {
            b"-b" | b"--bundle" if creates => {
                once(&mut self.bundle, PathBuf::from(words.value(flag)?))
            }
            b"--pid-file" if creates => once(&mut self.pid_file, PathBuf::from(words.value(flag)?)),
            b"--console-socket" if creates => {
                once(&mut self.console_socket, PathBuf::from(words.value(flag)?))
            }
            b"--pidfd-socket" if creates => {
                once(&mut self.pidfd_socket, PathBuf::from(words.value(flag)?))
            }
            b"--preserve-fds" if creates => {
                let v = words.value(flag)?.into_string().ok()?;
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                once(&mut self.preserve_fds, v.parse().ok()?)
            }
            b"--no-pivot" if creates && bare => once(&mut self.no_pivot, ()),
            b"--no-new-keyring" if creates && bare => once(&mut self.no_new_keyring, ()),
            b"-d" | b"--detach" if kind == Kind::Run && bare => once(&mut self.detach, ()),
            b"--keep" if kind == Kind::Run && bare => once(&mut self.keep, ()),
            b"-f" | b"--force" if kind == Kind::Delete && bare => once(&mut self.force, ()),
            b"-a" | b"--all" if kind == Kind::Kill && bare => once(&mut self.all, ()),
            _ => None,
        }
    }

    fn create_flags(&mut self) -> CreateFlags {
        CreateFlags {
            bundle: self.bundle.take().unwrap_or_else(|| PathBuf::from(".")),
            pid_file: self.pid_file.take(),
            console_socket: self.console_socket.take(),
            pidfd_socket: self.pidfd_socket.take(),
            no_pivot: self.no_pivot.is_some(),
            no_new_keyring: self.no_new_keyring.is_some(),
            preserve_fds: self.preserve_fds.unwrap_or(0),
        }
    }

    /// The command, from what was read; `None` for a wrong count of
    /// arguments.
    fn command(mut self, kind: Kind) -> Option<Command> {
        let most = if kind == Kind::Kill { 2 } else { 1 };
        if self.positional.is_empty() || self.positional.len() > most {
            return None;
        }
        let mut positional = std::mem::take(&mut self.positional).into_iter();
        let id = positional.next()?;
        Some(match kind {
            Kind::Create => Command::Create(commands::create::Args {
                flags: self.create_flags(),
                id,
            }),
            Kind::Run => Command::Run(commands::run::Args {
                flags: self.create_flags(),
                detach: self.detach.is_some(),
                keep: self.keep.is_some(),
                id,
            }),
            Kind::Start => Command::Start(commands::start::Args { id }),
            Kind::State => Command::State(commands::state::Args { id }),
            Kind::Delete => Command::Delete(commands::delete::Args {
                force: self.force.is_some(),
                id,
            }),
            Kind::Kill => Command::Kill(commands::kill::Args {
                all: self.all.is_some(),
                id,
                signal: positional.next().unwrap_or_else(|| "SIGTERM".to_string()),
            }),
        })
    }
}

fn kind_of(word: &[u8]) -> Option<Kind> {
    Some(match word {
        b"create" => Kind::Create,
        b"run" => Kind::Run,
        b"start" => Kind::Start,
        b"state" => Kind::State,
        b"kill" => Kind::Kill,
        b"delete" => Kind::Delete,
        _ => return None,
    })
}

/// `args` (without the program's name) as clap would parse them, when they
/// are of the usual forms; `None` otherwise (see the module's doc).
pub(crate) fn parse(args: &[OsString]) -> Option<Cli> {
    let mut words = Words { args, next: 0 };
    let mut globals = Globals::default();
    let kind = loop {
        let word = words.next_word()?;
        match split_flag(word) {
            Some(flag) => globals.take(&flag, &mut words, true)?.then_some(())?,
            None => break kind_of(word.as_bytes())?,
        }
    };
    let mut parsed = Parsed::default();
    while let Some(word) = words.next_word() {
        match split_flag(word) {
            Some(flag) => {
                if !globals.take(&flag, &mut words, false)? {
                    parsed.take(kind, &flag, &mut words)?;
                }
            }
            None if word.as_bytes().starts_with(b"-") => return None,
            None => parsed.positional.push(word.clone().into_string().ok()?),
        }
    }
    let command = parsed.command(kind)?;
    Some(Cli {
        root: globals.root,
        log: globals.log,
        log_format: globals.log_format.unwrap_or_else(|| "text".to_string()),
        debug: globals.debug.is_some(),
        rootless: globals.rootless.unwrap_or_default(),
        systemd_cgroup: globals.systemd_cgroup.is_some(),
        version: false,
        command: Some(command),
    })
}

#[cfg(test)]
mod tests;
