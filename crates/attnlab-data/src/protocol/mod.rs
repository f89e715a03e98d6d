//! Evaluation protocols: how a preprocessed interaction table becomes the
//! train / valid / test data every model of an experiment is trained and
//! evaluated on, with RecBole 1.2.1's definitions so numbers compare.
//!
//! # RecBole compatibility
//!
//! - **Order** ([`Order`]): RecBole's `order: RO` shuffles all rows, `TO`
//!   sorts them by time. Here `Random` shuffles with the crate's [`Rng`]
//!   from [`Protocol::seed`] (so the *sizes* of every split match RecBole,
//!   the exact rows cannot: RecBole shuffles with torch's generator), and
//!   `Time` sorts stably by timestamp (ties keep table order).
//! - **Ratio split** ([`Split::Ratio`], RecBole `RS`): with `group_by:
//!   user` each user's rows (in the protocol's order) are cut separately,
//!   otherwise the whole table is cut once. Part sizes follow RecBole's
//!   `Dataset._calcu_split_ids` exactly ([`recbole_split_sizes`]): ratios
//!   are normalised by their (left-to-right) sum, every part but the first
//!   is `int(ratio * n)` (rounded down), the first takes the rest, then,
//!   from the last part backwards and while the first part has more than
//!   one row, a part whose exact share `ratio * n` lies in (0, 1) gets one
//!   row from the first part. On ml-100k with `[0.8, 0.1, 0.1]` grouped by
//!   user this gives 80808 / 9596 / 9596 rows (every user has at least 20).
//! - **Leave-one-out** ([`Split::LeaveOneOut`], RecBole `LS:
//!   valid_and_test`): per user in the protocol's order the last row goes
//!   to test, the second last to valid, the rest to train. As in RecBole's
//!   `_split_index_by_leave_one_out`, a user with two rows gives one to
//!   train and one to **test** (none to valid), and a user with one row
//!   keeps it in train.
//! - **Full ranking** ([`Candidates::Full`]): with `exclude_history` (RecBole
//!   `repeatable: False`, its general-model default) the items ranked for
//!   a user's valid rows exclude the items of the user's *train* rows, and
//!   for test rows the items of *train and valid* rows; in both cases an
//!   item that is also a positive of the evaluated split stays rankable
//!   (RecBole's `history_item = used_item - positive_item`). Without it
//!   (RecBole's sequential models) nothing but PAD is excluded.
//! - **Sampled negatives** ([`Candidates::Uniform`], [`Candidates::Popularity`]):
//!   `n` negatives per evaluated row, like RecBole's `uniN` / `popN`, drawn
//!   once from the seed and saved with the prepared data. Differences,
//!   deliberate: a negative is never an item the user has in *any* split
//!   (RecBole's valid negatives may be test positives), the `n` negatives
//!   of a row are distinct (RecBole draws with replacement), and
//!   popularity is the item's count in the *train* split (alpha 1).

mod candidates;
mod split;

use serde::{Deserialize, Serialize};

pub use candidates::Csr;
pub use split::recbole_split_sizes;

use crate::interactions::Interactions;
use crate::preprocess::{Keep, compact, dedup, k_core, label_from_threshold};
use crate::{DataError, PAD, Result, Rng};

/// Row order inside each group before cutting (RecBole `order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// RecBole `RO`: shuffled with the protocol's seed.
    Random,
    /// RecBole `TO`: by timestamp, ties in table order.
    Time,
}

/// Whether splits are cut per user or over the whole table (RecBole `group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    User,
    None,
}

/// How rows are divided into train / valid / test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// RecBole `RS`: `[train, valid, test]` ratios (need not sum to 1).
    Ratio([f64; 3]),
    /// RecBole `LS: valid_and_test` (always grouped by user).
    LeaveOneOut,
}

/// The items a model ranks for an evaluated row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Candidates {
    /// Every item; `exclude_history` removes the user's earlier-split items
    /// (see the module docs).
    Full { exclude_history: bool },
    /// The positive plus `n` negatives drawn uniformly.
    Uniform(usize),
    /// The positive plus `n` negatives drawn proportionally to train popularity.
    Popularity(usize),
}

/// Everything that decides the prepared data after preprocessing. Part of
/// the data fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    pub split: Split,
    pub order: Order,
    pub group_by: GroupBy,
    pub candidates: Candidates,
    /// Seed of the shuffle (`Order::Random`) and of negative sampling.
    pub seed: u64,
    /// Build next-item sequences with inputs of this length (SASRec-style
    /// models); `None`: no sequences.
    pub max_len: Option<usize>,
    /// Cold start: this share of the item ids (drawn with the seed, see
    /// [`Protocol::cold_items`]) is held out of training entirely: their
    /// train and valid rows are dropped, and they appear in no input
    /// sequence; test rows keep them. `None`: every item is warm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_items: Option<f64>,
}

impl Protocol {
    /// RecBole's general-model default (BPR): `RS [0.8,0.1,0.1]`, grouped by
    /// user, random order, full ranking with history excluded, seed 2020.
    pub fn recbole_general() -> Protocol {
        Protocol {
            split: Split::Ratio([0.8, 0.1, 0.1]),
            order: Order::Random,
            group_by: GroupBy::User,
            candidates: Candidates::Full {
                exclude_history: true,
            },
            seed: 2020,
            max_len: None,
            cold_items: None,
        }
    }

    /// RecBole's sequential default (SASRec, GRU4Rec): `LS valid_and_test`,
    /// time order, full ranking without exclusion, sequences of 50.
    pub fn recbole_sequential() -> Protocol {
        Protocol {
            split: Split::LeaveOneOut,
            order: Order::Time,
            group_by: GroupBy::User,
            candidates: Candidates::Full {
                exclude_history: false,
            },
            seed: 2020,
            max_len: Some(50),
            cold_items: None,
        }
    }

    /// RecBole's context-aware (CTR) default: `RS 8:1:1`, not grouped,
    /// random order (RecBole's `mode: labeled` evaluates the rows' labels;
    /// candidates are then unused).
    pub fn recbole_context() -> Protocol {
        Protocol {
            group_by: GroupBy::None,
            ..Protocol::recbole_general()
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| DataError::Invalid {
            what: "protocol",
            message,
        };
        if let Split::Ratio(r) = self.split {
            if r.iter().any(|x| !x.is_finite() || *x < 0.0) {
                return Err(bad(format!("split ratios {r:?} must be finite and >= 0")));
            }
            if r[0] <= 0.0 {
                return Err(bad(format!("split ratios {r:?}: the train ratio must be > 0")));
            }
        }
        if self.split == Split::LeaveOneOut && self.group_by != GroupBy::User {
            return Err(bad("leave-one-out needs group_by user".into()));
        }
        if let Candidates::Uniform(0) | Candidates::Popularity(0) = self.candidates {
            return Err(bad("a sampled-candidate count must be at least 1".into()));
        }
        if self.max_len == Some(0) {
            return Err(bad("max_len must be at least 1".into()));
        }
        if let Some(share) = self.cold_items.filter(|s| !(s.is_finite() && *s > 0.0 && *s < 1.0)) {
            return Err(bad(format!("cold_items {share} must be in (0, 1)")));
        }
        Ok(())
    }

    /// Which item ids (`num_items` flags, PAD first and never cold) are
    /// cold: `round(share * items)` of the real ids, drawn uniformly with
    /// the protocol's seed. A function of the seed and the id space only,
    /// so prepared data need not store it. All false without `cold_items`.
    pub fn cold_items(&self, num_items: usize) -> Vec<bool> {
        let mut cold = vec![false; num_items];
        let Some(share) = self.cold_items else { return cold };
        let mut ids: Vec<usize> = (1..num_items).collect();
        Rng::new(self.seed ^ 0x636f_6c64).shuffle(&mut ids); // "cold"
        let n = (share * ids.len() as f64).round() as usize;
        ids.into_iter().take(n).for_each(|i| cold[i] = true);
        cold
    }

    /// One line for logs and reports, e.g.
    /// `RS [0.8, 0.1, 0.1] by user, order RO, full ranking (history excluded), seed 2020`.
    pub fn describe(&self) -> String {
        let split = match self.split {
            Split::Ratio(r) => format!("RS {r:?}"),
            Split::LeaveOneOut => "LS valid_and_test".into(),
        };
        let group = match self.group_by {
            GroupBy::User => " by user",
            GroupBy::None => " global",
        };
        let order = match self.order {
            Order::Random => "RO",
            Order::Time => "TO",
        };
        let cand = match self.candidates {
            Candidates::Full {
                exclude_history: true,
            } => "full ranking (history excluded)".to_string(),
            Candidates::Full {
                exclude_history: false,
            } => "full ranking".to_string(),
            Candidates::Uniform(n) => format!("{n} uniform negatives"),
            Candidates::Popularity(n) => format!("{n} popularity negatives"),
        };
        let seq = self
            .max_len
            .map_or(String::new(), |m| format!(", sequences of {m}"));
        let cold = self.cold_items.map_or(String::new(), |c| format!(", {}% of the items cold", c * 100.0));
        format!("{split}{group}, order {order}, {cand}, seed {}{seq}{cold}", self.seed)
    }
}

/// Preprocessing before the split, in this order: deduplicate, label from
/// a rating threshold, k-core filter, re-number ids densely. Part of the
/// data fingerprint. The default changes nothing (RecBole's ml-100k
/// default: no duplicate removal, no `val_interval`, no inter-count
/// filter).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Preprocess {
    /// Drop repeated (user, item, timestamp) rows, keeping the first
    /// (RecBole `rm_dup_inter: first`).
    pub dedup: bool,
    /// `label = rating >= threshold` (RecBole `threshold: {rating: X}`).
    pub label_threshold: Option<f32>,
    /// Keep only rows with a positive label (implicit feedback from
    /// explicit ratings); needs a label.
    pub positives_only: bool,
    /// k-core bounds (RecBole `user_inter_num_interval: "[k,inf)"`); 0 = none.
    pub min_user_inter: usize,
    pub min_item_inter: usize,
}

/// What preprocessing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PreprocessReport {
    pub rows_in: usize,
    pub duplicates: usize,
    pub negatives_dropped: usize,
    pub k_core_dropped: usize,
    pub rows_out: usize,
}

/// Applies `settings` and re-numbers users and items to those left.
pub fn preprocess(data: &Interactions, settings: &Preprocess) -> Result<(Interactions, PreprocessReport)> {
    let mut report = PreprocessReport {
        rows_in: data.len(),
        ..Default::default()
    };
    let mut cur = std::borrow::Cow::Borrowed(data);
    if settings.dedup {
        let (d, dropped) = dedup(&cur, Keep::First);
        report.duplicates = dropped;
        cur = std::borrow::Cow::Owned(d);
    }
    if let Some(t) = settings.label_threshold {
        let mut d = cur.into_owned();
        label_from_threshold(&mut d, t)?;
        cur = std::borrow::Cow::Owned(d);
    }
    if settings.positives_only {
        let Some(label) = &cur.label else {
            return Err(DataError::Invalid {
                what: "preprocessing",
                message: "positives_only needs a label (set label_threshold or load one)".into(),
            });
        };
        let rows: Vec<usize> = (0..cur.len()).filter(|&r| label[r] > 0.5).collect();
        report.negatives_dropped = cur.len() - rows.len();
        cur = std::borrow::Cow::Owned(cur.select(&rows));
    }
    if settings.min_user_inter > 1 || settings.min_item_inter > 1 {
        let (d, r) = k_core(&cur, settings.min_user_inter, settings.min_item_inter);
        report.k_core_dropped = r.rows_before - r.rows_after;
        cur = std::borrow::Cow::Owned(d);
    }
    let out = compact(&cur).data;
    report.rows_out = out.len();
    Ok((out, report))
}

/// The rows of one split, plain columns, row-aligned. Rows are user-major
/// (users ascending), each user's rows in the protocol's order; sampled
/// candidates and eval sequences are aligned with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitRows {
    /// Row index in the preprocessed table the split was cut from.
    pub row: Vec<u32>,
    pub user: Vec<u32>,
    pub item: Vec<u32>,
    pub timestamp: Option<Vec<i64>>,
    pub label: Option<Vec<f32>>,
}

impl SplitRows {
    pub fn len(&self) -> usize {
        self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    fn from_rows(data: &Interactions, rows: &[u32]) -> SplitRows {
        let col = |v: &Vec<u32>| rows.iter().map(|&r| v[r as usize]).collect();
        SplitRows {
            row: rows.to_vec(),
            user: col(&data.user),
            item: col(&data.item),
            timestamp: data
                .timestamp
                .as_ref()
                .map(|t| rows.iter().map(|&r| t[r as usize]).collect()),
            label: data
                .label
                .as_ref()
                .map(|t| rows.iter().map(|&r| t[r as usize]).collect()),
        }
    }
}

/// Which split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Train,
    Valid,
    Test,
}

/// Saved negatives of one evaluated split: row-major `[rows, per_row]`,
/// row `k` for the split's row `k`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampledCandidates {
    pub per_row: usize,
    pub items: Vec<u32>,
}

impl SampledCandidates {
    pub fn row(&self, k: usize) -> &[u32] {
        &self.items[k * self.per_row..(k + 1) * self.per_row]
    }
}

/// Next-item inputs for the rows of an evaluated split: row `k` predicts
/// `target[k]` from the user's items before it (in the protocol's order,
/// all splits), the last `max_len`, left-padded with PAD.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalSequences {
    /// Row-major `[rows, max_len]`.
    pub inputs: Vec<u32>,
    pub lengths: Vec<u32>,
    pub targets: Vec<u32>,
    /// When the table has timestamps: row-major `[rows, max_len + 1]`, the
    /// timestamp of every input (0 under padding) followed by the target's,
    /// the time the prediction is made.
    pub times: Option<Vec<i64>>,
}

impl EvalSequences {
    pub fn input(&self, k: usize, max_len: usize) -> &[u32] {
        &self.inputs[k * max_len..(k + 1) * max_len]
    }

    /// Row `k`'s `max_len + 1` timestamps (see [`EvalSequences::times`]).
    pub fn input_times(&self, k: usize, max_len: usize) -> Option<&[i64]> {
        let w = max_len + 1;
        self.times.as_ref().map(|t| &t[k * w..(k + 1) * w])
    }
}

/// Sequences for next-item models.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SequenceData {
    pub max_len: usize,
    /// Per user, the items of their train rows in the protocol's order
    /// (not truncated: a trainer takes one sample per prefix, as RecBole).
    pub train: Csr,
    /// When the table has timestamps: the timestamp of every item of
    /// `train`, aligned with `train.items` (time-aware models read them;
    /// the others ignore them).
    pub train_times: Option<Vec<i64>>,
    pub valid: EvalSequences,
    pub test: EvalSequences,
}

/// The prepared data of one experiment: what every model trains and is
/// evaluated on. Plain columns; cached by [`crate::cache`].
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub protocol: Protocol,
    /// Users: ids `0..num_users`.
    pub num_users: usize,
    /// Item id space including PAD (ids `1..num_items`).
    pub num_items: usize,
    pub train: SplitRows,
    pub valid: SplitRows,
    pub test: SplitRows,
    /// Per user, every item they have in any split (sorted, distinct):
    /// never a sampled negative.
    pub positives: Csr,
    /// Per user, the items of their train rows (sorted, distinct).
    pub train_items: Csr,
    /// Full-ranking exclusion for valid rows: train items that are not
    /// valid positives of the user.
    pub exclude_valid: Csr,
    /// Full-ranking exclusion for test rows: train and valid items that are
    /// not test positives of the user.
    pub exclude_test: Csr,
    pub valid_candidates: Option<SampledCandidates>,
    pub test_candidates: Option<SampledCandidates>,
    pub sequences: Option<SequenceData>,
    /// Train rows per item id (`num_items` entries; PAD has 0).
    pub item_popularity: Vec<u32>,
}

impl Prepared {
    pub fn split(&self, part: Part) -> &SplitRows {
        match part {
            Part::Train => &self.train,
            Part::Valid => &self.valid,
            Part::Test => &self.test,
        }
    }

    /// The items to exclude from full ranking for `part`'s rows, or `None`
    /// when the protocol excludes nothing (or samples candidates).
    pub fn exclusion(&self, part: Part) -> Option<&Csr> {
        match (self.protocol.candidates, part) {
            (Candidates::Full { exclude_history: true }, Part::Valid) => Some(&self.exclude_valid),
            (Candidates::Full { exclude_history: true }, Part::Test) => Some(&self.exclude_test),
            _ => None,
        }
    }

    pub fn candidates(&self, part: Part) -> Option<&SampledCandidates> {
        match part {
            Part::Train => None,
            Part::Valid => self.valid_candidates.as_ref(),
            Part::Test => self.test_candidates.as_ref(),
        }
    }
}

/// Splits `data` (a preprocessed table) by `protocol` and builds exclusion
/// sets, candidates and sequences.
pub fn prepare(data: &Interactions, protocol: &Protocol) -> Result<Prepared> {
    protocol.validate()?;
    if data.is_empty() {
        return Err(DataError::Invalid {
            what: "protocol",
            message: "the table has no rows".into(),
        });
    }
    let num_users = data.num_users();
    let num_items = data.num_items();
    let order = split::order_rows(data, protocol.order, protocol.seed)?;
    let groups = split::group(data, &order, protocol.group_by, num_users);
    let mut assigned = split::assign(&groups, data, protocol)?;
    hold_out_cold_items(&mut assigned, data, &protocol.cold_items(num_items));
    let parts = assigned.parts;
    let [train, valid, test] = [&parts[0], &parts[1], &parts[2]].map(|rows| SplitRows::from_rows(data, rows));
    if train.is_empty() {
        return Err(DataError::EmptySplit {
            ratios: match protocol.split {
                Split::Ratio(r) => r,
                Split::LeaveOneOut => [f64::NAN; 3],
            },
            rows: data.len(),
            part: "train",
        });
    }
    let mut item_popularity = vec![0u32; num_items];
    for &i in &train.item {
        item_popularity[i as usize] += 1;
    }
    let train_items = Csr::distinct_per_user(num_users, &train.user, &train.item);
    let valid_items = Csr::distinct_per_user(num_users, &valid.user, &valid.item);
    let test_items = Csr::distinct_per_user(num_users, &test.user, &test.item);
    let positives = Csr::distinct_per_user(num_users, &data.user, &data.item);
    let exclude_valid = train_items.minus(&valid_items);
    let exclude_test = train_items.union(&valid_items).minus(&test_items);
    let (valid_candidates, test_candidates) = match protocol.candidates {
        Candidates::Full { .. } => (None, None),
        Candidates::Uniform(n) | Candidates::Popularity(n) => {
            let weights = matches!(protocol.candidates, Candidates::Popularity(_)).then_some(&item_popularity[..]);
            let mut rng = Rng::new(protocol.seed ^ 0x6e65_6761_7469_7665); // "negative"
            let v = candidates::sample(&valid.user, &positives, num_items, n, weights, &mut rng.fork(1))?;
            let t = candidates::sample(&test.user, &positives, num_items, n, weights, &mut rng.fork(2))?;
            (Some(v), Some(t))
        }
    };
    let sequences = protocol
        .max_len
        .map(|max_len| build_sequences(data, &groups, &assigned.part_of, num_users, max_len));
    Ok(Prepared {
        protocol: protocol.clone(),
        num_users,
        num_items,
        train,
        valid,
        test,
        positives,
        train_items,
        exclude_valid,
        exclude_test,
        valid_candidates,
        test_candidates,
        sequences,
        item_popularity,
    })
}

/// Part of a row held out of every split: a cold item's train or valid row.
const HELD_OUT: u8 = 3;

/// Drops the train and valid rows of cold items (test rows stay).
fn hold_out_cold_items(assigned: &mut split::Assigned, data: &Interactions, cold: &[bool]) {
    if !cold.contains(&true) {
        return;
    }
    for part in 0..2 {
        assigned.parts[part].retain(|&r| {
            let keep = !cold[data.item[r as usize] as usize];
            if !keep {
                assigned.part_of[r as usize] = HELD_OUT;
            }
            keep
        });
    }
}

/// Sequences from the per-user ordered groups and each row's part; a
/// held-out row is in no input.
fn build_sequences(
    data: &Interactions,
    groups: &split::Groups,
    part_of: &[u8],
    num_users: usize,
    max_len: usize,
) -> SequenceData {
    let ts = data.timestamp.as_ref();
    let mut train_offsets = vec![0u64; num_users + 1];
    let mut train_items = Vec::new();
    let mut train_times = ts.map(|_| Vec::new());
    let blank = || EvalSequences { times: ts.map(|_| Vec::new()), ..EvalSequences::default() };
    let mut eval = [blank(), blank()];
    // eval rows come out user-major, in group order: the same order as the split rows
    for u in 0..num_users {
        let all = groups.user_rows(u);
        let rows: Vec<u32> = all.iter().copied().filter(|&r| part_of[r as usize] != HELD_OUT).collect();
        for (p, &r) in rows.iter().enumerate() {
            match part_of[r as usize] {
                0 => {
                    train_items.push(data.item[r as usize]);
                    if let (Some(out), Some(ts)) = (&mut train_times, ts) {
                        out.push(ts[r as usize]);
                    }
                }
                k @ (1 | 2) => {
                    let e = &mut eval[k as usize - 1];
                    let start = p.saturating_sub(max_len);
                    let prefix = &rows[start..p];
                    e.inputs.extend(std::iter::repeat_n(PAD, max_len - prefix.len()));
                    e.inputs.extend(prefix.iter().map(|&q| data.item[q as usize]));
                    e.lengths.push(prefix.len() as u32);
                    e.targets.push(data.item[r as usize]);
                    if let (Some(out), Some(ts)) = (&mut e.times, ts) {
                        out.extend(std::iter::repeat_n(0, max_len - prefix.len()));
                        out.extend(prefix.iter().map(|&q| ts[q as usize]));
                        out.push(ts[r as usize]);
                    }
                }
                _ => {}
            }
        }
        train_offsets[u + 1] = train_items.len() as u64;
    }
    let [valid, test] = eval;
    SequenceData {
        max_len,
        train: Csr {
            offsets: train_offsets,
            items: train_items,
        },
        train_times,
        valid,
        test,
    }
}
