//! Errors of running an experiment: the user's input (a spec value, a run
//! id, a missing file or key), or a failure of one of the crates joined here.

/// Anything that stops an experiment step.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Bad input: the message names the file, spec key or argument.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Spec(#[from] attnlab_spec::SpecError),
    #[error(transparent)]
    Data(#[from] attnlab_data::DataError),
    #[error(transparent)]
    Eval(#[from] attnlab_eval::EvalError),
    #[error(transparent)]
    Model(#[from] attnlab_models::ModelError),
    #[error(transparent)]
    Train(#[from] attnlab_train::TrainError),
    #[error(transparent)]
    Track(#[from] attnlab_track::TrackError),
    #[error(transparent)]
    Sync(#[from] attnlab_track::SyncError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Number(#[from] std::num::ParseIntError),
    /// A file operation, `what` naming the file.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// libtorch gave up inside a call that panics instead of returning an
    /// error (tch unwraps allocation failures in `VarStore`, for one).
    #[error("libtorch failed: {0}")]
    Panicked(String),
    /// What was being done when `source` happened.
    #[error("{what}")]
    Context {
        what: String,
        #[source]
        source: Box<ExperimentError>,
    },
}

pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;

impl ExperimentError {
    pub(crate) fn bad(message: impl Into<String>) -> ExperimentError {
        ExperimentError::BadInput(message.into())
    }

    /// Wraps `self` with what was being done (shown first, as "what: cause").
    pub(crate) fn context(self, what: impl Into<String>) -> ExperimentError {
        ExperimentError::Context { what: what.into(), source: Box::new(self) }
    }

    /// The error of another crate this one stands for (its `Display` and
    /// `source` are that error's), so callers can classify it.
    pub fn wrapped(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExperimentError::Spec(e) => Some(e),
            ExperimentError::Data(e) => Some(e),
            ExperimentError::Eval(e) => Some(e),
            ExperimentError::Model(e) => Some(e),
            ExperimentError::Train(e) => Some(e),
            ExperimentError::Track(e) => Some(e),
            ExperimentError::Sync(e) => Some(e),
            ExperimentError::Torch(e) => Some(e),
            ExperimentError::Json(e) => Some(e),
            ExperimentError::Number(e) => Some(e),
            ExperimentError::BadInput(_) | ExperimentError::Panicked(_) | ExperimentError::Io { .. } | ExperimentError::Context { .. } => None,
        }
    }
}

/// An error with its causes, `outer: cause: cause` (what a failed run's
/// `error` tag records).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `.context(...)` for results of this crate and of the crates it joins.
pub(crate) trait Context<T> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<ExperimentError>> Context<T> for std::result::Result<T, E> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_reads_outer_to_inner_and_wrapping_is_transparent() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = ExperimentError::Io { what: "reading a.json".into(), source: io }.context("loading run 1234");
        assert_eq!(error_chain(&err), "loading run 1234: reading a.json: no such file");
        let spec = attnlab_spec::SpecError::Invalid { path: "s.yaml".into(), field: "seeds".into(), message: "empty".into() };
        let text = spec.to_string();
        let err = ExperimentError::from(spec);
        assert_eq!(err.to_string(), text, "a wrapped error reads as itself");
        assert!(err.wrapped().is_some_and(|e| e.is::<attnlab_spec::SpecError>()));
        assert!(ExperimentError::bad("x").wrapped().is_none());
    }
}
