//! Loading and validating a bundle's `config.json`.
//!
//! Parsing is done by `oci-spec`; this module adds what the parser cannot
//! know: semantic rules (duplicate namespaces, mappings without a user
//! namespace, ...), and errors that name the file and the JSON field.

mod default;
mod load;
mod validate;

use std::path::PathBuf;

use crate::error::FieldError;

pub use default::{default_config, default_spec};
pub use load::{
    bundle_from_spec, load_bundle, load_process, parse_spec, pids_limit_zero_as_one, read_document,
    Bundle, IN_MEMORY_CONFIG, MAX_DOCUMENT_BYTES,
};
pub use validate::validate;
pub(crate) use validate::{check_exec_process, sysctl_namespace};

/// An error in a bundle's configuration: it names the file, the JSON field
/// (in JSON spelling, e.g. `linux.namespaces[2]`) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{file}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON, or a field has the wrong type.
    #[error("{file}: {field}: {reason}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// JSON path of the offending field (`.` when unknown).
        field: String,
        /// What the parser said.
        reason: String,
    },
    /// A field is well-formed but refused: wrong, or not honoured here
    /// (which becomes [`crate::Error::Unsupported`] at the library's
    /// boundary).
    #[error(transparent)]
    Field(FieldError),
}

impl SpecError {
    /// The configuration file the error is about (`None` for a field of a
    /// configuration given without a file).
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            SpecError::Read { file, .. } | SpecError::Parse { file, .. } => Some(file),
            SpecError::Field(e) => e.file.as_deref(),
        }
    }

    /// The JSON path of the offending field (`.` for the whole document),
    /// or `None` when the file could not be read.
    pub fn field(&self) -> Option<&str> {
        match self {
            SpecError::Read { .. } => None,
            SpecError::Parse { field, .. } => Some(field),
            SpecError::Field(e) => Some(&e.field),
        }
    }
}
