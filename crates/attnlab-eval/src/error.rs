pub type Result<T> = std::result::Result<T, EvalError>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    #[error("unknown metric `{name}` (known: {known})")]
    UnknownMetric { name: String, known: String },
    #[error("length mismatch: {labels} labels, {scores} scores, {users} users")]
    LengthMismatch { labels: usize, scores: usize, users: usize },
    #[error("score at index {index} is not finite")]
    NonFiniteScore { index: usize },
}
