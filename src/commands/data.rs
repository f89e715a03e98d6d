//! `attnlab data fetch|simulate`: getting data onto disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use attnlab_data::{fetch_ml100k, simulate, write_attention_log};
use attnlab_spec::load_spec;

use crate::exit::BadInput;
use attnlab_experiment::{prepare, simulator_config, Dataset};

/// Datasets `attnlab data fetch` knows.
const FETCHABLE: &[&str] = &["ml-100k"];

pub fn fetch(name: &str, dest: Option<PathBuf>, python: &Path) -> anyhow::Result<()> {
    if name != "ml-100k" {
        return Err(BadInput(format!("unknown dataset `{name}` (known: {})", FETCHABLE.join(", "))).into());
    }
    let dest = dest.unwrap_or_else(|| PathBuf::from("data").join(name));
    let report = fetch_ml100k(&dest, python)?;
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
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    let rows = {
        let mut writer = std::io::BufWriter::new(tmp.as_file_mut());
        let rows = write_attention_log(&data, &mut writer).with_context(|| format!("writing {}", output.display()))?;
        writer.flush()?;
        rows
    };
    tmp.as_file().sync_all()?;
    tmp.persist(output).with_context(|| format!("writing {}", output.display()))?;
    println!("{}: {rows} events from {} impressions", output.display(), data.len());
    Ok(())
}

/// Users, items, interactions, density, sequence lengths, label balance and
/// split sizes of the data a spec prepares.
pub fn stats(spec_path: &Path, overrides: &[String], cache_root: &Path) -> anyhow::Result<()> {
    let loaded = load_spec(spec_path, overrides)?;
    let prepared = prepare(&loaded, cache_root)?;
    crate::print_notes(&prepared);
    println!("{} (data fingerprint {})", loaded.spec.name, prepared.data_fingerprint);
    match &prepared.data {
        Dataset::Impressions { splits, .. } => print!("{}", attnlab_data::stats(splits)),
        Dataset::Interactions { prepared, .. } => print!("{}", attnlab_data::stats(prepared)),
    }
    Ok(())
}
