//! The parts of the command line that are Cella's own (no container is
//! created here; spec-tests covers the lifecycle against any runtime).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn cella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(args)
        .output()
        .expect("cella runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cella-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    dir
}

fn demo_bundle(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bundles/busybox/config.json");
    std::fs::copy(config, dir.join("config.json")).unwrap();
    dir
}

#[test]
fn plan_prints_the_plan_as_json() {
    let b = demo_bundle("plan");
    let out = cella(&["plan", "--bundle", b.to_str().unwrap(), "demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan is JSON");
    assert_eq!(plan["id"], "demo");
    assert_eq!(plan["rootfs"], b.join("rootfs").to_str().unwrap());
    assert_eq!(
        plan["namespaces"]["new"],
        serde_json::json!(["mount", "network", "ipc", "uts", "cgroup", "pid"])
    );
    assert_eq!(plan["cgroup"]["path"], "demo");
    let ops = plan["mounts"]["ops"].as_array().unwrap();
    assert_eq!(ops[0]["destination"], "/proc");
    assert_eq!(ops[0]["kind"]["kind"], "filesystem");
    assert!(plan["devices"]["nodes"].as_array().unwrap().len() >= 6);
    assert_eq!(plan["process"]["args"][0], "sh");
    assert_eq!(plan["mounts"]["pivot_root"], true);
    let out = cella(&["plan", "--bundle", b.to_str().unwrap(), "--no-pivot"]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["mounts"]["pivot_root"], false);
    std::fs::remove_dir_all(b).unwrap();
}

#[test]
fn plan_of_a_bad_config_names_file_and_field() {
    let b = demo_bundle("planbad");
    let text = std::fs::read_to_string(b.join("config.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "pid"}));
    std::fs::write(b.join("config.json"), v.to_string()).unwrap();
    let out = cella(&["plan", "--bundle", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("config.json: linux.namespaces[6]: duplicate namespace \"pid\""),
        "{err}"
    );
    std::fs::remove_dir_all(b).unwrap();
}

/// Where `controller`'s files are on this host: its v1 hierarchy's mount,
/// or on a v2 host the cgroup2 mount (a hybrid host's cgroup2 tree has no
/// controller).
fn cgroup_mount_for(controller: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (mut v1, mut v2) = (false, None);
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mountpoint) = left.split(' ').nth(4) else {
            continue;
        };
        let mut r = right.split(' ');
        match (r.next(), r.nth(1)) {
            (Some("cgroup"), Some(opts)) => {
                v1 = true;
                if opts.split(',').any(|o| o == controller) {
                    return Some(PathBuf::from(mountpoint));
                }
            }
            (Some("cgroup2"), _) => v2 = Some(PathBuf::from(mountpoint)),
            _ => {}
        }
    }
    v2.filter(|_| !v1)
}

/// A cgroup the test makes at `<mount>/<name>`, removed (thawed first) on
/// drop, with a `sleep` in it if asked.
struct TestCgroup {
    dir: PathBuf,
    sleeper: Option<std::process::Child>,
    thaw: Option<(&'static str, &'static str)>,
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        if let Some((file, value)) = self.thaw {
            let _ = std::fs::write(self.dir.join(file), value);
        }
        if let Some(mut s) = self.sleeper.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// `cella plan` refuses a cgroup someone else's process is in, or a frozen
/// one, with the error `create` gives (runc 1.2+ refuses both at create),
/// and shows where the container would go otherwise. Root only: the test
/// makes cgroups.
#[test]
fn plan_refuses_a_busy_or_frozen_cgroup_as_create_does() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: making cgroups needs root");
        return;
    }
    let (Some(pids), Some(freezer)) = (cgroup_mount_for("pids"), cgroup_mount_for("freezer"))
    else {
        eprintln!("skipped: no pids or freezer cgroup mount");
        return;
    };
    let name = format!("cella-cli-in-use-{}", std::process::id());
    let b = demo_bundle("inuse");
    let root = temp_dir("inuse-root");
    let text = std::fs::read_to_string(b.join("config.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["linux"]["cgroupsPath"] = Value::from(format!("/{name}"));
    std::fs::write(b.join("config.json"), v.to_string()).unwrap();
    let bundle = b.to_str().unwrap();
    // Both refuse with one line, the same; nothing is made.
    let refused = |says: &str| {
        let plan = cella(&["plan", "--bundle", bundle]);
        let err = String::from_utf8_lossy(&plan.stderr).into_owned();
        assert_eq!(plan.status.code(), Some(1), "plan: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("config.json: linux.cgroupsPath: {says}")),
            "{err}"
        );
        let r = root.to_str().unwrap();
        let create = cella(&["--root", r, "create", "--bundle", bundle, "c1"]);
        if create.status.success() {
            cella(&["--root", r, "delete", "--force", "c1"]);
        }
        assert_eq!(create.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&create.stderr), err);
        assert!(!root.join("c1").exists(), "nothing is left behind");
    };

    let busy = TestCgroup {
        dir: pids.join(&name),
        sleeper: None,
        thaw: None,
    };
    std::fs::create_dir(&busy.dir).unwrap();
    let plan = cella(&["plan", "--bundle", bundle]);
    assert!(plan.status.success(), "{plan:?}");
    let shown: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let placement = &shown["cgroup"]["placement"];
    let dirs = placement["dirs"].as_array().unwrap();
    let adopted: Vec<_> = dirs.iter().filter(|d| d["use"] == "adopt").collect();
    assert_eq!(adopted.len(), 1, "the one that exists: {placement}");
    assert_eq!(adopted[0]["dir"], busy.dir.to_str().unwrap());
    assert!(dirs.iter().all(|d| d["use"] != "caller"), "{placement}");
    let mut busy = busy;
    let sleeper = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    busy.sleeper = Some(sleeper);
    std::fs::write(busy.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    refused(&format!(
        "the cgroup already has 1 process(es) in {}",
        busy.dir.display()
    ));
    drop(busy);

    let (file, frozen, thawed) = match freezer.join("cgroup.controllers").exists() {
        true => ("cgroup.freeze", "1", "0"),
        false => ("freezer.state", "FROZEN", "THAWED"),
    };
    let cold = TestCgroup {
        dir: freezer.join(&name),
        sleeper: None,
        thaw: Some((file, thawed)),
    };
    std::fs::create_dir(&cold.dir).unwrap();
    std::fs::write(cold.dir.join(file), frozen).unwrap();
    refused(&format!("the cgroup is frozen ({})", cold.dir.display()));
    drop(cold);
    std::fs::remove_dir_all(b).unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn systemd_cgroup_path_must_be_slice_prefix_name() {
    // A bad path is the config's fault on any host; the host's own limits
    // (cgroup v2 only) come after it.
    let b = demo_bundle("systemd");
    let config = b.join("config.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    v["linux"]["cgroupsPath"] = serde_json::json!("/not/a/unit");
    std::fs::write(&config, v.to_string()).unwrap();
    let out = cella(&["--systemd-cgroup", "plan", "--bundle", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("linux.cgroupsPath") && err.contains("slice:prefix:name"),
        "{err}"
    );
}

#[test]
fn console_socket_without_terminal_is_refused_clearly() {
    let b = demo_bundle("console");
    let root = temp_dir("console-root");
    let out = cella(&[
        "--root",
        root.to_str().unwrap(),
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        "/tmp/nope.sock",
        "c1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("process.terminal") && err.contains("--console-socket"),
        "{err}"
    );
    assert!(!root.join("c1").exists(), "nothing is left behind");
    std::fs::remove_dir_all(b).unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn version_in_runc_format() {
    let out = cella(&["--version"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("cella version "), "{text}");
    assert!(text.lines().any(|l| l.starts_with("spec: 1.")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("commit: ")), "{text}");
}

#[test]
fn features_document() {
    let out = cella(&["features"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("features is JSON");
    assert_eq!(v["ociVersionMax"], "1.2.0");
    let hooks = v["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 6);
    assert_eq!(v["linux"]["cgroup"]["v2"], true);
    assert_eq!(v["linux"]["cgroup"]["systemd"], true);
}

#[test]
fn json_log_lines_for_errors() {
    let dir = temp_dir("log");
    let log = dir.join("log.json");
    let out = cella(&[
        "--root",
        dir.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "missing",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("does not exist"));
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn spec_writes_a_config_that_plans() {
    let dir = temp_dir("spec");
    let out = cella(&["spec", "--bundle", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["hostname"], "cella");
    // Written twice: refused, like runc.
    let again = cella(&["spec", "--bundle", dir.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    let rootless = temp_dir("spec-rootless");
    assert!(
        cella(&["spec", "--rootless", "--bundle", rootless.to_str().unwrap()])
            .status
            .success()
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(rootless.join("config.json")).unwrap())
            .unwrap();
    assert!(v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "user"));
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(rootless).unwrap();
}

#[test]
fn debug_lines_go_to_the_log() {
    let dir = temp_dir("debug");
    let log = dir.join("log.txt");
    let root = dir.join("root");
    let args = [
        "--root",
        root.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--debug",
        "list",
    ];
    assert!(cella(&args).status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("level=debug") && text.contains("list"),
        "{text}"
    );
    // Without --debug nothing is logged for a successful command.
    std::fs::remove_file(&log).unwrap();
    assert!(cella(
        &args[..4]
            .iter()
            .chain(["list"].iter())
            .copied()
            .collect::<Vec<_>>()
    )
    .status
    .success());
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "");
    std::fs::remove_dir_all(dir).unwrap();
}

fn stdout_of(args: &[&str]) -> String {
    let out = cella(args);
    assert!(
        out.status.success(),
        "cella {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The bash script loads and completes commands and their flags (bash
/// itself runs it: the completion function fills COMPREPLY).
#[test]
fn bash_completion_completes_commands_and_flags() {
    let script = stdout_of(&["completion", "bash"]);
    let dir = temp_dir("completion");
    let file = dir.join("cella.bash");
    std::fs::write(&file, &script).unwrap();
    let complete = |words: &str| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _cella cella \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = complete("cella ex");
    assert!(commands.lines().any(|l| l == "exec"), "{commands}");
    let flags = complete("cella exec --pre");
    assert!(flags.lines().any(|l| l == "--preserve-fds"), "{flags}");
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("source {}; complete -p cella", file.display()),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("_cella"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn completion_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _cella"),
        ("zsh", "#compdef cella"),
        ("fish", "complete -c cella"),
        ("elvish", "edit:completion:arg-completer[cella]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let s = stdout_of(&["completion", shell]);
        assert!(s.contains(marker), "{shell}: no {marker:?}");
        assert!(s.contains("exec"), "{shell}");
    }
    let out = cella(&["completion", "tcsh"]);
    assert!(!out.status.success());
}

/// The man pages render with groff without a warning, and name every
/// command and the flags of one.
#[test]
fn man_pages_render() {
    let groff = |page: &str| {
        let mut child = Command::new("groff")
            // -P-cbou: plain text, no overstriking for bold and underline.
            .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("groff (package groff-base) runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "groff warnings");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let main = stdout_of(&["man"]);
    assert!(main.contains(".TH cella 8"), "{main}");
    let text = groff(&main);
    for cmd in ["create", "start", "exec", "delete", "completion", "man"] {
        assert!(text.contains(cmd), "cella(8) lacks {cmd}");
    }
    let exec = groff(&stdout_of(&["man", "exec"]));
    assert!(exec.contains("cella-exec"), "{exec}");
    assert!(exec.contains("--preserve-fds"), "{exec}");
    // Only the flags cella exec has.
    assert!(!exec.contains("--version"), "{exec}");
    let out = cella(&["man", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such command"));
}

/// Arguments are bytes: no argument vector, UTF-8 or not, makes `cella` panic (exit 101, or a
/// signal with panic=abort). Ids and exec'd arguments must be UTF-8 and say so; paths need
/// not be. Nothing here can create a container (missing bundles, a private state root).
#[test]
fn odd_argv_never_panics() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::process::ExitStatusExt;
    let dir = temp_dir("odd-argv");
    let root = dir.join("root").into_os_string();
    let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
    let mut bad_path = dir.clone().into_os_string().into_vec();
    bad_path.extend_from_slice(b"/no-bundle-\xff");
    let bad_path = OsString::from_vec(bad_path);
    let mut bad_log = dir.clone().into_os_string().into_vec();
    bad_log.extend_from_slice(b"/log-\xff");
    let bad_log = OsString::from_vec(bad_log);
    let cases: Vec<(Vec<OsString>, i32, &str)> = vec![
        (vec!["state".into(), bytes(b"\xff")], 1, "container id"),
        (
            vec!["delete".into(), "-f".into(), bytes(b"a\xc3\x28")],
            1,
            "container id",
        ),
        (
            vec!["exec".into(), "x".into(), "sh".into(), bytes(b"\xff")],
            1,
            "not UTF-8",
        ),
        (
            vec![
                "exec".into(),
                "-e".into(),
                bytes(b"A=\xff"),
                "x".into(),
                "sh".into(),
            ],
            1,
            "--env",
        ),
        (
            vec![
                "create".into(),
                "--bundle".into(),
                bad_path.clone(),
                "x".into(),
            ],
            1,
            "no-bundle-",
        ),
        (
            vec![
                "run".into(),
                "-b".into(),
                bad_path.clone(),
                "--pid-file".into(),
                bad_path.clone(),
                "x".into(),
            ],
            1,
            "no-bundle-",
        ),
        (
            vec!["plan".into(), "--bundle".into(), bad_path, "x".into()],
            1,
            "no-bundle-",
        ),
        (
            vec![
                "--log".into(),
                bad_log.clone(),
                "--debug".into(),
                "ps".into(),
                "x".into(),
                "--".into(),
                bytes(b"\xff"),
            ],
            1,
            "does not exist",
        ),
        (vec![bytes(b"\xff\xfe")], 1, ""),
        (vec![bytes(b"--\xff")], 1, ""),
        (vec!["kill".into(), "x".into(), bytes(b"SIG\xff")], 1, ""),
        (vec!["create".into()], 1, "<ID>"),
        (vec!["--help".into()], 0, ""),
    ];
    for (args, code, says) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_cella"))
            .arg("--root")
            .arg(&root)
            .args(&args)
            .output()
            .expect("cella runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), None, "{args:?} killed cella: {err}");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains(says),
            "{args:?}: stderr does not say {says:?}: {err}"
        );
    }
    // The debug log took the non-UTF-8 argument.
    let log = std::fs::read(&bad_log).unwrap_or_default();
    assert!(String::from_utf8_lossy(&log).contains("invoked as"));
    assert!(!std::path::Path::new(&root).join("x").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
