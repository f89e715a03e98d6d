//! The synthetic generators: deterministic bytes, files the loaders read,
//! and the shape they promise.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use attnlab_data::synth::criteo::{write_criteo, CriteoConfig, CARDINALITIES};
use attnlab_data::synth::interactions::{inter_path, write_interactions, InteractionsConfig};
use attnlab_data::Result;

/// Writes `path` with a generator, through a buffer.
fn write_file(path: &Path, generate: impl FnOnce(&mut dyn Write) -> Result<SynthReport>) -> Result<SynthReport> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let report = generate(&mut out)?;
    out.flush().unwrap();
    Ok(report)
}

fn write_criteo_file(config: &CriteoConfig, path: &Path) {
    write_file(path, |w| write_criteo(config, w, path, &mut |_| {})).unwrap();
}
use attnlab_data::synth::{Shape, SynthReport, ML100K_SHAPE};
use attnlab_data::{load_atomic, load_ctr, AtomicOptions, CtrSchema, OnBadRow};

/// How far (relative) any statistic of the generated shape may be from
/// ml-100k's: the generator simulated at ml-100k's size is within 10% (its
/// 90% activity quantile; the top-1% share within 3%), sampling and the
/// interpolated popularity offset add the rest.
const SHAPE_BAND: f64 = 0.15;

fn interactions(dir: &Path, config: &InteractionsConfig) -> Vec<u8> {
    let path = inter_path(dir).unwrap();
    assert_eq!(path, dir.join(format!("{}.inter", dir.file_name().unwrap().to_str().unwrap())));
    std::fs::create_dir_all(dir).unwrap();
    let report = write_file(&path, |w| write_interactions(config, w, &path, &mut |_| {})).unwrap();
    assert_eq!(report.rows, config.interactions);
    std::fs::read(path).unwrap()
}

#[test]
fn same_seed_gives_the_same_bytes_and_another_seed_others() {
    let tmp = tempfile::tempdir().unwrap();
    let config = InteractionsConfig::new(200, 300, 5000, 7);
    let a = interactions(&tmp.path().join("a"), &config);
    let b = interactions(&tmp.path().join("b"), &config);
    let c = interactions(&tmp.path().join("c"), &InteractionsConfig { seed: 8, ..config });
    assert_eq!(a, b);
    assert_ne!(a, c);
    // and the same bytes as when this was written: a change to the
    // generator that moves any draw shows here
    assert_eq!(blake3::hash(&a).to_hex().as_str(), "4ef04bec64a66e90efffd0f6bff9bba9e35f19147034644b75037fcd5feef6d2");
    let criteo = |name: &str, seed| {
        let path = tmp.path().join(name);
        write_criteo_file(&CriteoConfig { rows: 2000, seed }, &path);
        std::fs::read(path).unwrap()
    };
    assert_eq!(criteo("x.txt", 3), criteo("y.txt", 3));
    assert_eq!(blake3::hash(&criteo("x.txt", 3)).to_hex().as_str(), "d699ce8dab01db5377abe1cb15f9e1839f78bb3e85f454f22e41fb53712380b6");
    assert_ne!(criteo("x.txt", 3), criteo("z.txt", 4));
}

/// Generates, reads back with the atomic loader, checks the counts, pairs
/// and times, and returns the measured shape.
fn generated_shape(users: u32, items: u32, rows: u64) -> Shape {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("synthetic");
    let config = InteractionsConfig::new(users, items, rows, 42);
    interactions(&dir, &config);
    let data = load_atomic(&dir, "synthetic", &AtomicOptions::default()).unwrap().interactions;
    assert_eq!(data.len() as u64, rows);
    let mut user_counts = vec![0u64; data.users.id_space()];
    let mut item_counts = vec![0u64; data.items.id_space()];
    let mut pairs = HashSet::new();
    for (&u, &i) in data.user.iter().zip(&data.item) {
        user_counts[u as usize] += 1;
        item_counts[i as usize] += 1;
        assert!(pairs.insert((u, i)), "user {u} has item {i} twice");
    }
    assert_eq!(user_counts.iter().filter(|&&c| c > 0).count(), users as usize, "every user appears");
    assert_eq!(item_counts.iter().filter(|&&c| c > 0).count(), items as usize, "every item appears");
    let times = data.timestamp.as_ref().unwrap();
    assert!(times.iter().all(|&t| (config.start..config.start + config.span).contains(&t)));
    // each user's rows are together and in time order
    let mut last: HashMap<u32, i64> = HashMap::new();
    for (k, (&u, &t)) in data.user.iter().zip(times).enumerate() {
        if k > 0 && data.user[k - 1] != u {
            assert!(!last.contains_key(&u), "user {u}'s rows are split");
        }
        assert!(last.insert(u, t).is_none_or(|before| before <= t));
    }
    let ratings = data.rating.as_ref().unwrap();
    assert!(ratings.iter().all(|r| (1.0..=5.0).contains(r) && r.fract() == 0.0));
    Shape::measure(&user_counts, &item_counts)
}

#[test]
fn interactions_have_ml100k_shape_at_other_sizes_and_densities() {
    // ml-100k's size and density, the same density larger, and a catalogue
    // five times sparser (a mean user takes 1.25% of the items, not 6%)
    for (users, items, rows) in [(943, 1682, 100_000), (2000, 1500, 150_000), (1500, 8000, 150_000)] {
        let shape = generated_shape(users, items, rows);
        let error = shape.max_relative_error(&ML100K_SHAPE);
        eprintln!("{users} x {items} x {rows}: {shape:?}, {error:.3} from ml-100k");
        assert!(error <= SHAPE_BAND, "{users} x {items} x {rows}: {shape:?} is {error:.3} from {ML100K_SHAPE:?}");
    }
}

#[test]
fn impossible_sizes_are_refused_before_writing_a_byte() {
    let tmp = tempfile::tempdir().unwrap();
    for (config, says) in [
        (InteractionsConfig::new(0, 10, 10, 1), "at least 1"),
        (InteractionsConfig::new(10, 20, 15, 1), "cannot cover"),
        (InteractionsConfig::new(3, 4, 13, 1), "exceed the 12 distinct"),
    ] {
        let mut out = Vec::new();
        let err = write_interactions(&config, &mut out, &tmp.path().join("x.inter"), &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
        assert!(out.is_empty(), "nothing written for {config:?}");
    }
    let mut out = Vec::new();
    assert!(write_criteo(&CriteoConfig { rows: 0, seed: 1 }, &mut out, Path::new("c.txt"), &mut |_| {}).is_err());
    assert!(out.is_empty());
    assert!(inter_path(Path::new("/")).is_err());
    // every pair used: a full matrix
    let full = generated_shape(5, 6, 30);
    assert_eq!(full.activity, [1.0; 6]);
}

#[test]
fn criteo_log_has_the_real_layout_and_heavy_tailed_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("train.txt");
    let rows = 20_000;
    write_criteo_file(&CriteoConfig { rows, seed: 1 }, &path);
    let (table, report) = load_ctr(&path, &CtrSchema::criteo(), OnBadRow::Error).unwrap();
    assert_eq!((table.len() as u64, table.dense.len(), table.categorical.len()), (rows, 13, 26));
    assert_eq!(report.skipped, 0);
    let clicks = table.label.iter().filter(|&&l| l == 1.0).count() as f64 / rows as f64;
    assert!((0.15..0.40).contains(&clicks), "click rate {clicks}");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut distinct = vec![HashSet::new(); 26];
    let mut missing = [0usize; 26];
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 40);
        for (c, value) in fields[14..].iter().enumerate() {
            if value.is_empty() {
                missing[c] += 1;
            } else {
                assert!(value.len() == 8 && value.chars().all(|ch| ch.is_ascii_hexdigit()), "{value}");
                distinct[c].insert(*value);
            }
        }
    }
    let seen: Vec<usize> = distinct.iter().map(HashSet::len).collect();
    // small columns show all their values, none more; the large ones a long tail
    for c in [8, 19, 16] {
        assert_eq!(seen[c], CARDINALITIES[c] as usize, "C{}", c + 1);
    }
    // distinct values follow the cardinalities: C3 (10.1M) > C10 (93k) > C1 (1460)
    assert!(seen[2] * 10 > rows as usize * 4 && seen[2] > seen[9] + 2000 && seen[9] > 3 * seen[0], "C3 {} C10 {} C1 {}", seen[2], seen[9], seen[0]);
    let c22 = missing[21] as f64 / rows as f64;
    assert!((0.73..0.79).contains(&c22), "C22 missing {c22}");
}
