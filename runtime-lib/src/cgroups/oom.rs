//! OOM notifications: v1 through an eventfd registered with
//! `cgroup.event_control` on `memory.oom_control`; v2 by watching
//! `memory.events` with inotify and counting `oom_kill`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::{io_err, CgroupError, ContainerCgroup};

/// Waits for OOM kills in a container's cgroup.
pub struct OomWatcher {
    kind: Kind,
}

enum Kind {
    V1 {
        efd: EventFd,
        // Must stay open while registered.
        _control: OwnedFd,
    },
    V2 {
        inotify: Inotify,
        events: PathBuf,
        seen: u64,
    },
    /// No memory controller: never fires.
    None,
}

fn oom_kills(events: &Path) -> u64 {
    std::fs::read_to_string(events)
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|v| v.trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

impl OomWatcher {
    /// Starts watching.
    pub fn new(cg: &ContainerCgroup) -> Result<Self, CgroupError> {
        let kind = match cg {
            ContainerCgroup::V1 { dirs } => {
                let Some((_, dir)) = dirs
                    .iter()
                    .find(|(n, _)| n.split(',').any(|c| c == "memory"))
                else {
                    return Ok(OomWatcher { kind: Kind::None });
                };
                let control_path = dir.join("memory.oom_control");
                let control: OwnedFd = std::fs::File::open(&control_path)
                    .map_err(io_err("open", &control_path))?
                    .into();
                let efd =
                    EventFd::from_flags(EfdFlags::EFD_CLOEXEC).map_err(|e| CgroupError::Io {
                        op: "eventfd",
                        path: control_path.clone(),
                        source: e.into(),
                    })?;
                let reg = dir.join("cgroup.event_control");
                std::fs::write(
                    &reg,
                    format!("{} {}", efd.as_fd().as_raw_fd(), control.as_raw_fd()),
                )
                .map_err(io_err("write", &reg))?;
                Kind::V1 {
                    efd,
                    _control: control,
                }
            }
            ContainerCgroup::V2 { dir } => {
                let events = dir.join("memory.events");
                let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
                    .map_err(|e| CgroupError::Io {
                        op: "inotify_init",
                        path: events.clone(),
                        source: e.into(),
                    })?;
                inotify
                    .add_watch(&events, AddWatchFlags::IN_MODIFY)
                    .map_err(|e| CgroupError::Io {
                        op: "inotify_add_watch",
                        path: events.clone(),
                        source: e.into(),
                    })?;
                let seen = oom_kills(&events);
                Kind::V2 {
                    inotify,
                    events,
                    seen,
                }
            }
        };
        Ok(OomWatcher { kind })
    }

    /// Waits up to `timeout_ms` (-1: forever); returns how many OOM kills
    /// happened since the last call.
    pub fn wait(&mut self, timeout_ms: i32) -> u64 {
        self.wait_or_exit(timeout_ms, None).0
    }

    /// Like [`OomWatcher::wait`], also ending the wait when the process of
    /// `exit` (a pidfd) exits; returns the OOM kills and whether it did.
    pub(crate) fn wait_or_exit(
        &mut self,
        timeout_ms: i32,
        exit: Option<BorrowedFd<'_>>,
    ) -> (u64, bool) {
        let timeout = PollTimeout::try_from(timeout_ms).unwrap_or(PollTimeout::NONE);
        let watched = match &self.kind {
            Kind::None => None,
            Kind::V1 { efd, .. } => Some(efd.as_fd()),
            Kind::V2 { inotify, .. } => Some(inotify.as_fd()),
        };
        let mut fds: Vec<PollFd<'_>> = watched
            .into_iter()
            .chain(exit)
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        if fds.is_empty() {
            // Why a sleep: nothing to watch (no memory controller, no
            // pidfd), and the caller asked for this pause between its looks.
            if timeout_ms >= 0 {
                std::thread::sleep(std::time::Duration::from_millis(timeout_ms as u64));
            }
            return (0, false);
        }
        let _ = poll(&mut fds, timeout);
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        let exited = exit.is_some() && ready.last() == Some(&true);
        let oom_ready = watched.is_some() && ready.first() == Some(&true);
        (self.count(oom_ready), exited)
    }

    /// The OOM kills since the last count; `ready`: whether the poll said
    /// the watched fd has news (a v1 eventfd's read would block otherwise).
    fn count(&mut self, ready: bool) -> u64 {
        match &mut self.kind {
            Kind::None => 0,
            Kind::V1 { efd, .. } => match ready {
                true => efd.read().unwrap_or(0),
                false => 0,
            },
            Kind::V2 {
                inotify,
                events,
                seen,
            } => {
                if ready {
                    let _ = inotify.read_events();
                }
                let now = oom_kills(events);
                let new = now.saturating_sub(*seen);
                *seen = now;
                new
            }
        }
    }
}
