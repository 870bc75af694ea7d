//! `runtime-lib/examples/tokio_wait.rs` run as a program (root only): a
//! container and an exec'd process awaited through their pidfds in tokio's
//! event loop. Apart from `embedding.rs` so that the cgroup v2 VM's step,
//! which ships that test binary and a fixed list of examples, is not
//! broken by an example it does not ship; `cargo test` runs this one.
//!
//! The rootfs is `fixtures/build-rootfs.sh`'s (or a copy of
//! `$CELLA_EMBED_ROOTFS`) in `/tmp/cella-async-<pid>/`, removed at the end;
//! the example is found next to the test binary, or in
//! `$CELLA_EXAMPLES_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

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

#[test]
fn example_tokio_wait() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED example_tokio_wait: needs root (creates containers)");
        return;
    }
    let dir = PathBuf::from(format!("/tmp/cella-async-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rootfs = dir.join("rootfs");
    let made = match std::env::var_os("CELLA_EMBED_ROOTFS") {
        Some(src) => Command::new("cp").arg("-a").arg(src).arg(&rootfs).output(),
        None => {
            Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/build-rootfs.sh"))
                .arg(&rootfs)
                .output()
        }
    }
    .unwrap();
    assert!(
        made.status.success(),
        "making the rootfs: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = Command::new(example("tokio_wait"))
        .arg(&rootfs)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("tokio_wait: {e} (built by cargo test?)"));
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tokio_wait: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "exec status: 7\ninit running: true\ninit status: 3\n"
    );
}
