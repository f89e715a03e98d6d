//! `attnlab serve`: the command-line flags handed to `attnlab_serve`, the
//! bound address and the final summary printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use attnlab_serve::{serve as run_server, wait_us, Batching, Metrics, RunSource, Selection, ServeConfig};
use attnlab_train::{resolve_device, DeviceChoice};

use crate::cli::ServeArgs;

pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let store_path = args.store.path();
    let selection = match (&args.experiment, &args.best) {
        _ if !args.bundles.is_empty() => Selection::Bundles(args.bundles.clone()),
        (Some(experiment), Some(metric)) => Selection::Best { experiment: experiment.clone(), metric: metric.clone() },
        _ => Selection::Runs(args.runs.clone()),
    };
    let root = if matches!(selection, Selection::Bundles(_)) {
        // bundles need no store: the event log defaults to the current folder
        PathBuf::from(".")
    } else {
        // a missing store is bad input, said before anything loads
        crate::exit::open_store_for_reading(&store_path)?;
        store_path.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    tch::set_num_threads(args.torch_threads as i32);
    let source = RunSource {
        store: store_path.clone(),
        selection,
        cache_root: root.join("cache"),
        device: resolve_device(DeviceChoice::Auto)?,
        batching: Batching { max_batch: args.max_batch as usize, max_wait: wait_us(args.max_wait_us) },
    };
    let metrics = Arc::new(Metrics::default());
    let models = source.load(&metrics)?;
    for m in &models {
        let id = m.identity();
        eprintln!("serving run {} ({}, {}) of {}", &id.run_id[..8.min(id.run_id.len())], id.name, id.model, id.experiment);
    }
    if let Some(file) = &args.offline {
        return score_offline(models, file, args.max_batch as usize, args.offline_seconds);
    }
    let config = ServeConfig {
        bind: args.bind,
        threads: args.threads.max(1),
        token: args.token.clone().filter(|t| !t.is_empty()),
        max_body_bytes: args.max_body_bytes,
        events: args.events.clone().unwrap_or_else(|| root.join("serve-events.jsonl")),
    };
    let summary = run_server(&config, source, models, metrics, |addr| {
        // the address on its own line, flushed: scripts and tests read it
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
    })?;
    eprintln!("stopped after {} requests; {} events in {}", summary.requests, summary.events, config.events.display());
    Ok(())
}

/// `--offline FILE`: the bodies of FILE answered in-process; one JSON line.
fn score_offline(models: Vec<attnlab_serve::Served>, file: &Path, batch: usize, seconds: f64) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::Error::new(crate::exit::BadInput(format!("reading {}: {e}", file.display()))))?;
    let bodies: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(anyhow::Error::new(crate::exit::BadInput(format!("--offline-seconds {seconds}: must be a number of seconds > 0"))));
    }
    let report = attnlab_serve::score_offline(models, &bodies, batch, std::time::Duration::from_secs_f64(seconds))
        .map_err(|e| anyhow::Error::new(e).context(format!("scoring {}", file.display())))?;
    let q = |p: f64| {
        let n = report.batch_seconds.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1;
        report.batch_seconds.get(rank).map_or(serde_json::Value::Null, |s| serde_json::json!((s * 1e6).round() / 1e3))
    };
    // the load generator's fields: latencies are a batch's, in milliseconds
    let line = serde_json::json!({
        "sent": report.requests, "errors": 0, "rps": (report.rate * 10.0).round() / 10.0,
        "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999),
    });
    println!("{line}");
    Ok(())
}
