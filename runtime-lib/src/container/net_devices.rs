//! Replays the plan's `linux.netDevices` moves, from the runtime (as runc
//! does: its own netlink socket in the host's network namespace, the
//! container's namespace by `/proc/<init>/ns/net`), once the init exists
//! and before any hook runs. A create that fails afterwards moves the
//! devices back ([`MovedDevices::undo`]): left in the namespace, a virtual
//! device would die with it and a physical one come back renamed.

use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::error::Error;
use crate::netlink::{Addr, Route};
use crate::plan::NetDeviceMove;

/// One device in the container's namespace, with what puts it back.
struct Moved {
    host_name: String,
    /// Its index in the container's namespace.
    index: i32,
    addrs: Vec<Addr>,
    was_up: bool,
}

/// The devices moved so far, and both namespaces (the fds keep them alive
/// until the create is done or undone).
pub(super) struct MovedDevices {
    host_ns: OwnedFd,
    container_ns: OwnedFd,
    devices: Vec<Moved>,
}

fn fail(m: &NetDeviceMove, what: String) -> impl FnOnce(Errno) -> Error + '_ {
    move |source| Error::NetDevice {
        field: m.field.clone(),
        what,
        source,
    }
}

fn open_ns(path: &str) -> Result<OwnedFd, Error> {
    nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(Error::sys(
        "open network namespace",
        std::path::PathBuf::from(path),
    ))
}

/// Moves every device of `moves` into the network namespace of `init`;
/// what was moved goes to `done` as it happens, for the clean-up.
pub(super) fn move_all(
    moves: &[NetDeviceMove],
    init: Pid,
    done: &mut Option<MovedDevices>,
) -> Result<(), Error> {
    if moves.is_empty() {
        return Ok(());
    }
    let moved = done.insert(MovedDevices {
        host_ns: open_ns("/proc/thread-self/ns/net")?,
        container_ns: open_ns(&format!("/proc/{init}/ns/net"))?,
        devices: Vec::new(),
    });
    let ns_err = |e| Error::sys("netlink socket", None)(e);
    let mut host = Route::open().map_err(ns_err)?;
    let mut inside = Route::open_in(moved.container_ns.as_fd()).map_err(ns_err)?;
    for m in moves {
        move_one(m, &mut host, &mut inside, moved)?;
    }
    Ok(())
}

/// The move of one device, then its addresses and `IFF_UP` inside.
fn move_one(
    m: &NetDeviceMove,
    host: &mut Route,
    inside: &mut Route,
    moved: &mut MovedDevices,
) -> Result<(), Error> {
    let dev = &m.host_name;
    let link = host.link(dev).map_err(|e| match e {
        Errno::ENODEV => fail(m, format!("no network device {dev:?} on the host"))(e),
        _ => fail(m, format!("find network device {dev:?}"))(e),
    })?;
    let addrs: Vec<Addr> = host
        .addrs(link.index)
        .map_err(fail(m, format!("list the addresses of {dev:?}")))?
        .into_iter()
        .filter(Addr::moves)
        .collect();
    let before = indexes(inside, m)?;
    let result = host.move_link(link.index, moved.container_ns.as_fd(), &m.name);
    // The kernel moves the device before it renames it: a rename that
    // fails (the name is taken inside) leaves it moved under its old name.
    let new = inside
        .links()
        .map_err(fail(m, "list the container's network devices".into()))?
        .into_iter()
        .find(|l| !before.contains(&l.index));
    if let Some(l) = &new {
        moved.devices.push(Moved {
            host_name: dev.clone(),
            index: l.index,
            addrs: addrs.clone(),
            was_up: link.flags & crate::netlink::msg::IFF_UP != 0,
        });
    }
    result.map_err(|e| match e {
        Errno::EEXIST => Error::NetDevice {
            field: format!("{}.name", m.field),
            what: format!(
                "a network device named {:?} is already in the container's network namespace",
                m.name
            ),
            source: e,
        },
        _ => fail(
            m,
            format!("move {dev:?} into the container's network namespace"),
        )(e),
    })?;
    let new = new.ok_or_else(|| fail(m, format!("find {dev:?} after its move"))(Errno::ENODEV))?;
    for a in &addrs {
        inside.add_addr(new.index, a).map_err(fail(
            m,
            format!("add address {} to {:?}", a.describe(), new.name),
        ))?;
    }
    inside
        .set_up(new.index)
        .map_err(fail(m, format!("set {:?} up", new.name)))
}

fn indexes(inside: &mut Route, m: &NetDeviceMove) -> Result<HashSet<i32>, Error> {
    Ok(inside
        .links()
        .map_err(fail(m, "list the container's network devices".into()))?
        .into_iter()
        .map(|l| l.index)
        .collect())
}

impl MovedDevices {
    /// Moves the devices back to the runtime's namespace under their host
    /// names, with their addresses, up if they were; what failed, as
    /// warnings.
    pub(super) fn undo(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let routes =
            Route::open_in(self.container_ns.as_fd()).and_then(|i| Ok((i, Route::open()?)));
        let (mut inside, mut host) = match routes {
            Ok(r) => r,
            Err(e) => return vec![format!("linux.netDevices: netlink socket: {e}")],
        };
        for d in self.devices.iter().rev() {
            if let Err(e) = self.put_back(d, &mut inside, &mut host) {
                warnings.push(format!(
                    "linux.netDevices[{:?}]: moving it back to the host: {e}",
                    d.host_name
                ));
            }
        }
        warnings
    }

    fn put_back(&self, d: &Moved, inside: &mut Route, host: &mut Route) -> Result<(), Errno> {
        inside.move_link(d.index, self.host_ns.as_fd(), &d.host_name)?;
        let link = host.link(&d.host_name)?;
        for a in &d.addrs {
            host.add_addr(link.index, a)?;
        }
        if d.was_up {
            host.set_up(link.index)?;
        }
        Ok(())
    }
}
