//! `attnlab ope`: off-policy evaluation on the Open Bandit Dataset. The
//! section comes from a spec file or from flags; the evaluation, and the run
//! it is stored as, is `attnlab_experiment::ope::run_ope`.

use std::path::{Path, PathBuf};

use attnlab_experiment::ope::run_ope;
use attnlab_spec::{load_ope, ObdRef, OpeEstimator, OpeFile, OpeSpec, OpeTarget, Ranking, RunRef};
use attnlab_track::Store;
use clap::Args;

use crate::cli::StoreArgs;
use crate::exit::BadInput;

#[derive(Debug, Args)]
pub struct OpeArgs {
    /// An OPE spec (`name` and an `ope:` section); or give --logs and --target.
    #[arg(conflicts_with_all = ["logs", "target", "truth", "estimators", "bootstrap", "seed", "switch_tau", "dros_lambda", "reward_prior", "data", "ranking", "temperature", "reward_model", "name"])]
    pub spec: Option<PathBuf>,
    /// The logged feedback: obd:POLICY/CAMPAIGN (POLICY random|bts, CAMPAIGN all|men|women).
    #[arg(long, requires = "target")]
    pub logs: Option<String>,
    /// uniform, a logged policy's item distribution per slot (obd:POLICY/CAMPAIGN), or a
    /// trained click run (run:EXPERIMENT/MODEL or run:ID_PREFIX).
    #[arg(long, requires = "logs")]
    pub target: Option<String>,
    /// A run target's policy: top-3 (default) or softmax.
    #[arg(long)]
    pub ranking: Option<String>,
    /// The softmax's temperature (default 1).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// A trained click run as DM's and the DR family's reward model (default: item x slot CTR).
    #[arg(long)]
    pub reward_model: Option<String>,
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
    /// The experiment the result is stored under (default `ope`; a spec names its own).
    #[arg(long)]
    pub name: Option<String>,
    /// Per estimator {estimate, ci_low, ci_high} as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn ope(args: &OpeArgs) -> anyhow::Result<()> {
    let (file, path) = match &args.spec {
        Some(path) => (load_ope(path)?, path.clone()),
        None => (from_flags(args)?, PathBuf::from("command line")),
    };
    let store = Store::open(&args.store.path())?;
    let outcome = run_ope(&file, &path, &store)?;
    let spec = &file.ope;
    if args.json {
        let mut json = outcome.report.json();
        json["logs"] = spec.logs.to_string().into();
        json["target"] = spec.target.to_string().into();
        if let Some(t) = &outcome.section.truth_from {
            json["truth_from"] = t.clone().into();
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        let truth_from = outcome.section.truth_from.as_ref().map(|t| format!(" (truth: mean click of {t})")).unwrap_or_default();
        println!("{} estimated from {}{truth_from}", spec.target, spec.logs);
        println!("reward model: {}", outcome.section.reward_model);
        print!("{}", outcome.report.table());
        println!("stored as run {} of experiment {}", &outcome.run_id[..8.min(outcome.run_id.len())], file.name);
    }
    Ok(())
}

fn from_flags(args: &OpeArgs) -> anyhow::Result<OpeFile> {
    let (Some(logs), Some(target)) = (&args.logs, &args.target) else {
        return Err(BadInput("give an OPE spec, or --logs and --target".into()).into());
    };
    let flag = |name: &str, e: String| BadInput(format!("--{name}: {e}"));
    let logs: ObdRef = logs.parse().map_err(|e| flag("logs", e))?;
    let target: OpeTarget = target.parse().map_err(|e| flag("target", e))?;
    let mut spec = OpeSpec::new(logs, target);
    if let Some(truth) = &args.truth {
        spec.truth = Some(truth.parse().map_err(|e| flag("truth", e))?);
    }
    if let Some(list) = &args.estimators {
        spec.estimators = list
            .split(',')
            .map(|e| e.trim().parse::<OpeEstimator>().map_err(|m| flag("estimators", m)))
            .collect::<Result<_, _>>()?;
    }
    if let Some(ranking) = &args.ranking {
        spec.ranking = match ranking.as_str() {
            "top-3" => Ranking::Top3,
            "softmax" => Ranking::Softmax,
            other => return Err(flag("ranking", format!("expected top-3 or softmax, found `{other}`")).into()),
        };
    }
    if let Some(r) = &args.reward_model {
        spec.reward_model = Some(r.parse::<RunRef>().map_err(|e| flag("reward-model", e))?);
    }
    spec.temperature = args.temperature.unwrap_or(spec.temperature);
    spec.bootstrap = args.bootstrap.unwrap_or(spec.bootstrap);
    spec.seed = args.seed.unwrap_or(spec.seed);
    spec.switch_tau = args.switch_tau.unwrap_or(spec.switch_tau);
    spec.dros_lambda = args.dros_lambda.unwrap_or(spec.dros_lambda);
    spec.reward_prior = args.reward_prior.unwrap_or(spec.reward_prior);
    spec.data = args.data.clone().unwrap_or(spec.data);
    spec.check(Path::new("command line"))?;
    let name = args.name.clone().unwrap_or_else(|| "ope".into());
    let safe = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !safe {
        return Err(flag("name", format!("`{name}` must be non-empty letters, digits, `-`, `_` or `.`")).into());
    }
    Ok(OpeFile { name, description: None, ope: spec })
}
