//! An sd_notify client for the busybox image (which cannot send a unix datagram): this very
//! binary, run in the container with `--sd-notify-helper MESSAGE` through its dynamic loader,
//! bind-mounted read-only with the directories of the libraries it has mapped (the same trick
//! as spec-tests' `as_runc.notify_socket_*`).

use std::collections::BTreeSet;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The first argument that makes this binary the helper.
pub const HELPER_FLAG: &str = "--sd-notify-helper";

/// `rootless-tests --sd-notify-helper MESSAGE`: sends MESSAGE as one datagram to `$NOTIFY_SOCKET`.
pub fn helper_main(args: &[String]) -> ExitCode {
    let run = || -> Result<(), String> {
        let [message] = args else {
            return Err(format!("usage: {HELPER_FLAG} MESSAGE"));
        };
        let path = std::env::var("NOTIFY_SOCKET").map_err(|_| "NOTIFY_SOCKET is not set")?;
        let socket = UnixDatagram::unbound().map_err(|e| format!("socket: {e}"))?;
        socket
            .send_to(message.as_bytes(), &path)
            .map_err(|e| format!("send to {path}: {e}"))?;
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{HELPER_FLAG}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a container needs to run the helper: the command (a list of words) and the host
/// directories to bind read-only at their own paths.
pub struct Helper {
    pub command: Vec<String>,
    pub dirs: Vec<PathBuf>,
}

/// The helper sending `message`, run from `exe` (a copy of this binary the user can reach,
/// as the runtime is copied: the binary's own directory may be closed to it).
pub fn helper(message: &str, exe: &Path) -> Result<Helper, String> {
    let own = std::fs::read_link("/proc/self/exe").map_err(|e| format!("/proc/self/exe: {e}"))?;
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("maps: {e}"))?;
    let files: BTreeSet<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/') && Path::new(p) != own)
        .map(PathBuf::from)
        .collect();
    let libs: BTreeSet<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    let mut command = Vec::new();
    let loader = files.iter().find(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ld-"))
    });
    if let Some(loader) = loader {
        let path: Vec<String> = libs.iter().map(|d| d.display().to_string()).collect();
        command.extend([
            loader.display().to_string(),
            "--library-path".into(),
            path.join(":"),
        ]);
    }
    command.extend([
        exe.display().to_string(),
        HELPER_FLAG.into(),
        message.into(),
    ]);
    let mut dirs: Vec<PathBuf> = libs.into_iter().map(Path::to_path_buf).collect();
    dirs.extend(exe.parent().map(Path::to_path_buf));
    Ok(Helper { command, dirs })
}

/// Receives on `socket` for up to `limit`, until `enough` datagrams came.
pub fn receive(socket: &UnixDatagram, limit: Duration, enough: usize) -> Vec<String> {
    let end = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while got.len() < enough {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match socket.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    got
}
