//! The cgroup v2 device filter on the real kernel (root only).
//!
//! The test makes its own cgroup, `cella-bpf-test-<pid>`, directly under the
//! host's cgroup2 mount (on a hybrid host `/sys/fs/cgroup/unified`, where no
//! controller is enabled: the device hook is part of cgroup2's BPF support,
//! not a controller), puts a filter on it through the public API, moves a
//! shell into it and has the shell open device nodes. The cgroup is removed
//! at the end, which also detaches the filter. No other cgroup is touched.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cella::cgroups::{ContainerCgroup, HostCgroups};
use cella::plan::DeviceRule;
use nix::unistd::{geteuid, Pid};

/// Opens `/dev/null` and `/dev/zero` for reading, writing and both, once
/// told to go (after it has been moved), printing `<dev> <mode> ok` or the
/// shell's error message. The opens happen in subshells: a failed
/// redirection on `exec` ends a POSIX shell.
const PROBE: &str = r#"
read go
for dev in null zero; do
  for mode in '<' '>' '<>'; do
    if msg=$( (eval "exec 3$mode/dev/$dev") 2>&1 ); then
      echo "$dev $mode ok"
    else
      echo "$dev $mode $msg"
    fi
  done
done
"#;

/// Our cgroup, removed on drop even when an assertion fails.
struct TestCgroup(ContainerCgroup);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let own = cella::cgroups::Ownership::assumed(&self.0);
        for w in self.0.remove(&own) {
            eprintln!("devices_bpf: could not remove the test cgroup: {w}");
        }
    }
}

/// Where the test cgroup goes, or why this host cannot run the test.
fn test_cgroup_dir() -> Result<PathBuf, String> {
    if !geteuid().is_root() {
        return Err("needs root (bpf(2) and a cgroup of its own)".into());
    }
    let host = HostCgroups::detect().map_err(|e| cella::error::Chain(&e).to_string())?;
    let unified = host.unified.ok_or("the host has no cgroup2 mount")?;
    Ok(unified.join(format!("cella-bpf-test-{}", std::process::id())))
}

/// Runs [`PROBE`] inside the cgroup; its report, one line per open.
fn probe(cgroup: &ContainerCgroup) -> Vec<String> {
    let mut child = Command::new("/bin/sh")
        .args(["-c", PROBE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn /bin/sh");
    let moved = cgroup.add_process(Pid::from_raw(child.id() as i32));
    if let Err(e) = moved {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "move the probe into the cgroup: {}",
            cella::error::Chain(&e)
        );
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"go\n")
        .expect("tell the probe to go");
    let out = child.wait_with_output().expect("wait for the probe");
    assert!(out.status.success(), "probe: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn rule(allow: bool, kind: char, major: Option<i64>, minor: Option<i64>, a: &str) -> DeviceRule {
    DeviceRule {
        allow,
        kind,
        major,
        minor,
        access: a.into(),
    }
}

/// The report's line for `dev` opened with `mode`: `ok`, or whether the
/// error was EPERM (the device filter's answer) — anything else fails.
fn outcome(report: &[String], dev: &str, mode: &str) -> &'static str {
    let prefix = format!("{dev} {mode} ");
    let line = report
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {prefix:?} in {report:#?}"));
    let rest = &line[prefix.len()..];
    if rest == "ok" {
        "ok"
    } else if rest.contains("not permitted") {
        "EPERM"
    } else {
        panic!("{dev} {mode}: unexpected error {rest:?}")
    }
}

#[test]
fn device_filter_on_a_real_cgroup() {
    let dir = match test_cgroup_dir() {
        Ok(dir) => dir,
        Err(reason) => {
            eprintln!("SKIPPED device_filter_on_a_real_cgroup: {reason}");
            return;
        }
    };
    let cgroup = TestCgroup(ContainerCgroup::V2 { dir });
    cgroup
        .0
        .create(&mut Vec::new())
        .expect("create the test cgroup");

    // /dev/null is refused for reading and writing, /dev/zero allowed.
    let first = [
        rule(false, 'a', None, None, "rwm"),
        rule(true, 'c', None, None, "m"),
        rule(true, 'c', Some(1), Some(5), "rwm"),
    ];
    cgroup
        .0
        .apply_device_rules(&first)
        .expect("attach the filter");
    let report = probe(&cgroup.0);
    for mode in ["<", ">", "<>"] {
        assert_eq!(outcome(&report, "null", mode), "EPERM", "null {mode}");
        assert_eq!(outcome(&report, "zero", mode), "ok", "zero {mode}");
    }

    // An update replaces the filter: were the first still attached, it
    // would go on refusing /dev/null, as every attached filter must allow.
    let second = [
        rule(false, 'a', None, None, "rwm"),
        rule(true, 'c', Some(1), Some(3), "rw"),
        rule(true, 'c', Some(1), Some(5), "r"),
    ];
    cgroup
        .0
        .apply_device_rules(&second)
        .expect("replace the filter");
    let report = probe(&cgroup.0);
    for mode in ["<", ">", "<>"] {
        assert_eq!(outcome(&report, "null", mode), "ok", "null {mode}");
    }
    assert_eq!(outcome(&report, "zero", "<"), "ok");
    assert_eq!(outcome(&report, "zero", ">"), "EPERM");
    assert_eq!(
        outcome(&report, "zero", "<>"),
        "EPERM",
        "O_RDWR needs w too"
    );

    // Every kind of block the generator emits, through the kernel's
    // verifier: partial access, a later partial deny, an `a` rule.
    let third = [
        rule(false, 'a', None, None, "rwm"),
        rule(true, 'b', None, None, "m"),
        rule(true, 'c', Some(1), None, "rw"),
        rule(false, 'c', Some(1), Some(3), "w"),
        rule(true, 'a', Some(7), None, "r"),
        rule(false, 'b', Some(7), Some(0), "rwm"),
    ];
    cgroup
        .0
        .apply_device_rules(&third)
        .expect("attach the third filter");
    let report = probe(&cgroup.0);
    assert_eq!(outcome(&report, "null", "<"), "ok");
    assert_eq!(outcome(&report, "null", ">"), "EPERM");
    assert_eq!(
        outcome(&report, "null", "<>"),
        "EPERM",
        "the later deny of w"
    );
    assert_eq!(outcome(&report, "zero", "<>"), "ok");

    // Allow-all after everything: the shortest program, and no refusals.
    let mut open = third.to_vec();
    open.push(rule(true, 'a', None, None, "rwm"));
    cgroup
        .0
        .apply_device_rules(&open)
        .expect("attach allow-all");
    let report = probe(&cgroup.0);
    for dev in ["null", "zero"] {
        for mode in ["<", ">", "<>"] {
            assert_eq!(outcome(&report, dev, mode), "ok", "{dev} {mode}");
        }
    }
}
