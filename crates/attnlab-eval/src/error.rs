pub type Result<T> = std::result::Result<T, EvalError>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    #[error("unknown metric `{name}` (known: {known})")]
    UnknownMetric { name: String, known: String },
    #[error("length mismatch: {labels} labels, {scores} scores, {users} users")]
    LengthMismatch { labels: usize, scores: usize, users: usize },
    #[error("score at index {index} is not finite")]
    NonFiniteScore { index: usize },
    /// A caller passed arguments that cannot work together (e.g. a ranking
    /// metric that needs item popularity without popularity counts).
    #[error("{0}")]
    InvalidArgument(String),
    /// A metric has no value on this data (e.g. AUC with one class only).
    #[error("metric `{metric}` is undefined on this data: {reason}")]
    Undefined { metric: String, reason: String },
    #[error("{path}:{line}: column `{column}`: {message}")]
    Csv { path: String, line: usize, column: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}
