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
    #[error("override `{text}`: {message}")]
    Override { text: String, message: String },
    /// A whole-spec check (cross-field) that failed.
    #[error("{}: {field}: {message}", path.display())]
    Invalid { path: PathBuf, field: String, message: String },
    /// A model's `train:` map that cannot lie over the spec's.
    #[error("models `{model}` train: {message}")]
    ModelTrain { model: String, message: String },
    /// A sweep that cannot expand, or a swept key or value the spec rejects.
    #[error("sweep `{key}`: {message}")]
    Sweep { key: String, message: String },
}
