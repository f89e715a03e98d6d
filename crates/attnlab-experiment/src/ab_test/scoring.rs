//! An A/B arm's scores from a trained run: the run loaded as a model
//! ([`crate::load_run`]) and every candidate of the fresh sessions
//! predicted in batches.
//!
//! Models see the feed position, and the data trains them on
//! `e_position · attract`. A candidate is therefore scored at the position
//! its kind was shown at most in training (organic items at 0, ads at the
//! dataset's first ad slot) and the prediction is divided by that position's
//! examination probability: the pCTR *given examination* that the replay's
//! auction and organic ranking use. CTR-only models have no pCVR: their CPA
//! bids use `ab_test.default_cvr`, else the period's conversion rate after a
//! click on ads. The expected dwell of a click (what an attention weight
//! values, `pCTR · E[dwell | click]`) is the model's dwell head where it has
//! one (`expm1` of its `log1p` seconds), else the period's mean dwell after a
//! click for every candidate: such a model then values attention by pCTR
//! alone.

use attnlab_data::{AdPlacement, MarketSessions, SimulatorConfig};
use attnlab_models::BuiltModel;
use attnlab_spec::DataSource;
use attnlab_track::RunRecord;
use attnlab_train::{predict, predict_tasks, DeviceInfo};

use super::sessions::RowScores;
use crate::dataset::simulator_config;
use crate::load_run::{load_record, short, RunSpec};
use crate::{ExperimentError, Result};

/// Rows predicted at once. Small enough for a forward pass's intermediates
/// (DIN's attention over each row's history) to stay in cache: with 4096,
/// `attnlab serve` scored 32 batched DIN feed requests of 50 candidates at
/// 450-800 requests/s, fewer than one at a time (~1,000); with 256 at
/// 1,240-1,270 (1024: ~1,040, 128: ~1,130). Rows are scored independently,
/// so the chunking changes no score beyond float rounding.
const BATCH: usize = 256;

/// The position ads are scored at: the first ad slot of the trained data.
fn ad_position(world: &SimulatorConfig) -> u32 {
    match &world.ads.placement {
        AdPlacement::Slots(ps) => ps.iter().copied().min().unwrap_or(0) as u32,
        AdPlacement::Load(_) => 0,
    }
}

/// Scores every candidate of `sessions` with the model of `run`, which must
/// have been trained on `world`. `default_cvr` is the pCVR of CTR-only models.
pub fn score_run(
    run: &RunRecord,
    world: &SimulatorConfig,
    sessions: &MarketSessions,
    default_cvr: f64,
    device: &DeviceInfo,
) -> Result<RowScores> {
    let short = short(&run.id);
    let run_spec = RunSpec::of(run)?;
    if run_spec.spec.dataset.source != DataSource::Simulator || simulator_config(&run_spec.spec) != *world {
        return Err(ExperimentError::bad(format!(
            "run {short} ({}) was trained on another simulated world than this spec's (dataset or protocol.history_len differ)",
            run.name
        )));
    }
    let loaded = load_record(run.clone(), run_spec, device)?;
    if let BuiltModel::NextItem(_) = loaded.net {
        return Err(ExperimentError::bad(format!("run {short}: {} is a next-item model; an A/B arm needs a click model", run.model)));
    }
    score_sessions(&loaded.net, world, sessions, default_cvr, device.device)
}

/// Scores every candidate of `sessions` with click (or click and
/// conversion) model `net` trained on `world`, as the module doc says: the
/// A/B replay's scores, and those of a live feed request.
pub fn score_sessions(
    net: &BuiltModel,
    world: &SimulatorConfig,
    sessions: &MarketSessions,
    default_cvr: f64,
    device: tch::Device,
) -> Result<RowScores> {
    let mut rows = sessions.candidates.clone();
    let ad_at = ad_position(world);
    for (p, &is_ad) in rows.position.iter_mut().zip(&rows.is_ad) {
        *p = if is_ad { ad_at } else { 0 };
    }
    let (raw_ctr, raw_cvr, raw_dwell) = match net {
        BuiltModel::Ctr(net) => (predict(net.as_ref(), &rows, BATCH, device)?, None, None),
        BuiltModel::MultiTask(net) => {
            let p = predict_tasks(net.as_ref(), &rows, BATCH, device)?;
            (p.pctr, Some(p.pcvr), p.log_dwell)
        }
        BuiltModel::NextItem(_) => return Err(ExperimentError::bad("a next-item model has no click probabilities")),
    };
    let e = &sessions.examination;
    let pctr: Vec<f64> =
        raw_ctr.iter().zip(&rows.position).map(|(&p, &pos)| (p as f64 / e[pos as usize]).clamp(0.0, 1.0)).collect();
    let pcvr = match raw_cvr {
        Some(cvr) => cvr.iter().map(|&p| p as f64).collect(),
        None => vec![default_cvr; rows.len()],
    };
    let dwell = match raw_dwell {
        Some(log1p_s) => log1p_s.iter().map(|&l| (l as f64).exp_m1().max(0.0)).collect(),
        None => vec![sessions.period_dwell_s; rows.len()],
    };
    Ok(RowScores { engagement: pctr.clone(), pctr, pcvr, dwell })
}
