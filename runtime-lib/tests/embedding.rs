//! The library as an embedder uses it (root only): containers built from
//! in-memory specs, their stdio and preserved fds, the typed errors, cgroup
//! settings, a multi-threaded caller, and the examples run as programs.
//!
//! Each test makes its own directory `/tmp/cella-embed-<pid>-<name>/` with
//! a busybox rootfs (`fixtures/build-rootfs.sh`, or a copy of
//! `$CELLA_EMBED_ROOTFS` where the repository is not at hand, as in the
//! cgroup v2 VM) and the runtime's state root, and removes it at the end;
//! its containers are deleted, their cgroups with them. The examples are
//! found next to the test binary, or in `$CELLA_EXAMPLES_DIR`.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cella::container::{ExecOptions, ProcessOverrides, Runtime, Stdio};
use cella::oci_spec::runtime::{RootBuilder, Spec};
use cella::plan::CgroupSetting;
use cella::{Error, FieldError, Signal, Status};

/// A test's directory: rootfs and state root, removed on drop.
struct Scratch {
    dir: PathBuf,
    rootfs: PathBuf,
}

impl Scratch {
    /// `None` (the test prints why and counts as skipped) unless root.
    fn new(name: &str) -> Option<Scratch> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED {name}: needs root (creates containers)");
            return None;
        }
        let dir = PathBuf::from(format!("/tmp/cella-embed-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rootfs = dir.join("rootfs");
        let out = match std::env::var_os("CELLA_EMBED_ROOTFS") {
            Some(src) => Command::new("cp").arg("-a").arg(src).arg(&rootfs).output(),
            None => Command::new(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/build-rootfs.sh"),
            )
            .arg(&rootfs)
            .output(),
        }
        .unwrap();
        assert!(
            out.status.success(),
            "making the rootfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Scratch { dir, rootfs })
    }

    fn runtime(&self) -> Runtime {
        Runtime::new(self.dir.join("state"))
    }

    fn id(&self, what: &str) -> String {
        format!("embed-{what}-{}", std::process::id())
    }

    /// runc's default config running `args` in our rootfs, no terminal.
    fn spec(&self, args: &[&str]) -> Spec {
        let mut spec = cella::spec::default_config(false);
        spec.set_root(Some(
            RootBuilder::default()
                .path(&self.rootfs)
                .readonly(true)
                .build()
                .unwrap(),
        ));
        let mut p = spec.process().clone().unwrap();
        p.set_terminal(Some(false));
        p.set_args(Some(args.iter().map(|s| s.to_string()).collect()));
        spec.set_process(Some(p));
        spec
    }

    /// Nothing of the runtime's is left for container `id`.
    fn assert_gone(&self, id: &str) {
        assert!(
            !self.dir.join("state").join(id).exists(),
            "state of {id} left behind"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let rt = self.runtime();
        for c in rt.list().unwrap_or_default() {
            let id = c.id().to_string();
            if let Err(e) = c.delete(true) {
                eprintln!("clean-up: delete {id}: {}", cella::error::Chain(&e));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_all(mut f: impl Read) -> String {
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// A container purely from an in-memory spec: no config.json anywhere; its
/// stdin, stdout and stderr are pipes of ours, two fds of ours become its
/// 3 and 4, and it has nothing else open.
#[test]
fn in_memory_spec_with_pipes_and_preserved_fds() {
    let Some(s) = Scratch::new("in-memory") else {
        return;
    };
    let script = "read line; echo \"got $line\"; echo oops >&2; echo three >&3; echo four >&4; \
                  ls /proc/self/fd | tr '\\n' ' '";
    let spec = s.spec(&["sh", "-c", script]);
    let (stdin, mut to_stdin) = Stdio::input_pipe().unwrap();
    let (stdout, from_stdout) = Stdio::output_pipe().unwrap();
    let (stderr, from_stderr) = Stdio::output_pipe().unwrap();
    let (r3, w3) = nix::unistd::pipe().unwrap();
    let (r4, w4) = nix::unistd::pipe().unwrap();
    let id = s.id("mem");
    let rt = s.runtime();
    let mut c = rt
        .builder_from_spec(&id, spec)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .preserve_fds(vec![w3, w4])
        .pid_file(s.dir.join("pid"))
        .create()
        .unwrap();
    assert!(!s.rootfs.parent().unwrap().join("config.json").exists());
    assert_eq!(c.status(), Status::Created);
    let pid: i32 = std::fs::read_to_string(s.dir.join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pid, c.pid());
    c.start().unwrap();
    to_stdin.write_all(b"hello\n").unwrap();
    drop(to_stdin);
    let out = read_all(from_stdout);
    assert!(out.starts_with("got hello\n"), "stdout: {out:?}");
    // ls's own fd for the directory is the 5th; nothing of the runtime's.
    assert_eq!(out.lines().nth(1), Some("0 1 2 3 4 5 "), "stdout: {out:?}");
    assert_eq!(read_all(from_stderr), "oops\n");
    assert_eq!(read_all(std::fs::File::from(r3)), "three\n");
    assert_eq!(read_all(std::fs::File::from(r4)), "four\n");
    let status = c.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // Kept: a second wait returns it again.
    assert_eq!(c.wait().unwrap().code(), Some(0));
    assert_eq!(c.status(), Status::Stopped);
    c.delete(false).unwrap();
    s.assert_gone(&id);
}

/// An in-memory spec with a relative root and a bundle directory; the
/// state reports that directory as the bundle.
#[test]
fn in_memory_spec_relative_root() {
    let Some(s) = Scratch::new("relative") else {
        return;
    };
    let mut spec = s.spec(&["true"]);
    spec.set_root(Some(
        RootBuilder::default()
            .path("rootfs")
            .readonly(true)
            .build()
            .unwrap(),
    ));
    let rt = s.runtime();
    let id = s.id("rel");
    // Without a bundle directory a relative root is refused, by field.
    match rt.builder_from_spec(&id, spec.clone()).create() {
        Err(Error::InvalidConfig(e)) => {
            assert_eq!(e.field(), Some("root.path"));
            assert_eq!(e.file(), Some(Path::new(cella::spec::IN_MEMORY_CONFIG)));
        }
        other => panic!("expected InvalidConfig, got {:?}", other.map(|c| c.pid())),
    }
    let mut c = rt
        .builder_from_spec(&id, spec)
        .bundle_dir(&s.dir)
        .stdout(Stdio::Null)
        .create()
        .unwrap();
    assert_eq!(c.oci_state().bundle, s.dir);
    assert_eq!(c.oci_state().rootfs, s.rootfs);
    c.start().unwrap();
    assert_eq!(c.wait().unwrap().code(), Some(0));
    c.delete(false).unwrap();
}

/// Errors a caller matches on, each leaving nothing behind.
#[test]
fn typed_errors() {
    let Some(s) = Scratch::new("errors") else {
        return;
    };
    let rt = s.runtime();
    let id = s.id("err");
    assert!(matches!(rt.load(&id), Err(Error::NotFound { .. })));
    assert!(matches!(
        rt.builder_from_spec("../x", s.spec(&["true"])).create(),
        Err(Error::InvalidId { .. })
    ));

    let mut bad = s.spec(&["true"]);
    bad.process_mut().as_mut().unwrap().set_args(Some(vec![]));
    match rt.builder_from_spec(&id, bad).create() {
        Err(Error::InvalidConfig(e)) => assert_eq!(e.field(), Some("process.args")),
        other => panic!("expected InvalidConfig, got {:?}", other.err()),
    }
    s.assert_gone(&id);

    let mut apparmor = s.spec(&["true"]);
    apparmor
        .process_mut()
        .as_mut()
        .unwrap()
        .set_apparmor_profile(Some("cella-embedding-no-such-profile".into()));
    // Without AppArmor the plan refuses any profile; with it (the cgroup v2 VM's kernel) the
    // kernel refuses one it has not loaded, in the container's init (docs/lsm.md).
    let enabled = std::fs::read("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|b| b.first() == Some(&b'Y'));
    match rt.builder_from_spec(&id, apparmor).create() {
        Err(Error::Unsupported(e)) if !enabled => assert_eq!(e.field, "process.apparmorProfile"),
        Err(Error::Child(e)) if enabled => {
            assert_eq!(e.step, cella::error::Step::ProcessApparmorProfile);
            assert_eq!(e.errno, Some(libc::ENOENT));
        }
        other => panic!(
            "expected the profile refused (AppArmor enabled: {enabled}), got {:?}",
            other.err()
        ),
    }
    s.assert_gone(&id);
    // The default config's device rule cannot be enforced without a cgroup.
    match rt
        .builder_from_spec(&id, s.spec(&["true"]))
        .cgroups(CgroupSetting::Disabled)
        .create()
    {
        Err(Error::Unsupported(FieldError { field, reason, .. })) => {
            assert_eq!(field, "linux.resources.devices");
            assert!(reason.contains("cgroups are disabled"), "{reason}");
        }
        other => panic!("expected Unsupported, got {:?}", other.err()),
    }
    // A bundle directory is only for an in-memory spec.
    assert!(matches!(
        rt.builder(&id, &s.dir).bundle_dir(&s.dir).create(),
        Err(Error::Usage(m)) if m.starts_with("bundle_dir")
    ));
    // A terminal is the process's stdio: giving stdio too is refused.
    let mut tty = s.spec(&["true"]);
    tty.process_mut().as_mut().unwrap().set_terminal(Some(true));
    assert!(matches!(
        rt.builder_from_spec(&id, tty)
            .console(cella::plan::Console::Relay)
            .stdout(Stdio::Null)
            .create(),
        Err(Error::Usage(_))
    ));
    s.assert_gone(&id);

    let mut c = rt
        .builder_from_spec(&id, s.spec(&["sleep", "60"]))
        .create()
        .unwrap();
    assert!(matches!(
        rt.builder_from_spec(&id, s.spec(&["true"])).create(),
        Err(Error::AlreadyExists { .. })
    ));
    c.start().unwrap();
    assert!(matches!(
        c.start(),
        Err(Error::WrongState {
            status: Status::Running,
            ..
        })
    ));
    // Only the creating process is the init's parent.
    let mut other = rt.load(&id).unwrap();
    assert!(matches!(other.wait(), Err(Error::NotChild { .. })));
    assert!(matches!(
        rt.delete(&id, false),
        Err(Error::WrongState { .. })
    ));
    c.kill(Signal::SIGKILL, false).unwrap();
    let status = c.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    rt.delete(&id, false).unwrap();
    s.assert_gone(&id);
    // Gone: with force that is no error.
    rt.delete(&id, true).unwrap();
    assert!(matches!(rt.delete(&id, false), Err(Error::NotFound { .. })));
}

/// The cgroup lines of a process, without the v2 line's empty controller.
fn cgroups_of(pid: i32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Disabled: the container's processes stay in our cgroups, and what needs
/// its own cgroup is refused by name. Path: its cgroup is where we said.
#[test]
fn cgroup_settings() {
    let Some(s) = Scratch::new("cgroups") else {
        return;
    };
    let rt = s.runtime();
    let id = s.id("nocg");
    let mut spec = s.spec(&["sleep", "60"]);
    spec.linux_mut().as_mut().unwrap().set_resources(None);
    let mut c = rt
        .builder_from_spec(&id, spec)
        .cgroups(CgroupSetting::Disabled)
        .create()
        .unwrap();
    c.start().unwrap();
    assert_eq!(cgroups_of(c.pid()), cgroups_of(std::process::id() as i32));
    assert!(matches!(c.pause(), Err(Error::NoCgroup { .. })));
    assert!(matches!(c.stats(), Err(Error::NoCgroup { .. })));
    // Found through its pid namespace.
    assert_eq!(c.processes().unwrap(), vec![cella::Pid::from_raw(c.pid())]);
    c.kill(Signal::SIGKILL, true).unwrap();
    c.wait().unwrap();
    c.delete(false).unwrap();

    let id = s.id("pathcg");
    // One component: the runtime removes the container's cgroup, not
    // parents it had to make (as runc).
    let path = format!("cella-embed-{}-inner", std::process::id());
    let mut c = rt
        .builder_from_spec(&id, s.spec(&["sleep", "60"]))
        .cgroups(CgroupSetting::Path(path.clone().into()))
        .create()
        .unwrap();
    c.start().unwrap();
    let ours = cgroups_of(std::process::id() as i32);
    let theirs = cgroups_of(c.pid());
    // Every hierarchy the container has a cgroup in: ours, then the path.
    let moved = theirs
        .iter()
        .filter(|l| l.ends_with(&format!("/{path}")))
        .count();
    assert!(moved > 0, "ours {ours:?}, theirs {theirs:?}");
    assert!(c.stats().unwrap().pids.current >= 1);
    c.kill(Signal::SIGKILL, false).unwrap();
    c.wait().unwrap();
    c.delete(false).unwrap();
    // Removed in every hierarchy, below our own cgroup there.
    let pure_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    for line in &ours {
        let mut parts = line.splitn(3, ':');
        let (_, ctrl, own) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let mount = match ctrl.split(',').find(|c| !c.is_empty()) {
            None if pure_v2 => PathBuf::from("/sys/fs/cgroup"),
            None => PathBuf::from("/sys/fs/cgroup/unified"),
            Some(name) => {
                Path::new("/sys/fs/cgroup").join(name.strip_prefix("name=").unwrap_or(name))
            }
        };
        let dir = mount.join(own.trim_start_matches('/')).join(&path);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

/// exec with a command line amending the container's process, its output
/// captured; a process.json refused for what cannot be honoured.
#[test]
fn exec_with_overrides() {
    let Some(s) = Scratch::new("exec") else {
        return;
    };
    let rt = s.runtime();
    let id = s.id("exec");
    let mut c = rt
        .builder_from_spec(&id, s.spec(&["sleep", "60"]))
        .create()
        .unwrap();
    c.start().unwrap();
    let p = c.process_with(&ProcessOverrides {
        args: vec!["sh".into(), "-c".into(), "echo $A $(id -u) $(pwd)".into()],
        env: vec!["A=b".into()],
        cwd: Some("/tmp".into()),
        user: Some((1000, Some(1000))),
        ..Default::default()
    });
    let (stdout, out) = Stdio::output_pipe().unwrap();
    let mut opts = ExecOptions::new(p);
    opts.io.stdout = stdout;
    let mut e = c.exec(opts).unwrap();
    assert_eq!(read_all(out), "b 1000 /tmp\n");
    assert_eq!(e.wait().unwrap().code(), Some(0));

    let mut p = c.process_with(&ProcessOverrides {
        args: vec!["true".into()],
        ..Default::default()
    });
    p.set_env(Some(vec!["NOEQUALS".into()]));
    assert!(
        matches!(c.exec(ExecOptions::new(p)), Err(Error::InvalidConfig(e)) if e.field() == Some("env[0]"))
    );
    let mut p = c.process_with(&ProcessOverrides {
        args: vec!["true".into()],
        ..Default::default()
    });
    // A scheduler the kernel would not take is refused, naming its field.
    let sched: oci_spec::runtime::Scheduler =
        serde_json::from_value(serde_json::json!({"policy": "SCHED_OTHER", "nice": 30})).unwrap();
    p.set_scheduler(Some(sched));
    assert!(matches!(
        c.exec(ExecOptions::new(p)),
        Err(Error::InvalidConfig(e)) if e.field() == Some("scheduler.nice")
    ));
    c.kill(Signal::SIGKILL, false).unwrap();
    c.wait().unwrap();
    c.delete(false).unwrap();
}

/// A multi-threaded caller: other threads allocate and hold the allocator
/// while containers are created (the runtime's children allocate after the
/// fork), and a child of the caller's own is not reaped by the runtime.
#[test]
fn multithreaded_caller() {
    let Some(s) = Scratch::new("threads") else {
        return;
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let v: Vec<u64> = (0..(1000 + i * 100)).collect();
                    n = n.wrapping_add(v.iter().sum::<u64>());
                    let s = format!("{n}");
                    n = n.wrapping_add(s.len() as u64);
                }
                n
            })
        })
        .collect();
    let mut own_child = Command::new("sleep").arg("1").spawn().unwrap();
    let rt = s.runtime();
    for i in 0..10 {
        let id = s.id(&format!("mt{i}"));
        let (stdout, out) = Stdio::output_pipe().unwrap();
        let mut c = rt
            .builder_from_spec(&id, s.spec(&["echo", "ok"]))
            .stdout(stdout)
            .create()
            .unwrap();
        c.start().unwrap();
        assert_eq!(read_all(out), "ok\n");
        assert_eq!(c.wait().unwrap().code(), Some(0));
        c.delete(false).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    // Still ours to reap: the runtime waited for its own children only.
    assert!(own_child.wait().unwrap().success());
}

/// The path of an example's binary, built by `cargo test` next to the
/// test binaries (`target/<profile>/examples/`).
fn example(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("CELLA_EXAMPLES_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join(name)
}

fn run_example(s: &Scratch, name: &str) -> String {
    let out = Command::new(example(name))
        .arg(&s.rootfs)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e} (built by cargo test?)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name}: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn example_capture_stdout() {
    let Some(s) = Scratch::new("ex-capture") else {
        return;
    };
    assert_eq!(
        run_example(&s, "capture_stdout"),
        "captured: hello from captured\nexit status: 3\n"
    );
}

#[test]
fn example_exec_into() {
    let Some(s) = Scratch::new("ex-exec") else {
        return;
    };
    assert_eq!(
        run_example(&s, "exec_into"),
        "exec output: hello from exec-example\nexec status: 0\nsecond exec status: 7\n\
         init killed by signal 9\n"
    );
}

#[test]
fn example_limits_stats() {
    let Some(s) = Scratch::new("ex-limits") else {
        return;
    };
    let out = run_example(&s, "limits_stats");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "memory limit: 64 MiB", "{out}");
    assert!(lines[1].starts_with("memory usage: "), "{out}");
    assert_eq!(lines[2], "pids: 3 of 32", "{out}");
    assert_eq!(
        &lines[3..],
        [
            "pids limit after update: 8",
            "status after pause: paused",
            "status after resume: running"
        ],
        "{out}"
    );
}

/// `run_bundle`, the example that takes a bundle directory.
#[test]
fn example_run_bundle() {
    let Some(s) = Scratch::new("ex-bundle") else {
        return;
    };
    let mut spec = s.spec(&["sh", "-c", "exit 5"]);
    spec.set_root(Some(
        RootBuilder::default()
            .path("rootfs")
            .readonly(true)
            .build()
            .unwrap(),
    ));
    std::fs::write(
        s.dir.join("config.json"),
        serde_json::to_vec(&spec).unwrap(),
    )
    .unwrap();
    let out = Command::new(example("run_bundle"))
        .arg(&s.dir)
        .arg(s.id("bundle"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Planning needs no root: the plan of a builder counts the fds it is
/// given as the process's preserved fds, as `create` does, and refuses
/// them together with `inherit_fds`.
#[test]
fn builder_plan_counts_given_fds() {
    let dir = std::env::temp_dir().join(format!("cella-embed-plan-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    let mut spec = cella::spec::default_config(false);
    spec.set_root(Some(
        RootBuilder::default()
            .path(dir.join("rootfs"))
            .build()
            .unwrap(),
    ));
    spec.process_mut()
        .as_mut()
        .unwrap()
        .set_terminal(Some(false));
    let rt = Runtime::new(dir.join("state"));
    let fds = || -> Vec<std::os::fd::OwnedFd> {
        let (r, w) = nix::unistd::pipe().unwrap();
        vec![r, w]
    };
    let plan = rt
        .builder_from_spec("plan", spec.clone())
        .preserve_fds(fds())
        .plan()
        .unwrap();
    assert_eq!(plan.process.preserve_fds, 2);
    assert!(matches!(
        rt.builder_from_spec("plan", spec)
            .preserve_fds(fds())
            .inherit_fds(1)
            .plan(),
        Err(Error::Usage(m)) if m.starts_with("Io::fds")
    ));
    assert!(!dir.join("state").exists(), "planning made the state root");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether `fd` (a pidfd) is readable within `ms`: its process exited.
fn readable(fd: std::os::fd::BorrowedFd<'_>, ms: u16) -> bool {
    use nix::poll::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut fds, ms).unwrap() == 1
}

/// The init's pidfd: not readable while it runs (for the creating handle
/// and a loaded one), readable once it exited, when `try_wait` has its
/// status; a loaded handle has none once the init was reaped.
#[test]
fn init_pidfd_readable_at_exit() {
    let Some(s) = Scratch::new("pidfd") else {
        return;
    };
    let rt = s.runtime();
    let id = s.id("pidfd");
    let (stdin, mut input) = Stdio::input_pipe().unwrap();
    let mut c = rt
        .builder_from_spec(&id, s.spec(&["sh", "-c", "read x; exit 5"]))
        .stdin(stdin)
        .create()
        .unwrap();
    assert!(!readable(c.pidfd().unwrap(), 0), "created: readable");
    c.start().unwrap();
    let loaded = rt.load(&id).unwrap();
    assert!(!readable(c.pidfd().unwrap(), 300), "running: readable");
    assert!(!readable(loaded.pidfd().unwrap(), 0), "loaded: readable");
    assert_eq!(c.try_wait().unwrap(), None);
    input.write_all(b"go\n").unwrap();
    assert!(readable(c.pidfd().unwrap(), 10_000), "no exit in 10 s");
    assert!(readable(loaded.pidfd().unwrap(), 0));
    // Exited, not reaped yet: a handle loaded now still gets one.
    assert!(readable(rt.load(&id).unwrap().pidfd().unwrap(), 0));
    assert_eq!(c.try_wait().unwrap().and_then(|s| s.code()), Some(5));
    // The handle keeps its pidfd; a new one finds no process to open.
    assert!(readable(c.pidfd().unwrap(), 0));
    assert!(matches!(
        rt.load(&id).unwrap().pidfd(),
        Err(Error::WrongState {
            op: "open a pidfd of",
            status: Status::Stopped,
            ..
        })
    ));
    c.delete(false).unwrap();
    s.assert_gone(&id);
}

/// An exec'd process's pidfd (`AsFd`): readable once it exited, when
/// `try_wait` has its status; the container's init is not affected.
#[test]
fn exec_pidfd_readable_at_exit() {
    use std::os::fd::AsFd;
    let Some(s) = Scratch::new("exec-pidfd") else {
        return;
    };
    let rt = s.runtime();
    let id = s.id("exec-pidfd");
    let mut c = rt
        .builder_from_spec(&id, s.spec(&["sleep", "60"]))
        .create()
        .unwrap();
    c.start().unwrap();
    let (stdin, mut input) = Stdio::input_pipe().unwrap();
    let mut opts = ExecOptions::new(c.process_with(&ProcessOverrides {
        args: vec!["sh".into(), "-c".into(), "read x; exit 6".into()],
        ..Default::default()
    }));
    opts.io.stdin = stdin;
    let mut e = c.exec(opts).unwrap();
    assert!(!readable(e.as_fd(), 300), "running: readable");
    assert_eq!(e.try_wait().unwrap(), None);
    input.write_all(b"go\n").unwrap();
    assert!(readable(e.as_fd(), 10_000), "no exit in 10 s");
    assert_eq!(e.try_wait().unwrap().and_then(|s| s.code()), Some(6));
    assert!(!readable(c.pidfd().unwrap(), 0), "the init's is readable");
    c.kill(Signal::SIGKILL, false).unwrap();
    assert!(readable(c.pidfd().unwrap(), 10_000));
    assert_eq!(c.try_wait().unwrap().and_then(|s| s.signal()), Some(9));
    c.delete(false).unwrap();
    s.assert_gone(&id);
}

/// `events` ends when the init exits, woken by its pidfd: with an interval
/// of an hour, nothing else would end the wait for the next stats. It runs
/// on a loaded handle (as `cella events` does), in a thread of its own that
/// a failing test leaves behind rather than waiting an hour for it.
#[test]
fn events_end_when_the_init_exits() {
    let Some(s) = Scratch::new("events") else {
        return;
    };
    let rt = s.runtime();
    let id = s.id("events");
    let mut c = rt
        .builder_from_spec(&id, s.spec(&["sleep", "60"]))
        .create()
        .unwrap();
    c.start().unwrap();
    let (done, ended) = std::sync::mpsc::channel();
    let (seen, first) = std::sync::mpsc::channel();
    let loaded = rt.load(&id).unwrap();
    std::thread::spawn(move || {
        let r = loaded.events(std::time::Duration::from_secs(3600), |e| {
            let _ = seen.send(e.kind);
            true
        });
        let _ = done.send(r.map_err(|e| cella::error::Chain(&e).to_string()));
    });
    let timeout = std::time::Duration::from_secs(10);
    assert_eq!(first.recv_timeout(timeout), Ok("stats"));
    c.kill(Signal::SIGKILL, false).unwrap();
    let r = ended.recv_timeout(timeout);
    assert_eq!(r, Ok(Ok(())), "events did not end within 10 s of the exit");
    assert_eq!(c.wait().unwrap().signal(), Some(9));
    c.delete(false).unwrap();
    s.assert_gone(&id);
}
