//! In-process scoring throughput, the benchmark's baseline: request bodies
//! answered through the handlers' own path (the body parsed and checked,
//! the model's forward pass through its scoring thread, the top-K or the
//! ranked feed, the JSON answer written) without HTTP, `batch` requests at
//! a time (they share one forward pass when the scorer's `max_batch`
//! allows). What the served rate lacks against it is what HTTP, the
//! connections and the server's scheduling cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalog::Served;
use crate::request::parse_body;
use crate::server::{rank_answer, recommend_answer};
use crate::{Result, ServeError};

/// What an in-process run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineReport {
    /// Requests answered.
    pub requests: u64,
    /// Requests a second.
    pub rate: f64,
    /// Seconds per batch of requests, ascending.
    pub batch_seconds: Vec<f64>,
}

/// Answers `bodies` (JSON request bodies, used round robin) with the first
/// of `models`, `batch` at a time, for about `duration`; a body the model
/// refuses stops the run with its line and the error.
pub fn score_offline(models: Vec<Served>, bodies: &[String], batch: usize, duration: Duration) -> Result<OfflineReport> {
    if bodies.is_empty() {
        return Err(ServeError::bad("no request body to score"));
    }
    let models = Arc::new(models);
    let rank = match models.first() {
        Some(Served::Rank(_)) => true,
        Some(Served::Recommend(_)) => false,
        None => return Err(ServeError::bad("no model to score with")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ServeError::io("starting a runtime"))?;
    let bodies: Vec<Arc<str>> = bodies.iter().map(|b| Arc::from(b.as_str())).collect();
    runtime.block_on(async {
        let started = Instant::now();
        let (mut requests, mut batch_seconds) = (0u64, Vec::new());
        while started.elapsed() < duration {
            let batch_started = Instant::now();
            // spawned together: each sends its rows to the scoring thread before any waits
            let answers: Vec<_> = (0..batch.max(1) as u64)
                .map(|j| {
                    let line = ((requests + j) % bodies.len() as u64) as usize;
                    let (models, body) = (models.clone(), bodies[line].clone());
                    let task = tokio::spawn(async move {
                        let value = parse_body(body.as_bytes())?;
                        let answer = if rank {
                            rank_answer(&models, &value, |_| Vec::new()).await?
                        } else {
                            recommend_answer(&models, &value, |_| Vec::new()).await?
                        };
                        // the bytes the handler would send
                        Ok::<String, crate::api::ApiError>(answer.to_string())
                    });
                    (line, task)
                })
                .collect();
            for (line, task) in answers {
                match task.await {
                    Ok(Ok(_)) => requests += 1,
                    Ok(Err(e)) => return Err(ServeError::bad(format!("request body {}: {} ({})", line + 1, e.message, e.field.unwrap_or_default()))),
                    Err(e) => return Err(ServeError::bad(format!("request body {}: {e}", line + 1))),
                }
            }
            batch_seconds.push(batch_started.elapsed().as_secs_f64());
        }
        batch_seconds.sort_by(f64::total_cmp);
        Ok(OfflineReport { requests, rate: requests as f64 / started.elapsed().as_secs_f64(), batch_seconds })
    })
}
