//! Errors of starting a server. Errors of one request are [`crate::api::ApiError`]s,
//! answered with a status code; these stop the server from starting.

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad input: an argument, a run that cannot be served, a damaged event log.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Experiment(#[from] attnlab_experiment::ExperimentError),
    #[error(transparent)]
    Track(#[from] attnlab_track::TrackError),
    /// A file or socket operation, `what` naming it.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = ServeError> = std::result::Result<T, E>;

impl ServeError {
    pub(crate) fn bad(message: impl Into<String>) -> ServeError {
        ServeError::BadInput(message.into())
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
        let what = what.into();
        move |source| ServeError::Io { what, source }
    }
}
