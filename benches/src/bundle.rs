//! The benchmark's work directory: one copy of the rootfs shared by every bundle, the bundles
//! (a `config.json` each, naming the rootfs by absolute path), and one state root per
//! runtime, all under a fresh directory in `$TMPDIR` that is removed at the end. The state
//! roots are on a tmpfs mounted in the driver's private mount namespace (see `hostns`), as
//! `/run` is on a real host: on a disk file system every runtime would pay journal writes for
//! its state files (an ext4 `rename` over a file starts a writeback) that no host makes it pay.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// `<tmp>/cella-benches-<pid>/{rootfs, <bundle>/config.json..., state/<runtime>/}`.
pub struct WorkDir {
    dir: PathBuf,
    rootfs: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// Creates the directory and copies `rootfs` into it.
    pub fn create(rootfs: &Path, keep: bool) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("cella-benches-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let work = WorkDir {
            rootfs: dir.join("rootfs"),
            dir,
            keep,
        };
        mount_state_tmpfs(&work.dir.join("state"))?;
        // A private copy: runtimes may create mount points or device nodes in the rootfs, and the
        // cached rootfs in fixtures/cache must stay pristine for the tests.
        let status = Command::new("cp")
            .arg("-a")
            .arg(rootfs)
            .arg(&work.rootfs)
            .status()
            .map_err(|e| format!("cp: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cp -a {} {} failed",
                rootfs.display(),
                work.rootfs.display()
            ));
        }
        Ok(work)
    }

    /// (Re)writes the bundle `name` (a directory of the work directory) with `config`, its
    /// `root.path` set to the shared rootfs, and returns the bundle's path. The seccomp bench
    /// rewrites one bundle between runs (with and without a filter).
    pub fn write_bundle(&self, name: &str, config: &Value) -> Result<PathBuf, String> {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut config = config.clone();
        config["root"]["path"] = json!(self.rootfs);
        let text =
            serde_json::to_string_pretty(&config).map_err(|e| format!("config.json: {e}"))?;
        let path = dir.join("config.json");
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(dir)
    }

    /// The rootfs every bundle uses.
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
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

/// Mounts a tmpfs (mode 0700) on `dir`, made here. Called after `hostns::enter`: the mount
/// lives in the driver's private namespace and goes with it.
fn mount_state_tmpfs(dir: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::create_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let target = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| format!("{}: a NUL in the path", dir.display()))?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            c"mode=0700".as_ptr().cast(),
        )
    };
    if ret != 0 {
        return Err(format!(
            "mount tmpfs on {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Unmounts the state tmpfs (what is on it goes with it), so that the directory can go.
fn unmount_state_tmpfs(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    if let Ok(target) = std::ffi::CString::new(dir.as_os_str().as_bytes()) {
        // SAFETY: `target` is a NUL-terminated string that outlives the call.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        unmount_state_tmpfs(&self.dir.join("state"));
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
