//! The systemd cgroup driver's side of the host: asking systemd's manager,
//! over the system bus (or, rootless, the user's manager over the user's
//! session bus), to start, change and stop a container's transient unit,
//! and waiting for its jobs.

use std::time::Duration;

use nix::unistd::Pid;

use crate::cgroup_types::{SystemdUnit, UnitProperty, UserManager};
use crate::dbus::wire::Value;
use crate::dbus::{Bus, DbusError, Method};

/// How long a job of systemd's may take (runc's limit too).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

const MANAGER: Method<'static> = Method {
    dest: "org.freedesktop.systemd1",
    path: "/org/freedesktop/systemd1",
    interface: "org.freedesktop.systemd1.Manager",
    member: "",
};

/// A step of the systemd driver that failed.
#[derive(Debug, thiserror::Error)]
#[error("systemd cgroup driver: {step} {unit}")]
pub struct SystemdError {
    /// `connect to`, `start`, `set properties of`, `stop`.
    pub step: &'static str,
    /// The unit.
    pub unit: String,
    /// What went wrong.
    #[source]
    pub source: DbusError,
}

/// A connection to systemd's manager.
pub struct Manager {
    bus: Bus,
    version: Option<u32>,
}

impl Manager {
    /// Connects to the system bus, or to the user's manager's bus when
    /// `user` says, for `unit`'s sake (errors name it).
    pub fn connect(unit: &str, user: Option<&UserManager>) -> Result<Manager, SystemdError> {
        let (bus, step) = match user {
            None => (
                Bus::system(),
                "connect to the system bus (is dbus running, as on a systemd host?) for",
            ),
            Some(u) => (
                Bus::connect_as(&u.address, u.uid),
                "connect to the user's systemd manager (rootless: its session bus) for",
            ),
        };
        let bus = bus.map_err(|source| SystemdError {
            step,
            unit: unit.to_string(),
            source,
        })?;
        Ok(Manager { bus, version: None })
    }

    /// The user's manager at `address` (authenticating as `uid`): its
    /// cgroup, which its slices are below (runc asks the same property).
    pub fn user_manager(address: &str, uid: u32) -> Result<UserManager, DbusError> {
        let mut m = Manager {
            bus: Bus::connect_as(address, uid)?,
            version: None,
        };
        let control_group = match m.manager_property("ControlGroup")? {
            Value::Str(s) if s.starts_with('/') => s,
            other => {
                return Err(DbusError::Protocol(crate::dbus::wire::Malformed(format!(
                    "the manager's ControlGroup is {other:?}, not a cgroup path"
                ))))
            }
        };
        Ok(UserManager {
            address: address.to_string(),
            uid,
            control_group: control_group.into(),
        })
    }

    /// A property of the manager itself.
    fn manager_property(&mut self, name: &str) -> Result<Value, DbusError> {
        let got = self.bus.call(
            Method {
                interface: "org.freedesktop.DBus.Properties",
                member: "Get",
                ..MANAGER
            },
            &[
                Value::Str(MANAGER.interface.into()),
                Value::Str(name.into()),
            ],
        )?;
        match got.into_iter().next() {
            Some(Value::Variant(v)) => Ok(*v),
            other => Err(DbusError::Protocol(crate::dbus::wire::Malformed(format!(
                "Get {name} returned {other:?}, not a variant"
            )))),
        }
    }

    fn call(&mut self, member: &str, args: &[Value]) -> Result<Vec<Value>, DbusError> {
        self.bus.call(Method { member, ..MANAGER }, args)
    }

    /// systemd's version (`252` of `252.19-1~deb12u1`); 0 if unreadable.
    fn version(&mut self) -> u32 {
        if let Some(v) = self.version {
            return v;
        }
        let v = match self.manager_property("Version") {
            Ok(Value::Str(s)) => leading_number(&s),
            _ => 0,
        };
        self.version = Some(v);
        v
    }

    /// The properties this systemd has, as `a(sv)`.
    fn properties(&mut self, props: &[UnitProperty]) -> Value {
        // Asked only when it matters: one round trip less for most configs.
        let version = match props.iter().any(|p| p.since > 0) {
            true => self.version(),
            false => 0,
        };
        Value::Array {
            elem: "(sv)".into(),
            items: props
                .iter()
                .filter(|p| p.since <= version)
                .map(|p| {
                    Value::Struct(vec![
                        Value::Str(p.name.clone()),
                        Value::Variant(Box::new(p.value.clone())),
                    ])
                })
                .collect(),
        }
    }

    /// Starts `unit` with `pid` in it and its limits, and waits until
    /// systemd has done it. A failed unit of the same name left from
    /// before is reset and the start tried once more, as runc does.
    pub fn start(&mut self, unit: &SystemdUnit, pid: Pid) -> Result<(), SystemdError> {
        let err = |source| SystemdError {
            step: "start",
            unit: unit.name.clone(),
            source,
        };
        let mut props = unit.start.clone();
        props.extend(unit.resources.iter().cloned());
        props.push(UnitProperty::new(
            "PIDs",
            Value::Array {
                elem: "u".into(),
                items: vec![Value::U32(pid.as_raw() as u32)],
            },
        ));
        let props = self.properties(&props);
        self.subscribe().map_err(err)?;
        let args = [
            Value::Str(unit.name.clone()),
            Value::Str("replace".into()),
            props,
            Value::Array {
                elem: "(sa(sv))".into(),
                items: Vec::new(),
            },
        ];
        let job = match self.call("StartTransientUnit", &args) {
            Err(e) if e.remote_name() == Some("org.freedesktop.systemd1.UnitExists") => {
                let _ = self.reset_failed(&unit.name);
                self.call("StartTransientUnit", &args)
            }
            other => other,
        }
        .map_err(err)?;
        match self.wait_for_job(&job, "StartTransientUnit").map_err(err)? {
            result if result == "done" => Ok(()),
            result => {
                let _ = self.reset_failed(&unit.name);
                Err(err(DbusError::Remote {
                    method: "StartTransientUnit".into(),
                    name: format!("job {result}"),
                    message: "systemd did not start the unit (journalctl -u names why)".into(),
                }))
            }
        }
    }

    /// Sets `props` on a running unit (runtime only: gone at reboot, like
    /// the unit).
    pub fn set_properties(
        &mut self,
        name: &str,
        props: &[UnitProperty],
    ) -> Result<(), SystemdError> {
        let props = self.properties(props);
        self.call(
            "SetUnitProperties",
            &[Value::Str(name.into()), Value::Bool(true), props],
        )
        .map(|_| ())
        .map_err(|source| SystemdError {
            step: "set properties of",
            unit: name.into(),
            source,
        })
    }

    /// Stops the unit and waits for it; a unit already gone (systemd stops
    /// a scope whose processes have all exited) is fine. A failed unit is
    /// reset, so that systemd forgets it.
    pub fn stop(&mut self, name: &str) -> Result<(), SystemdError> {
        let err = |source| SystemdError {
            step: "stop",
            unit: name.into(),
            source,
        };
        self.subscribe().map_err(err)?;
        match self.call(
            "StopUnit",
            &[Value::Str(name.into()), Value::Str("replace".into())],
        ) {
            Err(e) if e.remote_name() == Some("org.freedesktop.systemd1.NoSuchUnit") => {}
            Err(e) => return Err(err(e)),
            Ok(job) => {
                self.wait_for_job(&job, "StopUnit").map_err(err)?;
            }
        }
        let _ = self.reset_failed(name);
        Ok(())
    }

    /// Asks the manager to move `pid` into the running unit `name`
    /// (`AttachProcessesToUnit`, systemd 238 and later): how a process of
    /// a rootless runtime outside the user's manager gets into its unit.
    pub fn attach(&mut self, name: &str, pid: Pid) -> Result<(), SystemdError> {
        let pids = Value::Array {
            elem: "u".into(),
            items: vec![Value::U32(pid.as_raw() as u32)],
        };
        self.call(
            "AttachProcessesToUnit",
            &[Value::Str(name.into()), Value::Str(String::new()), pids],
        )
        .map(|_| ())
        .map_err(|source| SystemdError {
            step: "move a process into",
            unit: name.into(),
            source,
        })
    }

    fn reset_failed(&mut self, name: &str) -> Result<(), DbusError> {
        self.call("ResetFailedUnit", &[Value::Str(name.into())])
            .map(|_| ())
    }

    /// Asks for the manager's job signals. Before the job is queued: its
    /// `JobRemoved` may come before the reply that names it.
    fn subscribe(&mut self) -> Result<(), DbusError> {
        self.bus.call(
            Method {
                dest: "org.freedesktop.DBus",
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "AddMatch",
            },
            &[Value::Str(
                "type='signal',sender='org.freedesktop.systemd1',\
                 interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"
                    .into(),
            )],
        )?;
        match self.call("Subscribe", &[]) {
            // Already subscribed on this connection.
            Err(e) if e.remote_name() == Some("org.freedesktop.systemd1.AlreadySubscribed") => {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Waits for the `JobRemoved` of the job a call returned; its result
    /// (`done`, `failed`, `canceled`, `timeout`, `dependency`, `skipped`).
    fn wait_for_job(&mut self, reply: &[Value], method: &str) -> Result<String, DbusError> {
        let Some(Value::Path(job)) = reply.first() else {
            return Err(DbusError::Protocol(crate::dbus::wire::Malformed(format!(
                "{method} returned no job"
            ))));
        };
        let job = job.clone();
        let msg =
            self.bus
                .wait_signal(&format!("the job of {method} ({job})"), JOB_TIMEOUT, |m| {
                    m.member == "JobRemoved"
                        && matches!(m.body.get(1), Some(Value::Path(p)) if *p == job)
                })?;
        Ok(match msg.body.get(3) {
            Some(Value::Str(result)) => result.clone(),
            _ => String::new(),
        })
    }
}

/// How long a process systemd's job has placed may take to be in the
/// unit's cgroup.
const MOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until `pid` is in `cgroup` (the unit's), for up to 10 s.
pub fn wait_until_in(
    cgroup: &crate::cgroups::ContainerCgroup,
    pid: Pid,
    unit: &str,
) -> Result<(), SystemdError> {
    let deadline = std::time::Instant::now() + MOVE_TIMEOUT;
    while !cgroup.pids().is_ok_and(|p| p.contains(&pid)) {
        if std::time::Instant::now() >= deadline {
            return Err(SystemdError {
                step: "wait for systemd to move stage 1 into",
                unit: unit.to_string(),
                source: DbusError::Timeout(format!("pid {pid} in {unit}"), MOVE_TIMEOUT),
            });
        }
        // Why a sleep: nothing notifies a process's move into a cgroup
        // that is already populated (an exec into a running unit; v2's
        // cgroup.events changes only with the first process, v1 has none),
        // and the job's JobRemoved signal may come before the move (see
        // the callers).
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn leading_number(s: &str) -> u32 {
    let digits: String = s
        .trim_start_matches(['"', 'v'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_read_like_runcs() {
        for (s, v) in [
            ("252.19-1~deb12u1", 252),
            ("v245.4-1.fc32", 245),
            ("255", 255),
            ("x", 0),
        ] {
            assert_eq!(super::leading_number(s), v, "{s}");
        }
    }
}
