//! Error type of the report crate.

/// Everything that can go wrong while rendering a report.
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
}
