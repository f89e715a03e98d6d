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
    tch::set_num_threads(args.threads.max(1) as i32);
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
