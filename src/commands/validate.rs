use std::path::Path;

use attnlab_spec::{expand_sweep, load_spec, render_explain, validate_all, DataSource};

use crate::exit::BadInput;
use attnlab_experiment::{check, check_sizes, require_models, simulator_config, MemoryBudget};

/// Reports every problem it can find, then the shape of the experiment.
pub fn validate(spec: &Path, overrides: &[String], memory: Option<MemoryBudget>) -> anyhow::Result<()> {
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

pub fn explain(spec: &Path, overrides: &[String]) -> anyhow::Result<()> {
    let lines = attnlab_spec::explain(spec, overrides)?;
    if lines.is_empty() {
        return Err(BadInput(format!("{}: nothing to explain", spec.display())).into());
    }
    print!("{}", render_explain(&lines));
    Ok(())
}
