//! DP-SGD's cost per epoch against non-private training:
//! `cargo bench -p attnlab-train --bench dp_sgd`.
//!
//! One epoch of LR and of a small DIN on the simulator (the default world,
//! 300 users: about 23k training impressions; `BENCH_USERS` for another
//! size), batch 256, Adam, CPU with `BENCH_THREADS` (default 1) torch
//! threads: plain mini-batches, then DP-SGD with microbatches of 1 (true
//! per-example clipping), 8 and 32. Each case is timed over `BENCH_EPOCHS`
//! (default 2) epochs after a warm-up epoch; the table gives seconds per
//! epoch, training examples per second and the slowdown against plain
//! training. Validation time is excluded (it is the same in both).

use attnlab_data::{simulate, split_temporal, AdsConfig, SimulatorConfig};
use attnlab_eval::Metric;
use attnlab_train::{train, DpConfig, EpochObserver, EpochReport, TrainConfig};
use tch::nn::VarStore;
use tch::Device;

/// Seconds of training (not validation) per example, epoch by epoch.
struct SecondsPerExample(Vec<f64>);

impl EpochObserver for SecondsPerExample {
    fn on_epoch(&mut self, r: &EpochReport) -> Result<(), attnlab_train::ObserverError> {
        self.0.push(1.0 / r.samples_per_s.max(1e-12));
        Ok(())
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let users = env("BENCH_USERS", 300);
    let epochs = env("BENCH_EPOCHS", 2);
    tch::set_num_threads(env("BENCH_THREADS", 1) as i32);
    let world = SimulatorConfig { users, ads: AdsConfig::off(), ..SimulatorConfig::default() };
    let splits = split_temporal(&simulate(&world).unwrap(), [0.8, 0.1, 0.1]).unwrap();
    let sizes = world.cardinalities();
    let n = splits.train.len();
    println!("DP-SGD overhead per epoch: {n} training impressions, batch 256, {} torch thread(s), CPU", tch::get_num_threads());
    println!("{:<6} {:<14} {:>12} {:>12} {:>10}", "model", "training", "s / epoch", "examples/s", "slowdown");
    for (model, params) in [("LR", serde_json::json!({})), ("DIN", serde_json::json!({"embed_dim": 8}))] {
        let params = params.as_object().unwrap().clone();
        let mut plain_seconds = None;
        for microbatch in [None, Some(1), Some(8), Some(32)] {
            let privacy = microbatch.map(|m| DpConfig {
                max_grad_norm: 1.0,
                noise_multiplier: 1.0,
                target_epsilon: None,
                delta: 1e-5,
                microbatch: m,
                stop_at_epsilon: None,
            });
            let config = TrainConfig {
                epochs: epochs + 1,
                batch_size: 256,
                patience: 100,
                metrics: vec![Metric::Auc],
                valid_metric: Metric::Auc,
                device: Device::Cpu,
                prefetch: 0,
                privacy,
                ..Default::default()
            };
            tch::manual_seed(0);
            let vs = VarStore::new(Device::Cpu);
            let net = attnlab_models::build(model, &vs.root(), &sizes, &params).unwrap();
            let mut seconds = SecondsPerExample(Vec::new());
            train(net.as_ref(), &vs, &splits.train, &splits.valid, &config, &mut seconds).unwrap();
            // seconds per example times the examples of an epoch, warm-up left out
            let per_epoch = seconds.0[1..].iter().map(|s| s * n as f64).sum::<f64>() / epochs as f64;
            let base = *plain_seconds.get_or_insert(per_epoch);
            let label = microbatch.map_or("plain".to_string(), |m| format!("dp-sgd m={m}"));
            println!("{model:<6} {label:<14} {per_epoch:>12.3} {:>12.0} {:>9.1}x", n as f64 / per_epoch, per_epoch / base);
        }
    }
}
