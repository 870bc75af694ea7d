//! Reading a bundle: `<dir>/config.json` parsed by `oci-spec`, then validated.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::{validate, SpecError};
use crate::error::FieldError;

/// The name of the configuration file inside a bundle (runtime-spec
/// `bundle.md`).
const CONFIG_FILE: &str = "config.json";

/// A bundle whose `config.json` has been parsed and validated.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute and canonicalized, so that relative
    /// paths in the spec (`root.path`) mean the same thing whatever the
    /// current directory is later.
    pub dir: PathBuf,
    /// `<dir>/config.json`.
    pub config_path: PathBuf,
    /// The parsed configuration.
    pub spec: Spec,
    /// What loading left out and the runtime must log as a warning: a
    /// capability name no kernel interface maps to (runtime-spec config.md,
    /// "Linux Process": such a value "MUST be logged as a warning").
    pub warnings: Vec<String>,
}

/// The largest JSON document cella reads: `config.json`, `process.json`,
/// a `--resources` file and a state file. Real ones are a few hundred KiB
/// at most (a seccomp profile of every syscall is about 100 KiB); a larger
/// input is refused before it is read whole, let alone parsed.
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// Reads the document `file` names from `r` (a file, stdin), refusing one
/// larger than [`MAX_DOCUMENT_BYTES`] with an error naming `file`.
pub fn read_document(r: impl std::io::Read, file: &Path) -> Result<Vec<u8>, SpecError> {
    use std::io::Read;
    // `take` hides the file's size from `read_to_end`, which would then
    // start at 32 bytes and double: eight reads for a 2 KiB state file.
    let mut bytes = Vec::with_capacity(16 * 1024);
    r.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| SpecError::Read {
            file: file.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(SpecError::Read {
            file: file.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "larger than the limit of {} MiB: refusing to parse it",
                    MAX_DOCUMENT_BYTES >> 20
                ),
            ),
        });
    }
    Ok(bytes)
}

/// Loads and validates the bundle in `dir`.
///
/// A type error names the JSON path of the offending field (for example
/// `process.user.uid`), a semantic error the field and the rule it breaks.
pub fn load_bundle(dir: &Path) -> Result<Bundle, SpecError> {
    let dir = fs::canonicalize(dir).map_err(|source| SpecError::Read {
        file: dir.to_path_buf(),
        source,
    })?;
    let config_path = dir.join(CONFIG_FILE);
    let (spec, warnings) = parse_config(&config_path)?;
    validate(&spec, &dir, &config_path)?;
    Ok(Bundle {
        dir,
        config_path,
        spec,
        warnings,
    })
}

/// The name errors give the configuration of [`bundle_from_spec`], which
/// has no file.
pub const IN_MEMORY_CONFIG: &str = "(in-memory spec)";

/// Validates an in-memory `spec` as [`load_bundle`] validates a file, and
/// makes it a bundle without writing anything: `dir` (made absolute) is
/// the bundle directory, which a relative `root.path` is relative to and
/// which the state and the hooks report as the bundle. Without one,
/// `root.path` must be absolute and its parent directory is the bundle.
/// Errors name the file [`IN_MEMORY_CONFIG`].
pub fn bundle_from_spec(spec: Spec, dir: Option<&Path>) -> Result<Bundle, SpecError> {
    let config_path = PathBuf::from(IN_MEMORY_CONFIG);
    let dir = match dir {
        Some(d) => fs::canonicalize(d).map_err(|source| SpecError::Read {
            file: d.to_path_buf(),
            source,
        })?,
        None => {
            let root = spec.root().as_ref().map(|r| r.path().clone());
            match root {
                Some(p) if p.is_absolute() => p.parent().unwrap_or(Path::new("/")).to_path_buf(),
                _ => {
                    return Err(FieldError::invalid(
                        "root.path",
                        "must be absolute for an in-memory spec without a bundle directory (or \
                         give one)",
                    )
                    .in_file(&config_path))
                }
            }
        }
    };
    validate(&spec, &dir, &config_path)?;
    Ok(Bundle {
        dir,
        config_path,
        spec,
        warnings: Vec::new(),
    })
}

/// Reads a `process.json` (what `runc exec --process FILE` takes): one
/// [`oci_spec::runtime::Process`]. Errors name the file and the JSON path
/// of the field; [`crate::container::Container::exec`] checks the rest.
pub fn load_process(file: &Path) -> Result<oci_spec::runtime::Process, SpecError> {
    let f = fs::File::open(file).map_err(|source| SpecError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let bytes = read_document(f, file)?;
    let bytes = default_user(&bytes, "").unwrap_or(bytes);
    let bytes = spec_scheduler_flags(&bytes, "").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let p = serde_path_to_error::deserialize(&mut de).map_err(|err| SpecError::Parse {
        file: file.to_path_buf(),
        field: if err.inner().is_data() {
            err.path().to_string()
        } else {
            ".".to_string()
        },
        reason: err.into_inner().to_string(),
    })?;
    de.end().map_err(|err| SpecError::Parse {
        file: file.to_path_buf(),
        field: ".".to_string(),
        reason: err.to_string(),
    })?;
    Ok(p)
}

/// Reads and deserializes `config.json`, keeping the JSON path of the first
/// field that fails to deserialize (plain `serde_json` would only give a
/// line and column). Capability names no kernel interface maps to are left
/// out with a warning each (see [`drop_unknown_capabilities`]).
fn parse_config(file: &Path) -> Result<(Spec, Vec<String>), SpecError> {
    let f = fs::File::open(file).map_err(|source| SpecError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let bytes = read_document(f, file)?;
    let bytes = default_user(&bytes, "/process").unwrap_or(bytes);
    let bytes = spec_scheduler_flags(&bytes, "/process").unwrap_or(bytes);
    let bytes = explicit_zero_pids_limit(&bytes).unwrap_or(bytes);
    let (cleaned, warnings) = drop_unknown_capabilities(&bytes);
    let spec = parse_spec(cleaned.as_deref().unwrap_or(&bytes), file)?;
    Ok((spec, warnings))
}

/// The five capability sets of `process.capabilities`.
const CAPABILITY_SETS: [&str; 5] = [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// Removes the capability names `oci-spec` does not know (a misspelling,
/// or a capability newer than this build) from `process.capabilities`,
/// returning the rewritten document (`None` when nothing was removed) and a
/// warning naming each entry. runtime-spec config.md ("Linux Process",
/// `capabilities`): "Any value which cannot be mapped to a relevant kernel
/// interface, or cannot be granted otherwise MUST be logged as a warning by
/// the runtime. Runtimes SHOULD NOT fail if the container configuration
/// requests capabilities that cannot be granted". Such a name can only be
/// left out, never granted, so the container gets less privilege, not more;
/// runc does the same ("ignoring unknown or unavailable capabilities").
/// `oci-spec` would refuse the whole document, so this runs on the raw JSON
/// first. A document that is not JSON, or has no such name, is left to
/// [`parse_spec`] as it is, which reports its errors as before.
fn drop_unknown_capabilities(bytes: &[u8]) -> (Option<Vec<u8>>, Vec<String>) {
    let mut warnings = Vec::new();
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return (None, warnings);
    };
    let Some(sets) = doc
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    else {
        return (None, warnings);
    };
    for set in CAPABILITY_SETS {
        let Some(list) = sets.get_mut(set).and_then(|l| l.as_array_mut()) else {
            continue;
        };
        let mut i = 0;
        list.retain(|v| {
            let index = i;
            i += 1;
            // Only strings that do not name a capability: any other type is
            // a type error, which parse_spec reports with its path.
            let unknown = v.is_string()
                && serde_json::from_value::<oci_spec::runtime::Capability>(v.clone()).is_err();
            if unknown {
                warnings.push(format!(
                    "process.capabilities.{set}[{index}]: {} cannot be granted: no kernel \
                     capability of that name is known to this runtime; left out",
                    v.as_str().unwrap_or_default()
                ));
            }
            !unknown
        });
    }
    if warnings.is_empty() {
        return (None, warnings);
    }
    (serde_json::to_vec(&doc).ok(), warnings)
}

/// Adds `"user": {"uid": 0, "gid": 0}` to the process object at `pointer`
/// when it has no `user`: runc's process user is a plain struct, so a
/// `process.json` (or a config) without one runs as uid 0, gid 0, and
/// engines and scripts write such files. `oci-spec` requires the field.
/// Returns the rewritten document, `None` when nothing was added (the
/// document is not JSON, has no such object, or has a `user`).
fn default_user(bytes: &[u8], pointer: &str) -> Option<Vec<u8>> {
    let mut doc = serde_json::from_slice::<serde_json::Value>(bytes).ok()?;
    let process = doc.pointer_mut(pointer)?.as_object_mut()?;
    if process.contains_key("user") {
        return None;
    }
    process.insert("user".into(), serde_json::json!({"uid": 0, "gid": 0}));
    serde_json::to_vec(&doc).ok()
}

/// runtime-spec's names of two scheduler flags, as `oci-spec` 0.10 spells
/// them (`SCHED_RESET_ON_FORK`, `SCHED_FLAG_D_L_OVERRUN`: its serde names
/// differ from the spec's), so that a config written to the spec parses.
const SCHEDULER_FLAG_NAMES: [(&str, &str); 2] = [
    ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
    ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
];

/// Rewrites runtime-spec's scheduler flag names in the process at
/// `pointer` for `oci-spec` (see [`SCHEDULER_FLAG_NAMES`]); `None` when the
/// document names neither (checked on the bytes first: no second parse of
/// every config).
fn spec_scheduler_flags(bytes: &[u8], pointer: &str) -> Option<Vec<u8>> {
    let named = |n: &str| bytes.windows(n.len()).any(|w| w == n.as_bytes());
    if !SCHEDULER_FLAG_NAMES.iter().any(|(spec, _)| named(spec)) {
        return None;
    }
    let mut doc = serde_json::from_slice::<serde_json::Value>(bytes).ok()?;
    let flags = doc
        .pointer_mut(&format!("{pointer}/scheduler/flags"))?
        .as_array_mut()?;
    for f in flags.iter_mut() {
        if let Some((_, ours)) = SCHEDULER_FLAG_NAMES.iter().find(|(spec, _)| f == spec) {
            *f = serde_json::Value::from(*ours);
        }
    }
    serde_json::to_vec(&doc).ok()
}

/// runtime-spec 1.3 (config-linux.md, "PIDs"): `pids.limit` is optional, and `0` "is a valid
/// limit value for the `pids` cgroup controller ... and SHOULD be treated as such". `oci-spec`
/// 0.10's `LinuxPids::limit` is a plain `i64` that reads an absent limit as 0, so after parsing
/// an explicit 0 and no limit look the same, and 0 there keeps meaning "not set" (as it did
/// before 1.3). runc (1.3 and later) writes an explicit 0 as `pids.max` 1 on both cgroup
/// drivers, because systemd cannot set `TasksMax=0`, and in practice the two limits are one:
/// the init is in the cgroup before its limits are written, and no task in it can fork. So an
/// explicit 0 becomes 1 in the raw JSON of `resources` (a `linux.resources` object, or `update
/// --resources`'s document): returns whether it did.
pub fn pids_limit_zero_as_one(resources: &mut serde_json::Value) -> bool {
    match resources.pointer_mut("/pids/limit") {
        Some(limit) if limit.as_i64() == Some(0) => {
            *limit = serde_json::Value::from(1);
            true
        }
        _ => false,
    }
}

/// A config whose `linux.resources.pids.limit` is an explicit 0, rewritten by
/// [`pids_limit_zero_as_one`]; `None` for every other (a scan of the bytes for a `"limit"`
/// of 0 first: no second parse of every config).
fn explicit_zero_pids_limit(bytes: &[u8]) -> Option<Vec<u8>> {
    let zero_limit = bytes.windows(7).enumerate().any(|(i, w)| {
        w == b"\"limit\"" && {
            let mut rest = bytes[i + 7..]
                .iter()
                .skip_while(|b| b.is_ascii_whitespace());
            rest.next() == Some(&b':')
                && rest.find(|b| !b.is_ascii_whitespace()) == Some(&b'0')
                && !matches!(rest.next(), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
        }
    });
    if !zero_limit {
        return None;
    }
    let mut doc = serde_json::from_slice::<serde_json::Value>(bytes).ok()?;
    if !pids_limit_zero_as_one(doc.pointer_mut("/linux/resources")?) {
        return None;
    }
    serde_json::to_vec(&doc).ok()
}

/// Deserializes a `config.json` document (`file` names it in errors);
/// no validation (see [`crate::spec::validate`]).
pub fn parse_spec(bytes: &[u8], file: &Path) -> Result<Spec, SpecError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let spec: Spec = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        // A syntax error is not about a field: the path would be wherever
        // the parser happened to stop, so say "." as for an unknown field.
        let field = if err.inner().is_data() {
            err.path().to_string()
        } else {
            ".".to_string()
        };
        SpecError::Parse {
            file: file.to_path_buf(),
            field,
            reason: err.into_inner().to_string(),
        }
    })?;
    // Refuse trailing garbage after the document, as `serde_json::from_slice`
    // would: a truncated or concatenated file is a broken file.
    deserializer.end().map_err(|err| SpecError::Parse {
        file: file.to_path_buf(),
        field: ".".to_string(),
        reason: err.to_string(),
    })?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown capability name is removed from its set with a warning naming the field, its
    /// index and the name; the known names and the other sets stay.
    #[test]
    fn unknown_capability_names_are_dropped_with_warnings() {
        let doc = br#"{"process": {"capabilities": {
            "bounding": ["CAP_KILL", "CAP_NOT_A_CAP", "CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "ambient": ["cap_bogus"]}}}"#;
        let (cleaned, warnings) = drop_unknown_capabilities(doc);
        let cleaned: serde_json::Value = serde_json::from_slice(&cleaned.unwrap()).unwrap();
        assert_eq!(
            cleaned["process"]["capabilities"],
            serde_json::json!({"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                               "ambient": []})
        );
        let why = "cannot be granted: no kernel capability of that name is known to this \
                   runtime; left out";
        assert_eq!(
            warnings,
            [
                format!("process.capabilities.bounding[1]: CAP_NOT_A_CAP {why}"),
                format!("process.capabilities.ambient[0]: cap_bogus {why}"),
            ]
        );
    }

    /// runtime-spec's scheduler flag names parse, whatever oci-spec calls them.
    #[test]
    fn spec_scheduler_flag_names_parse() {
        let spec = br#"{"process": {"scheduler": {"policy": "SCHED_DEADLINE",
            "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_RECLAIM"]}}}"#;
        let fixed = spec_scheduler_flags(spec, "/process").unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        let flags: Vec<oci_spec::runtime::LinuxSchedulerFlag> =
            serde_json::from_value(doc["process"]["scheduler"]["flags"].clone()).unwrap();
        assert_eq!(flags.len(), 3);
        assert!(spec_scheduler_flags(br#"{"process": {}}"#, "/process").is_none());
    }

    /// A process without `user` runs as root (runc's zero value); a given one stays.
    /// An explicit `pids.limit` of 0 becomes 1 (runc's `pids.max` for it); an absent limit,
    /// another number and a 0 elsewhere stay as they are.
    #[test]
    fn explicit_zero_pids_limit_becomes_one() {
        let limit = |doc: &str| -> Option<i64> {
            let out = explicit_zero_pids_limit(doc.as_bytes())?;
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            v.pointer("/linux/resources/pids/limit")?.as_i64()
        };
        assert_eq!(
            limit(r#"{"linux": {"resources": {"pids": {"limit": 0}}}}"#),
            Some(1)
        );
        assert_eq!(
            limit(r#"{"linux":{"resources":{"pids":{"limit" :  0 }}}}"#),
            Some(1)
        );
        assert_eq!(limit(r#"{"linux": {"resources": {"pids": {}}}}"#), None);
        assert_eq!(
            limit(r#"{"linux": {"resources": {"pids": {"limit": 10}}}}"#),
            None
        );
        assert_eq!(
            limit(r#"{"linux": {"resources": {"pids": {"limit": 0.5}}}}"#),
            None
        );
        let memory_zero =
            r#"{"linux": {"resources": {"memory": {"limit": 0}, "pids": {"limit": 7}}}}"#;
        assert_eq!(limit(memory_zero), None);
        let mut update = serde_json::json!({"pids": {"limit": 0}});
        assert!(pids_limit_zero_as_one(&mut update));
        assert_eq!(update, serde_json::json!({"pids": {"limit": 1}}));
    }

    #[test]
    fn missing_user_defaults_to_root() {
        let added = default_user(br#"{"args": ["id"], "cwd": "/"}"#, "").unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&added).unwrap();
        assert_eq!(doc["user"], serde_json::json!({"uid": 0, "gid": 0}));
        let added = default_user(br#"{"process": {"cwd": "/"}}"#, "/process").unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&added).unwrap();
        assert_eq!(doc["process"]["user"]["uid"], 0);
        for (doc, pointer) in [
            (&br#"{"user": {"uid": 5, "gid": 5}}"#[..], ""),
            (br#"{"root": {}}"#, "/process"),
            (br#"{"args": "#, ""),
        ] {
            assert_eq!(default_user(doc, pointer), None);
        }
    }

    /// Names oci-spec accepts (any case, without `CAP_`), other types and documents that are
    /// not JSON are left for parse_spec, unchanged.
    #[test]
    fn known_names_and_other_errors_are_left_alone() {
        for doc in [
            &br#"{"process": {"capabilities": {"bounding": ["CAP_KILL", "sys_admin"]}}}"#[..],
            br#"{"process": {"capabilities": {"bounding": [5]}}}"#,
            br#"{"process": {"capabilities": "#,
            br#"{"process": {}}"#,
        ] {
            assert_eq!(drop_unknown_capabilities(doc), (None, Vec::new()));
        }
    }
}
