pub type Result<T> = std::result::Result<T, ModelError>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model `{name}` (known: {known})")]
    UnknownModel { name: String, known: String },
    #[error("model `{model}`: params: {message}")]
    Params { model: String, message: String },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
