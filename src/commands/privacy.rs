//! `attnlab privacy epsilon`: plan a private (DP-SGD) run before training.

use attnlab_eval::privacy::{epsilon, noise_for_epsilon};

use crate::exit::BadInput;

pub fn epsilon_command(
    sample_rate: f64,
    noise_multiplier: Option<f64>,
    steps: i64,
    delta: f64,
    target_epsilon: Option<f64>,
) -> anyhow::Result<()> {
    let steps = u64::try_from(steps)
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| BadInput(format!("--steps: must be at least 1, got {steps}")))?;
    let bad = |e: attnlab_eval::EvalError| BadInput(e.to_string());
    match (noise_multiplier, target_epsilon) {
        (Some(sigma), None) => {
            let (eps, order) = epsilon(sample_rate, sigma, steps, delta).map_err(bad)?;
            println!("epsilon {eps:.6} at delta {delta} (RDP order {order}; q {sample_rate}, sigma {sigma}, {steps} steps)");
        }
        (None, Some(target)) => {
            let sigma = noise_for_epsilon(sample_rate, steps, delta, target).map_err(bad)?;
            let (eps, _) = epsilon(sample_rate, sigma, steps, delta).map_err(bad)?;
            println!("noise multiplier {sigma:.6} gives epsilon {eps:.6} <= {target} at delta {delta} (q {sample_rate}, {steps} steps)");
        }
        _ => return Err(BadInput("give exactly one of --noise-multiplier and --target-epsilon".into()).into()),
    }
    Ok(())
}
