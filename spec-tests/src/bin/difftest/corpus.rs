//! The cases: configs from corpus directories (the engines' captured configs), the defaults of
//! both runtimes' `spec` (and `spec --rootless`), seccomp profiles with reduced allow-lists,
//! and the generated one-field variants of `variants.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// How a case is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `process.args` replaced by the probe: its observation is compared.
    Probe,
    /// The config's own args: exit status and stdout are compared.
    OwnArgs,
}

pub struct Case {
    pub name: String,
    pub config: Value,
    pub mode: Mode,
}

impl Case {
    pub fn probe(name: impl Into<String>, config: Value) -> Case {
        Case {
            name: name.into(),
            config,
            mode: Mode::Probe,
        }
    }
}

/// Every case, in a stable order.
pub fn gather(
    reference: &Path,
    runtime: &Path,
    corpus: &[PathBuf],
    seccomp: &[PathBuf],
) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let base = spec_of(reference, false)?;
    for (label, bin) in [("reference", reference), ("runtime", runtime)] {
        for rootless in [false, true] {
            let cfg = spec_of(bin, rootless)?;
            let name = format!("spec/{label}{}", if rootless { "-rootless" } else { "" });
            cases.push(Case {
                name: format!("{name}.args"),
                config: cfg.clone(),
                mode: Mode::OwnArgs,
            });
            cases.push(Case::probe(name, cfg));
        }
    }
    for dir in corpus {
        cases.extend(configs_in(dir)?);
    }
    for p in seccomp {
        for (stem, profile) in json_files(p)? {
            cases.extend(seccomp_cases(&base, &stem, &profile));
        }
    }
    cases.extend(crate::variants::cases(&base));
    Ok(cases)
}

/// `BIN spec [--rootless]` in a scratch directory: the config it writes.
fn spec_of(bin: &Path, rootless: bool) -> Result<Value, String> {
    let dir = std::env::temp_dir().join(format!("difftest-spec-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut cmd = Command::new(bin);
    cmd.arg("spec").arg("--bundle").arg(&dir);
    if rootless {
        cmd.arg("--rootless");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("{} spec: {e}", bin.display()))?;
    let text = fs::read_to_string(dir.join("config.json"));
    let _ = fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(format!(
            "`{} spec{}` failed: {}",
            bin.display(),
            if rootless { " --rootless" } else { "" },
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = text.map_err(|e| format!("{} spec wrote no config.json: {e}", bin.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} spec: {e}", bin.display()))
}

/// `*.json` files of a directory (or the one file given), sorted, parsed, with their stems.
fn json_files(p: &Path) -> Result<Vec<(String, Value)>, String> {
    let mut files = Vec::new();
    if p.is_dir() {
        for e in fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))? {
            let e = e.map_err(|e| format!("{}: {e}", p.display()))?;
            if e.path().extension().is_some_and(|x| x == "json") {
                files.push(e.path());
            }
        }
        files.sort();
    } else {
        files.push(p.to_path_buf());
    }
    files
        .into_iter()
        .map(|f| {
            let text = fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let v = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((stem, v))
        })
        .collect()
}

/// The configs of a corpus directory: `<dir name>/<file stem>`.
fn configs_in(dir: &Path) -> Result<Vec<Case>, String> {
    let label = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "corpus".into());
    Ok(json_files(dir)?
        .into_iter()
        .map(|(stem, cfg)| Case::probe(format!("{label}/{stem}"), cfg))
        .collect())
}

/// What a runtime typically calls after loading the filter (closing inherited fds, entering
/// the cwd, setting the umask, dropping privileges) — `execve` must stay in any list.
pub const POST_FILTER_SYSCALLS: &[&str] = &[
    "close_range",
    "chdir",
    "fchdir",
    "getcwd",
    "umask",
    "fcntl",
    "prctl",
    "capset",
    "setgroups",
    "setresuid",
    "setresgid",
];

/// A profile as-is, without each post-filter syscall in turn, without all of them (with
/// `noNewPrivileges` true and false: runtimes load the filter at different points), and
/// with ENXIO as the default errno.
fn seccomp_cases(base: &Value, stem: &str, profile: &Value) -> Vec<Case> {
    let with = |p: Value| {
        let mut c = base.clone();
        c["linux"]["seccomp"] = p;
        c
    };
    let mut v = vec![Case::probe(
        format!("seccomp/{stem}"),
        with(profile.clone()),
    )];
    for s in POST_FILTER_SYSCALLS {
        v.push(Case::probe(
            format!("seccomp/{stem}-no-{s}"),
            with(without(profile, &[s])),
        ));
    }
    let reduced = with(without(profile, POST_FILTER_SYSCALLS));
    v.push(Case::probe(
        format!("seccomp/{stem}-reduced"),
        reduced.clone(),
    ));
    let mut nnp_off = reduced;
    nnp_off["process"]["noNewPrivileges"] = json!(false);
    v.push(Case::probe(
        format!("seccomp/{stem}-reduced-nnp-false"),
        nnp_off,
    ));
    let mut enxio = profile.clone();
    enxio["defaultErrnoRet"] = json!(6);
    v.push(Case::probe(format!("seccomp/{stem}-enxio"), with(enxio)));
    v
}

/// The profile with `names` taken out of every allowing entry.
fn without(profile: &Value, names: &[&str]) -> Value {
    let mut p = profile.clone();
    if let Some(list) = p["syscalls"].as_array_mut() {
        for e in list.iter_mut() {
            if e["action"] != "SCMP_ACT_ALLOW" {
                continue;
            }
            if let Some(n) = e["names"].as_array_mut() {
                n.retain(|x| !x.as_str().is_some_and(|s| names.contains(&s)));
            }
        }
        list.retain(|e| e["names"].as_array().is_none_or(|n| !n.is_empty()));
    }
    p
}
