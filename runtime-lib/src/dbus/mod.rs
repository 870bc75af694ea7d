//! A small blocking D-Bus client: enough to ask systemd for transient units.
//!
//! It connects to a bus over its Unix socket, authenticates as the
//! process's uid (`EXTERNAL`), calls methods and waits for signals, on the
//! calling thread. A crate would have done the same with more: zbus 5
//! (blocking API) measured +1.0 MB of binary and 86 crates, and left three
//! threads running after the connection was dropped, in a process that
//! forks and, embedded, must not gain threads behind its caller's back.

pub mod wire;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use wire::{Malformed, Reader, Value, Writer};

/// Where the system bus is when `DBUS_SYSTEM_BUS_ADDRESS` does not say.
pub const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// Why talking to a bus failed.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    /// No bus could be reached at the address.
    #[error("cannot connect to the D-Bus bus at {address}")]
    Connect {
        /// The address tried.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The address is not one this client can use.
    #[error("D-Bus address {0:?}: only unix:path= and unix:abstract= are supported")]
    Address(String),
    /// The bus refused our credentials.
    #[error("D-Bus authentication refused: {0:?}")]
    Auth(String),
    /// Reading or writing the socket failed.
    #[error("D-Bus {op}")]
    Io {
        /// `read` or `write`.
        op: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The peer sent something this client cannot read.
    #[error(transparent)]
    Protocol(#[from] Malformed),
    /// The method call failed at the other end.
    #[error("{method}: {name}: {message}")]
    Remote {
        /// `Interface.Member`.
        method: String,
        /// The D-Bus error name (`org.freedesktop.systemd1.NoSuchUnit`).
        name: String,
        /// Its message.
        message: String,
    },
    /// Nothing came in time.
    #[error("D-Bus: no answer to {0} within {1:?}")]
    Timeout(String, Duration),
}

impl DbusError {
    /// The D-Bus error name, when the other end refused a call.
    pub fn remote_name(&self) -> Option<&str> {
        match self {
            DbusError::Remote { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A message read from the bus.
#[derive(Debug, Default)]
pub struct Message {
    /// 1 method call, 2 return, 3 error, 4 signal.
    pub kind: u8,
    /// The serial of the call this answers.
    pub reply_serial: Option<u32>,
    /// Interface of a signal.
    pub interface: String,
    /// Member of a signal.
    pub member: String,
    /// Error name of an error.
    pub error_name: String,
    /// The body's values.
    pub body: Vec<Value>,
}

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const SIGNAL: u8 = 4;
/// A message is at most 128 MiB (the specification's limit).
const MAX_MESSAGE: usize = 128 << 20;

/// A connection to a bus.
pub struct Bus {
    sock: UnixStream,
    serial: u32,
    /// Signals read while waiting for a reply, for [`Bus::wait_signal`].
    signals: Vec<Message>,
}

/// A method to call: destination, object, interface, member.
#[derive(Clone, Copy, Debug)]
pub struct Method<'a> {
    /// The bus name.
    pub dest: &'a str,
    /// The object path.
    pub path: &'a str,
    /// The interface.
    pub interface: &'a str,
    /// The member.
    pub member: &'a str,
}

impl Bus {
    /// The system bus (`DBUS_SYSTEM_BUS_ADDRESS`, else [`SYSTEM_BUS`]).
    pub fn system() -> Result<Bus, DbusError> {
        let address =
            std::env::var("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|_| SYSTEM_BUS.into());
        Bus::connect(&address)
    }

    /// Connects to the first usable address of `address` (`;`-separated),
    /// authenticates as this process's euid and says Hello.
    pub fn connect(address: &str) -> Result<Bus, DbusError> {
        Bus::connect_as(address, nix::unistd::geteuid().as_raw())
    }

    /// [`Bus::connect`], authenticating as `uid`: the bus checks it against
    /// the credentials the kernel gives it, which are the host's ids even
    /// for a process in a user namespace.
    pub fn connect_as(address: &str, uid: u32) -> Result<Bus, DbusError> {
        let mut last = DbusError::Address(address.to_string());
        for one in address.split(';').filter(|a| !a.is_empty()) {
            match open(one) {
                Ok(sock) => {
                    let mut bus = Bus {
                        sock,
                        serial: 0,
                        signals: Vec::new(),
                    };
                    bus.authenticate(uid)?;
                    bus.call(
                        Method {
                            dest: "org.freedesktop.DBus",
                            path: "/org/freedesktop/DBus",
                            interface: "org.freedesktop.DBus",
                            member: "Hello",
                        },
                        &[],
                    )?;
                    return Ok(bus);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn authenticate(&mut self, uid: u32) -> Result<(), DbusError> {
        let uid = uid.to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        self.write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Auth(line));
        }
        self.write_all(b"BEGIN\r\n")
    }

    /// One line of the authentication exchange, byte by byte: nothing
    /// after it may be consumed.
    fn read_line(&mut self) -> Result<String, DbusError> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() > 4096 {
                return Err(DbusError::Auth("reply too long".into()));
            }
            self.read_exact(&mut byte)?;
            line.push(byte[0]);
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Calls a method and returns the body of its reply. Signals that come
    /// meanwhile are kept for [`Bus::wait_signal`].
    pub fn call(&mut self, m: Method<'_>, args: &[Value]) -> Result<Vec<Value>, DbusError> {
        let serial = self.send(m, args)?;
        let name = format!("{}.{}", m.interface, m.member);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let msg = self.receive(deadline, &name)?;
            match msg.kind {
                SIGNAL => self.signals.push(msg),
                METHOD_RETURN if msg.reply_serial == Some(serial) => return Ok(msg.body),
                ERROR if msg.reply_serial == Some(serial) => {
                    let message = match msg.body.first() {
                        Some(Value::Str(s)) => s.clone(),
                        _ => String::new(),
                    };
                    return Err(DbusError::Remote {
                        method: name,
                        name: msg.error_name,
                        message,
                    });
                }
                _ => {}
            }
        }
    }

    /// Waits until a signal `wanted` takes comes, for at most `timeout`.
    pub fn wait_signal(
        &mut self,
        what: &str,
        timeout: Duration,
        mut wanted: impl FnMut(&Message) -> bool,
    ) -> Result<Message, DbusError> {
        if let Some(i) = self.signals.iter().position(&mut wanted) {
            return Ok(self.signals.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let msg = self.receive(deadline, what)?;
            if msg.kind == SIGNAL && wanted(&msg) {
                return Ok(msg);
            }
        }
    }

    fn send(&mut self, m: Method<'_>, args: &[Value]) -> Result<u32, DbusError> {
        self.serial += 1;
        let mut body = Writer::default();
        for a in args {
            body.value(a);
        }
        let field = |code: u8, v: Value| {
            Value::Struct(vec![Value::Byte(code), Value::Variant(Box::new(v))])
        };
        let mut fields = vec![
            field(1, Value::Path(m.path.into())),
            field(2, Value::Str(m.interface.into())),
            field(3, Value::Str(m.member.into())),
            field(6, Value::Str(m.dest.into())),
        ];
        if !args.is_empty() {
            let sig: String = args.iter().map(Value::signature).collect();
            fields.push(field(8, Value::Signature(sig)));
        }
        let mut msg = Writer::default();
        for v in [
            Value::Byte(b'l'),
            Value::Byte(METHOD_CALL),
            Value::Byte(0),
            Value::Byte(1),
            Value::U32(body.buf.len() as u32),
            Value::U32(self.serial),
            Value::Array {
                elem: "(yv)".into(),
                items: fields,
            },
        ] {
            msg.value(&v);
        }
        msg.align(8);
        msg.buf.extend_from_slice(&body.buf);
        self.write_all(&msg.buf)?;
        Ok(self.serial)
    }

    fn receive(&mut self, deadline: Instant, what: &str) -> Result<Message, DbusError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DbusError::Timeout(
                what.to_string(),
                Duration::from_secs(30),
            ));
        }
        self.sock
            .set_read_timeout(Some(left))
            .map_err(|source| DbusError::Io { op: "read", source })?;
        let mut fixed = [0u8; 16];
        self.read_exact(&mut fixed)
            .map_err(|e| timed_out(e, what, left))?;
        if fixed[0] != b'l' {
            return Err(Malformed("big-endian messages are not supported".into()).into());
        }
        let word = |i: usize| {
            u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]) as usize
        };
        let (body_len, fields_len) = (word(4), word(12));
        let header_len = (16 + fields_len).div_ceil(8) * 8;
        let total = header_len
            .checked_add(body_len)
            .filter(|t| *t <= MAX_MESSAGE)
            .ok_or_else(|| Malformed("message too long".into()))?;
        let mut buf = vec![0u8; total];
        buf[..16].copy_from_slice(&fixed);
        self.read_exact(&mut buf[16..])
            .map_err(|e| timed_out(e, what, left))?;
        parse(&buf, header_len)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DbusError> {
        self.sock.write_all(bytes).map_err(|source| DbusError::Io {
            op: "write",
            source,
        })
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), DbusError> {
        self.sock
            .read_exact(buf)
            .map_err(|source| DbusError::Io { op: "read", source })
    }
}

fn timed_out(e: DbusError, what: &str, waited: Duration) -> DbusError {
    match &e {
        DbusError::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            DbusError::Timeout(what.to_string(), waited)
        }
        _ => e,
    }
}

/// Opens the socket of one address (`unix:path=...` or
/// `unix:abstract=...`, with `%xx` escapes).
fn open(address: &str) -> Result<UnixStream, DbusError> {
    let bad = || DbusError::Address(address.to_string());
    let params = address.strip_prefix("unix:").ok_or_else(bad)?;
    for kv in params.split(',') {
        let (key, value) = kv.split_once('=').ok_or_else(bad)?;
        let value = unescape(value).ok_or_else(bad)?;
        let connect = |r: std::io::Result<UnixStream>| {
            r.map_err(|source| DbusError::Connect {
                address: address.to_string(),
                source,
            })
        };
        match key {
            "path" => return connect(UnixStream::connect(&value)),
            "abstract" => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(value.as_bytes());
                return connect(addr.and_then(|a| UnixStream::connect_addr(&a)));
            }
            _ => {}
        }
    }
    Err(bad())
}

/// The user's session bus, found as runc finds it: `DBUS_SESSION_BUS_ADDRESS`
/// when set, else `$XDG_RUNTIME_DIR/bus` when it exists; when neither, why
/// not, naming what was looked at.
pub fn session_address(
    env_address: Option<&str>,
    runtime_dir: Option<&str>,
    exists: impl Fn(&std::path::Path) -> bool,
) -> Result<String, String> {
    if let Some(a) = env_address.filter(|a| !a.is_empty()) {
        return Ok(a.to_string());
    }
    let Some(dir) = runtime_dir.filter(|d| !d.is_empty()) else {
        return Err(
            "DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are unset, so the user's \
                    session bus cannot be found; install dbus-user-session (a session bus for \
                    the user's systemd) and log in again, or set DBUS_SESSION_BUS_ADDRESS"
                .into(),
        );
    };
    let path = std::path::Path::new(dir).join("bus");
    if !exists(&path) {
        return Err(format!(
            "DBUS_SESSION_BUS_ADDRESS is unset and {} does not exist: the user has no session \
             bus; install dbus-user-session (a session bus for the user's systemd) and log in \
             again, or set DBUS_SESSION_BUS_ADDRESS",
            path.display()
        ));
    }
    Ok(format!("unix:path={}", escape(&path.to_string_lossy())))
}

/// A value of an address, with the bytes the specification does not let
/// through bare as `%xx`.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'-' | b'_' | b'/' | b'.' | b'\\' | b'*' => (b as char).to_string(),
            b if b.is_ascii_alphanumeric() => (b as char).to_string(),
            b => format!("%{b:02x}"),
        })
        .collect()
}

fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// A whole message: its header fields, then its body.
fn parse(buf: &[u8], header_len: usize) -> Result<Message, DbusError> {
    let mut r = Reader::new(buf);
    let head = r.values("yyyyuua(yv)")?;
    let mut msg = Message {
        kind: match head.get(1) {
            Some(Value::Byte(k)) => *k,
            _ => 0,
        },
        ..Message::default()
    };
    let mut signature = String::new();
    if let Some(Value::Array { items, .. }) = head.get(6) {
        for item in items {
            let Value::Struct(f) = item else { continue };
            let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (f.first(), f.get(1)) else {
                continue;
            };
            match (code, v.as_ref()) {
                (2, Value::Str(s)) => msg.interface = s.clone(),
                (3, Value::Str(s)) => msg.member = s.clone(),
                (4, Value::Str(s)) => msg.error_name = s.clone(),
                (5, Value::U32(n)) => msg.reply_serial = Some(*n),
                (8, Value::Signature(s)) => signature = s.clone(),
                _ => {}
            }
        }
    }
    let body = buf
        .get(header_len..)
        .ok_or_else(|| Malformed("body past the end".into()))?;
    msg.body = Reader::new(body).values(&signature)?;
    Ok(msg)
}

#[cfg(test)]
mod tests;
