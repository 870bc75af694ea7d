//! Records the git commit for `cella --version` (runc prints one too), and links the shipped
//! `cella` binary with its hot functions placed together.
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

    // The kernel maps a binary's text 64 KiB around each page fault, so functions that one
    // lifecycle runs, spread over the whole text, made nearly all of it resident; `cella.order`
    // (made by benches/layout/profile.sh, checked fresh by `profile.sh --check` in
    // scripts/test-all.sh) lists them so that lld puts them together. Only the shipped build
    // (scripts/build-release.sh: crt-static) gets it, so that no other build depends on the
    // linker; the pinned toolchain links with its own lld on this target, and another linker
    // refuses the option loudly. A name the build no longer has is skipped.
    println!("cargo:rerun-if-changed=cella.order");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if features.split(',').any(|f| f == "crt-static") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        println!("cargo:rustc-link-arg-bin=cella=-Wl,--symbol-ordering-file={dir}/cella.order");
        println!("cargo:rustc-link-arg-bin=cella=-Wl,--no-warn-symbol-ordering");
        // The entry point that re-executes from the sealed view before the C library starts
        // (src/prestart.rs); x86_64 only, where it is written.
        if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
            println!("cargo:rustc-link-arg-bin=cella=-Wl,-e,cella_prestart");
        }
    }
}
