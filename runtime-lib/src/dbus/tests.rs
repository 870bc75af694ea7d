//! Against a real bus: a private `dbus-daemon` (Debian's `dbus-daemon`
//! package; `scripts/test-all.sh` installs it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;

/// A session bus of its own, stopped when dropped.
struct Daemon {
    child: Child,
    address: String,
}

impl Daemon {
    fn start() -> Daemon {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (package dbus-daemon) must be installed");
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        Daemon {
            child,
            address: address.trim().to_string(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const DBUS: Method<'static> = Method {
    dest: "org.freedesktop.DBus",
    path: "/org/freedesktop/DBus",
    interface: "org.freedesktop.DBus",
    member: "GetId",
};

#[test]
fn calls_get_replies_and_errors() {
    let daemon = Daemon::start();
    let mut bus = Bus::connect(&daemon.address).unwrap();
    let id = bus.call(DBUS, &[]).unwrap();
    assert!(
        matches!(&id[..], [Value::Str(s)] if s.len() == 32),
        "{id:?}"
    );

    let owner = bus
        .call(
            Method {
                member: "GetNameOwner",
                ..DBUS
            },
            &[Value::Str("org.cella.Nobody".into())],
        )
        .unwrap_err();
    assert_eq!(
        owner.remote_name(),
        Some("org.freedesktop.DBus.Error.NameHasNoOwner"),
        "{owner}"
    );
    assert!(owner.to_string().contains("GetNameOwner"), "{owner}");
}

#[test]
fn waits_for_a_signal() {
    let daemon = Daemon::start();
    let mut bus = Bus::connect(&daemon.address).unwrap();
    bus.call(
        Method {
            member: "RequestName",
            ..DBUS
        },
        &[Value::Str("org.cella.Test".into()), Value::U32(0)],
    )
    .unwrap();
    let got = bus
        .wait_signal("NameAcquired", Duration::from_secs(5), |m| {
            m.member == "NameAcquired"
                && matches!(m.body.first(), Some(Value::Str(s)) if s == "org.cella.Test")
        })
        .unwrap();
    assert_eq!(got.interface, "org.freedesktop.DBus");

    let none = bus
        .wait_signal("nothing", Duration::from_millis(50), |_| false)
        .unwrap_err();
    assert!(matches!(none, DbusError::Timeout(..)), "{none}");
}

#[test]
fn a_missing_bus_names_its_address() {
    let err = Bus::connect("unix:path=/nonexistent/bus").err().unwrap();
    assert!(err.to_string().contains("/nonexistent/bus"), "{err}");
    let err = Bus::connect("tcp:host=localhost").err().unwrap();
    assert!(matches!(err, DbusError::Address(_)), "{err}");
}

#[test]
fn the_session_bus_is_found_as_runc_finds_it() {
    let yes = |_: &std::path::Path| true;
    let no = |_: &std::path::Path| false;
    assert_eq!(
        session_address(Some("unix:path=/x"), Some("/run/user/1"), no).unwrap(),
        "unix:path=/x"
    );
    assert_eq!(
        session_address(Some(""), Some("/run/user/1000"), yes).unwrap(),
        "unix:path=/run/user/1000/bus"
    );
    assert_eq!(
        session_address(None, Some("/tmp/a b,c"), yes).unwrap(),
        "unix:path=/tmp/a%20b%2cc/bus"
    );
    let err = session_address(None, Some("/run/user/1000"), no).unwrap_err();
    assert!(err.contains("/run/user/1000/bus does not exist"), "{err}");
    let err = session_address(None, None, yes).unwrap_err();
    assert!(err.contains("XDG_RUNTIME_DIR"), "{err}");
    // What escape gives, unescape reads back.
    assert_eq!(unescape(&escape("/tmp/a b,c=%")).unwrap(), "/tmp/a b,c=%");
}
