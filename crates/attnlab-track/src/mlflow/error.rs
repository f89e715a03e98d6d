//! Errors of the MLflow client. No variant ever holds the tracking token:
//! it lives only in the client and in the `Authorization` header it sends.

/// What went wrong talking to an MLflow tracking server.
#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    /// The tracking URI is not an absolute `http(s)://host[:port][/prefix]` URI.
    #[error("invalid MLflow tracking URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },

    /// An argument the server would reject anyway (checked before sending).
    #[error("invalid argument for {endpoint}: {reason}")]
    InvalidArgument {
        endpoint: &'static str,
        reason: String,
    },

    /// The server refused the request with a client error (4xx other than
    /// 429). Not retried: sending it again would fail the same way.
    #[error("{endpoint}: HTTP {status} {error_code}: {message}")]
    Api {
        endpoint: &'static str,
        status: u16,
        /// MLflow's `error_code` (e.g. `RESOURCE_DOES_NOT_EXIST`), or
        /// `HTTP_<status>` when the body carried none.
        error_code: String,
        message: String,
    },

    /// The request failed with a retryable cause (connection error, timeout,
    /// 429, 5xx) on every attempt the retry policy allowed, or failed in a
    /// way that is unsafe to retry for a non-idempotent endpoint.
    #[error(
        "{endpoint}: gave up after {attempts} attempt(s): {last_cause}{}",
        if *.may_have_applied { " (the server may have applied the request)" } else { "" }
    )]
    Unavailable {
        endpoint: &'static str,
        attempts: u32,
        last_cause: String,
        /// True when the last attempt was sent and its outcome is unknown
        /// (e.g. a read timeout, a 502/504 from a proxy). Only then can a
        /// non-idempotent request such as `runs/log-batch` have been applied.
        may_have_applied: bool,
    },

    /// The server answered 2xx with a body this client cannot read.
    #[error("{endpoint}: unexpected response: {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },

    /// [`MlflowClient::log_batch`](super::MlflowClient::log_batch) sent its
    /// chunks in order and one failed. The first `confirmed_*` entries of
    /// each input slice were confirmed by the server and must not be sent
    /// again (metrics would be duplicated); resend only the rest.
    #[error(
        "runs/log-batch: {confirmed_chunks} chunk(s) confirmed ({confirmed_metrics} metrics, \
         {confirmed_params} params, {confirmed_tags} tags) before: {source}"
    )]
    PartialBatch {
        confirmed_chunks: usize,
        confirmed_metrics: usize,
        confirmed_params: usize,
        confirmed_tags: usize,
        #[source]
        source: Box<MlflowError>,
    },

    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl MlflowError {
    /// MLflow's `error_code` when the server answered with one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            MlflowError::Api { error_code, .. } => Some(error_code),
            MlflowError::PartialBatch { source, .. } => source.error_code(),
            _ => None,
        }
    }
}

pub type Result<T, E = MlflowError> = std::result::Result<T, E>;
