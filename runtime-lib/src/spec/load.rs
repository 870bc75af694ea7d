//! Reading a bundle: `<dir>/config.json` parsed by `oci-spec`, then validated.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::{validate, SpecError};

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
    let mut bytes = Vec::new();
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
    let spec = parse_config(&config_path)?;
    validate(&spec, &dir, &config_path)?;
    Ok(Bundle {
        dir,
        config_path,
        spec,
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
                    return Err(SpecError::Invalid {
                        file: config_path,
                        field: "root.path".into(),
                        reason: "must be absolute for an in-memory spec without a bundle \
                                 directory (or give one)"
                            .into(),
                    })
                }
            }
        }
    };
    validate(&spec, &dir, &config_path)?;
    Ok(Bundle {
        dir,
        config_path,
        spec,
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
/// line and column).
fn parse_config(file: &Path) -> Result<Spec, SpecError> {
    let f = fs::File::open(file).map_err(|source| SpecError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse_spec(&read_document(f, file)?, file)
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
