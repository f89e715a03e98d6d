pub type Result<T> = std::result::Result<T, TrainError>;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("loss became {value} at epoch {epoch}, step {step}")]
    NonFiniteLoss { epoch: usize, step: usize, value: f64 },
    #[error("device `{requested}` is not available: {reason}")]
    Device { requested: String, reason: String },
    #[error("validation metric `{metric}` is undefined on the valid split (one class only?)")]
    UndefinedMetric { metric: String },
    #[error("stopped by the observer: {0}")]
    Observer(String),
    #[error(transparent)]
    Eval(#[from] attnlab_eval::EvalError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
