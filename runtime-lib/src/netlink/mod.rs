//! A small rtnetlink client over `nix`'s socket calls (no `unsafe`): what
//! `linux.netDevices` needs, in the network namespace the socket was made
//! in. The messages are in [`msg`].

pub mod msg;

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

pub use msg::{Addr, Link};
use msg::{Received, Reply};

/// A dump interrupted by a change (`NLM_F_DUMP_INTR`) is asked again, up to
/// this many times.
const DUMP_TRIES: usize = 5;

/// An `NETLINK_ROUTE` socket, bound to the network namespace of the thread
/// that made it.
pub struct Route {
    fd: OwnedFd,
    seq: u32,
}

impl Route {
    /// A socket in the caller's network namespace.
    pub fn open() -> Result<Route, Errno> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Route { fd, seq: 0 })
    }

    /// A socket in the network namespace `netns`: made by a thread that
    /// joined it (a socket keeps the namespace it was made in), so the
    /// runtime's own threads never change namespace.
    pub fn open_in(netns: BorrowedFd<'_>) -> Result<Route, Errno> {
        let ns = netns.try_clone_to_owned().map_err(io_errno)?;
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
                Route::open()
            })
            .join()
            .unwrap_or(Err(Errno::EIO))
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends one request and collects the replies to it until its ack (or
    /// error) or, for a dump, its end.
    fn exchange(&mut self, req: impl Fn(u32) -> Vec<u8>) -> Result<Vec<Received>, Errno> {
        let seq = self.next_seq();
        send(self.fd.as_raw_fd(), &req(seq), MsgFlags::empty())?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let got = msg::decode(&buf[..n]).ok_or(Errno::EBADMSG)?;
            for r in got.into_iter().filter(|r| r.seq == seq) {
                match r.reply {
                    Reply::Ack(0) | Reply::Done => return Ok(out),
                    Reply::Ack(e) => return Err(Errno::from_raw(-e)),
                    _ => out.push(r),
                }
            }
        }
    }

    /// A request answered by one ack.
    fn ack(&mut self, req: impl Fn(u32) -> Vec<u8>) -> Result<(), Errno> {
        self.exchange(req).map(drop)
    }

    /// A dump, asked again while the kernel says it was interrupted.
    fn dump(&mut self, req: fn(u32) -> Vec<u8>) -> Result<Vec<Reply>, Errno> {
        for _ in 1..DUMP_TRIES {
            let got = self.exchange(req)?;
            if got.iter().all(|r| r.flags & msg::NLM_F_DUMP_INTR == 0) {
                return Ok(got.into_iter().map(|r| r.reply).collect());
            }
        }
        Err(Errno::EINTR)
    }

    /// The link called `name` (`ENODEV` if there is none).
    pub fn link(&mut self, name: &str) -> Result<Link, Errno> {
        let got = self.exchange(|s| msg::get_link(s, name))?;
        got.into_iter()
            .find_map(|r| match r.reply {
                Reply::Link(l) => Some(l),
                _ => None,
            })
            .ok_or(Errno::ENODEV)
    }

    /// Every link.
    pub fn links(&mut self) -> Result<Vec<Link>, Errno> {
        let got = self.dump(msg::dump_links)?;
        Ok(got
            .into_iter()
            .filter_map(|r| match r {
                Reply::Link(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    /// The addresses of link `index`, of every family.
    pub fn addrs(&mut self, index: i32) -> Result<Vec<Addr>, Errno> {
        let got = self.dump(msg::dump_addrs)?;
        Ok(got
            .into_iter()
            .filter_map(|r| match r {
                Reply::Addr(a) if a.index == index as u32 => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Moves link `index` into `netns` under `name`.
    pub fn move_link(
        &mut self,
        index: i32,
        netns: BorrowedFd<'_>,
        name: &str,
    ) -> Result<(), Errno> {
        let fd = netns.as_raw_fd() as u32;
        self.ack(|s| msg::move_link(s, index, fd, name))
    }

    /// Sets link `index` up.
    pub fn set_up(&mut self, index: i32) -> Result<(), Errno> {
        self.ack(|s| msg::set_up(s, index))
    }

    /// Adds `addr` to link `index`.
    pub fn add_addr(&mut self, index: i32, addr: &Addr) -> Result<(), Errno> {
        self.ack(|s| msg::add_addr(s, index, addr))
    }
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
