//! Metric logging throughput into a real SQLite store in a temp directory.
//!
//! `cargo bench -p attnlab-track` prints, per batch size, how many points
//! per second `Store::log_metrics` sustains (one transaction per batch).

use std::time::{Duration, Instant};

use attnlab_track::{MetricPoint, NewRun, Store};

/// Enough points per batch size for a stable rate without a long run.
fn total_points(batch: usize) -> usize {
    match batch {
        1 => 20_000,
        _ => 500_000,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("{:>10} {:>10} {:>10} {:>14}", "batch", "points", "seconds", "points/s");
    for batch in [1usize, 100, 1_000, 10_000] {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("bench.db"))?;
        let run = store.create_run(&NewRun {
            experiment: "bench".into(),
            name: format!("batch-{batch}"),
            model: "none".into(),
            ..NewRun::default()
        })?;
        let total = total_points(batch);
        // Three metrics per step, as a training loop logs them.
        let keys = ["train/loss", "val/auc", "val/logloss"];
        let points: Vec<MetricPoint> = (0..total)
            .map(|i| MetricPoint {
                key: keys[i % keys.len()].to_owned(),
                value: (i as f64).sin(),
                step: (i / keys.len()) as i64,
                timestamp_ms: 1_700_000_000_000 + i as i64,
            })
            .collect();
        let start = Instant::now();
        for chunk in points.chunks(batch) {
            store.log_metrics(&run, chunk)?;
        }
        let elapsed = start.elapsed().max(Duration::from_nanos(1));
        let rate = total as f64 / elapsed.as_secs_f64();
        println!(
            "{:>10} {:>10} {:>10.3} {:>14.0}",
            batch,
            total,
            elapsed.as_secs_f64(),
            rate
        );
        let logged: usize = keys
            .iter()
            .map(|k| store.metric_history(&run, k).map(|h| h.len()))
            .sum::<Result<usize, _>>()?;
        if logged != total {
            return Err(format!("batch {batch}: {logged} points stored, {total} logged").into());
        }
    }
    Ok(())
}
