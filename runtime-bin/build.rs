//! Records the git commit for `cella --version` (runc prints one too), and
//! links the `cella` binary with its hot functions placed together.
fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=CELLA_COMMIT={commit}");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");

    // The kernel maps a binary's text 64 KiB around each page fault, so
    // functions that one lifecycle runs, spread over the whole text, made
    // nearly all of it resident; `cella.order` (made by
    // benches/layout/profile.sh) lists them so that lld puts them together.
    // rustc links with its own lld on x86_64-unknown-linux-gnu, but not once
    // a linker is configured (.cargo/config.toml has one), so lld is asked
    // for here; a name the build no longer has is skipped.
    println!("cargo:rerun-if-changed=cella.order");
    let target = std::env::var("TARGET").unwrap_or_default();
    if let Some(gcc_ld) = rust_lld_dir(&target) {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        println!("cargo:rustc-link-arg-bin=cella=-B{gcc_ld}");
        println!("cargo:rustc-link-arg-bin=cella=-fuse-ld=lld");
        println!("cargo:rustc-link-arg-bin=cella=-Wl,--symbol-ordering-file={dir}/cella.order");
        println!("cargo:rustc-link-arg-bin=cella=-Wl,--no-warn-symbol-ordering");
    } else {
        println!("cargo:warning=no rust-lld for {target}: cella is linked without cella.order");
    }
}

/// The directory of the toolchain's `ld.lld` wrapper for `cc -fuse-ld=lld`.
fn rust_lld_dir(target: &str) -> Option<String> {
    if target != "x86_64-unknown-linux-gnu" {
        return None;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dir = format!("{sysroot}/lib/rustlib/{target}/bin/gcc-ld");
    std::path::Path::new(&dir)
        .join("ld.lld")
        .exists()
        .then_some(dir)
}
