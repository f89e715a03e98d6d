use std::fmt;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, SpecError>;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A YAML syntax, unknown-key, wrong-type or range error inside the file.
    #[error("{}:{line}:{column}: {message}", path.display())]
    At { path: PathBuf, line: usize, column: usize, message: String },
    /// An error without a position (e.g. an empty document).
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A command-line override that cannot apply or yields an invalid spec.
    #[error("from the command line: {text}: {message}")]
    Override { text: String, message: String },
    /// A whole-spec check (cross-field) that failed.
    #[error("{}: {field}: {message}", path.display())]
    Invalid { path: PathBuf, field: String, message: String },
    /// A cross-field check that failed, at the place its key was written.
    #[error("{place}: {field}: {message}")]
    Placed { place: Place, field: String, message: String },
    /// A model's `train:` map that cannot lie over the spec's.
    #[error("models `{model}` train: {message}")]
    ModelTrain { model: String, message: String },
    /// A sweep that cannot expand, or a swept key or value the spec rejects.
    #[error("sweep `{key}`: {message}")]
    Sweep { key: String, message: String },
}

/// Where a key was written: a file position, or a command-line override.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    Line { path: PathBuf, line: usize, column: usize },
    Override { text: String },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Place::Line { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Place::Override { text } => write!(f, "from the command line: {text}"),
        }
    }
}

impl SpecError {
    /// The key a cross-field check names (`protocol.ratios`), located or not.
    pub fn field(&self) -> Option<&str> {
        match self {
            SpecError::Invalid { field, .. } | SpecError::Placed { field, .. } => Some(field),
            _ => None,
        }
    }
}
