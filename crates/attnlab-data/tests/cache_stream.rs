//! The prepared-data cache file, streamed both ways, on data large enough
//! that every big column spans several read and write chunks: what is read
//! back is exactly what was prepared, and a truncated or altered file is
//! refused, never returned.

use std::io::Write;

use attnlab_data::cache::{read_file, write_file};
use attnlab_data::synth::interactions::{inter_path, write_interactions, InteractionsConfig};
use attnlab_data::{load_atomic, prepare, AtomicOptions, Candidates, GroupBy, Order, Prepared, Protocol, Split};

/// A synthetic file of 250,000 interactions, prepared leave-one-out with
/// sequences (timestamps too) and sampled candidates: columns of up to
/// ~250k values, four read and write chunks.
fn prepared(dir: &std::path::Path) -> Prepared {
    let data_dir = dir.join("synthetic");
    std::fs::create_dir_all(&data_dir).unwrap();
    let path = inter_path(&data_dir).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write_interactions(&InteractionsConfig::new(1000, 2000, 250_000, 3), &mut out, &path, &mut |_| {}).unwrap();
    out.flush().unwrap();
    drop(out);
    let data = load_atomic(&data_dir, "synthetic", &AtomicOptions::default()).unwrap().interactions;
    let protocol = Protocol {
        split: Split::LeaveOneOut,
        order: Order::Time,
        group_by: GroupBy::User,
        candidates: Candidates::Uniform(20),
        seed: 1,
        max_len: Some(50),
        cold_items: None,
    };
    prepare(&data, &protocol).unwrap()
}

#[test]
fn a_cache_file_reads_back_exactly_and_refuses_every_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let p = prepared(tmp.path());
    assert!(p.train.len() > 3 * 65_536, "{} train rows: several chunks", p.train.len());
    let file = tmp.path().join("prepared.bin");
    write_file(&file, &p).unwrap();
    let read = read_file(&file).unwrap();
    assert!(read == p, "the read data differs from the prepared data");
    // and it writes back to the same bytes
    let again = tmp.path().join("again.bin");
    write_file(&again, &read).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert!(std::fs::read(&again).unwrap() == bytes, "a second write differs");

    let damaged = tmp.path().join("damaged.bin");
    let len = bytes.len();
    for cut in [0, 7, 20, 300, len / 2, len - 1] {
        std::fs::write(&damaged, &bytes[..cut]).unwrap();
        let e = read_file(&damaged).unwrap_err().to_string();
        assert!(e.contains("truncated") || e.contains("shorter than its magic"), "cut at {cut}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    std::fs::write(&damaged, &longer).unwrap();
    assert!(read_file(&damaged).unwrap_err().to_string().contains("1 trailing bytes"));
    // a flipped bit in a column name, the checksum, the payload's first,
    // middle and last chunk: refused
    for at in [20, 1200, len / 3, len / 2, len - 2] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        std::fs::write(&damaged, &flipped).unwrap();
        assert!(read_file(&damaged).is_err(), "a flipped bit at byte {at} of {len} was read");
    }
}
