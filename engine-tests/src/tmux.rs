//! Interactive sessions (`run -it`, `exec -t`) driven in tmux: a real
//! terminal of a known size that the test types into and reads back.
//!
//! Each session runs on the suite's own tmux server (`-S <work>/tmux.sock`),
//! killed when the session is dropped.

use std::path::PathBuf;
use std::time::Duration;

use crate::cmd::{wait_until, Cmd};
use crate::env::Env;

pub struct Session<'a> {
    env: &'a Env,
    socket: PathBuf,
    name: String,
}

/// The marker printed after the command ends: `EXITED=<status>`.
const EXITED: &str = "EXITED=";

impl<'a> Session<'a> {
    /// Starts `command` (a shell command line) in a `cols`x`rows` terminal.
    /// When it ends the pane shows `EXITED=<status>` and stays open.
    pub fn start(
        env: &'a Env,
        name: &str,
        command: &str,
        cols: u16,
        rows: u16,
    ) -> Result<Session<'a>, String> {
        let socket = env.work.join("tmux.sock");
        let wrapped = format!("{command}; echo {EXITED}$?; sleep 600");
        env.run_ok(
            Cmd::new("tmux")
                .arg("-S")
                .arg(&socket)
                .args(["new-session", "-d", "-s", name, "-x"])
                .arg(cols.to_string())
                .arg("-y")
                .arg(rows.to_string())
                .arg(wrapped),
        )?;
        Ok(Session {
            env,
            socket,
            name: name.to_string(),
        })
    }

    fn tmux(&self) -> Cmd {
        Cmd::new("tmux").arg("-S").arg(&self.socket)
    }

    /// Types `text` and Enter.
    pub fn type_line(&self, text: &str) -> Result<(), String> {
        self.env.run_ok(
            self.tmux()
                .args(["send-keys", "-t", &self.name, "-l", text]),
        )?;
        self.env
            .run_ok(self.tmux().args(["send-keys", "-t", &self.name, "Enter"]))
            .map(drop)
    }

    /// What the pane shows now (with its scrollback).
    pub fn screen(&self) -> String {
        self.env
            .run(
                self.tmux()
                    .args(["capture-pane", "-p", "-J", "-S", "-200", "-t", &self.name]),
            )
            .map(|o| o.stdout)
            .unwrap_or_default()
    }

    /// Waits until the pane shows a line equal to `line` (trimmed); returns
    /// the screen.
    pub fn wait_line(&self, line: &str, timeout: Duration) -> Result<String, String> {
        let mut last = String::new();
        let seen = wait_until(timeout, || {
            last = self.screen();
            last.lines().any(|l| l.trim() == line)
        });
        if seen {
            Ok(last)
        } else {
            Err(format!(
                "the terminal never showed the line {line:?}; it shows:\n{last}"
            ))
        }
    }

    /// Waits until the pane shows `text` anywhere.
    pub fn wait_text(&self, text: &str, timeout: Duration) -> Result<String, String> {
        let mut last = String::new();
        if wait_until(timeout, || {
            last = self.screen();
            last.contains(text)
        }) {
            Ok(last)
        } else {
            Err(format!(
                "the terminal never showed {text:?}; it shows:\n{last}"
            ))
        }
    }

    /// Waits for the command to end and returns its exit status.
    pub fn exit_status(&self, timeout: Duration) -> Result<i32, String> {
        let screen = self.wait_text(EXITED, timeout)?;
        screen
            .lines()
            .find_map(|l| l.trim().strip_prefix(EXITED))
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("no exit status on the terminal:\n{screen}"))
    }

    /// Resizes the terminal (the window and so the pane).
    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), String> {
        self.env
            .run_ok(self.tmux().args([
                "resize-window",
                "-t",
                &self.name,
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ]))
            .map(drop)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .env
            .run(self.tmux().args(["kill-session", "-t", &self.name]));
    }
}

/// The interactive round every engine's `-t` path must pass: `command`
/// (a shell in a container) started in a `cols`x`rows` terminal shows a
/// prompt, its stdio is a pty of the terminal's size, and `exit <status>`
/// ends it with that status.
pub fn shell_round(
    env: &Env,
    name: &str,
    command: &str,
    cols: u16,
    rows: u16,
    status: i32,
) -> Result<(), String> {
    let s = Session::start(env, name, command, cols, rows)?;
    s.wait_text("# ", Duration::from_secs(30))?;
    s.type_line("stty size; tty | sed 's/[0-9]*$/N/'")?;
    s.wait_line(&format!("{rows} {cols}"), Duration::from_secs(10))?;
    s.wait_line("/dev/pts/N", Duration::from_secs(10))?;
    s.type_line(&format!("exit {status}"))?;
    let got = s.exit_status(Duration::from_secs(30))?;
    if got == status {
        Ok(())
    } else {
        Err(format!("{name}: exit status {got}, want {status}"))
    }
}

/// Stops the suite's tmux server (at the end).
pub fn kill_server(env: &Env) {
    let socket = env.work.join("tmux.sock");
    if socket.exists() {
        let _ = env.run(Cmd::new("tmux").arg("-S").arg(&socket).arg("kill-server"));
    }
}
