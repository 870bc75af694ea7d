//! spec-checker: run as the process of a container, it reads the live environment (`/proc/self`,
//! mountinfo, `/dev`, `/proc/sys`, the cgroup mount) and compares it with the `config.json` it
//! is given. It prints one line per check:
//!
//! ```text
//! ok GROUP WHAT
//! not ok GROUP WHAT: REASON
//! skip GROUP WHAT: REASON
//! done N
//! ```
//!
//! As a hook: `spec-checker --hook NAME LOG` checks the state on stdin (see `hook.rs`).
//!
//! For difftest: `spec-checker --observe` prints what the process sees of itself as JSON,
//! comparing nothing (see `observe.rs`).
//!
//! Usage: `spec-checker CONFIG [FACTS] [GROUP...]`. FACTS holds `key value` lines from the host
//! that the container cannot see (`ns.KIND INODE`: the host's namespace; `nspath.KIND INODE`:
//! the namespace a config path names). GROUPs limit the checks (all when none): namespaces,
//! mounts, root, devices, masked, readonly, hostname, sysctl, idmaps, user, caps, rlimits, nnp,
//! oom, seccomp, cgroup, process.
//!
//! The binary is statically linked (spec-tests' build script compiles it with
//! `-C target-feature=+crt-static`) so it runs in any rootfs, and it has no dependencies.

mod checks;
mod hook;
mod json;
mod observe;

use std::collections::BTreeMap;
use std::process::ExitCode;

/// The results of the checks, printed as they come.
pub struct Out {
    n: usize,
    failed: usize,
}

impl Out {
    pub fn ok(&mut self, group: &str, what: &str) {
        self.n += 1;
        println!("ok {group} {what}");
    }
    pub fn fail(&mut self, group: &str, what: &str, why: &str) {
        self.n += 1;
        self.failed += 1;
        println!("not ok {group} {what}: {}", why.replace('\n', " "));
    }
    pub fn skip(&mut self, group: &str, what: &str, why: &str) {
        self.n += 1;
        println!("skip {group} {what}: {}", why.replace('\n', " "));
    }
    /// `ok` when `got == want`, otherwise `not ok` showing both.
    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, group: &str, what: &str, got: T, want: T) {
        if got == want {
            self.ok(group, what);
        } else {
            self.fail(group, what, &format!("got {got:?}, want {want:?}"));
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--observe") {
        observe::run();
        return ExitCode::SUCCESS;
    }
    if let [flag, name, log] = &args[..] {
        if flag == "--hook" {
            return ExitCode::from(hook::run(name, log) as u8);
        }
    }
    let Some(config_path) = args.first() else {
        eprintln!("usage: spec-checker CONFIG [FACTS] [GROUP...]");
        return ExitCode::from(2);
    };
    let cfg = match std::fs::read_to_string(config_path)
        .map_err(|e| format!("{config_path}: {e}"))
        .and_then(|t| json::parse(&t))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("spec-checker: {e}");
            return ExitCode::from(2);
        }
    };
    let mut facts = BTreeMap::new();
    let mut groups = Vec::new();
    for a in &args[1..] {
        if a.starts_with('/') {
            let text = std::fs::read_to_string(a).unwrap_or_default();
            for line in text.lines() {
                if let Some((k, v)) = line.split_once(' ') {
                    facts.insert(k.to_string(), v.to_string());
                }
            }
        } else {
            groups.push(a.as_str());
        }
    }
    let mut out = Out { n: 0, failed: 0 };
    let env = checks::Env { cfg: &cfg, facts };
    for (name, f) in checks::GROUPS {
        if groups.is_empty() || groups.contains(name) {
            f(&env, &mut out);
        }
    }
    println!("done {} {}", out.n, out.failed);
    ExitCode::SUCCESS
}
