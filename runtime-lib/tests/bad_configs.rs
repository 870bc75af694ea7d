//! Every config in `fixtures/bad-configs/` is refused by `plan_bundle` (load,
//! validate and plan for this host: the v1 host of CI) with
//! a one-line error that contains the line in its `.expect` file.
//!
//! The same corpus is run against the `cella` binary by the integration
//! runner (see the corpus README); this test keeps the library honest
//! without root.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cella::container::plan_bundle;
use cella::plan::CreateOptions;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bad-configs")
}

/// The corpus files with extension `ext`, sorted by name.
fn corpus_files(ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("read fixtures/bad-configs")
        .map(|entry| entry.expect("read a corpus entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// A bundle directory with an empty `rootfs`, as the corpus runner builds
/// it; removed on drop.
struct TempBundle {
    dir: PathBuf,
}

impl TempBundle {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cella-bad-config-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(dir.join("rootfs")).expect("create temp bundle");
        TempBundle { dir }
    }
}

impl Drop for TempBundle {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether the host has only cgroup v2 (its errors for some limits differ).
fn host_cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Loads one corpus config; `Err` describes how it failed to fail.
fn check_case(config: &Path) -> Result<(), String> {
    let name = config.file_stem().unwrap().to_string_lossy().into_owned();
    let expect = fs::read_to_string(config.with_extension("expect"))
        .map_err(|err| format!("{name}.expect: {err}"))?;
    // One line, and optionally a `cgroup v2: ` line that replaces it on a pure cgroup v2
    // host (fixtures/bad-configs/README.md).
    let mut lines = expect.lines();
    let first = lines.next().unwrap_or("");
    let v2_line = lines.next().map(|l| l.strip_prefix("cgroup v2: "));
    let expect = match (v2_line, lines.next()) {
        (None, None) => first,
        (Some(Some(v2)), None) if !v2.is_empty() => match host_cgroup_v2() {
            true => v2,
            false => first,
        },
        _ => {
            return Err(format!(
                "{name}.expect: must hold one non-empty line, and optionally a `cgroup v2: ` one"
            ))
        }
    };
    if expect.is_empty() {
        return Err(format!("{name}.expect: its first line is empty"));
    }
    let bundle = TempBundle::new(&name);
    let config_path = bundle.dir.join("config.json");
    fs::copy(config, &config_path).map_err(|err| format!("{name}: copy: {err}"))?;
    let message = match plan_bundle(&bundle.dir, "bad", &CreateOptions::default()) {
        Ok(_) => return Err(format!("{name}: accepted, expected {expect:?}")),
        Err(err) => cella::error::Chain(&err).to_string(),
    };
    if message.contains('\n') {
        return Err(format!("{name}: error is not one line: {message:?}"));
    }
    if !message.contains(expect) {
        return Err(format!("{name}: {message:?} does not contain {expect:?}"));
    }
    // The error names the file, so a user with several bundles knows which.
    let canonical = fs::canonicalize(&config_path).unwrap();
    if !message.starts_with(&format!("{}: ", canonical.display())) {
        return Err(format!(
            "{name}: {message:?} does not start with the config path"
        ));
    }
    Ok(())
}

#[test]
fn every_bad_config_is_refused_with_its_expected_message() {
    let configs = corpus_files("json");
    assert!(
        configs.len() >= 20,
        "only {} configs in the corpus",
        configs.len()
    );
    let failures: Vec<String> = configs
        .iter()
        .filter_map(|config| check_case(config).err())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_expect_file_has_a_config() {
    for expect in corpus_files("expect") {
        assert!(
            expect.with_extension("json").is_file(),
            "{} has no .json beside it",
            expect.display()
        );
    }
}
