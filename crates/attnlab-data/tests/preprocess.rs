use std::collections::{BTreeSet, HashMap};

use attnlab_data::preprocess::{
    Keep, MinCount, Norm, Normalizer, build_sequences, compact, dedup, k_core, label_from_threshold,
};
use attnlab_data::{Interactions, PAD, Rng, Vocab};

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
    d.rating = Some((0..rows.len()).map(|k| (k % 5 + 1) as f32).collect());
    d
}

fn random_table(rng: &mut Rng, users: usize, items: usize, rows: usize) -> Interactions {
    let rows: Vec<(u32, u32, i64)> = (0..rows)
        .map(|_| {
            (
                rng.below(users) as u32,
                rng.below(items) as u32,
                rng.below(50) as i64,
            )
        })
        .collect();
    table(&rows)
}

fn degrees(d: &Interactions) -> (HashMap<u32, usize>, HashMap<u32, usize>) {
    let (mut du, mut di) = (HashMap::new(), HashMap::new());
    for r in 0..d.len() {
        *du.entry(d.user[r]).or_default() += 1;
        *di.entry(d.item[r]).or_default() += 1;
    }
    (du, di)
}

/// Largest row set meeting the bounds, by brute force over subsets of ids.
fn brute_force_core(d: &Interactions, ku: usize, ki: usize) -> BTreeSet<usize> {
    let users: Vec<u32> = d
        .user
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let items: Vec<u32> = d
        .item
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut best = BTreeSet::new();
    for mask in 0u32..(1 << (users.len() + items.len())) {
        let keep_u = |u: u32| mask >> users.iter().position(|&x| x == u).unwrap() & 1 == 1;
        let keep_i =
            |i: u32| mask >> (users.len() + items.iter().position(|&x| x == i).unwrap()) & 1 == 1;
        let rows: BTreeSet<usize> = (0..d.len())
            .filter(|&r| keep_u(d.user[r]) && keep_i(d.item[r]))
            .collect();
        let sub = d.select(&rows.iter().copied().collect::<Vec<_>>());
        let (du, di) = degrees(&sub);
        if du.values().all(|&c| c >= ku) && di.values().all(|&c| c >= ki) && rows.len() > best.len()
        {
            best = rows;
        }
    }
    best
}

#[test]
fn k_core_is_the_maximal_subgraph_meeting_the_bounds() {
    let mut rng = Rng::new(11);
    let mut nontrivial = 0;
    for case in 0..60 {
        let d = random_table(&mut rng, 5, 5, 6 + case % 14);
        let (ku, ki) = (1 + case % 3, 1 + (case / 3) % 3);
        // tag rows so the filtered table can be mapped back
        let mut tagged = d.clone();
        tagged.timestamp = Some((0..d.len() as i64).collect());
        let (core, report) = k_core(&tagged, ku, ki);
        let kept: BTreeSet<usize> = core
            .timestamp
            .as_ref()
            .unwrap()
            .iter()
            .map(|&t| t as usize)
            .collect();
        let (du, di) = degrees(&core);
        assert!(
            du.values().all(|&c| c >= ku) && di.values().all(|&c| c >= ki),
            "case {case}"
        );
        assert_eq!(
            kept,
            brute_force_core(&d, ku, ki),
            "case {case}: k=({ku},{ki})"
        );
        assert_eq!(report.rows_after, core.len());
        assert_eq!(
            (report.users_after, report.items_after),
            (du.len(), di.len())
        );
        nontrivial += (report.rows_after > 0 && report.rows_after < report.rows_before) as usize;
    }
    assert!(
        nontrivial > 10,
        "too few cases exercise partial filtering: {nontrivial}"
    );
}

#[test]
fn k_core_cascades_to_a_fixed_point() {
    // removing u2 (1 row) drops i1 below 2, which drops u1 below 2: a chain
    let d = table(&[
        (1, 1, 0),
        (2, 1, 0),
        (1, 2, 0),
        (3, 2, 0),
        (3, 3, 0),
        (4, 3, 0),
        (3, 4, 0),
        (4, 4, 0),
    ]);
    let (core, report) = k_core(&d, 2, 2);
    assert_eq!(report.rows_before, 8);
    let pairs: Vec<(&str, &str)> = (0..core.len())
        .map(|r| {
            (
                core.users.token(core.user[r]).unwrap(),
                core.items.token(core.item[r]).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [("u3", "i3"), ("u4", "i3"), ("u3", "i4"), ("u4", "i4")]
    );
    // one more: nothing left to remove
    let (again, _) = k_core(&core, 2, 2);
    assert_eq!(again, core);
}

#[test]
fn large_k_core_agrees_with_repeated_passes() {
    let mut rng = Rng::new(5);
    let d = random_table(&mut rng, 300, 200, 4000);
    let (core, _) = k_core(&d, 10, 12);
    let mut passes = d.clone();
    loop {
        let (du, di) = degrees(&passes);
        let rows: Vec<usize> = (0..passes.len())
            .filter(|&r| du[&passes.user[r]] >= 10 && di[&passes.item[r]] >= 12)
            .collect();
        if rows.len() == passes.len() {
            break;
        }
        passes = passes.select(&rows);
    }
    assert!(core.len() > 100 && core.len() < d.len(), "{}", core.len());
    assert_eq!(core, passes);
}

#[test]
fn compact_renumbers_densely() {
    let d = table(&[(1, 1, 0), (2, 1, 0), (3, 2, 0), (3, 3, 0)]);
    let (core, _) = k_core(&d, 2, 1);
    let c = compact(&core);
    c.data.check().unwrap();
    assert_eq!(c.data.users.tokens().collect::<Vec<_>>(), ["u3"]);
    assert_eq!(c.data.items.tokens().collect::<Vec<_>>(), ["i2", "i3"]);
    assert_eq!(
        (c.data.user.clone(), c.data.item.clone()),
        (vec![0, 0], vec![1, 2])
    );
    assert_eq!(c.item_map, [Some(0), None, Some(1), Some(2)]);
}

#[test]
fn dedup_keeps_first_or_last() {
    let mut d = table(&[(1, 1, 5), (1, 1, 5), (1, 1, 6), (2, 1, 5), (1, 1, 5)]);
    d.rating = Some(vec![1., 2., 3., 4., 5.]);
    let (first, dropped) = dedup(&d, Keep::First);
    assert_eq!(dropped, 2);
    assert_eq!(first.rating.unwrap(), [1., 3., 4.]);
    let (last, _) = dedup(&d, Keep::Last);
    assert_eq!(last.rating.unwrap(), [3., 4., 5.]);
    d.timestamp = None;
    assert_eq!(dedup(&d, Keep::First).1, 3);
}

#[test]
fn label_threshold() {
    let mut d = table(&[(1, 1, 0), (1, 2, 0), (1, 3, 0), (1, 4, 0), (1, 5, 0)]);
    label_from_threshold(&mut d, 4.0).unwrap();
    assert_eq!(d.label.as_ref().unwrap(), &[0., 0., 0., 1., 1.]);
    d.rating.as_mut().unwrap()[2] = f32::NAN;
    let e = label_from_threshold(&mut d, 4.0).unwrap_err();
    assert!(e.to_string().contains("row 2"), "{e}");
    d.rating = None;
    assert!(label_from_threshold(&mut d, 4.0).is_err());
}

#[test]
fn sequences_in_time_order_ties_by_table_order() {
    let d = table(&[
        (1, 10, 30),
        (2, 20, 5),
        (1, 11, 10),
        (1, 12, 30),
        (1, 13, 10),
        (1, 14, 1),
    ]);
    let s = build_sequences(&d, 3).unwrap();
    assert_eq!(s.users, [0, 1]);
    let tok = |id: u32| d.items.token(id).unwrap().to_string();
    // u1 by time: 14(1), 11(10), 13(10), 10(30), 12(30) -> the last 3
    assert_eq!(
        s.items_of(0).iter().map(|&i| tok(i)).collect::<Vec<_>>(),
        ["i13", "i10", "i12"]
    );
    assert_eq!(s.row(1)[..2], [PAD, PAD]);
    assert_eq!(tok(s.row(1)[2]), "i20");
    assert_eq!(s.lengths, [3, 1]);
    assert_eq!(s.truncated, 1);
    assert!(build_sequences(&d, 0).is_err());
}

#[test]
fn sequences_match_a_sequential_sort_on_a_large_table() {
    let mut rng = Rng::new(9);
    let d = random_table(&mut rng, 500, 300, 20_000);
    let s = build_sequences(&d, 50).unwrap();
    let ts = d.timestamp.as_ref().unwrap();
    for (k, &u) in s.users.iter().enumerate() {
        let mut rows: Vec<usize> = (0..d.len()).filter(|&r| d.user[r] == u).collect();
        rows.sort_by_key(|&r| (ts[r], r));
        let want: Vec<u32> = rows[rows.len().saturating_sub(50)..]
            .iter()
            .map(|&r| d.item[r])
            .collect();
        assert_eq!(s.items_of(k), want, "user {u}");
        assert!(s.row(k)[..50 - want.len()].iter().all(|&p| p == PAD));
    }
}

#[test]
fn min_count_sends_rare_tokens_to_oov() {
    let mut vocab = Vocab::padded();
    let ids: Vec<u32> = ["a", "b", "a", "c", "a", "b"]
        .iter()
        .map(|t| vocab.intern(t))
        .collect();
    vocab.intern("unseen");
    let enc = MinCount::fit(&ids[..5], &vocab, 2).unwrap(); // fit on a "training" prefix: b once
    assert_eq!(enc.vocab.tokens().collect::<Vec<_>>(), ["a"]);
    let mut all = ids.clone();
    all.push(PAD);
    enc.apply(&mut all);
    assert_eq!(all, [2, 1, 2, 1, 2, 1, PAD]);
    let keep_all = MinCount::fit(&ids, &vocab, 0).unwrap();
    assert_eq!(keep_all.vocab.len(), 4);
    assert!(MinCount::fit(&[99], &vocab, 1).is_err());
}

#[test]
fn normalisers() {
    let train = [1.0, 3.0, f32::NAN, 5.0];
    let mm = Normalizer::fit(&train, Norm::MinMax).unwrap();
    let mut v = vec![1.0, 5.0, 3.0, f32::NAN, 7.0];
    mm.apply(&mut v);
    assert_eq!(v[..3], [0.0, 1.0, 0.5]);
    assert!(v[3].is_nan());
    assert_eq!(v[4], 1.5);
    let z = Normalizer::fit(&train, Norm::ZScore).unwrap();
    let std = (8.0f64 / 3.0).sqrt();
    assert!((z.transform(5.0) as f64 - 2.0 / std).abs() < 1e-6);
    let l = Normalizer::fit(&[], Norm::Log1p).unwrap();
    assert_eq!(l.transform(0.0), 0.0);
    assert!(
        (l.transform(3.0) - 4f32.ln()).abs() < 1e-6 && (l.transform(-3.0) + 4f32.ln()).abs() < 1e-6
    );
    assert_eq!(
        Normalizer::fit(&[2.0, 2.0], Norm::ZScore)
            .unwrap()
            .transform(2.0),
        0.0
    );
    assert!(Normalizer::fit(&[f32::NAN], Norm::MinMax).is_err());
}
