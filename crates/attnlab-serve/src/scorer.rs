//! The thread that owns a model and scores for every request to it, with
//! dynamic batching: requests that arrive together (up to `max_batch`,
//! waiting at most `max_wait` after the first) share one forward pass, as
//! Triton's dynamic batcher does. A tch model is `Send` but not `Sync`, so
//! it lives on this one thread and requests reach it through a channel.
//!
//! Rows of a batch never see each other: the next-item models score each
//! row from its own user and sequence (padding masked), so a row's scores
//! are those of a batch of one, to float rounding.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use attnlab_models::NextItemModel;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// How requests are gathered into forward passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The most requests in one forward pass (1: no batching).
    pub max_batch: usize,
    /// How long the first request of a batch waits for more.
    pub max_wait: Duration,
}

/// One row to score: a user id and its input sequence (`width` ids).
struct Job {
    user: i64,
    input: Vec<i64>,
    reply: oneshot::Sender<Result<Vec<f32>, String>>,
    queued: Instant,
}

/// A job that knows when it was queued, for the wait `/metrics` shows.
pub(crate) trait Queued {
    fn queued(&self) -> Instant;
}

impl Queued for Job {
    fn queued(&self) -> Instant {
        self.queued
    }
}

/// The sending side: cheap to share between request handlers.
pub struct Scorer {
    jobs: Sender<Job>,
}

/// What the scoring thread owns.
pub struct ScoringModel {
    pub net: Box<dyn NextItemModel>,
    /// Kept alive with the model: its variables are the weights.
    pub vs: VarStore,
    pub device: Device,
    pub width: usize,
    pub num_items: usize,
}

impl Scorer {
    /// Starts the scoring thread of `model`.
    pub fn spawn(model: ScoringModel, batching: Batching, metrics: Arc<Metrics>, name: &str) -> std::io::Result<Scorer> {
        let (jobs, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name(format!("score-{name}")).spawn(move || run(model, rx, batching, &metrics))?;
        Ok(Scorer { jobs })
    }

    /// Scores over the whole catalogue (`num_items` values, the padding id
    /// 0 included) for `user` after `input`.
    pub async fn score(&self, user: i64, input: Vec<i64>) -> Result<Vec<f32>, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { user, input, reply, queued: Instant::now() }).map_err(|_| "the scoring thread stopped".to_string())?;
        answer.await.map_err(|_| "the scoring thread stopped".to_string())?
    }
}

fn run(model: ScoringModel, rx: Receiver<Job>, batching: Batching, metrics: &Metrics) {
    let _no_grad = tch::no_grad_guard();
    batches(&rx, batching, metrics, |jobs| {
        let users: Vec<i64> = jobs.iter().map(|j| j.user).collect();
        let inputs: Vec<i64> = jobs.iter().flat_map(|j| j.input.iter().copied()).collect();
        answer(jobs.into_iter().map(|j| j.reply), || score_rows(&model, &users, &inputs));
    });
}

/// Scores the batches gathered from `rx` until every sender is gone, and
/// times them into `metrics`: each job's wait in the queue until its batch
/// starts, and each batch's scoring. Shared by next-item and market models.
pub(crate) fn batches<J: Queued>(rx: &Receiver<J>, batching: Batching, metrics: &Metrics, mut score: impl FnMut(Vec<J>)) {
    while let Ok(first) = rx.recv() {
        let jobs = gather(first, rx, batching);
        let started = Instant::now();
        metrics.observe_batch(jobs.len(), jobs.iter().map(|j| started.saturating_duration_since(j.queued())));
        score(jobs);
        metrics.observe_scoring(started.elapsed());
    }
}

/// Scores a batch and sends each job its row, or every job the batch's
/// error. A libtorch failure (a panic inside tch) answers the batch with
/// an error, not the process with a panic.
pub(crate) fn answer<R>(
    replies: impl Iterator<Item = oneshot::Sender<Result<R, String>>>,
    score: impl FnOnce() -> Result<Vec<R>, String>,
) {
    let scored = std::panic::catch_unwind(AssertUnwindSafe(score)).unwrap_or_else(|_| Err("libtorch failed while scoring".to_string()));
    match scored {
        Ok(rows) => {
            for (reply, row) in replies.zip(rows) {
                let _ = reply.send(Ok(row));
            }
        }
        Err(message) => {
            for reply in replies {
                let _ = reply.send(Err(message.clone()));
            }
        }
    }
}

/// `first` and the jobs that arrive before the batch is full or its wait is over.
pub(crate) fn gather<J>(first: J, rx: &Receiver<J>, batching: Batching) -> Vec<J> {
    let mut jobs = vec![first];
    let deadline = Instant::now() + batching.max_wait;
    while jobs.len() < batching.max_batch {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match rx.recv_timeout(deadline - now) {
                    Ok(job) => jobs.push(job),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
        }
    }
    jobs
}

fn score_rows(model: &ScoringModel, users: &[i64], inputs: &[i64]) -> Result<Vec<Vec<f32>>, String> {
    let b = users.len() as i64;
    let users_t = Tensor::from_slice(users).to_device(model.device);
    let inputs_t = Tensor::from_slice(inputs).view([b, model.width as i64]).to_device(model.device);
    let scores = model.net.score(&users_t, &inputs_t).to_kind(Kind::Float).to_device(Device::Cpu);
    let n = model.num_items;
    if scores.size() != [b, n as i64] {
        return Err(format!("the model scored {:?} for {b} rows and {n} item ids", scores.size()));
    }
    let flat = Vec::<f32>::try_from(&scores.contiguous().view([-1])).map_err(|e| e.to_string())?;
    Ok(flat.chunks(n).map(<[f32]>::to_vec).collect())
}
