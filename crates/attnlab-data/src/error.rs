pub type Result<T> = std::result::Result<T, DataError>;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("invalid simulator setting `{field}`: {message}")]
    Config { field: &'static str, message: String },
    #[error("split {ratios:?} of {rows} rows leaves the {part} split empty")]
    EmptySplit { ratios: [f64; 3], rows: usize, part: &'static str },
}
