//! `attnlab export RUN -o DIR [--quantize int8]`: the run loaded, bundled by
//! `attnlab_serve::export`, and what it measured printed.

use std::path::Path;

use attnlab_serve::Quantize;
use attnlab_train::{resolve_device, DeviceChoice};

pub fn export(run: &str, output: &Path, quantize: &str, store_path: &Path) -> anyhow::Result<()> {
    let store = crate::exit::open_store_for_reading(store_path)?;
    let device = resolve_device(DeviceChoice::Auto)?;
    let cache = store_path.parent().unwrap_or(Path::new(".")).join("cache");
    let loaded = attnlab_experiment::load_run(&store, run, &device, &cache)?;
    let quantize = if quantize == "int8" { Quantize::Int8 } else { Quantize::None };
    let report = attnlab_serve::export(loaded, output, quantize, device.device)?;
    println!("bundle: {}", report.dir.display());
    let ratio = report.bytes_after as f64 / report.bytes_before.max(1) as f64;
    println!("weights: {} bytes as trained (f32), {} bytes stored ({:.1}%)", report.bytes_before, report.bytes_after, 100.0 * ratio);
    if !report.quantized.is_empty() {
        println!("int8 tables: {}", report.quantized.join(", "));
    }
    for ((name, before), (_, after)) in report.test_before.iter().zip(&report.test_after) {
        println!("test.{name}: {before:.4} -> {after:.4} (change {:+.4})", after - before);
    }
    Ok(())
}
