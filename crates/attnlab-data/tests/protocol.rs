use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use attnlab_data::cache::{entry_dir, read_file};
use attnlab_data::{
    CacheOutcome, Candidates, DataSource, GroupBy, Interactions, Order, Part, Prepared, Preprocess, Protocol, Rng,
    SourceFile, Split, fingerprint, load_or_prepare, prepare, preprocess, stats,
};

/// A table from (user, item, timestamp) triples of raw tokens.
fn table(rows: &[(u32, u32, i64)]) -> Interactions {
    let mut d = Interactions::empty();
    let mut ts = Vec::new();
    for &(u, i, t) in rows {
        d.user.push(d.users.intern(&format!("u{u}")));
        d.item.push(d.items.intern(&format!("i{i}")));
        ts.push(t);
    }
    d.timestamp = Some(ts);
    d
}

/// Random rows with distinct timestamps per user, and users of 1, 2, 3 rows.
fn random_table(seed: u64, users: usize, items: usize, rows: usize) -> Interactions {
    let mut rng = Rng::new(seed);
    let mut v: Vec<(u32, u32, i64)> = (0..rows)
        .map(|k| (rng.below(users) as u32, rng.below(items) as u32, (rng.below(1000) * rows + k) as i64))
        .collect();
    v.extend([(9001, 1, 5), (9002, 1, 5), (9002, 2, 7), (9003, 3, 1), (9003, 4, 2), (9003, 5, 3)]);
    table(&v)
}

fn proto(split: Split, order: Order, group_by: GroupBy, candidates: Candidates) -> Protocol {
    Protocol { split, order, group_by, candidates, seed: 5, max_len: None, cold_items: None }
}

fn full() -> Candidates {
    Candidates::Full { exclude_history: true }
}

fn rows_by_user(d: &Interactions) -> HashMap<u32, Vec<usize>> {
    let mut m: HashMap<u32, Vec<usize>> = HashMap::new();
    for r in 0..d.len() {
        m.entry(d.user[r]).or_default().push(r);
    }
    m
}

/// Every row in exactly one split, columns consistent with the table.
fn assert_partition(d: &Interactions, p: &Prepared) {
    let mut seen = vec![0u8; d.len()];
    for part in [Part::Train, Part::Valid, Part::Test] {
        let s = p.split(part);
        for k in 0..s.len() {
            let r = s.row[k] as usize;
            seen[r] += 1;
            assert_eq!((s.user[k], s.item[k]), (d.user[r], d.item[r]));
            assert_eq!(s.timestamp.as_ref().unwrap()[k], d.timestamp.as_ref().unwrap()[r]);
        }
    }
    assert!(seen.iter().all(|&c| c == 1), "a row is missing or in two splits");
    assert_eq!(p.train.len() + p.valid.len() + p.test.len(), d.len());
}

/// How RecBole 1.2.1 itself splits a user's N interactions 8:1:1, for N up
/// to 100 (`scripts/recbole_split_rounding.py` runs RecBole's own code).
fn recbole_8_1_1_sizes() -> HashMap<usize, Vec<usize>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recbole_split_sizes.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(fixture["ratios"], serde_json::json!([0.8, 0.1, 0.1]));
    let sizes = fixture["sizes"].as_object().unwrap();
    let as_sizes = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
    sizes.iter().map(|(n, v)| (n.parse().unwrap(), as_sizes(v))).collect()
}

#[test]
fn ratio_split_per_user_follows_recbole_rounding() {
    let recbole = recbole_8_1_1_sizes();
    let d = random_table(1, 40, 60, 900);
    for order in [Order::Random, Order::Time] {
        let p = prepare(&d, &proto(Split::Ratio([0.8, 0.1, 0.1]), order, GroupBy::User, full())).unwrap();
        assert_partition(&d, &p);
        for (u, rows) in rows_by_user(&d) {
            let count = |s: &attnlab_data::SplitRows| s.user.iter().filter(|&&x| x == u).count();
            let got = [count(&p.train), count(&p.valid), count(&p.test)];
            let want = recbole.get(&rows.len()).expect("the fixture covers every user's count");
            assert_eq!(&got.to_vec(), want, "user {u} with {} rows", rows.len());
            if order == Order::Time {
                // time order: every train row is no later than any valid row, valid before test
                let times = |s: &attnlab_data::SplitRows| -> Vec<i64> {
                    (0..s.len()).filter(|&k| s.user[k] == u).map(|k| s.timestamp.as_ref().unwrap()[k]).collect()
                };
                let (tr, va, te) = (times(&p.train), times(&p.valid), times(&p.test));
                let max = |v: &[i64]| v.iter().copied().max();
                let min = |v: &[i64]| v.iter().copied().min();
                if let (Some(a), Some(b)) = (max(&tr), min(&va)) {
                    assert!(a <= b);
                }
                if let (Some(a), Some(b)) = (max(&va).or(max(&tr)), min(&te)) {
                    assert!(a <= b);
                }
            }
        }
    }
    // users of 1, 2, 3 rows: RecBole gives [1,0,0], [1,0,1], [1,1,1]
    let p = prepare(&d, &proto(Split::Ratio([0.8, 0.1, 0.1]), Order::Time, GroupBy::User, full())).unwrap();
    let u2 = d.users.get("u9002").unwrap();
    assert_eq!(p.test.user.iter().filter(|&&u| u == u2).count(), 1);
    assert_eq!(p.valid.user.iter().filter(|&&u| u == u2).count(), 0);
}

#[test]
fn ratio_split_global_and_random_order_is_seeded() {
    let d = random_table(2, 30, 50, 1000);
    let pr = proto(Split::Ratio([0.7, 0.2, 0.1]), Order::Random, GroupBy::None, full());
    let p = prepare(&d, &pr).unwrap();
    assert_partition(&d, &p);
    // RecBole: valid and test rounded down (int(0.2 * 1006), int(0.1 * 1006)), train the rest
    assert_eq!(d.len(), 1006);
    assert_eq!([p.train.len(), p.valid.len(), p.test.len()], [705, 201, 100]);
    assert_eq!(p, prepare(&d, &pr).unwrap(), "same seed, same split");
    let other = prepare(&d, &Protocol { seed: 6, ..pr.clone() }).unwrap();
    let set = |p: &Prepared| p.test.row.iter().copied().collect::<BTreeSet<_>>();
    assert_ne!(set(&p), set(&other), "another seed, another split");
    // global time order: test holds the latest rows
    let p = prepare(&d, &Protocol { order: Order::Time, ..pr }).unwrap();
    let ts = d.timestamp.as_ref().unwrap();
    let max_train = p.train.row.iter().map(|&r| ts[r as usize]).max().unwrap();
    let min_test = p.test.row.iter().map(|&r| ts[r as usize]).min().unwrap();
    assert!(max_train <= min_test);
}

#[test]
fn leave_one_out_takes_the_latest_per_user() {
    let d = random_table(3, 25, 40, 600);
    let p = prepare(&d, &proto(Split::LeaveOneOut, Order::Time, GroupBy::User, full())).unwrap();
    assert_partition(&d, &p);
    let ts = d.timestamp.as_ref().unwrap();
    for (u, mut rows) in rows_by_user(&d) {
        rows.sort_by_key(|&r| (ts[r], r));
        let of = |s: &attnlab_data::SplitRows| -> Vec<usize> {
            (0..s.len()).filter(|&k| s.user[k] == u).map(|k| s.row[k] as usize).collect()
        };
        let (tr, va, te) = (of(&p.train), of(&p.valid), of(&p.test));
        match rows.len() {
            1 => assert_eq!((tr.len(), va.len(), te.len()), (1, 0, 0)),
            2 => assert_eq!((tr, va, te), (vec![rows[0]], vec![], vec![rows[1]])),
            n => {
                assert_eq!(te, vec![rows[n - 1]], "user {u}: test is the latest");
                assert_eq!(va, vec![rows[n - 2]], "user {u}: valid is the second latest");
                assert_eq!(tr.len(), n - 2);
            }
        }
    }
    let e = prepare(&d, &proto(Split::LeaveOneOut, Order::Time, GroupBy::None, full())).unwrap_err();
    assert!(e.to_string().contains("group_by user"), "{e}");
    let mut no_time = d.clone();
    no_time.timestamp = None;
    assert!(prepare(&no_time, &proto(Split::LeaveOneOut, Order::Time, GroupBy::User, full())).is_err());
}

#[test]
fn full_ranking_exclusion_follows_recbole() {
    // user 0: train {1,2,3} + valid {3} (a repeat) + test {4, 2}
    let d = random_table(4, 20, 30, 500);
    let p = prepare(&d, &proto(Split::Ratio([0.6, 0.2, 0.2]), Order::Random, GroupBy::User, full())).unwrap();
    let sets = |s: &attnlab_data::SplitRows| {
        let mut m: HashMap<u32, HashSet<u32>> = HashMap::new();
        for k in 0..s.len() {
            m.entry(s.user[k]).or_default().insert(s.item[k]);
        }
        m
    };
    let (tr, va, te) = (sets(&p.train), sets(&p.valid), sets(&p.test));
    let empty = HashSet::new();
    for u in 0..p.num_users as u32 {
        let g = |m: &HashMap<u32, HashSet<u32>>| m.get(&u).unwrap_or(&empty).clone();
        let want_valid: BTreeSet<u32> = g(&tr).difference(&g(&va)).copied().collect();
        let trva: HashSet<u32> = g(&tr).union(&g(&va)).copied().collect();
        let want_test: BTreeSet<u32> = trva.difference(&g(&te)).copied().collect();
        let all: BTreeSet<u32> = trva.union(&g(&te)).copied().collect();
        let got = |c: &attnlab_data::Csr| c.get(u as usize).iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(got(p.exclusion(Part::Valid).unwrap()), want_valid, "user {u}");
        assert_eq!(got(p.exclusion(Part::Test).unwrap()), want_test, "user {u}");
        assert_eq!(got(&p.positives), all);
        assert!(p.exclude_test.get(u as usize).windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
    }
    let mut pop = vec![0u32; p.num_items];
    p.train.item.iter().for_each(|&i| pop[i as usize] += 1);
    assert_eq!(p.item_popularity, pop);
    let q = prepare(&d, &proto(Split::Ratio([0.6, 0.2, 0.2]), Order::Random, GroupBy::User, Candidates::Full { exclude_history: false })).unwrap();
    assert!(q.exclusion(Part::Test).is_none() && q.exclusion(Part::Valid).is_none());
}

#[test]
fn sampled_negatives_never_hit_positives_and_are_seeded() {
    let d = random_table(5, 30, 80, 1200);
    for cand in [Candidates::Uniform(20), Candidates::Popularity(20)] {
        let pr = proto(Split::LeaveOneOut, Order::Time, GroupBy::User, cand);
        let p = prepare(&d, &pr).unwrap();
        for (part, c) in [(Part::Valid, p.valid_candidates.as_ref().unwrap()), (Part::Test, p.test_candidates.as_ref().unwrap())] {
            let s = p.split(part);
            assert_eq!(c.items.len(), s.len() * 20);
            for k in 0..s.len() {
                let row = c.row(k);
                let distinct: HashSet<u32> = row.iter().copied().collect();
                assert_eq!(distinct.len(), 20, "distinct negatives");
                for &i in row {
                    assert!(i >= 1 && (i as usize) < p.num_items);
                    assert!(!p.positives.contains(s.user[k] as usize, i), "a positive was sampled");
                    assert!(!d.user.iter().zip(&d.item).any(|(&u, &it)| u == s.user[k] && it == i));
                    if let Candidates::Popularity(_) = cand {
                        assert!(p.item_popularity[i as usize] > 0);
                    }
                }
            }
        }
        assert_eq!(p, prepare(&d, &pr).unwrap(), "deterministic for a seed");
        let other = prepare(&d, &Protocol { seed: 99, ..pr }).unwrap();
        assert_ne!(p.test_candidates, other.test_candidates);
    }
    // popularity sampling favours popular items
    let p = prepare(&d, &proto(Split::LeaveOneOut, Order::Time, GroupBy::User, Candidates::Popularity(20))).unwrap();
    let mut drawn = vec![0usize; p.num_items];
    p.test_candidates.as_ref().unwrap().items.iter().for_each(|&i| drawn[i as usize] += 1);
    let mut by_pop: Vec<usize> = (1..p.num_items).filter(|&i| p.item_popularity[i] > 0).collect();
    by_pop.sort_by_key(|&i| p.item_popularity[i]);
    let half = by_pop.len() / 2;
    let low: usize = by_pop[..half].iter().map(|&i| drawn[i]).sum();
    let high: usize = by_pop[half..].iter().map(|&i| drawn[i]).sum();
    assert!(high > low, "popular half drawn {high}, unpopular half {low}");
    // more negatives than a user can have
    let e = prepare(&d, &proto(Split::LeaveOneOut, Order::Time, GroupBy::User, Candidates::Uniform(80))).unwrap_err();
    assert!(e.to_string().contains("negatives"), "{e}");
}

#[test]
fn sequences_for_next_item_models() {
    // one user, items 1..=6 in time order (ids in order of appearance = time order here)
    let d = table(&[(0, 10, 1), (0, 11, 2), (0, 12, 3), (0, 13, 4), (0, 14, 5), (0, 15, 6), (1, 10, 1), (1, 12, 2)]);
    let pr = Protocol { max_len: Some(3), ..Protocol::recbole_sequential() };
    let p = prepare(&d, &pr).unwrap();
    let s = p.sequences.as_ref().unwrap();
    let id = |t: &str| d.items.get(t).unwrap();
    let ids = |ts: &[&str]| ts.iter().map(|t| if t.is_empty() { 0 } else { id(t) }).collect::<Vec<u32>>();
    assert_eq!(s.train.get(0), &ids(&["i10", "i11", "i12", "i13"])[..]);
    assert_eq!(s.train.get(1), &ids(&["i10"])[..]);
    // user 0's valid row: input the last 3 train items, target i14
    assert_eq!(p.valid.user, vec![0]);
    assert_eq!(s.valid.input(0, 3), &ids(&["i11", "i12", "i13"])[..]);
    assert_eq!((s.valid.targets[0], s.valid.lengths[0]), (id("i14"), 3));
    // test rows: user 0 then user 1 (two rows: train + test, RecBole's rule)
    assert_eq!(p.test.user, vec![0, 1]);
    assert_eq!(s.test.input(0, 3), &ids(&["i12", "i13", "i14"])[..]);
    assert_eq!(s.test.targets, vec![id("i15"), id("i12")]);
    assert_eq!(s.test.input(1, 3), &ids(&["", "", "i10"])[..], "left padding with PAD = 0");
    assert_eq!(s.test.lengths[1], 1);
    // every item carries its timestamp: train items aligned with `train`,
    // eval inputs (0 under padding) followed by the target's time
    assert_eq!(s.train_times.as_deref(), Some(&[1, 2, 3, 4, 1][..]));
    assert_eq!(s.valid.input_times(0, 3), Some(&[2, 3, 4, 5][..]));
    assert_eq!(s.test.input_times(0, 3), Some(&[3, 4, 5, 6][..]));
    assert_eq!(s.test.input_times(1, 3), Some(&[0, 0, 1, 2][..]));

    // a table without timestamps gives sequences without times
    let mut untimed = d.clone();
    untimed.timestamp = None;
    let pr = Protocol { order: Order::Random, ..pr };
    let s = prepare(&untimed, &pr).unwrap().sequences.unwrap();
    assert_eq!((s.train_times, s.valid.times, s.test.times), (None, None, None));
}

#[test]
fn preprocess_filters_and_renumbers() {
    let mut d = table(&[(0, 1, 1), (0, 1, 1), (0, 2, 2), (1, 1, 3), (2, 3, 4)]);
    d.rating = Some(vec![5.0, 5.0, 2.0, 4.0, 5.0]);
    let settings = Preprocess { dedup: true, label_threshold: Some(4.0), positives_only: true, min_user_inter: 1, min_item_inter: 2 };
    let (out, report) = preprocess(&d, &settings).unwrap();
    assert_eq!((report.duplicates, report.negatives_dropped, report.k_core_dropped, report.rows_out), (1, 1, 1, 2));
    assert_eq!((out.users.len(), out.items.len()), (2, 1));
    out.check().unwrap();
    let (same, r) = preprocess(&d, &Preprocess::default()).unwrap();
    assert_eq!((same.len(), r.rows_out), (5, 5));
}

fn fp(settings: &(Preprocess, Protocol)) -> attnlab_data::Fingerprint {
    let src = DataSource::Files(vec![SourceFile { name: "x.inter".into(), sha256: "ab".repeat(32) }]);
    fingerprint(&src, settings).unwrap()
}

#[test]
fn fingerprints_change_with_every_setting_and_source_byte() {
    let base = (Preprocess::default(), Protocol::recbole_general());
    let f0 = fp(&base);
    assert_eq!(f0, fp(&base.clone()));
    let mut changed = vec![];
    let mut s = base.clone();
    s.0.min_user_inter = 5;
    changed.push(s);
    let mut s = base.clone();
    s.1.seed = 2021;
    changed.push(s);
    let mut s = base.clone();
    s.1.split = Split::Ratio([0.8, 0.1, 0.100000001]);
    changed.push(s);
    let mut s = base.clone();
    s.1.candidates = Candidates::Full { exclude_history: false };
    changed.push(s);
    let mut s = base.clone();
    s.1.max_len = Some(50);
    changed.push(s);
    let all: HashSet<String> = changed.iter().map(|s| fp(s).to_string()).chain([f0.to_string()]).collect();
    assert_eq!(all.len(), changed.len() + 1);

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("d.inter"), dir.path().join("d.item"));
    std::fs::write(&a, "user_id:token\titem_id:token\n1\t2\n").unwrap();
    std::fs::write(&b, "item_id:token\n2\n").unwrap();
    let f = |paths: &[&Path]| fingerprint(&DataSource::files(paths).unwrap(), &base).unwrap();
    let first = f(&[&a, &b]);
    assert_eq!(first, f(&[&b, &a]), "file order does not matter");
    std::fs::write(&a, "user_id:token\titem_id:token\n1\t3\n").unwrap();
    assert_ne!(first, f(&[&a, &b]));
}

fn small_prepared(seed: u64) -> Prepared {
    let d = random_table(seed, 20, 40, 400);
    let pr = Protocol { max_len: Some(4), ..proto(Split::LeaveOneOut, Order::Time, GroupBy::User, Candidates::Uniform(5)) };
    prepare(&d, &pr).unwrap()
}

#[test]
fn cache_hit_miss_and_round_trip() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path().join("cache");
    let settings = (Preprocess::default(), Protocol::recbole_general());
    let f = fp(&settings);
    let mut calls = 0;
    let (p, o) = load_or_prepare::<attnlab_data::DataError>(&root, &f, || {
        calls += 1;
        Ok(small_prepared(1))
    })
    .unwrap();
    assert_eq!(o, CacheOutcome::Miss { warnings: vec![] });
    let (q, o) = load_or_prepare::<attnlab_data::DataError>(&root, &f, || {
        calls += 1;
        Ok(small_prepared(2))
    })
    .unwrap();
    assert_eq!((o, calls), (CacheOutcome::Hit, 1));
    assert_eq!(p, q, "the cached data is what was prepared");
    assert!(q.sequences.is_some() && q.test_candidates.is_some() && q.train.timestamp.is_some());
    // any setting change: another fingerprint, a miss
    let mut other = settings.clone();
    other.1.order = Order::Time;
    let (_, o) = load_or_prepare::<attnlab_data::DataError>(&root, &fp(&other), || Ok(small_prepared(1))).unwrap();
    assert!(matches!(o, CacheOutcome::Miss { .. }));
    // errors of prepare come back unchanged, nothing is written
    let f3 = fp(&(Preprocess { dedup: true, ..Default::default() }, Protocol::recbole_general()));
    let e = load_or_prepare(&root, &f3, || Err::<Prepared, _>(attnlab_data::DataError::Invalid { what: "x", message: "boom".into() })).unwrap_err();
    assert!(e.to_string().contains("boom"));
    assert!(!entry_dir(&root, &f3).exists());
    let leftovers: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-")).collect();
    assert!(leftovers.is_empty());
}

/// A pid that no process has now.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_crashed_preparation_is_never_read() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let f = fp(&(Preprocess::default(), Protocol::recbole_sequential()));
    // a crash before the rename: a temp dir with a complete-looking file
    let tmp = root.join(format!(".tmp-{}-00000000deadbeef", dead_pid()));
    std::fs::create_dir_all(&tmp).unwrap();
    attnlab_data::cache::write_file(&tmp.join("prepared.bin"), &small_prepared(7)).unwrap();
    // a live process's temp dir must survive
    let live = root.join(format!(".tmp-{}-0000000000000001", std::process::id()));
    std::fs::create_dir_all(&live).unwrap();
    let (p, o) = load_or_prepare::<attnlab_data::DataError>(root, &f, || Ok(small_prepared(1))).unwrap();
    assert!(matches!(o, CacheOutcome::Miss { .. }));
    assert_eq!(p, small_prepared(1));
    assert!(!tmp.exists(), "the dead process's temp dir is cleaned");
    assert!(live.exists());

    // a truncated entry (e.g. written by hand or a broken disk): rebuilt, not read
    let file = entry_dir(root, &f).join("prepared.bin");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    assert!(read_file(&file).is_err());
    let (p, o) = load_or_prepare::<attnlab_data::DataError>(root, &f, || Ok(small_prepared(3))).unwrap();
    let CacheOutcome::Miss { warnings } = o else { panic!("a truncated entry was read") };
    assert!(warnings.iter().any(|w| w.contains("truncated")), "{warnings:?}");
    assert_eq!(p, small_prepared(3));
    let (q, o) = load_or_prepare::<attnlab_data::DataError>(root, &f, || Ok(small_prepared(4))).unwrap();
    assert_eq!((o, q), (CacheOutcome::Hit, small_prepared(3)), "the rebuilt entry replaced it");
}

#[test]
fn corrupted_checksum_is_a_miss_with_a_warning() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let f = fp(&(Preprocess::default(), Protocol::recbole_context()));
    load_or_prepare::<attnlab_data::DataError>(root, &f, || Ok(small_prepared(1))).unwrap();
    let file = entry_dir(root, &f).join("prepared.bin");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x40; // a payload byte
    std::fs::write(&file, &bytes).unwrap();
    let (p, o) = load_or_prepare::<attnlab_data::DataError>(root, &f, || Ok(small_prepared(2))).unwrap();
    let CacheOutcome::Miss { warnings } = o else { panic!("a corrupt entry was read") };
    assert!(warnings.iter().any(|w| w.contains("checksum")), "{warnings:?}");
    assert_eq!(p, small_prepared(2));
    // a header byte (the format version) is caught too
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8] = 99;
    std::fs::write(&file, &bytes).unwrap();
    let e = read_file(&file).unwrap_err();
    assert!(e.to_string().contains("version"), "{e}");
    std::fs::write(&file, b"").unwrap();
    assert!(read_file(&file).is_err());
}

#[test]
fn stats_of_tables_and_prepared_data() {
    let mut d = table(&[(0, 1, 1), (0, 2, 2), (0, 3, 3), (1, 1, 4), (2, 2, 5), (2, 3, 6)]);
    d.label = Some(vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    let s = stats(&d);
    assert_eq!((s.users, s.items, s.interactions), (3, 3, 6));
    assert!((s.density - 6.0 / 9.0).abs() < 1e-12);
    let dist = s.per_user.unwrap();
    assert_eq!((dist.min, dist.p50, dist.p90, dist.max), (1, 2, 3, 3));
    assert!((dist.mean - 2.0).abs() < 1e-12);
    assert_eq!(s.positive_rate, Some(0.5));
    let p = prepare(&d, &proto(Split::LeaveOneOut, Order::Time, GroupBy::User, full())).unwrap();
    let ps = stats(&p);
    assert_eq!(ps.splits, Some([3, 1, 2]));
    assert_eq!((ps.users, ps.items, ps.interactions, ps.positive_rate), (3, 3, 6, Some(0.5)));
    let text = ps.to_string();
    for needle in ["users", "density", "p90", "train", "LS valid_and_test", "positive rate"] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
}

/// The real data: RecBole 1.2.1's ml-100k, as `make data` fetched it. Figures checked against RecBole 1.2.1 itself
/// (`create_dataset(config).build()` on CPU; `scripts/recbole_split_counts.py`
/// prints them again): BPR's default RS 8:1:1 by user
/// gives 80808 / 9596 / 9596 rows; SASRec's LS gives one valid and one test
/// row per user (943 each) and 97171 training samples, one per prefix of
/// each train sequence (98114 train rows minus each user's first item).
#[test]
fn ml100k_matches_recbole() {
    let files: Vec<&str> = attnlab_data::ML100K_FILES.iter().map(|(name, _)| *name).collect();
    let dest = attnlab_testkit::pinned_data::fetched("ml-100k", &files);
    let raw = attnlab_data::load_atomic(&dest, "ml-100k", &Default::default()).unwrap().interactions;
    let (d, report) = preprocess(&raw, &Preprocess::default()).unwrap();
    assert_eq!(report.rows_out, 100_000);
    let s = stats(&d);
    assert_eq!((s.users, s.items, s.interactions), (943, 1682, 100_000));
    assert_eq!(s.per_user.unwrap().min, 20);

    let p = prepare(&d, &Protocol::recbole_general()).unwrap();
    assert_eq!((p.train.len(), p.valid.len(), p.test.len()), (80_808, 9_596, 9_596));
    assert_partition(&d, &p);

    let p = prepare(&d, &Protocol::recbole_sequential()).unwrap();
    assert_eq!((p.train.len(), p.valid.len(), p.test.len()), (98_114, 943, 943));
    let seq = p.sequences.as_ref().unwrap();
    let samples: usize = (0..p.num_users).map(|u| seq.train.get(u).len().saturating_sub(1)).sum();
    assert_eq!(samples, 97_171, "RecBole's training samples");
    for k in 0..p.valid.len() {
        let train_len = seq.train.get(p.valid.user[k] as usize).len();
        assert_eq!(seq.valid.lengths[k] as usize, train_len.min(50));
        assert_eq!(seq.test.lengths[k] as usize, (train_len + 1).min(50));
    }
}

/// `cold_items`: a seeded share of the items leaves training entirely (train
/// and valid rows dropped, no input sequence holds them); test rows stay.
#[test]
fn cold_items_are_held_out_of_training() {
    let d = random_table(3, 30, 20, 400);
    let warm_protocol = Protocol { max_len: Some(4), ..Protocol::recbole_sequential() };
    let protocol = Protocol { cold_items: Some(0.25), ..warm_protocol.clone() };
    let (warm, p) = (prepare(&d, &warm_protocol).unwrap(), prepare(&d, &protocol).unwrap());
    let cold = protocol.cold_items(p.num_items);
    assert_eq!(cold, protocol.cold_items(p.num_items), "a function of the seed");
    assert_eq!(cold.iter().filter(|&&c| c).count(), 5, "round(0.25 * 20 items)");
    assert!(!cold[0], "PAD is never cold");
    assert!(warm_protocol.cold_items(p.num_items).iter().all(|&c| !c));
    let is_cold = |i: &u32| cold[*i as usize];
    assert!(!p.train.item.iter().any(is_cold) && !p.valid.item.iter().any(is_cold));
    let kept = |s: &attnlab_data::SplitRows| s.row.iter().copied().filter(|&r| !cold[d.item[r as usize] as usize]).collect::<Vec<_>>();
    assert_eq!(p.train.row, kept(&warm.train), "exactly the cold items' train rows go");
    assert_eq!(p.test.row, warm.test.row, "test rows stay, cold ones included");
    assert!(p.test.item.iter().any(is_cold), "some test rows are of cold items");
    let s = p.sequences.as_ref().unwrap();
    assert!(!s.train.items.iter().any(is_cold));
    assert!(!s.valid.inputs.iter().chain(&s.test.inputs).any(is_cold), "no input holds a cold item");
    assert_eq!(s.test.targets, p.test.item);
    for share in [0.0, 1.0, f64::NAN] {
        let bad = Protocol { cold_items: Some(share), ..warm_protocol.clone() };
        assert!(prepare(&d, &bad).is_err(), "cold_items {share}");
    }
}
