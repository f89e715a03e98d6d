use std::path::PathBuf;

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
    Observer(crate::ObserverError),
    /// A training option that cannot work as given (names the option).
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// `init_from` does not fit the model: every problem, one per line.
    #[error("cannot initialise from {}: {} problem(s):\n  {}", path.display(), problems.len(), problems.join("\n  "))]
    InitMismatch { path: PathBuf, problems: Vec<String> },
    /// A checkpoint that cannot be read, written or resumed from.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint { path: PathBuf, reason: String },
    /// Optimiser state that does not match the optimiser's parameters.
    #[error("optimiser state: {0}")]
    OptimizerState(String),
    #[error(transparent)]
    Eval(#[from] attnlab_eval::EvalError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
