//! `attnlab ope`: off-policy evaluation on the Open Bandit Dataset. The
//! section comes from a spec file or from flags; the estimation is
//! `attnlab_eval::ope::evaluate`.

use std::path::{Path, PathBuf};

use attnlab_data::{load_obd, ObdLog, OBD_SLOTS};
use attnlab_eval::ope::{evaluate, Estimator, OpeConfig, SlotLogs, Target};
use attnlab_spec::{load_ope, ObdRef, OpeEstimator, OpeSpec, OpeTarget};
use clap::Args;

use crate::exit::BadInput;

#[derive(Debug, Args)]
pub struct OpeArgs {
    /// An OPE spec (`name` and an `ope:` section); or give --logs and --target.
    #[arg(conflicts_with_all = ["logs", "target", "truth", "estimators", "bootstrap", "seed", "switch_tau", "dros_lambda", "reward_prior", "data"])]
    pub spec: Option<PathBuf>,
    /// The logged feedback: obd:POLICY/CAMPAIGN (POLICY random|bts, CAMPAIGN all|men|women).
    #[arg(long, requires = "target")]
    pub logs: Option<String>,
    /// uniform, or a logged policy's item distribution per slot: obd:POLICY/CAMPAIGN.
    #[arg(long, requires = "logs")]
    pub target: Option<String>,
    /// A log whose mean click is the target's true value, e.g. obd:random/all for uniform
    /// (default: a logged target's own log).
    #[arg(long, requires = "logs")]
    pub truth: Option<String>,
    /// Comma-separated: dm, ipw, snipw, dr, sndr, switch-dr, dros (default: all).
    #[arg(long)]
    pub estimators: Option<String>,
    /// Bootstrap resamples of each 95% CI (default 1000).
    #[arg(long)]
    pub bootstrap: Option<u64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Switch-DR's weight threshold (default 10).
    #[arg(long)]
    pub switch_tau: Option<f64>,
    /// DRos's shrinkage (default 10).
    #[arg(long)]
    pub dros_lambda: Option<f64>,
    /// Pseudo-records of the reward model's shrinkage (default 10).
    #[arg(long)]
    pub reward_prior: Option<f64>,
    /// Where `attnlab data fetch obd` put the data (default data/obd).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Per estimator {estimate, ci_low, ci_high} as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn ope(args: &OpeArgs) -> anyhow::Result<()> {
    let spec = match &args.spec {
        Some(path) => load_ope(path)?.ope,
        None => from_flags(args)?,
    };
    let logs = slot_logs(&load(&spec.logs, &spec.data)?)?;
    let target_logs = match &spec.target {
        OpeTarget::Uniform => None,
        OpeTarget::Logged(r) => Some(slot_logs(&load(r, &spec.data)?)?),
    };
    let target = target_logs.as_ref().map_or(Target::Uniform, Target::Logged);
    let estimators = spec
        .estimators
        .iter()
        .map(|e| Estimator::parse(e.name(), spec.switch_tau, spec.dros_lambda))
        .collect::<Result<Vec<_>, _>>()?;
    let config = OpeConfig { estimators, resamples: spec.bootstrap as usize, seed: spec.seed, reward_prior: spec.reward_prior };
    let truth = match &spec.truth {
        Some(r) => Some(load(r, &spec.data)?.ctr()),
        None => None,
    };
    let report = evaluate(&logs, target, truth, &config)?;
    if args.json {
        let mut json = report.json();
        json["logs"] = spec.logs.to_string().into();
        json["target"] = spec.target.to_string().into();
        if let Some(t) = &spec.truth {
            json["truth_from"] = t.to_string().into();
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        let truth_from = spec.truth.as_ref().map(|t| format!(" (truth: mean click of {t})")).unwrap_or_default();
        println!("{} estimated from {}{truth_from}", spec.target, spec.logs);
        print!("{}", report.table());
    }
    Ok(())
}

fn from_flags(args: &OpeArgs) -> anyhow::Result<OpeSpec> {
    let (Some(logs), Some(target)) = (&args.logs, &args.target) else {
        return Err(BadInput("give an OPE spec, or --logs and --target".into()).into());
    };
    let logs: ObdRef = logs.parse().map_err(|e| BadInput(format!("--logs: {e}")))?;
    let target: OpeTarget = target.parse().map_err(|e| BadInput(format!("--target: {e}")))?;
    let mut spec = OpeSpec::new(logs, target);
    if let Some(truth) = &args.truth {
        spec.truth = Some(truth.parse().map_err(|e| BadInput(format!("--truth: {e}")))?);
    }
    if let Some(list) = &args.estimators {
        spec.estimators = list
            .split(',')
            .map(|e| e.trim().parse::<OpeEstimator>().map_err(|m| BadInput(format!("--estimators: {m}"))))
            .collect::<Result<_, _>>()?;
    }
    spec.bootstrap = args.bootstrap.unwrap_or(spec.bootstrap);
    spec.seed = args.seed.unwrap_or(spec.seed);
    spec.switch_tau = args.switch_tau.unwrap_or(spec.switch_tau);
    spec.dros_lambda = args.dros_lambda.unwrap_or(spec.dros_lambda);
    spec.reward_prior = args.reward_prior.unwrap_or(spec.reward_prior);
    spec.data = args.data.clone().unwrap_or(spec.data);
    spec.check(Path::new("command line"))?;
    Ok(spec)
}

fn load(r: &ObdRef, root: &Path) -> anyhow::Result<ObdLog> {
    let dir = r.dir(root);
    if !dir.is_dir() {
        return Err(BadInput(format!("{}: no such folder for {r} (run `attnlab data fetch obd`)", dir.display())).into());
    }
    Ok(load_obd(&dir, &r.campaign)?)
}

/// The columns the estimators read: item, slot, propensity, click.
fn slot_logs(log: &ObdLog) -> anyhow::Result<SlotLogs> {
    Ok(SlotLogs::new(log.actions(), log.slots(), log.propensity.clone(), log.rewards(), log.items.len(), OBD_SLOTS)?)
}
