//! The Open Bandit Dataset: fetching it from the pinned obp wheel, loading
//! every log, and the errors of bad files (file, line and column).

use std::io::Write;
use std::path::{Path, PathBuf};

use attnlab_data::fetch::{fetch, verify, FileState, OBD};
use attnlab_data::{load_obd, DataError, FetchSource};

/// A wheel with the right layout but other bytes is rejected before
/// anything reaches the destination.
#[test]
fn fetch_rejects_an_obp_wheel_with_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("fake.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    for (name, _) in OBD.files {
        zip.start_file(format!("obp/dataset/obd/{name}"), zip::write::FileOptions::default()).unwrap();
        zip.write_all(b",item_id\n0,0\n").unwrap();
    }
    zip.finish().unwrap();
    let dest = dir.path().join("obd");
    let e = fetch(&OBD, &dest, &FetchSource::Wheel(wheel)).unwrap_err();
    assert!(matches!(e, DataError::Checksum { .. }), "{e}");
    assert!(!dest.join("random").exists(), "nothing reaches the destination");
}

/// The real files, from a wheel rebuilt from the copy `make data` fetched
/// (no download at test time): fetched, verified, repaired; then every log.
#[test]
fn fetch_obd_verify_repair_and_load_every_log() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<&str> = OBD.files.iter().map(|(name, _)| *name).collect();
    let wheel = dir.path().join("obp-0.4.1-py3-none-any.whl");
    attnlab_testkit::pinned_data::wheel_from(&attnlab_testkit::pinned_data::fetched("obd", &files), OBD.wheel_dir, &files, &wheel);
    let dest = dir.path().join("obd");
    let get = || fetch(&OBD, &dest, &FetchSource::Wheel(wheel.clone()));
    let report = get().unwrap();
    assert!(report.downloaded && report.repaired.is_empty());
    assert_eq!(report.before.len(), 12);
    assert!(!get().unwrap().downloaded, "idempotent");
    let log = dest.join("bts/women/women.csv");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[5000] ^= 1;
    std::fs::write(&log, &bytes).unwrap();
    let status = verify(&OBD, &dest).unwrap();
    assert_eq!(status.iter().filter(|s| matches!(s.state, FileState::Corrupt { .. })).count(), 1);
    assert_eq!(get().unwrap().repaired, vec![log]);
    assert!(verify(&OBD, &dest).unwrap().iter().all(|s| s.state == FileState::Ok));
    // no staging folder is left behind
    let names: Vec<String> = std::fs::read_dir(&dest).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // clicks of each log (counted with Python's csv module) and its items
    for (policy, campaign, items, clicks) in [
        ("random", "all", 80, 38),
        ("random", "men", 34, 46),
        ("random", "women", 46, 46),
        ("bts", "all", 80, 42),
        ("bts", "men", 34, 69),
        ("bts", "women", 46, 46),
    ] {
        let d = load_obd(&dest.join(policy).join(campaign), campaign).unwrap();
        assert_eq!((d.len(), d.items.len()), (10_000, items), "{policy}/{campaign}");
        assert_eq!(d.click.iter().filter(|&&c| c).count(), clicks, "{policy}/{campaign}");
        assert_eq!(d.affinity.len(), 10_000 * items);
        assert!(d.position.iter().all(|&p| p < 3) && d.item.iter().all(|&i| (i as usize) < items));
        assert!(d.timestamp_us.windows(2).all(|w| w[0] <= w[1]), "the logs are in time order");
        assert_eq!(d.user_features.len(), 4);
        assert_eq!(d.items.categorical.len(), 3);
        // the uniform policy shows each item in a slot with probability 1 / items
        if policy == "random" {
            assert!(d.propensity.iter().all(|&p| (p - 1.0 / items as f64).abs() < 1e-15), "{policy}/{campaign}");
        }
    }
    let first = load_obd(&dest.join("random/all"), "all").unwrap();
    // first row: 2019-11-24 00:00:34.762830+00:00, item 14, position 3, propensity 0.0125
    assert_eq!(first.timestamp_us[0], 1_574_553_634_762_830);
    assert_eq!((first.item[0], first.position[0], first.propensity[0]), (14, 2, 0.0125));
}

/// A two-item data set: `item_context.csv` and a log whose rows are given.
fn write_log(dir: &Path, rows: &[&str]) -> PathBuf {
    std::fs::write(dir.join("item_context.csv"), ",item_id,item_feature_0,item_feature_1,item_feature_2,item_feature_3\n0,0,-0.5,a,b,c\n1,1,0.7,a,d,c\n").unwrap();
    let mut text = String::from(
        ",timestamp,item_id,position,click,propensity_score,user_feature_0,user_feature_1,user_feature_2,user_feature_3,user-item_affinity_0,user-item_affinity_1\n",
    );
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    let path = dir.join("all.csv");
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = "0,2019-11-24 00:00:34.762830+00:00,1,3,1,0.5,u1,u2,u3,u4,0.0,2.5";

#[test]
fn a_small_log_loads_every_column() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &[GOOD, "1,2019-11-24 00:00:35+00:00,0,1,0,1,u1,v2,u3,u4,1.5,0.0"]);
    let d = load_obd(dir.path(), "all").unwrap();
    assert_eq!(d.item, vec![1, 0]);
    assert_eq!(d.position, vec![2, 0]);
    assert_eq!(d.click, vec![true, false]);
    assert_eq!(d.propensity, vec![0.5, 1.0]);
    assert_eq!(d.affinity, vec![0.0, 2.5, 1.5, 0.0]);
    assert_eq!(d.timestamp_us, vec![1_574_553_634_762_830, 1_574_553_635_000_000]);
    assert_eq!(d.user_features[1].ids, vec![0, 1]);
    assert_eq!(d.user_features[1].vocab.token(1), Some("v2"));
    assert_eq!(d.items.feature_0, vec![-0.5, 0.7]);
    assert_eq!(d.items.categorical[1].ids, vec![0, 1]);
    assert_eq!(d.ctr(), 0.5);
}

/// The error of a log with `row` as its second line (file line 3).
fn error_of(row: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &[GOOD, row]);
    let e = load_obd(dir.path(), "all").unwrap_err();
    assert!(matches!(e, DataError::Parse { .. }), "{e}");
    e.to_string().replace(&dir.path().display().to_string(), "DIR")
}

#[test]
fn bad_values_name_file_line_and_column() {
    let row = |field: usize, value: &str| {
        let mut f: Vec<&str> = GOOD.split(',').collect();
        f[field] = value;
        f.join(",")
    };
    assert_eq!(error_of(&row(5, "0")), "DIR/all.csv:3: field 6 (propensity_score): propensity 0 is not a probability in (0, 1]");
    assert_eq!(error_of(&row(5, "1.2")), "DIR/all.csv:3: field 6 (propensity_score): propensity 1.2 is not a probability in (0, 1]");
    assert!(error_of(&row(5, "nan")).starts_with("DIR/all.csv:3: field 6 (propensity_score): expected a finite number"));
    assert_eq!(error_of(&row(3, "4")), "DIR/all.csv:3: field 4 (position): position 4 is outside the slots 1..=3 (0..=2 zero-based)");
    assert_eq!(error_of(&row(3, "0")), "DIR/all.csv:3: field 4 (position): position 0 is outside the slots 1..=3 (0..=2 zero-based)");
    assert_eq!(error_of(&row(2, "2")), "DIR/all.csv:3: field 3 (item_id): item 2 is not in item_context.csv (0..=1)");
    assert!(error_of(&row(4, "yes")).starts_with("DIR/all.csv:3: field 5 (click): expected 0 or 1"));
    assert!(error_of(&row(1, "yesterday")).starts_with("DIR/all.csv:3: field 2 (timestamp): expected a time like"));
    assert!(error_of(&row(11, "x")).starts_with("DIR/all.csv:3: field 12 (user-item_affinity_1): expected a finite number"));
    assert_eq!(error_of(&row(6, "")), "DIR/all.csv:3: field 7 (user_feature_0): empty token");
    assert_eq!(error_of("0,1,2"), "DIR/all.csv:3: 3 fields, but the header has 12");
}

#[test]
fn a_missing_or_unknown_column_names_the_header_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &[GOOD]);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(",propensity_score", ",pscore")).unwrap();
    let e = load_obd(dir.path(), "all").unwrap_err().to_string();
    assert!(e.ends_with("all.csv:1: field 6 (pscore): unexpected column `pscore`"), "{e}");
    std::fs::write(&path, text.replace(",user-item_affinity_1", "")).unwrap();
    let e = load_obd(dir.path(), "all").unwrap_err().to_string();
    assert!(e.ends_with("all.csv:1: missing column `user-item_affinity_1`"), "{e}");
    // item ids out of order in the item context
    std::fs::write(dir.path().join("item_context.csv"), ",item_id,item_feature_0,item_feature_1,item_feature_2,item_feature_3\n0,1,0.5,a,b,c\n").unwrap();
    let e = load_obd(dir.path(), "all").unwrap_err().to_string();
    assert!(e.ends_with("item_context.csv:2: field 2 (item_id): item 1 out of order: expected item 0"), "{e}");
}
