//! Builds the in-container checker (`checker/src/main.rs`, no dependencies) with rustc alone as
//! a statically linked executable (`-C target-feature=+crt-static`: glibc's static libraries
//! from libc6-dev; the musl target is not reliably installable here), so that it runs in the
//! busybox rootfs, which has no libc. spec-tests embeds the result (`include_bytes!`) and
//! copies it into the bundles that use it.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src_dir = manifest.join("checker/src");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("spec-checker");
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = env::var("TARGET").expect("TARGET");
    println!("cargo:rerun-if-changed={}", src_dir.display());
    for f in ["main.rs", "checks.rs", "hook.rs", "json.rs", "observe.rs"] {
        println!("cargo:rerun-if-changed={}", src_dir.join(f).display());
    }
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-name",
            "spec_checker",
            "--crate-type",
            "bin",
        ])
        .args(["--target", &target])
        .args([
            "-C",
            "opt-level=2",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
        ])
        .args(["-C", "target-feature=+crt-static"])
        .arg("-o")
        .arg(&out)
        .arg(src_dir.join("main.rs"))
        // The wrappers cargo uses for clippy must not see this compilation.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .status()
        .expect("run rustc for the checker");
    assert!(
        status.success(),
        "building the static checker failed (needs glibc's static libraries: libc6-dev)"
    );
}
