//! Error type of the report crate.

use std::path::PathBuf;

/// Everything that can go wrong while rendering or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The embedded template failed to parse or render. `detail` carries the
    /// whole cause chain because Tera's top-level message alone is vague.
    #[error("report template error: {detail}")]
    Template {
        detail: String,
        #[source]
        source: tera::Error,
    },

    /// The page's data block could not be serialised to JSON.
    #[error("report data error: {source}")]
    Data {
        #[from]
        source: serde_json::Error,
    },

    /// Reading or writing the file system failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The output path cannot name a file (e.g. it ends in `..` or is empty).
    #[error("invalid report path {}: {reason}", path.display())]
    InvalidPath { path: PathBuf, reason: &'static str },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, ReportError>;

impl ReportError {
    pub(crate) fn template(source: tera::Error) -> Self {
        let mut detail = source.to_string();
        let mut cause = std::error::Error::source(&source);
        while let Some(c) = cause {
            detail.push_str(": ");
            detail.push_str(&c.to_string());
            cause = c.source();
        }
        ReportError::Template { detail, source }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
