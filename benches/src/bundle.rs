//! The benchmark's work directory: one bundle shared by every runtime, and one state root per
//! runtime, all under a fresh directory in `$TMPDIR` that is removed at the end.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// `<tmp>/cella-benches-<pid>/{bundle/{config.json,rootfs}, state/<runtime>/}`.
pub struct WorkDir {
    dir: PathBuf,
    bundle: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// Creates the directory, copies `rootfs` into the bundle and writes its `config.json`.
    pub fn create(rootfs: &Path, keep: bool) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("cella-benches-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let work = WorkDir {
            bundle: dir.join("bundle"),
            dir,
            keep,
        };
        std::fs::create_dir(&work.bundle).map_err(|e| format!("{}: {e}", work.bundle.display()))?;
        // A private copy: runtimes may create mount points or device nodes in the rootfs, and the
        // cached rootfs in fixtures/cache must stay pristine for the tests.
        let copy = work.bundle.join("rootfs");
        let status = Command::new("cp")
            .arg("-a")
            .arg(rootfs)
            .arg(&copy)
            .status()
            .map_err(|e| format!("cp: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cp -a {} {} failed",
                rootfs.display(),
                copy.display()
            ));
        }
        work.write_config(&bench_config())?;
        Ok(work)
    }

    /// (Re)writes the bundle's `config.json`: the seccomp bench switches between a config with
    /// and one without a filter between runs.
    pub fn write_config(&self, config: &Value) -> Result<(), String> {
        let text = serde_json::to_string_pretty(config).map_err(|e| format!("config.json: {e}"))?;
        let path = self.bundle.join("config.json");
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A second bundle whose container sleeps until killed (for `exec` and the parallel
    /// runs), on the same rootfs (by absolute path, read-only as in the first).
    pub fn sleep_bundle(&self) -> Result<PathBuf, String> {
        let dir = self.dir.join("bundle-sleep");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut config = bench_config();
        config["process"]["args"] = json!(["sleep", "1000000"]);
        config["root"]["path"] = json!(self.bundle.join("rootfs"));
        let text =
            serde_json::to_string_pretty(&config).map_err(|e| format!("config.json: {e}"))?;
        let path = dir.join("config.json");
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(dir)
    }

    /// The bundle directory.
    pub fn bundle(&self) -> &Path {
        &self.bundle
    }

    /// The work directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A `--root` state directory of its own for one runtime, so that no runtime's state (or
    /// leftovers after a failed run) meets another's or the host's `/run/<runtime>`.
    pub fn state_root(&self, runtime: &str) -> Result<PathBuf, String> {
        let root = self.dir.join("state").join(runtime);
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        Ok(root)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("cella-benches: kept {}", self.dir.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!(
                "cella-benches: could not remove {}: {e}",
                self.dir.display()
            );
        }
    }
}

/// The container every runtime runs: `/bin/true` with the usual namespaces, `/proc` and a
/// `/dev` tmpfs (so runtimes create device nodes in a tmpfs, not in the rootfs), no terminal,
/// no resources. `ociVersion` 1.0.2 because crun 1.8.1 rejects versions newer than it knows.
pub fn bench_config() -> Value {
    let namespaces: Vec<Value> = ["pid", "ipc", "uts", "mount", "network"]
        .iter()
        .map(|t| json!({ "type": t }))
        .collect();
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/bin/true"],
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/"
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "bench",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
            }
        ],
        "linux": { "namespaces": namespaces }
    })
}
