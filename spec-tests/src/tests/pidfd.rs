//! `--pidfd-socket PATH` (runc 1.2, `create`, `run` and `exec`; runtime-spec is silent): the
//! runtime connects to the unix socket and sends one `SCM_RIGHTS` message carrying a pidfd of
//! the started process, whose data is `standard` for a container's init and `setns` for an
//! exec'd process (runc's `setupPidfd`). containerd 2 uses it to track processes without pid
//! reuse races.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

use crate::bundle::base_config;
use crate::harness::{ensure, ensure_eq, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![Test::new("process", "pidfd_socket", pidfd_socket)]
}

/// What arrived on the socket: the data and the pid the fd refers to.
type Received = Result<(String, i32), String>;

/// Accepts one connection on a socket at `path` (in another thread, for up to 10 s) and
/// reads its message.
fn listen(path: &Path) -> Result<thread::JoinHandle<Received>, String> {
    let listener = UnixListener::bind(path).map_err(|e| format!("bind {}: {e}", path.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("set_nonblocking: {e}"))?;
    let path = path.to_path_buf();
    Ok(thread::spawn(move || receive(&listener, &path)))
}

fn receive(listener: &UnixListener, path: &Path) -> Received {
    let start = Instant::now();
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if start.elapsed() > Duration::from_secs(10) {
                    return Err(format!("nothing connected to {} in 10 s", path.display()));
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("accept on {}: {e}", path.display())),
        }
    };
    stream
        .set_nonblocking(false)
        .and_then(|_| stream.set_read_timeout(Some(Duration::from_secs(5))))
        .map_err(|e| format!("pidfd socket connection: {e}"))?;
    let mut buf = vec![0u8; 256];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg on the pidfd socket: {e}"))?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(|e| format!("control data: {e}"))? {
        if let ControlMessageOwned::ScmRights(v) = c {
            fds.extend(v);
        }
    }
    let n = msg.bytes;
    let owned: Vec<OwnedFd> = fds
        .into_iter()
        // SAFETY: each fd was just installed in this process by SCM_RIGHTS and nothing else
        // refers to it, so taking ownership of it is sound.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    let data = String::from_utf8_lossy(&buf[..n]).into_owned();
    let [fd] = owned.as_slice() else {
        return Err(format!(
            "{} fds in the message, want 1 ({data:?})",
            owned.len()
        ));
    };
    Ok((data, pid_of(fd)?))
}

/// The pid a pidfd refers to (`Pid:` in its fdinfo).
fn pid_of(fd: &OwnedFd) -> Result<i32, String> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
        .map_err(|e| format!("fdinfo of the received fd: {e}"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("the received fd is not a pidfd: {info:?}"))
}

/// `create --pidfd-socket` sends a pidfd of the init tagged `standard`; `exec -d
/// --pidfd-socket` one of the exec'd process tagged `setns`.
fn pidfd_socket(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    let sock = c.bundle.join("pidfd.sock");
    let got = listen(&sock)?;
    let out = c.create(&["--pidfd-socket", &sock.to_string_lossy()])?;
    ensure_eq(
        out.code,
        0,
        &format!("create --pidfd-socket ({})", out.describe()),
    )?;
    let (data, pid) = got.join().map_err(|_| "the receiving thread panicked")??;
    ensure_eq(data.as_str(), "standard", "the message's data for the init")?;
    ensure_eq(pid, c.pid()?, "the pidfd's pid (the init's, from state)")?;
    c.start_ok()?;
    let sock = c.bundle.join("pidfd-exec.sock");
    let pid_file = c.bundle.join("exec.pid");
    let got = listen(&sock)?;
    let out = ctx.rt(&[
        "exec",
        "-d",
        "--pidfd-socket",
        &sock.to_string_lossy(),
        "--pid-file",
        &pid_file.to_string_lossy(),
        &c.id,
        "sleep",
        "1000",
    ])?;
    ensure_eq(
        out.code,
        0,
        &format!("exec --pidfd-socket ({})", out.describe()),
    )?;
    let (data, pid) = got.join().map_err(|_| "the receiving thread panicked")??;
    ensure_eq(
        data.as_str(),
        "setns",
        "the message's data for an exec'd process",
    )?;
    let want: i32 = std::fs::read_to_string(&pid_file)
        .map_err(|e| format!("--pid-file: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("--pid-file: {e}"))?;
    ensure(pid == want, || {
        format!("the pidfd's pid {pid}, the exec'd process's {want}")
    })
}
