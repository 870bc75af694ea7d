//! The commands that act on a running container's cgroup: `pause`,
//! `resume`, `update`, `ps`, `events`.

use oci_spec::runtime::LinuxResources;
use serde::Serialize;

use super::state::DirLock;
use super::Container;
use crate::cgroups::systemd::Manager;
use crate::cgroups::{OomWatcher, Stats};
use crate::error::{Error, FieldError, Status};

/// One event of `events`, as runc prints it.
#[derive(Debug, Serialize)]
pub struct Event {
    /// `stats` or `oom`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Container id.
    pub id: String,
    /// The stats, for `stats` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Stats>,
}

impl Container {
    /// Freezes every process of the container.
    pub fn pause(&self) -> Result<(), Error> {
        let _lock = DirLock::lock(&self.dir)?;
        match self.status() {
            Status::Running | Status::Created => Ok(self.own_cgroup("pause")?.set_frozen(true)?),
            s => Err(self.wrong("pause", s)),
        }
    }

    /// Thaws a paused container.
    pub fn resume(&self) -> Result<(), Error> {
        let _lock = DirLock::lock(&self.dir)?;
        match self.status() {
            Status::Paused => Ok(self.own_cgroup("resume")?.set_frozen(false)?),
            s => Err(self.wrong("resume", s)),
        }
    }

    /// Changes resource limits (the fields present in `r`; the others stay).
    pub fn update(&self, r: &LinuxResources) -> Result<(), Error> {
        let _lock = DirLock::lock(&self.dir)?;
        let status = self.status();
        if status == Status::Stopped {
            return Err(self.wrong("update", status));
        }
        let cgroup = self.own_cgroup("update")?;
        let mut writes = crate::plan::cgroup_writes(r, cgroup.version())?;
        if let Some(m) = r.memory() {
            if m.check_before_update() == Some(true) {
                if let (Some(limit), Some(usage)) = (m.limit(), cgroup.memory_usage()) {
                    if limit >= 0 && (limit as u64) < usage {
                        return Err(FieldError::invalid(
                            "linux.resources.memory.limit",
                            format!(
                                "{limit} is below the current usage {usage} (checkBeforeUpdate)"
                            ),
                        )
                        .into());
                    }
                }
            }
        }
        if let Some(unit) = &self.state.systemd_unit {
            // Properties first, as runc: systemd writes them into the
            // files, which the writes then make exact.
            let props = crate::plan::systemd::resource_properties(&mut writes)?;
            if !props.is_empty() {
                Manager::connect(unit, self.state.systemd_user.as_ref())?
                    .set_properties(unit, &props)?;
            }
        }
        cgroup.apply_writes(&writes)?;
        if let Some(rules) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            let rules = crate::plan::device_rules_for_update(rules, &self.state.device_nodes)?;
            cgroup.apply_device_rules(&rules)?;
        }
        Ok(())
    }

    /// Resource usage now, from the container's cgroup.
    pub fn stats(&self) -> Result<Stats, Error> {
        let status = self.status();
        if status == Status::Stopped {
            return Err(self.wrong("read stats of", status));
        }
        Ok(self.own_cgroup("read stats of")?.stats())
    }

    /// [`Container::stats`] as the event `events --stats` prints.
    pub fn stats_event(&self) -> Result<Event, Error> {
        Ok(Event {
            kind: "stats",
            id: self.state.id.clone(),
            data: Some(self.stats()?),
        })
    }

    /// Streams events until the container stops: stats every `interval`,
    /// and an `oom` event as soon as the kernel OOM-kills in the container.
    /// `emit` returning false stops the stream.
    pub fn events(
        &self,
        interval: std::time::Duration,
        mut emit: impl FnMut(&Event) -> bool,
    ) -> Result<(), Error> {
        let mut oom = OomWatcher::new(self.own_cgroup("watch events of")?)?;
        // The init's exit wakes the wait. Without a pidfd (the init is
        // gone: the first look at the status ends the stream) or once it
        // woke (the status may lag a moment behind it), the status is
        // looked at every 100 ms.
        let mut exit = self.pidfd().ok();
        let mut next = std::time::Instant::now();
        loop {
            if self.status() == Status::Stopped {
                return Ok(());
            }
            let now = std::time::Instant::now();
            if now >= next {
                if !emit(&self.stats_event()?) {
                    return Ok(());
                }
                next = now + interval;
            }
            let mut wait = next.saturating_duration_since(std::time::Instant::now());
            if exit.is_none() {
                wait = wait.min(std::time::Duration::from_millis(100));
            }
            let ms = i32::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
            let (kills, exited) = oom.wait_or_exit(ms, exit);
            if exited {
                exit = None;
            }
            for _ in 0..kills {
                let event = Event {
                    kind: "oom",
                    id: self.state.id.clone(),
                    data: None,
                };
                if !emit(&event) {
                    return Ok(());
                }
            }
        }
    }
}
