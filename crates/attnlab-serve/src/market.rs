//! A click (or click and conversion) run of a simulated market made ready
//! to rank feeds: the world it was trained on ([`SessionSampler`]: items,
//! ads, advertisers, the users' histories at the end of the period), the
//! feed policy of its spec's `ab_test:` section, and the thread that owns
//! its weights.
//!
//! A request becomes rows and scores exactly as a session of the offline
//! A/B test does (`SessionSampler::requests`, `ab_test::scoring::score_sessions`,
//! `ab_test::sessions`), so `/v1/rank` ranks what the replay would rank.
//! Concurrent requests share one forward pass (dynamic batching, as for
//! next-item models): a candidate's row never sees another row. When the
//! spec paces budgets, the advertisers' live budgets (`crate::budget`)
//! shade the bids that enter each auction.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use attnlab_data::{FeedRequest, SessionSampler, SimulatorConfig};
use attnlab_eval::market::{ArmPredictions, FeedPolicy, Session};
use attnlab_experiment::ab_test::scoring::score_sessions;
use attnlab_experiment::ab_test::sessions::{arm_predictions, budgets, replay_sessions};
use attnlab_experiment::ab_test::{default_cvr, feed_policy};
use attnlab_experiment::{simulator_config, LoadedRun, RunData};
use attnlab_models::BuiltModel;
use attnlab_spec::{AbTestSpec, DataSource};
use tokio::sync::oneshot;

use crate::budget::LiveBudgets;
use crate::catalog::Identity;
use crate::metrics::Metrics;
use crate::scorer::{answer, batches, Batching, Queued};
use crate::{Result, ServeError};

/// A request's session (candidates with their truth) and its predictions.
pub type Scored = (Session, ArmPredictions);

struct Job {
    request: FeedRequest,
    reply: oneshot::Sender<Result<Scored, String>>,
    queued: Instant,
}

impl Queued for Job {
    fn queued(&self) -> Instant {
        self.queued
    }
}

/// A click run ready for `/v1/rank`.
pub struct FeedModel {
    pub identity: Identity,
    /// The world of the run, shared with its scoring thread.
    pub sampler: Arc<SessionSampler>,
    /// How the feed is laid out and sold (the spec's `ab_test:` policy).
    pub policy: FeedPolicy,
    /// Examination probability of each feed position; its length is the feed's.
    pub examination: Vec<f64>,
    /// The advertisers' live budgets, when the spec's `ab_test:` paces them.
    pub budgets: Option<Mutex<LiveBudgets>>,
    jobs: Sender<Job>,
}

/// What the scoring thread owns.
struct Scoring {
    net: BuiltModel,
    /// Kept alive with the model: its variables are the weights.
    _vs: tch::nn::VarStore,
    device: tch::Device,
    sampler: Arc<SessionSampler>,
    world: SimulatorConfig,
    ab: Option<AbTestSpec>,
}

impl FeedModel {
    /// Takes a loaded click run of a simulated market; its weights move to
    /// a scoring thread. Other runs are refused by name.
    pub fn new(loaded: LoadedRun, batching: Batching, metrics: Arc<Metrics>, device: tch::Device) -> Result<FeedModel> {
        let short = loaded.run.id[..8.min(loaded.run.id.len())].to_string();
        let refuse = |why: &str| ServeError::bad(format!("run {short} ({}, {}): {why}", loaded.run.name, loaded.run.model));
        if !matches!(loaded.data, RunData::Impressions(_)) || matches!(loaded.net, BuiltModel::NextItem(_)) {
            return Err(refuse("/v1/rank serves click models of a simulated market"));
        }
        if loaded.spec.dataset.source != DataSource::Simulator {
            return Err(refuse("/v1/rank ranks feeds of a simulated market; this run was trained on a log"));
        }
        let world = simulator_config(&loaded.spec);
        let sampler = Arc::new(SessionSampler::new(&world).map_err(|e| refuse(&e.to_string()))?);
        let empty = sampler.requests(&[]).map_err(|e| refuse(&e.to_string()))?;
        let ab = loaded.spec.ab_test.clone();
        // the replay applies the world's budgets exactly when the spec paces
        let budgets = match ab.as_ref().filter(|a| a.pacing) {
            Some(_) => Some(Mutex::new(LiveBudgets::new(budgets(&empty, true)).map_err(|e| refuse(&e))?)),
            None => None,
        };
        let examination = empty.examination;
        let policy = feed_policy(ab.as_ref(), &world);
        let fingerprint = loaded.run.tags.get("data.fingerprint").cloned().unwrap_or_default();
        let identity = Identity::of_run(&loaded.run, fingerprint);
        let scoring = Scoring { net: loaded.net, _vs: loaded.vs, device, sampler: sampler.clone(), world, ab };
        let (jobs, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("rank-{short}"))
            .spawn(move || run(scoring, rx, batching, &metrics))
            .map_err(ServeError::io("starting a scoring thread"))?;
        Ok(FeedModel { identity, sampler, policy, examination, budgets, jobs })
    }

    /// A click event of `user` on `item`: charges the advertiser of an ad
    /// placed for them, when budgets are live (see `crate::budget`).
    pub fn click(&self, user: &str, item: &str) {
        if let (Some(budgets), Ok(user), Ok(item)) = (&self.budgets, user.parse::<usize>(), item.parse::<u32>()) {
            budgets.lock().unwrap_or_else(|p| p.into_inner()).click(user, item);
        }
    }

    /// The session and predictions of `request` (checked by the caller:
    /// every id is of the world and of its kind).
    pub async fn score(&self, request: FeedRequest) -> Result<Scored, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { request, reply, queued: Instant::now() }).map_err(|_| "the scoring thread stopped".to_string())?;
        answer.await.map_err(|_| "the scoring thread stopped".to_string())?
    }
}

fn run(model: Scoring, rx: Receiver<Job>, batching: Batching, metrics: &Metrics) {
    batches(&rx, batching, metrics, |jobs| {
        let (requests, replies): (Vec<FeedRequest>, Vec<_>) = jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        answer(replies.into_iter(), || score(&model, &requests));
    });
}

/// The A/B replay's sessions and predictions of `requests`, one each.
fn score(model: &Scoring, requests: &[FeedRequest]) -> Result<Vec<Scored>, String> {
    let m = model.sampler.requests(requests).map_err(|e| e.to_string())?;
    let cvr = default_cvr(model.ab.as_ref(), &m);
    let scores = score_sessions(&model.net, &model.world, &m, cvr, model.device).map_err(|e| e.to_string())?;
    Ok(replay_sessions(&m).into_iter().zip(arm_predictions(&m, &scores)).collect())
}
