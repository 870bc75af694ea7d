//! Kubernetes' path: containerd's CRI plugin with a runtime handler that
//! runs the runtime under test through the runc shim's `BinaryName` option —
//! configured in containerd's `config.toml` as an operator would — driven by
//! a CRI client as the kubelet would (`cri_client.py`, gRPC over the
//! socket; Debian has no crictl).
//!
//! No CNI plugin is configured, so pods use the host's network (the kubelet's
//! `hostNetwork: true`). containerd gives every sandbox `oom_score_adj`
//! -998, which this host refuses (no CAP_SYS_RESOURCE, for runc too), so the
//! config sets `restrict_oom_score_adj`, as for containerd inside a
//! container.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::cmd::{Cmd, Daemon};
use crate::env::{
    cgroup_file, cgroup_of, contains, ensure, ensure_eq, expect_cpu_quota, proc_alive, wait_gone,
    CgroupParent, Env, TestResult,
};
use crate::image;
use crate::systemd;
use crate::{Tap, Test};

/// The runtime handler name the pods ask for (`runtimeClassName` maps to it).
const HANDLER: &str = "under-test";

/// The prefix of the CRI plugin's scope units (`<slice>:cri-containerd:<id>`).
const SCOPE_PREFIX: &str = "cri-containerd";

pub struct Cri<'a> {
    env: &'a Env,
    socket: PathBuf,
    /// The runtime's `--root` for the shim: the `Root` option plus the
    /// containerd namespace `k8s.io`.
    runc_root: PathBuf,
    /// The pod's cgroup parent. Under the systemd driver the pod gets the
    /// slice's full path, as the kubelet sends it
    /// (`/kubepods.slice/kubepods-besteffort.slice/...`); containerd takes its
    /// last component and makes each container's cgroupsPath
    /// `<slice>:cri-containerd:<id>`.
    parent: CgroupParent,
    pod: String,
    _daemon: Daemon,
}

fn tests<'a>() -> Vec<Test<Cri<'a>>> {
    vec![
        ("handler_runs_sandbox", handler_runs_sandbox),
        ("container_lifecycle", container_lifecycle),
        ("update_resources", update_resources),
    ]
}

pub fn names() -> Vec<&'static str> {
    tests().iter().map(|(n, _)| *n).collect()
}

pub fn run(env: &Env, tap: &mut Tap) {
    tap.group("cri", &tests(), || Cri::start(env));
}

/// The CRI section of containerd's config.toml, as the README shows it.
fn cri_config(env: &Env, dir: &std::path::Path) -> String {
    format!(
        r#"[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni-bin"
    conf_dir = "{d}/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "{HANDLER}"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}.options]
        BinaryName = "{rt}"
        Root = "{d}/runc-root"
        SystemdCgroup = {systemd}
"#,
        pause = image::reference(image::PAUSE.name),
        d = dir.display(),
        rt = env.runtime.display(),
        systemd = env.systemd,
    )
}

impl<'a> Cri<'a> {
    fn start(env: &'a Env) -> Result<Cri<'a>, String> {
        let dir = env.dir("cri")?;
        let (daemon, socket) =
            crate::containerd::start_daemon(env, &dir, Some(&cri_config(env, &dir)))?;
        for spec in [&image::BUSYBOX, &image::PAUSE] {
            let tar = image::archive(env, spec)?;
            env.run_ok(
                Cmd::new("ctr")
                    .arg("--address")
                    .arg(&socket)
                    .args(["--namespace", "k8s.io", "image", "import"])
                    .arg(tar),
            )?;
        }
        let mut c = Cri {
            env,
            runc_root: dir.join("runc-root/k8s.io"),
            socket,
            parent: env.cgroup_parent("cri"),
            pod: String::new(),
            _daemon: daemon,
        };
        let v = c.call(&[
            "runp",
            "--name",
            "e2e-pod",
            "--namespace",
            &env.prefix,
            "--uid",
            &env.prefix,
            "--handler",
            HANDLER,
            "--host-network",
            "--cgroup-parent",
            &c.parent.path.clone(),
        ])?;
        c.pod = v["pod_sandbox_id"]
            .as_str()
            .ok_or_else(|| format!("runp: no pod id in {v}"))?
            .to_string();
        Ok(c)
    }

    /// Runs the CRI client; its JSON answer.
    fn call(&self, args: &[&str]) -> Result<Value, String> {
        let out = self.env.run_ok(
            Cmd::new("/usr/bin/python3")
                .arg(self.env.scripts.join("cri_client.py"))
                .arg("--socket")
                .arg(&self.socket)
                .args(args),
        )?;
        serde_json::from_str(&out.stdout)
            .map_err(|e| format!("{}: not JSON ({e}): {}", args[0], out.stdout))
    }

    /// Creates and starts a container in the pod; returns (id, host pid).
    fn container(&self, name: &str, extra: &[&str], script: &str) -> Result<Ctr<'_, 'a>, String> {
        let mut args = vec![
            "create",
            "--pod",
            &self.pod,
            "--name",
            name,
            "--pod-name",
            "e2e-pod",
            "--pod-namespace",
            &self.env.prefix,
            "--pod-uid",
            &self.env.prefix,
            "--pod-cgroup-parent",
            &self.parent.path,
            "--host-network",
        ];
        let image = image::reference(image::BUSYBOX.name);
        args.extend_from_slice(&["--image", &image]);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--command", "sh", "-c", script]);
        let v = self.call(&args)?;
        let id = v["container_id"]
            .as_str()
            .ok_or_else(|| format!("create: no id in {v}"))?
            .to_string();
        let ctr = Ctr { cri: self, id };
        self.call(&["start", &ctr.id])?;
        Ok(ctr)
    }
}

impl Drop for Cri<'_> {
    fn drop(&mut self) {
        if !self.pod.is_empty() {
            let _ = self.call(&["stopp", &self.pod]);
            let _ = self.call(&["rmp", &self.pod]);
        }
        self.env.remove_cgroup_parent(&self.parent, &[]);
    }
}

/// A container of the pod, removed when dropped.
struct Ctr<'c, 'a> {
    cri: &'c Cri<'a>,
    id: String,
}

impl Ctr<'_, '_> {
    fn status(&self) -> Result<Value, String> {
        self.cri.call(&["status", &self.id])
    }

    fn pid(&self) -> Result<i32, String> {
        let v = self.status()?;
        v["pid"]
            .as_i64()
            .map(|p| p as i32)
            .ok_or_else(|| format!("status has no pid: {v}"))
    }
}

impl Drop for Ctr<'_, '_> {
    fn drop(&mut self) {
        let _ = self.cri.call(&["stop", &self.id, "--timeout", "0"]);
        let _ = self.cri.call(&["rm", &self.id]);
    }
}

// ---------------------------------------------------------------------------------------------

/// The pod sandbox runs through the handler's `BinaryName`: the runtime
/// under test has it in its state, running, in the pod's cgroup parent.
fn handler_runs_sandbox(c: &Cri) -> TestResult {
    let v = c.call(&["pod-status", &c.pod])?;
    ensure_eq(v["state"].as_str(), Some("SANDBOX_READY"), "sandbox state")?;
    let pid = v["pid"]
        .as_i64()
        .ok_or_else(|| format!("no sandbox pid: {v}"))? as i32;
    ensure(proc_alive(pid), || {
        format!("sandbox pid {pid} is not running")
    })?;
    let ids = c.env.runtime_ids(&c.runc_root)?;
    ensure(ids.contains(&c.pod), || {
        format!(
            "the runtime under test does not list the sandbox {} (it lists {ids:?})",
            c.pod
        )
    })?;
    let cg = cgroup_of(pid, "memory")?;
    ensure(cg.starts_with(&format!("{}/", c.parent.path)), || {
        format!("sandbox cgroup {cg} is not under {}", c.parent.path)
    })?;
    systemd::check_scope(c.env, pid, &c.parent, SCOPE_PREFIX, &c.pod).map(drop)
}

/// create, start, status, exec (output, stderr and status through the CRI),
/// stop (SIGTERM: the shell's 143) and remove.
fn container_lifecycle(c: &Cri) -> TestResult {
    let ctr = c.container("life", &[], "echo started; sleep 1000")?;
    let st = ctr.status()?;
    ensure_eq(
        st["state"].as_str(),
        Some("CONTAINER_RUNNING"),
        "container state",
    )?;
    let pid = ctr.pid()?;
    c.env
        .expect_apparmor_of(pid, "cri-containerd.apparmor.d", "CRI container")?;
    ensure(c.env.runtime_ids(&c.runc_root)?.contains(&ctr.id), || {
        "the runtime does not list the container".into()
    })?;
    let unit = systemd::check_scope(c.env, pid, &c.parent, SCOPE_PREFIX, &ctr.id)?;
    let ex = c.call(&[
        "exec-sync",
        &ctr.id,
        "--timeout",
        "20",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ])?;
    ensure_eq(ex["exit_code"].as_i64(), Some(3), "exec-sync exit code")?;
    ensure_eq(ex["stdout"].as_str(), Some("out\n"), "exec-sync stdout")?;
    ensure_eq(ex["stderr"].as_str(), Some("err\n"), "exec-sync stderr")?;
    c.call(&["stop", &ctr.id, "--timeout", "10"])?;
    let st = ctr.status()?;
    ensure_eq(
        st["state"].as_str(),
        Some("CONTAINER_EXITED"),
        "state after stop",
    )?;
    ensure_eq(
        st["exit_code"].as_i64(),
        Some(143),
        "exit code after SIGTERM",
    )?;
    wait_gone(pid, Duration::from_secs(10))?;
    systemd::unit_gone(c.env, unit.as_deref())?;
    c.call(&["rm", &ctr.id])?;
    let ps = c.call(&["ps"])?;
    contains(&ps.to_string(), "\"containers\"", "ps answer")?;
    ensure(!ps.to_string().contains(&ctr.id), || {
        format!("removed container still listed: {ps}")
    })?;
    ensure(!c.env.runtime_ids(&c.runc_root)?.contains(&ctr.id), || {
        "the runtime still lists the removed container".into()
    })
}

/// Limits at create and `UpdateContainerResources` (the runtime's `update
/// --resources -`) reach the container's cgroup and, under the systemd
/// driver, its scope's properties.
fn update_resources(c: &Cri) -> TestResult {
    let ctr = c.container(
        "upd",
        &[
            "--memory",
            "67108864",
            "--cpu-quota",
            "50000",
            "--cpu-period",
            "100000",
        ],
        "sleep 1000",
    )?;
    let pid = ctr.pid()?;
    let mem = || cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max");
    ensure_eq(mem()?, "67108864".to_string(), "memory limit at create")?;
    expect_cpu_quota(pid, 50000, "at create")?;
    systemd::unit_has(
        c.env,
        pid,
        &[("MemoryMax", "67108864"), ("CPUQuotaPerSecUSec", "500ms")],
    )?;
    c.call(&[
        "update",
        &ctr.id,
        "--memory",
        "134217728",
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "100000",
    ])?;
    ensure_eq(mem()?, "134217728".to_string(), "memory limit after update")?;
    expect_cpu_quota(pid, 20000, "after update")?;
    systemd::unit_has(
        c.env,
        pid,
        &[("MemoryMax", "134217728"), ("CPUQuotaPerSecUSec", "200ms")],
    )
}
