//! The busybox rootfs every bundle copies: either given with `--rootfs`, or built once from the
//! host's static busybox into a cache directory beside the test binary.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{mkdir_mode, write_file};

const BUSYBOX: &str = "/bin/busybox";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n\
user:x:1000:1000:user:/home/user:/bin/sh\n";

const GROUP: &str = "root:x:0:\ntty:x:5:\nnobody:x:65534:\nuser:x:1000:\n";

/// Where the cached rootfs lives: `<dir of the test binary>/spec-tests-rootfs`, i.e. under the
/// cargo target directory.
fn cache_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| "test binary has no parent directory".to_string())?;
    Ok(dir.join("spec-tests-rootfs"))
}

/// Returns the cached rootfs, building it first if it is missing or incomplete.
pub fn default_rootfs() -> Result<PathBuf, String> {
    let dir = cache_dir()?;
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    build(&tmp)?;
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&tmp, &dir).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
    Ok(dir)
}

/// Builds a minimal rootfs at `dir`: bin/busybox with a symlink per applet, /etc/passwd and
/// /etc/group with root, nobody and user (1000), and the empty directories a container needs.
pub fn build(dir: &Path) -> Result<(), String> {
    let bin = dir.join("bin");
    mkdir_mode(&bin, 0o755)?;
    fs::copy(BUSYBOX, bin.join("busybox")).map_err(|e| format!("copy {BUSYBOX}: {e}"))?;
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .map_err(|e| format!("{BUSYBOX} --list: {e}"))?;
    if !list.status.success() {
        return Err(format!("{BUSYBOX} --list failed"));
    }
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        symlink("busybox", bin.join(applet)).map_err(|e| format!("symlink {applet}: {e}"))?;
    }
    for d in ["proc", "sys", "dev", "root", "etc", "mnt", "home/user"] {
        mkdir_mode(&dir.join(d), 0o755)?;
    }
    mkdir_mode(&dir.join("tmp"), 0o1777)?;
    write_file(&dir.join("etc/passwd"), PASSWD)?;
    write_file(&dir.join("etc/group"), GROUP)?;
    write_file(&dir.join(".complete"), "")?;
    Ok(())
}

/// Copies a rootfs (`cp -a`, keeping owners, modes, symlinks and device nodes).
pub fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    let out = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .output()
        .map_err(|e| format!("cp: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cp -a {} {}: {}",
            src.display(),
            dst.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// `chown -hR uid:gid` of a tree (for user-namespace tests: the container's root must own
/// its rootfs, as podman arranges).
pub fn chown_tree(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))
        .map_err(|e| format!("lchown {}: {e}", dir.display()))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let e = e.map_err(|e| e.to_string())?;
            chown_tree(&e.path(), uid, gid)?;
        }
    }
    Ok(())
}
