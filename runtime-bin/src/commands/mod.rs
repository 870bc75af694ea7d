//! One module per verb: parse flags, call the library, print.

pub mod create;
pub mod delete;
pub mod docs;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod plan;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use std::path::PathBuf;

use cella::container::{ContainerBuilder, Runtime};
use cella::plan::{Console, CreateOptions};

/// Flags shared by `create` and `run`.
#[derive(clap::Args, Debug, PartialEq)]
pub struct CreateFlags {
    /// Bundle directory (default: the current directory).
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the init's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the terminal's master fd to.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the caller's session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass this many fds above stdio (3, 4, ...) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Unix socket to send a pidfd of the container's init to.
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
}

/// What the global flags say of the host a container is made on.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    /// The resolved `--rootless`.
    pub rootless: bool,
    /// `--systemd-cgroup`, or not.
    pub driver: cella::plan::CgroupDriver,
}

impl CreateFlags {
    /// `foreground`: a `run` that stays attached, which can relay a
    /// terminal itself when no console socket is given.
    pub fn options(&self, foreground: bool, host: Host) -> CreateOptions {
        CreateOptions {
            rootless: host.rootless,
            cgroup_driver: host.driver,
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            pidfd_socket: self.pidfd_socket.clone(),
            console: console(self.console_socket.as_ref(), foreground),
            listen_fds: listen_fds(),
            cgroups: Default::default(),
            notify_socket: notify_socket().is_some(),
        }
    }

    /// The library's builder for container `id` with these flags.
    pub fn builder<'r>(
        &self,
        rt: &'r Runtime,
        id: &str,
        foreground: bool,
        host: Host,
    ) -> ContainerBuilder<'r> {
        let b = rt
            .builder(id, &self.bundle)
            .options(self.options(foreground, host));
        match &self.pid_file {
            Some(p) => b.pid_file(p),
            None => b,
        }
    }
}

/// The service manager's notification socket (`NOTIFY_SOCKET`, sd_notify's
/// variable, empty meaning unset): `create`, `run` and `start` proxy the
/// container's notifications to it, as runc does; `exec` ignores it, as
/// runc does.
pub fn notify_socket() -> Option<PathBuf> {
    std::env::var_os("NOTIFY_SOCKET")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// systemd socket activation: the fds we were given (`LISTEN_FDS`, when
/// `LISTEN_PID` is us) go on to the container, as runc does.
fn listen_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if !ours {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where a terminal goes: the socket if given, else our own relay when we
/// stay in the foreground.
pub fn console(socket: Option<&PathBuf>, foreground: bool) -> Console {
    match (socket, foreground) {
        (Some(p), _) => Console::Socket(p.clone()),
        (None, true) => Console::Relay,
        (None, false) => Console::None,
    }
}

/// runc's format: containerd reads "<name> version X.Y.Z" and "commit:".
pub fn print_version() {
    println!("cella version {}", env!("CARGO_PKG_VERSION"));
    println!("commit: {}", env!("CELLA_COMMIT"));
    println!("spec: {}", cella::features::OCI_VERSION_MAX);
}

/// runc's signal spelling: `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse_signal(s: &str) -> Result<nix::sys::signal::Signal, cella::Error> {
    use std::str::FromStr;
    let bad = || cella::Error::Usage(format!("invalid signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    nix::sys::signal::Signal::from_str(&name).map_err(|_| bad())
}
