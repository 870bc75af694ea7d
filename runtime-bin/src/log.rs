//! runc's logging: `--log FILE` with `--log-format text|json`. containerd's
//! shim reads the JSON form (`{"level","msg","time"}`) to show the last
//! error; errors also go to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

pub struct Logger {
    file: Option<File>,
    json: bool,
    debug: bool,
}

impl Logger {
    pub fn open(path: Option<&Path>, json: bool, debug: bool) -> Result<Self, String> {
        let file = match path {
            None => None,
            Some(p) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| format!("--log {}: {e}", p.display()))?,
            ),
        };
        Ok(Logger { file, json, debug })
    }

    pub fn error(&self, msg: &str) {
        eprintln!("cella: {msg}");
        self.write("error", msg);
    }

    /// A warning: to the log file, or stderr without one (as runc). With
    /// podman the runtime's stderr is the container's, so a warning printed
    /// there would end up in `podman logs`; containerd's shim and podman's
    /// conmon read the log file instead.
    pub fn warning(&self, msg: &str) {
        if self.file.is_none() {
            eprintln!("cella: warning: {msg}");
        }
        self.write("warning", msg);
    }

    /// With `--debug`: to the log file, or stderr without one.
    pub fn debug(&self, msg: &str) {
        if !self.debug {
            return;
        }
        if self.file.is_none() {
            eprintln!("cella: debug: {msg}");
        }
        self.write("debug", msg);
    }

    fn write(&self, level: &str, msg: &str) {
        if let Some(mut f) = self.file.as_ref() {
            let time = cella::container::rfc3339_nano(std::time::SystemTime::now());
            let line = if self.json {
                serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
            } else {
                format!("time={time:?} level={level} msg={msg:?}")
            };
            let _ = writeln!(f, "{line}");
        }
    }
}

static GLOBAL: std::sync::OnceLock<Logger> = std::sync::OnceLock::new();

/// Makes `logger` reachable from the commands (for warnings).
pub fn install(logger: Logger) -> &'static Logger {
    GLOBAL.get_or_init(|| logger)
}

/// Logs warnings the library returned (failed poststop hooks, ...).
pub fn warnings(list: &[String]) {
    if let Some(l) = GLOBAL.get() {
        for w in list {
            l.warning(w);
        }
    }
}

/// Logs, with `--debug`, what the library decided quietly (the cgroups a
/// rootless container did not get).
pub fn debug_notes(list: &[String]) {
    if let Some(l) = GLOBAL.get() {
        for n in list {
            l.debug(n);
        }
    }
}
