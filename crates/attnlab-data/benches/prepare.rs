//! Data preparation, cold and from the cache:
//! `cargo bench -p attnlab-data --bench prepare`.
//!
//! Two data sets: MovieLens-100k (RecBole atomic files; from
//! `ATTNLAB_ML100K_DIR`, else fetched with `ATTNLAB_RECBOLE_WHEEL` or
//! `python3 -m pip download` into a temp dir) with RecBole's BPR protocol,
//! and a simulated attention log of about 10M events (`BENCH_EVENTS` for
//! another size) written once with `write_attention_log`, whose clicks
//! become implicit feedback (dedup, 5-core, leave-one-out, sequences of 50).
//!
//! Every case runs in a fresh child process of this binary, so its peak
//! resident memory (`VmHWM` of `/proc/self/status`) is its own. "cold" is
//! fingerprint (sha256 of the inputs) + load + preprocess + split + cache
//! write; "cached" is fingerprint + cache read.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use attnlab_data::loaders::Event;
use attnlab_data::{
    CacheOutcome, DataSource, OnBadRow, Preprocess, Prepared, Protocol, SimulatorConfig, fingerprint, load_or_prepare,
    prepare, preprocess,
};

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|k| args.get(k + 1).cloned())
}

fn ml100k_settings() -> (Preprocess, Protocol) {
    (Preprocess::default(), Protocol::recbole_general())
}

fn sim_settings() -> (Preprocess, Protocol) {
    let pre = Preprocess { dedup: true, min_user_inter: 5, min_item_inter: 5, ..Preprocess::default() };
    (pre, Protocol::recbole_sequential())
}

/// Runs one case in this process and prints one `RESULT` line.
fn child(case: &str) {
    let cache = PathBuf::from(arg("--cache").unwrap());
    let start = Instant::now();
    let (prepared, outcome, hash_secs): (Prepared, CacheOutcome, f64) = if case.starts_with("ml100k") {
        let dir = PathBuf::from(arg("--ml").unwrap());
        let settings = ml100k_settings();
        let files: Vec<PathBuf> = ["inter", "user", "item"].iter().map(|e| dir.join(format!("ml-100k.{e}"))).collect();
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let fp = fingerprint(&DataSource::files(&refs).unwrap(), &settings).unwrap();
        let hash_secs = start.elapsed().as_secs_f64();
        let (p, o) = load_or_prepare::<attnlab_data::DataError>(&cache, &fp, || {
            let raw = attnlab_data::load_atomic(&dir, "ml-100k", &Default::default())?.interactions;
            let (d, _) = preprocess(&raw, &settings.0)?;
            prepare(&d, &settings.1)
        })
        .unwrap();
        (p, o, hash_secs)
    } else {
        let log = PathBuf::from(arg("--log").unwrap());
        let settings = sim_settings();
        let fp = fingerprint(&DataSource::files(&[&log]).unwrap(), &settings).unwrap();
        let hash_secs = start.elapsed().as_secs_f64();
        let (p, o) = load_or_prepare::<attnlab_data::DataError>(&cache, &fp, || {
            let (log, _) = attnlab_data::load_attention_log(&log, OnBadRow::Error)?;
            let clicks = log.interactions(&[Event::Click]);
            drop(log);
            let (d, _) = preprocess(&clicks, &settings.0)?;
            drop(clicks);
            prepare(&d, &settings.1)
        })
        .unwrap();
        (p, o, hash_secs)
    };
    let secs = start.elapsed().as_secs_f64();
    let hit = matches!(outcome, CacheOutcome::Hit);
    println!(
        "RESULT|{case}|{secs:.3}|{hash_secs:.3}|{}|{}|{}|{}|{}|{}",
        vm_hwm_kb(),
        prepared.train.len(),
        prepared.valid.len(),
        prepared.test.len(),
        prepared.num_users,
        if hit { "hit" } else { "miss" }
    );
}

fn ml100k_dir(tmp: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("ATTNLAB_ML100K_DIR") {
        return d.into();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/ml-100k");
    if attnlab_data::verify_ml100k(&repo).is_ok_and(|s| s.iter().all(|f| f.state == attnlab_data::fetch::FileState::Ok)) {
        return repo;
    }
    let dest = tmp.join("ml-100k");
    match std::env::var_os("ATTNLAB_RECBOLE_WHEEL") {
        Some(w) => attnlab_data::fetch_ml100k_from(&dest, &attnlab_data::FetchSource::Wheel(w.into())),
        None => attnlab_data::fetch_ml100k(&dest, Path::new("python3")),
    }
    .expect("fetch ml-100k (set ATTNLAB_ML100K_DIR or ATTNLAB_RECBOLE_WHEEL when offline)");
    dest
}

/// Writes a simulated attention log of about `events` rows.
fn write_log(path: &Path, events: usize) -> (u64, f64) {
    let base = SimulatorConfig {
        seed: 3,
        items: 5_000,
        topics: 50,
        sessions_per_user: 10,
        slots: 8,
        history_len: 1, // histories are not written to the log
        ..SimulatorConfig::default()
    };
    // calibrate events per impression on a small world
    let small = attnlab_data::simulate(&SimulatorConfig { users: 2_000, ..base.clone() }).unwrap();
    let per = attnlab_data::write_attention_log(&small, std::io::sink()).unwrap() as f64 / small.len() as f64;
    drop(small);
    let users = (events as f64 / per / 80.0).ceil() as usize;
    let start = Instant::now();
    let data = attnlab_data::simulate(&SimulatorConfig { users, ..base }).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let rows = attnlab_data::write_attention_log(&data, file).unwrap();
    (rows, start.elapsed().as_secs_f64())
}

fn main() {
    if let Some(case) = arg("--case") {
        child(&case);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ml = ml100k_dir(tmp.path());
    let events: usize = std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let log = tmp.path().join("attention.csv");
    let (rows, secs) = write_log(&log, events);
    let size = std::fs::metadata(&log).map_or(0, |m| m.len());
    println!("simulated attention log: {rows} events, {:.0} MB, written in {secs:.1} s", size as f64 / 1e6);
    let cache = tmp.path().join("cache");
    let exe = std::env::current_exe().unwrap();
    println!();
    println!(
        "{:<16} {:>9} {:>9} {:>10} {:>6} {:>10} {:>9} {:>9}  {}",
        "case", "total s", "hash s", "peak RSS", "cache", "train", "valid", "test", "data"
    );
    for (case, data) in [
        ("ml100k-cold", "ml-100k, RS 8:1:1 by user"),
        ("ml100k-cached", "ml-100k, RS 8:1:1 by user"),
        ("sim-cold", "attention log clicks, 5-core, LS, seq 50"),
        ("sim-cached", "attention log clicks, 5-core, LS, seq 50"),
    ] {
        let out = Command::new(&exe)
            .args(["--case", case, "--cache"])
            .arg(&cache)
            .arg("--ml")
            .arg(&ml)
            .arg("--log")
            .arg(&log)
            .output()
            .expect("run a case");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT|")) else {
            println!("{case}: failed ({})\n{}", out.status, String::from_utf8_lossy(&out.stderr));
            continue;
        };
        let f: Vec<&str> = line.split('|').collect();
        let kb: f64 = f[4].parse().unwrap_or(0.0);
        println!(
            "{:<16} {:>9} {:>9} {:>7.0} MB {:>6} {:>10} {:>9} {:>9}  {data}",
            case, f[2], f[3], kb / 1024.0, f[9], f[5], f[6], f[7]
        );
    }
}
