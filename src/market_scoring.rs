//! An A/B arm's scores from a trained run: the model rebuilt from the run's
//! resolved spec and params, its best checkpoint loaded, and every
//! candidate of the fresh sessions predicted in batches.
//!
//! Models see the feed position, and the data trains them on
//! `e_position · attract`. A candidate is therefore scored at the position
//! its kind was shown at most in training (organic items at 0, ads at the
//! dataset's first ad slot) and the prediction is divided by that position's
//! examination probability: the pCTR *given examination* that the replay's
//! auction and organic ranking use. CTR-only models have no pCVR: their CPA
//! bids use `ab_test.default_cvr`, else the period's conversion rate after a
//! click on ads.

use std::path::{Path, PathBuf};

use anyhow::Context;
use attnlab_data::{AdPlacement, MarketSessions, SimulatorConfig};
use attnlab_models::BuiltModel;
use attnlab_spec::DataSource;
use attnlab_track::RunRecord;
use attnlab_train::{predict, predict_multitask, DeviceInfo};
use tch::nn::VarStore;

use crate::exit::BadInput;
use crate::market_sessions::RowScores;
use crate::prepare::simulator_config;

/// Rows predicted at once.
const BATCH: usize = 4096;

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
) -> anyhow::Result<RowScores> {
    let short = &run.id[..8.min(run.id.len())];
    let text = run.tags.get("spec.resolved").ok_or_else(|| BadInput(format!("run {short} has no resolved spec")))?;
    let spec = attnlab_spec::parse_spec(text, Path::new(&format!("run {short} (spec.resolved)")), &[])?;
    let model = spec
        .models
        .iter()
        .find(|m| m.name == run.name)
        .ok_or_else(|| BadInput(format!("run {short}: its spec has no model named `{}`", run.name)))?;
    if spec.dataset.source != DataSource::Simulator || simulator_config(&spec) != *world {
        return Err(BadInput(format!(
            "run {short} ({}) was trained on another simulated world than this spec's (dataset or protocol.history_len differ)",
            run.name
        ))
        .into());
    }
    let best = run.tags.get("checkpoint.dir").map(|d| PathBuf::from(d).join("best.safetensors"));
    let best = match best {
        Some(path) if path.is_file() => path,
        _ => {
            return Err(BadInput(format!(
                "run {short} ({}) has no best checkpoint (was it run with train.checkpoints: false, or its folder removed?)",
                run.name
            ))
            .into());
        }
    };
    let vs = VarStore::new(device.device);
    let built = attnlab_models::build_any(&run.model, &vs.root(), &world.cardinalities(), &model.params)?;
    attnlab_train::finetune::init_from(&vs, &best).with_context(|| format!("loading {}", best.display()))?;

    let mut rows = sessions.candidates.clone();
    let ad_at = ad_position(world);
    for (p, &is_ad) in rows.position.iter_mut().zip(&rows.is_ad) {
        *p = if is_ad { ad_at } else { 0 };
    }
    let (raw_ctr, raw_cvr) = match built {
        BuiltModel::Ctr(net) => (predict(net.as_ref(), &rows, BATCH, device.device)?, None),
        BuiltModel::MultiTask(net) => {
            let (ctr, cvr) = predict_multitask(net.as_ref(), &rows, BATCH, device.device)?;
            (ctr, Some(cvr))
        }
        BuiltModel::NextItem(_) => {
            return Err(BadInput(format!("run {short}: {} is a next-item model; an A/B arm needs a click model", run.model)).into());
        }
    };
    let e = &sessions.examination;
    let pctr: Vec<f64> =
        raw_ctr.iter().zip(&rows.position).map(|(&p, &pos)| (p as f64 / e[pos as usize]).clamp(0.0, 1.0)).collect();
    let pcvr = match raw_cvr {
        Some(cvr) => cvr.iter().map(|&p| p as f64).collect(),
        None => vec![default_cvr; rows.len()],
    };
    Ok(RowScores { engagement: pctr.clone(), pctr, pcvr })
}
