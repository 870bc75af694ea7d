//! The runner's isolation, end to end (root, with Debian's runc as the runtime): a hung test is
//! killed after `--test-timeout`, a crashing one is reported, a leaking one fails naming what
//! it left, and afterwards nothing of the three is left on the host.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn runc() -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = format!("{dir}/runc");
        if Path::new(&p).exists() {
            return p;
        }
    }
    panic!("this test needs runc (Debian package runc, installed by scripts/test-all.sh)");
}

#[test]
fn hung_crashed_and_leaking_tests_are_contained() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test creates containers and must run as root"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_spec-tests"))
        .args(["--self-test", "--test-timeout", "3", "--format", "json"])
        .args(["--runtime", &runc()])
        .output()
        .expect("run spec-tests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr:\n{stderr}"));
    let result = |name: &str| -> (String, String) {
        let t = doc["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {doc}"));
        (
            t["status"].as_str().unwrap().to_string(),
            t["reason"].as_str().unwrap_or("").to_string(),
        )
    };
    let (st, why) = result("selftest.hang");
    assert_eq!(st, "fail");
    assert!(why.contains("still running after 3s"), "{why}");
    let (st, why) = result("selftest.crash");
    assert_eq!(st, "fail");
    assert!(why.contains("SIGABRT"), "{why}");
    let (st, why) = result("selftest.leak");
    assert_eq!(st, "fail");
    assert!(
        why.contains("process") && why.contains("state directory left"),
        "{why}"
    );
    assert_eq!(result("selftest.pass").0, "pass");
    assert_eq!(result("suite.no_leftovers").0, "pass", "{stderr}");
    assert_eq!(
        (doc["passed"].as_u64(), doc["failed"].as_u64()),
        (Some(2), Some(3))
    );
    assert!(stderr.contains("2 passed, 3 failed, 0 skipped"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));

    // Nothing of the three containers is left: no process in their cgroups, no cgroup, no
    // state root.
    let root = doc["run"]["root"].as_str().unwrap();
    assert!(!Path::new(root).exists(), "{root} left");
    let pid = root.rsplit('-').next().unwrap();
    for name in ["hang", "crash", "leak"] {
        let id = format!("st-{name}-{pid}");
        let cg = format!("/sys/fs/cgroup/pids/{id}");
        assert!(!Path::new(&cg).exists(), "{cg} left");
        for p in std::fs::read_dir("/proc").unwrap().flatten() {
            let cgf = std::fs::read_to_string(p.path().join("cgroup")).unwrap_or_default();
            assert!(
                !cgf.contains(&id),
                "process {:?} left in {id}",
                p.file_name()
            );
        }
    }
}
