//! Configs that must be rejected. For each, `create` must exit non-zero and leave nothing
//! behind: no state directory, no cgroup directory named after the id (or at a cgroupsPath that
//! did not exist before), no mount under the bundle, no process of the container. With
//! `--check-messages` the error on stderr must also be one line containing the expected text.
//!
//! Cases come from a built-in list (kept small: each is something every runtime rejects) and
//! from a corpus directory given with `--bad-configs DIR` holding `NAME.json` (a complete
//! config.json with root.path "rootfs") and `NAME.expect` (one line: a substring the error must
//! contain).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::{add_mount, base_config, put_namespace, set_namespaces};
use crate::harness::{
    cgroup_path_dirs, find_cgroup_dirs, find_processes, host_cgroup_v2, mounts_under, wait_until,
    Ctn, Ctx, TestResult,
};
use crate::Test;

/// When a runtime may report a case.
#[derive(Clone, Copy, PartialEq)]
enum When {
    /// `create` must fail.
    Create,
    /// `create` or, for settings a runtime may apply only when the process starts, `start`.
    CreateOrStart,
}

struct Builtin {
    name: &'static str,
    /// Text the error must contain (case-insensitive) under --check-messages.
    expect: &'static str,
    when: When,
    config: fn() -> String,
}

fn cfg_text(v: Value) -> String {
    serde_json::to_string_pretty(&v).expect("serializable")
}

fn builtins() -> Vec<Builtin> {
    vec![
        Builtin {
            name: "invalid_json",
            expect: "config.json",
            when: When::Create,
            config: || "{\"ociVersion\": \"1.0.2\", \"process\": ".to_string(),
        },
        Builtin {
            name: "missing_rootfs",
            expect: "no-such-rootfs",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                c["root"]["path"] = json!("no-such-rootfs");
                cfg_text(c)
            },
        },
        Builtin {
            name: "unknown_namespace",
            expect: "bogus",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                put_namespace(&mut c, json!({"type": "bogus"}));
                cfg_text(c)
            },
        },
        Builtin {
            name: "empty_args",
            expect: "args",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                c["process"]["args"] = json!([]);
                cfg_text(c)
            },
        },
        Builtin {
            name: "relative_cwd",
            expect: "cwd",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                c["process"]["cwd"] = json!("tmp");
                cfg_text(c)
            },
        },
        Builtin {
            name: "hostname_without_uts",
            expect: "hostname",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                set_namespaces(&mut c, &["pid", "ipc", "mount", "network"]);
                c["hostname"] = json!("nope");
                cfg_text(c)
            },
        },
        Builtin {
            name: "net_sysctl_without_netns",
            expect: "net.ipv4.ip_forward",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                set_namespaces(&mut c, &["pid", "ipc", "uts", "mount"]);
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
                cfg_text(c)
            },
        },
        Builtin {
            name: "unknown_mount_type",
            expect: "nosuchfs",
            when: When::Create,
            config: || {
                let mut c = base_config(&["true"]);
                add_mount(
                    &mut c,
                    json!({"destination": "/mnt/x", "type": "nosuchfs", "source": "none"}),
                );
                cfg_text(c)
            },
        },
        Builtin {
            name: "rlimit_above_hard_limit",
            expect: "RLIMIT_NOFILE",
            when: When::CreateOrStart,
            config: || {
                let mut c = base_config(&["true"]);
                c["process"]["rlimits"] =
                    json!([{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]);
                cfg_text(c)
            },
        },
    ]
}

/// Whether this process's bounding set has CAP_SYS_RESOURCE (bit 24).
fn host_bounding_has_sys_resource() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|mask| mask & (1 << 24) != 0)
}

/// Makes an id-safe short name.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn tests(corpus: Option<&PathBuf>) -> Vec<Test> {
    let mut v = Vec::new();
    for b in builtins() {
        let name = format!("bad_configs.builtin_{}", b.name);
        v.push(Test {
            name,
            run: Box::new(move |ctx: &Ctx| {
                // Bad only where the runtime lacks CAP_SYS_RESOURCE (as in this project's
                // sandbox); a host that has it (the cgroup v2 VM) can honour it.
                if b.name == "rlimit_above_hard_limit" && host_bounding_has_sys_resource() {
                    return Err(crate::harness::skip(
                        "the host's bounding set has CAP_SYS_RESOURCE: the config is valid here",
                    ));
                }
                let expect = ctx.check_messages.then(|| (b.expect.to_string(), false));
                check_bad(ctx, &(b.config)(), expect, b.when)
            }),
        });
    }
    let Some(dir) = corpus else { return v };
    let entries = match read_corpus(dir) {
        Ok(e) => e,
        Err(e) => {
            v.push(Test {
                name: "bad_configs.corpus".to_string(),
                run: Box::new(move |_: &Ctx| Err(e.clone())),
            });
            return v;
        }
    };
    for (name, json_path) in entries {
        let expect_path = json_path.with_extension("expect");
        v.push(Test {
            name: format!("bad_configs.corpus_{}", sanitize(&name)),
            run: Box::new(move |ctx: &Ctx| {
                let text = fs::read_to_string(&json_path)
                    .map_err(|e| format!("{}: {e}", json_path.display()))?;
                let expect = fs::read_to_string(&expect_path)
                    .map_err(|e| format!("{}: {e}", expect_path.display()))?;
                let expect = expected_line(&expect, host_cgroup_v2());
                let expect = ctx.check_messages.then_some((expect, true));
                check_bad(ctx, &text, expect, When::Create)
            }),
        });
    }
    v
}

/// The substring an error must hold, from a `.expect` file: its first line, or on a pure
/// cgroup v2 host its `cgroup v2: ` line where it has one (a limit v2 has no file for is refused
/// for that, not for its value).
fn expected_line(text: &str, v2: bool) -> String {
    let v2_line = text.lines().find_map(|l| l.strip_prefix("cgroup v2: "));
    match v2_line {
        Some(line) if v2 => line.trim().to_string(),
        _ => text.lines().next().unwrap_or("").trim().to_string(),
    }
}

/// The corpus entries: (NAME, path of NAME.json), sorted by name.
fn read_corpus(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("--bad-configs {}: {e}", dir.display()))?;
    let mut v: Vec<(String, PathBuf)> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(format!("no *.json in {}", dir.display()));
    }
    Ok(v)
}

/// Runs one bad config. `expect` is (text, case-sensitive) when messages are checked.
fn check_bad(ctx: &Ctx, config: &str, expect: Option<(String, bool)>, when: When) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    fs::write(c.bundle.join("config.json"), config).map_err(|e| format!("config.json: {e}"))?;
    let cgroups_path = serde_json::from_str::<Value>(config)
        .ok()
        .and_then(|v| v["linux"]["cgroupsPath"].as_str().map(String::from));
    let cg_before: Vec<PathBuf> = cgroups_path
        .as_deref()
        .map(cgroup_path_dirs)
        .unwrap_or_default();

    // Under the systemd driver a cgroupfs path is refused for its shape before anything else
    // (runc: "expected cgroupsPath to be of format slice:prefix:name"): the message then names
    // the field, whatever else the corpus expects of it.
    let expect = match (&cgroups_path, expect) {
        (Some(p), Some((_, case_sensitive))) if ctx.systemd && p.split(':').count() != 3 => {
            Some(("linux.cgroupsPath".to_string(), case_sensitive))
        }
        (_, expect) => expect,
    };
    let out = c.create(&[])?;
    if out.timed_out {
        return Err(format!("create: {}", out.describe()));
    }
    let mut msg_out = out.clone();
    if out.code == 0 {
        if when == When::Create {
            return Err("create succeeded".to_string());
        }
        let start = ctx.rt(&["start", &c.id])?;
        if start.code == 0 {
            return Err("create and start both succeeded".to_string());
        }
        msg_out = start;
    }

    let mut problems = Vec::new();
    if expect.is_some() && msg_out.code != 1 {
        problems.push(format!("exit code {}, want 1", msg_out.code));
    }
    if let Some((text, case_sensitive)) = expect {
        let lines: Vec<&str> = msg_out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let found = if case_sensitive {
            msg_out.stderr.contains(&text)
        } else {
            msg_out.stderr.to_lowercase().contains(&text.to_lowercase())
        };
        if lines.len() != 1 || !found {
            problems.push(format!(
                "stderr should be one line containing {text:?}; got: {:?}",
                msg_out.stderr
            ));
        }
    }
    if out.code != 0 {
        problems.extend(leftovers(ctx, &c, cgroups_path.as_deref(), &cg_before));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.push(format!("runtime said: {}", msg_out.describe()));
        Err(problems.join("\n"))
    }
}

/// What a failed create left behind.
fn leftovers(ctx: &Ctx, c: &Ctn, cgroups_path: Option<&str>, cg_before: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    let state_dir = ctx.root.join(&c.id);
    if state_dir.exists() {
        problems.push(format!("state directory left: {}", state_dir.display()));
    }
    match ctx.rt(&["list", "-q"]) {
        Ok(out) if out.stdout.lines().any(|l| l.trim() == c.id) => {
            problems.push(format!("`list -q` shows {}", c.id));
        }
        _ => {}
    }
    let ids: BTreeSet<String> = [c.id.clone()].into();
    let mut procs = Vec::new();
    wait_until(Duration::from_secs(1), || {
        procs = find_processes(&ids, &BTreeSet::new(), &c.bundle);
        procs.is_empty()
    });
    for (pid, why) in procs {
        problems.push(format!("process left: {pid} {why}"));
    }
    for d in find_cgroup_dirs(&ids) {
        problems.push(format!("cgroup left: {}", d.display()));
    }
    if let Some(p) = cgroups_path {
        for d in cgroup_path_dirs(p) {
            if !cg_before.contains(&d) {
                problems.push(format!("cgroup left: {}", d.display()));
                // Created by the runtime for this test: remove it (rmdir only succeeds when
                // it is empty).
                let _ = fs::remove_dir(&d);
            }
        }
    }
    for m in mounts_under(&c.bundle) {
        problems.push(format!("mount left: {m}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::expected_line;

    #[test]
    fn the_v2_line_replaces_the_first_on_v2_hosts_only() {
        let both = "a: v1 reason\ncgroup v2: a: v2 reason\n";
        assert_eq!(expected_line(both, false), "a: v1 reason");
        assert_eq!(expected_line(both, true), "a: v2 reason");
        assert_eq!(expected_line("a: only\n", true), "a: only");
    }
}
