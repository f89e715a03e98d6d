//! `attnlab data fetch|simulate|synth`: getting data onto disk.

use std::path::{Path, PathBuf};

use attnlab_data::fetch::{fetch as fetch_pinned, FetchSource, PINNED};
use attnlab_data::synth::criteo::{write_criteo, CriteoConfig};
use attnlab_data::synth::interactions::{inter_path, write_interactions, InteractionsConfig};
use attnlab_data::{simulate, write_attention_log, PinnedDataset};
use attnlab_spec::load_spec;

use crate::exit::BadInput;
use attnlab_experiment::{check_sizes, prepare, simulator_config, Dataset, MemoryBudget};

pub fn fetch(name: &str, dest: Option<PathBuf>, source: &FetchSource) -> anyhow::Result<()> {
    let Some(dataset) = PinnedDataset::named(name) else {
        let known: Vec<&str> = PINNED.iter().map(|d| d.name).collect();
        return Err(BadInput(format!("unknown dataset `{name}` (known: {})", known.join(", "))).into());
    };
    let dest = dest.unwrap_or_else(|| PathBuf::from("data").join(name));
    let report = fetch_pinned(&dataset, &dest, source)?;
    if !report.downloaded {
        println!("{name}: already in {} (sha256 verified)", dest.display());
    } else {
        for repaired in &report.repaired {
            eprintln!("{}: corrupted (sha256 mismatch), replaced", repaired.display());
        }
        println!("{name}: fetched into {} (sha256 verified)", dest.display());
    }
    Ok(())
}

/// Writes the spec's simulated market as an attention log (CSV), atomically.
pub fn simulate_log(spec_path: &Path, overrides: &[String], output: &Path) -> anyhow::Result<()> {
    let loaded = load_spec(spec_path, overrides)?;
    let config = simulator_config(&loaded.spec);
    let data = simulate(&config).map_err(|e| BadInput(format!("{}: dataset: {e}", spec_path.display())))?;
    let mut rows = 0;
    crate::output_file::write_atomically(output, |w| {
        rows = write_attention_log(&data, w)?;
        Ok(())
    })?;
    println!("{}: {rows} events from {} impressions", output.display(), data.len());
    Ok(())
}

/// Users, items, interactions, per-user and per-item counts, sparsity, time
/// span, label balance, rates by position and split sizes of the data a
/// spec prepares; `json`: the same as one JSON object.
pub fn stats(spec_path: &Path, overrides: &[String], cache_root: &Path, memory: Option<MemoryBudget>, json: bool) -> anyhow::Result<()> {
    let loaded = load_spec(spec_path, overrides)?;
    if let Some(m) = memory {
        check_sizes(&loaded, m)?;
    }
    let prepared = prepare(&loaded, cache_root)?;
    crate::print_notes(&prepared);
    let stats = match &prepared.data {
        Dataset::Impressions { splits, .. } => attnlab_data::stats(splits),
        Dataset::Interactions { prepared, .. } => attnlab_data::stats(prepared),
    };
    if json {
        let out = serde_json::json!({
            "name": loaded.spec.name,
            "kind": loaded.spec.dataset.kind().name(),
            "data_fingerprint": prepared.data_fingerprint,
            "stats": stats,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{} ({}; data fingerprint {})", loaded.spec.name, loaded.spec.dataset.kind().name(), prepared.data_fingerprint);
        print!("{stats}");
    }
    Ok(())
}

/// Rows written so far, on stderr (a large file takes minutes).
fn progress(rows: u64) {
    eprintln!("{rows} rows");
}

/// `attnlab data synth interactions`: DIR/NAME.inter, atomically.
pub fn synth_interactions(config: &InteractionsConfig, dir: &Path) -> anyhow::Result<()> {
    config.check().map_err(|e| BadInput(e.to_string()))?;
    let path = inter_path(dir).map_err(|e| BadInput(e.to_string()))?;
    let mut rows = 0;
    crate::output_file::write_atomically(&path, |w| {
        rows = write_interactions(config, w, &path, &mut progress)?.rows;
        Ok(())
    })?;
    println!("{}: {rows} interactions of {} users and {} items", path.display(), config.users, config.items);
    Ok(())
}

/// `attnlab data synth criteo`: a Criteo-layout click log, atomically.
pub fn synth_criteo(config: &CriteoConfig, path: &Path) -> anyhow::Result<()> {
    config.check().map_err(|e| BadInput(e.to_string()))?;
    crate::output_file::write_atomically(path, |w| {
        write_criteo(config, w, path, &mut progress)?;
        Ok(())
    })?;
    println!("{}: {} rows in Criteo's layout", path.display(), config.rows);
    Ok(())
}
