//! What a container's process gets as fds: its stdin, stdout and stderr,
//! and the fds it keeps above them (3, 4, ...).

use std::fs::File;
use std::os::fd::OwnedFd;

use crate::apply::fds::ChildFds;
use crate::error::Error;

/// Where one standard stream of a container's process comes from.
#[derive(Debug, Default)]
pub enum Stdio {
    /// This process's own stream (fd 0, 1 or 2), as `cella create` passes
    /// its own to the container.
    #[default]
    Inherit,
    /// The host's `/dev/null`.
    Null,
    /// This fd (a pipe's end, a file, a socket). The runtime closes its
    /// copy once the container's process has it, so a pipe's reader sees
    /// end-of-file when the container's process (and whatever it passed
    /// the fd to) is gone.
    Fd(OwnedFd),
}

impl Stdio {
    /// A pipe for an output stream: the container's process writes into
    /// the returned [`Stdio`], the caller reads from the returned [`File`].
    pub fn output_pipe() -> Result<(Stdio, File), Error> {
        let (read, write) = pipe()?;
        Ok((Stdio::Fd(write), File::from(read)))
    }

    /// A pipe for stdin: the caller writes into the returned [`File`] (and
    /// closes it for end-of-file), the container's process reads.
    pub fn input_pipe() -> Result<(Stdio, File), Error> {
        let (read, write) = pipe()?;
        Ok((Stdio::Fd(read), File::from(write)))
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Self {
        Stdio::Fd(fd)
    }
}

impl From<File> for Stdio {
    fn from(f: File) -> Self {
        Stdio::Fd(f.into())
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(Error::sys("pipe2", None))
}

/// The fds of a container's process (the init, or one started by `exec`).
/// The default inherits this process's stdio and passes nothing else.
#[derive(Debug, Default)]
pub struct Io {
    /// Its stdin.
    pub stdin: Stdio,
    /// Its stdout.
    pub stdout: Stdio,
    /// Its stderr.
    pub stderr: Stdio,
    /// Fds that become its 3, 4, ... in this order. (Passing this
    /// process's own fds 3 and up as they are, runc's `--preserve-fds N`,
    /// is [`crate::plan::CreateOptions::preserve_fds`]; the two cannot be
    /// combined.)
    pub fds: Vec<OwnedFd>,
}

impl Io {
    /// Whether any stream is given rather than inherited (a process with a
    /// terminal has the terminal as its stdio, and cannot have these too).
    pub(crate) fn sets_stdio(&self) -> bool {
        [&self.stdin, &self.stdout, &self.stderr]
            .iter()
            .any(|s| !matches!(s, Stdio::Inherit))
    }

    /// Opens `/dev/null` for the [`Stdio::Null`] streams: the fds the
    /// parent holds until the child has its copies.
    pub(crate) fn prepare(self) -> Result<ChildFds, Error> {
        let mut stdio: [Option<OwnedFd>; 3] = [None, None, None];
        for (slot, s) in stdio.iter_mut().zip([self.stdin, self.stdout, self.stderr]) {
            *slot = match s {
                Stdio::Inherit => None,
                Stdio::Fd(fd) => Some(fd),
                Stdio::Null => Some(OwnedFd::from(
                    File::options()
                        .read(true)
                        .write(true)
                        .open("/dev/null")
                        .map_err(Error::io("open", "/dev/null"))?,
                )),
            };
        }
        Ok(ChildFds {
            stdio,
            preserved: self.fds,
        })
    }
}
