pub type Result<T> = std::result::Result<T, ModelError>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model `{name}` (known: {known})")]
    UnknownModel { name: String, known: String },
    #[error("model `{model}`: params: {message}")]
    Params { model: String, message: String },
    /// A model of one task asked for where another is needed (a multi-task
    /// model in a click-only pipeline).
    #[error("model `{model}` is a {actual} model, not a {expected} model")]
    WrongTask { model: String, actual: crate::Task, expected: crate::Task },
    /// A build input the model needs is missing or malformed (Pop without
    /// the training item popularity).
    #[error("model `{model}`: {message}")]
    Input { model: String, message: String },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
