//! rtnetlink messages, encoded and decoded by hand: the few `linux.netDevices`
//! needs (find a link, list addresses, move and rename a link, add an
//! address, set a link up). Pure: no socket, so every byte is unit-tested.

/// Message types and flags (linux/netlink.h, linux/rtnetlink.h).
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_GETADDR: u16 = 22;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_CREATE: u16 = 0x400;
/// Link attributes (linux/if_link.h).
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_NET_NS_FD: u16 = 28;
/// Address attributes (linux/if_addr.h).
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_FLAGS: u16 = 8;
pub const IFA_F_PERMANENT: u32 = 0x80;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const IFF_UP: u32 = 0x1;

const HDR: usize = 16;
const IFINFO: usize = 16;
const IFADDR: usize = 8;

/// A link as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: i32,
    pub name: String,
    pub flags: u32,
}

/// An address as the kernel reports it, with the attributes that make it
/// again elsewhere (`IFA_LOCAL`, `IFA_ADDRESS`, `IFA_BROADCAST`). The label
/// is left out: it carries the device's old name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub family: u8,
    pub prefix_len: u8,
    pub scope: u8,
    /// `IFA_FLAGS` when present (it holds the flags that do not fit the
    /// header's byte), the header's otherwise.
    pub flags: u32,
    pub index: u32,
    pub attrs: Vec<(u16, Vec<u8>)>,
}

impl Addr {
    /// runtime-spec: only permanent addresses of global scope move with a
    /// device (RFC 3549 2.3.3.2); the rest belong to the old namespace.
    pub fn moves(&self) -> bool {
        self.flags & IFA_F_PERMANENT != 0 && self.scope == RT_SCOPE_UNIVERSE
    }

    /// The address for `ip`-like messages: `IFA_LOCAL`, else `IFA_ADDRESS`.
    pub fn describe(&self) -> String {
        let raw = [IFA_LOCAL, IFA_ADDRESS]
            .iter()
            .find_map(|t| self.attrs.iter().find(|(k, _)| k == t));
        let text = match raw.map(|(_, v)| v.as_slice()) {
            Some(&[a, b, c, d]) => std::net::Ipv4Addr::new(a, b, c, d).to_string(),
            Some(v) if v.len() == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(v);
                std::net::Ipv6Addr::from(o).to_string()
            }
            _ => "?".to_string(),
        };
        format!("{text}/{}", self.prefix_len)
    }
}

/// What one received message is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `NLMSG_ERROR` with 0 (an ack) or a negative errno.
    Ack(i32),
    Done,
    Link(Link),
    Addr(Addr),
    /// A message of another type, ignored.
    Other,
}

/// One decoded message: its sequence number, flags and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub seq: u32,
    pub flags: u16,
    pub reply: Reply,
}

fn header(buf: &mut Vec<u8>, kind: u16, flags: u16, seq: u32) {
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

fn ifinfo(buf: &mut Vec<u8>, index: i32, flags: u32, change: u32) {
    buf.extend_from_slice(&[0, 0, 0, 0]); // AF_UNSPEC, pad, type
    buf.extend_from_slice(&index.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&change.to_ne_bytes());
}

fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(buf.len() + (align(len) - len), 0);
}

fn name_attr(buf: &mut Vec<u8>, name: &str) {
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    attr(buf, IFLA_IFNAME, &z);
}

fn finish(mut buf: Vec<u8>) -> Vec<u8> {
    let len = (buf.len() as u32).to_ne_bytes();
    buf[..4].copy_from_slice(&len);
    buf
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// `RTM_GETLINK` of one link by name; the ack asked for ends the reply.
pub fn get_link(seq: u32, name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    header(&mut b, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifinfo(&mut b, 0, 0, 0);
    name_attr(&mut b, name);
    finish(b)
}

/// `RTM_GETLINK` dump of every link.
pub fn dump_links(seq: u32) -> Vec<u8> {
    let mut b = Vec::new();
    header(&mut b, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
    ifinfo(&mut b, 0, 0, 0);
    finish(b)
}

/// `RTM_GETADDR` dump of every address of every family.
pub fn dump_addrs(seq: u32) -> Vec<u8> {
    let mut b = Vec::new();
    header(&mut b, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.extend_from_slice(&[0; IFADDR]);
    finish(b)
}

/// `RTM_NEWLINK` moving link `index` into the network namespace `netns_fd`
/// under `name` in one step, so it never has a name that clashes on either
/// side (a `%d` in `name` lets the kernel number it).
pub fn move_link(seq: u32, index: i32, netns_fd: u32, name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    header(&mut b, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifinfo(&mut b, index, 0, 0);
    attr(&mut b, IFLA_NET_NS_FD, &netns_fd.to_ne_bytes());
    name_attr(&mut b, name);
    finish(b)
}

/// `RTM_NEWLINK` setting link `index` up (`IFF_UP` in flags and change).
pub fn set_up(seq: u32, index: i32) -> Vec<u8> {
    let mut b = Vec::new();
    header(&mut b, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifinfo(&mut b, index, IFF_UP, IFF_UP);
    finish(b)
}

/// `RTM_NEWADDR` making `addr` on link `index`; it fails if it exists.
pub fn add_addr(seq: u32, index: i32, addr: &Addr) -> Vec<u8> {
    let mut b = Vec::new();
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    header(&mut b, RTM_NEWADDR, flags, seq);
    b.extend_from_slice(&[addr.family, addr.prefix_len, 0, addr.scope]);
    b.extend_from_slice(&(index as u32).to_ne_bytes());
    for (kind, data) in &addr.attrs {
        attr(&mut b, *kind, data);
    }
    finish(b)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The attributes after a fixed header, as (type, payload); a truncated
/// one ends the list.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let (Some(len), Some(kind)) = (u16_at(b, 0), u16_at(b, 2)) {
        let len = len as usize;
        let Some(data) = b.get(4..len).filter(|_| len >= 4) else {
            break;
        };
        // NLA_F_NESTED and NLA_F_NET_BYTEORDER are flag bits of the type.
        out.push((kind & 0x3fff, data));
        b = b.get(align(len)..).unwrap_or_default();
    }
    out
}

fn link(body: &[u8]) -> Option<Link> {
    let index = u32_at(body, 4)? as i32;
    let flags = u32_at(body, 8)?;
    let name = attrs(body.get(IFINFO..)?)
        .into_iter()
        .find(|(k, _)| *k == IFLA_IFNAME)
        .map(|(_, v)| String::from_utf8_lossy(v.split(|c| *c == 0).next().unwrap_or(v)).into())?;
    Some(Link { index, name, flags })
}

fn addr(body: &[u8]) -> Option<Addr> {
    let head = body.get(..IFADDR)?;
    let mut a = Addr {
        family: head[0],
        prefix_len: head[1],
        flags: head[2] as u32,
        scope: head[3],
        index: u32_at(head, 4)?,
        attrs: Vec::new(),
    };
    for (kind, data) in attrs(body.get(IFADDR..)?) {
        match kind {
            IFA_FLAGS => a.flags = u32_at(data, 0)?,
            IFA_LOCAL | IFA_ADDRESS | IFA_BROADCAST => a.attrs.push((kind, data.to_vec())),
            _ => {}
        }
    }
    Some(a)
}

/// Decodes the messages of one datagram; `None` if one is malformed.
pub fn decode(mut buf: &[u8]) -> Option<Vec<Received>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = u32_at(buf, 0)? as usize;
        let kind = u16_at(buf, 4)?;
        let flags = u16_at(buf, 6)?;
        let seq = u32_at(buf, 8)?;
        let body = buf.get(HDR..len).filter(|_| len >= HDR)?;
        let reply = match kind {
            NLMSG_ERROR => Reply::Ack(u32_at(body, 0)? as i32),
            NLMSG_DONE => Reply::Done,
            RTM_NEWLINK => Reply::Link(link(body)?),
            RTM_NEWADDR => Reply::Addr(addr(body)?),
            _ => Reply::Other,
        };
        out.push(Received { seq, flags, reply });
        buf = buf.get(align(len)..).unwrap_or_default();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NLM_F_MULTI: u16 = 0x2;

    fn ne16(v: u16) -> [u8; 2] {
        v.to_ne_bytes()
    }

    #[test]
    fn move_link_is_one_newlink_with_fd_and_name() {
        let m = move_link(7, 42, 9, "st%d");
        // Header, ifinfomsg, the fd, the name ("st%d", NUL, padding).
        assert_eq!(m.len(), 16 + 16 + 8 + 12);
        assert_eq!(u32_at(&m, 0), Some(m.len() as u32));
        assert_eq!(u16_at(&m, 4), Some(RTM_NEWLINK));
        assert_eq!(u16_at(&m, 6), Some(NLM_F_REQUEST | NLM_F_ACK));
        assert_eq!(u32_at(&m, 8), Some(7));
        assert_eq!(u32_at(&m, 20), Some(42));
        assert_eq!(&m[32..34], &ne16(8));
        assert_eq!(&m[34..36], &ne16(IFLA_NET_NS_FD));
        assert_eq!(u32_at(&m, 36), Some(9));
        assert_eq!(&m[40..42], &ne16(9));
        assert_eq!(&m[42..44], &ne16(IFLA_IFNAME));
        assert_eq!(&m[44..49], b"st%d\0");
    }

    #[test]
    fn name_is_nul_terminated_and_padded() {
        let m = get_link(1, "eth1");
        assert_eq!(&m[32..34], &ne16(9));
        assert_eq!(&m[36..41], b"eth1\0");
        assert_eq!(m.len(), 44);
        assert_eq!(u16_at(&m, 6), Some(NLM_F_REQUEST | NLM_F_ACK));
    }

    #[test]
    fn set_up_changes_only_iff_up() {
        let m = set_up(3, 5);
        assert_eq!(m.len(), 32);
        assert_eq!(u32_at(&m, 24), Some(IFF_UP));
        assert_eq!(u32_at(&m, 28), Some(IFF_UP));
    }

    #[test]
    fn dumps_ask_for_every_entry() {
        let l = dump_links(2);
        assert_eq!(
            (l.len(), u16_at(&l, 6)),
            (32, Some(NLM_F_REQUEST | NLM_F_DUMP))
        );
        let a = dump_addrs(2);
        assert_eq!((a.len(), u16_at(&a, 4)), (24, Some(RTM_GETADDR)));
    }

    fn v4(addr: [u8; 4], prefix: u8, flags: u32, scope: u8) -> Addr {
        Addr {
            family: libc::AF_INET as u8,
            prefix_len: prefix,
            scope,
            flags,
            index: 4,
            attrs: vec![(IFA_LOCAL, addr.to_vec()), (IFA_ADDRESS, addr.to_vec())],
        }
    }

    #[test]
    fn an_address_round_trips_and_only_permanent_global_ones_move() {
        let a = v4([10, 1, 2, 3], 24, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE);
        let mut m = add_addr(5, 4, &a);
        assert_eq!(
            u16_at(&m, 6),
            Some(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        );
        // As the kernel would report it: RTM_NEWADDR with IFA_FLAGS.
        m[4..6].copy_from_slice(&ne16(RTM_NEWADDR));
        let mut extra = Vec::new();
        attr(&mut extra, IFA_FLAGS, &IFA_F_PERMANENT.to_ne_bytes());
        m.extend_from_slice(&extra);
        let len = (m.len() as u32).to_ne_bytes();
        m[..4].copy_from_slice(&len);
        let got = decode(&m).unwrap();
        assert_eq!(got[0].reply, Reply::Addr(a.clone()));
        assert!(a.moves());
        assert_eq!(a.describe(), "10.1.2.3/24");
        assert!(!v4([10, 0, 0, 1], 8, 0, RT_SCOPE_UNIVERSE).moves());
        assert!(!v4([127, 0, 0, 9], 8, IFA_F_PERMANENT, 254).moves());
    }

    #[test]
    fn decodes_links_acks_and_done_and_refuses_truncation() {
        let mut m = get_link(9, "st0");
        m[4..6].copy_from_slice(&ne16(RTM_NEWLINK));
        m[20..24].copy_from_slice(&6i32.to_ne_bytes());
        m[24..28].copy_from_slice(&IFF_UP.to_ne_bytes());
        let mut err = Vec::new();
        header(&mut err, NLMSG_ERROR, 0, 9);
        err.extend_from_slice(&(-17i32).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        let err = finish(err);
        let mut done = Vec::new();
        header(&mut done, NLMSG_DONE, NLM_F_MULTI, 9);
        done.extend_from_slice(&0u32.to_ne_bytes());
        let all = [m.clone(), err, finish(done)].concat();
        let got: Vec<Reply> = decode(&all).unwrap().into_iter().map(|r| r.reply).collect();
        let st0 = Link {
            index: 6,
            name: "st0".into(),
            flags: IFF_UP,
        };
        assert_eq!(got, vec![Reply::Link(st0), Reply::Ack(-17), Reply::Done]);
        assert_eq!(decode(&m[..m.len() - 6]), None);
        assert_eq!(decode(&m[..10]), None);
    }
}
