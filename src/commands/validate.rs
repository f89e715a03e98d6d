use std::path::Path;

use attnlab_spec::{expand_sweep, is_ope_spec, load_ope, load_spec, render_explain, validate_all, DataSource, OpeTarget};

use crate::exit::BadInput;
use attnlab_experiment::{check, check_sizes, require_models, simulator_config, MemoryBudget};

/// Reports every problem it can find, then the shape of the experiment.
pub fn validate(spec: &Path, overrides: &[String], memory: Option<MemoryBudget>) -> anyhow::Result<()> {
    if is_ope_spec(spec) {
        return validate_ope(spec, overrides);
    }
    let mut problems = validate_all(spec, overrides);
    if let Some(last) = problems.pop() {
        for p in &problems {
            eprintln!("error: {p}");
        }
        // the last one is returned: main prints it and exits with 2
        return Err(last.into());
    }
    let loaded = load_spec(spec, overrides)?;
    // the checks `run` makes before training, each reported
    let mut problems: Vec<anyhow::Error> = Vec::new();
    if let Err(e) = check(&loaded) {
        problems.push(e.into());
    }
    if loaded.spec.dataset.source == DataSource::Simulator {
        if let Err(e) = simulator_config(&loaded.spec).check() {
            problems.push(BadInput(format!("{}: dataset.simulator: {e}", spec.display())).into());
        }
    }
    if let Some(Err(e)) = memory.map(|m| check_sizes(&loaded, m)) {
        problems.push(e.into());
    }
    if let Some(last) = problems.pop() {
        for p in &problems {
            eprintln!("error: {}", crate::exit::describe(p));
        }
        return Err(last);
    }
    let trials = expand_sweep(&loaded.spec)?;
    let s = &loaded.spec;
    let runs = s.models.len() * s.seeds.len() * trials.len();
    println!(
        "{}: ok ({} models x {} seeds{} = {runs} runs; spec fingerprint {})",
        spec.display(),
        s.models.len(),
        s.seeds.len(),
        if trials.len() > 1 { format!(" x {} trials", trials.len()) } else { String::new() },
        loaded.fingerprint
    );
    if let Err(e) = require_models(&loaded) {
        println!("note: `run` needs models: {e}");
    }
    Ok(())
}

/// An OPE spec: its types and cross-field rules (`attnlab ope` runs the same
/// checks first); overrides apply to experiment specs only.
fn validate_ope(spec: &Path, overrides: &[String]) -> anyhow::Result<()> {
    if !overrides.is_empty() {
        return Err(BadInput(format!("{}: an OPE spec takes no key=value overrides", spec.display())).into());
    }
    let file = load_ope(spec)?;
    let o = &file.ope;
    let policy = match &o.target {
        OpeTarget::Run(_) => format!(" as a {} policy", serde_json::to_value(o.ranking)?.as_str().unwrap_or_default()),
        _ => String::new(),
    };
    println!(
        "{}: ok (off-policy evaluation of {}{policy} from {}: {} estimators, {} bootstrap resamples)",
        spec.display(),
        o.target,
        o.logs,
        o.estimators.len(),
        o.bootstrap
    );
    Ok(())
}

pub fn explain(spec: &Path, overrides: &[String]) -> anyhow::Result<()> {
    let lines = attnlab_spec::explain(spec, overrides)?;
    if lines.is_empty() {
        return Err(BadInput(format!("{}: nothing to explain", spec.display())).into());
    }
    print!("{}", render_explain(&lines));
    Ok(())
}
