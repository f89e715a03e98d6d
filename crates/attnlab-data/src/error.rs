use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, DataError>;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("invalid simulator setting `{field}`: {message}")]
    Config {
        field: &'static str,
        message: String,
    },
    #[error("split {ratios:?} of {rows} rows leaves the {part} split empty")]
    EmptySplit {
        ratios: [f64; 3],
        rows: usize,
        part: &'static str,
    },
    /// A bad value or row in a data file. `line` is 1-based; `field` names
    /// the 1-based field number and, where known, the column name
    /// (`field 3 (rating)`), or is empty when the whole line is at fault.
    #[error("{}", parse_message(path, *line, field, message))]
    Parse {
        path: PathBuf,
        line: u64,
        field: String,
        message: String,
    },
    /// A header or schema that does not fit what the loader was asked for.
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A preprocessing or loader option out of range.
    #[error("invalid {what}: {message}")]
    Invalid { what: &'static str, message: String },
    #[error("fetching {dataset}: {message}")]
    Fetch {
        dataset: &'static str,
        message: String,
    },
    #[error("{}: sha256 {actual} does not match the pinned {expected}", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

fn parse_message(path: &std::path::Path, line: u64, field: &str, message: &str) -> String {
    if field.is_empty() {
        format!("{}:{line}: {message}", path.display())
    } else {
        format!("{}:{line}: {field}: {message}", path.display())
    }
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DataError {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
