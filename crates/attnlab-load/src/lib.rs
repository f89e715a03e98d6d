//! An HTTP/1.1 load generator for `attnlab serve`, cheap in CPU so that it
//! disturbs the server it measures as little as possible on a small machine.
//!
//! - [`http`]: a keep-alive connection that posts prepared request bytes and
//!   reads a response by its `Content-Length`.
//! - [`load`]: open loop (requests scheduled at a fixed rate, latency
//!   measured from each request's *scheduled* time, so a server that falls
//!   behind shows it: no coordinated omission) or closed loop (as fast as
//!   the connections go).
//! - [`stats`]: quantiles and the one-line JSON report.

pub mod http;
pub mod load;
pub mod stats;

pub use http::{Connection, Target};
pub use load::{run, Load, Outcome};
pub use stats::Summary;

/// What can go wrong before any load is sent.
#[derive(Debug)]
pub enum LoadError {
    /// A bad argument or input file, said with what was wrong.
    Bad(String),
    /// Reading `what` failed.
    Io { what: String, source: std::io::Error },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Bad(message) => f.write_str(message),
            LoadError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Bad(_) => None,
            LoadError::Io { source, .. } => Some(source),
        }
    }
}
