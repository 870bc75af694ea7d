//! Why a command failed: the library's error, or one of the command line's
//! own (what it prints, the programs it runs), each printed as one line.

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The library's.
    #[error(transparent)]
    Lib(#[from] cella::Error),
    /// Writing the command's output failed.
    #[error("{what}")]
    Output {
        /// What was being written.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A program the command runs (`ps`) failed, or printed what the
    /// command cannot read.
    #[error("{program}: {reason}")]
    Program {
        /// The program and its arguments.
        program: String,
        /// Why: its error, or what was wrong with its output.
        reason: String,
    },
}

impl From<cella::spec::SpecError> for Failure {
    fn from(e: cella::spec::SpecError) -> Self {
        Failure::Lib(e.into())
    }
}

impl Failure {
    /// The library's error, where it is one (for its warnings).
    pub fn lib(&self) -> Option<&cella::Error> {
        match self {
            Failure::Lib(e) => Some(e),
            _ => None,
        }
    }
}
