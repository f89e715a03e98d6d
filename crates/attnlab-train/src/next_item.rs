//! Next-item training and full-ranking evaluation for [`NextItemModel`]s on
//! a protocol's [`Prepared`] data, through the shared epoch loop.
//!
//! # Training examples ([`NextItemExamples`])
//!
//! Which kind a run gets is the *model's* choice, as in RecBole (model type
//! `SEQUENTIAL` or `GENERAL`), not the protocol's: a protocol may build
//! sequences for the sequential models of an experiment (the CLI always
//! does), and a general model such as BPR must still see every train row.
//!
//! - **Sequential models** ([`NextItemModel::sequential`]) on a protocol with
//!   sequences (`Prepared::sequences`, e.g. RecBole's `LS`), in one of two
//!   ways ([`SequenceExamples`]):
//!   - *windows* (the default): a user's training sequence `s` gives the
//!     pairs `s[j] -> s[j+1]`, cut from the most recent backwards into
//!     windows of `max_len` positions; each window is one example, `inputs =
//!     s[a..b]`, `targets = s[a+1..b+1]`, left-padded with 0 (target 0 = no
//!     target), so a model learns from every position in one pass (SASRec's
//!     training). An example then holds up to `max_len` targets, so a small
//!     `batch_size` keeps the optimizer steps per epoch near RecBole's.
//!   - *prefixes*: as RecBole's `data_augmentation`, one example per target
//!     `s[j]` (`j >= 1`) with `inputs` the up to `max_len` items before it,
//!     left-padded; the target only at the last position, so every target
//!     sees its full context, at about `max_len` times the work per epoch.
//!
//!   `negatives` holds one sampled item per target position.
//! - **General models** (BPR, Pop), or any model on a protocol without
//!   sequences: every training row is an example (an epoch is all train
//!   interactions, as RecBole's), `targets [B, 1]` the row's item,
//!   `negatives [B, 1]` an item the user has no training row with,
//!   `inputs [B, 1]` padding.
//!
//! Sequence examples carry their items' timestamps when the data has them
//! (`SeqBatch::timestamps`: each input's, then the last target's, the time
//! the prediction is made), and so do evaluated rows; time-aware models
//! (HSTU) read them, the others ignore them.
//!
//! Negatives are drawn uniformly from `1..num_items`, never one of the
//! user's training items (given up after a few draws for a user who has
//! nearly all), from a seed of (run seed, epoch, step): the same batches
//! whether or not they are gathered ahead.
//!
//! # Evaluation ([`evaluate_next_item`])
//!
//! The unit evaluated is, for a sequential model on a protocol with
//! sequences, one row of the split (its input sequence, its target as the
//! one relevant item), otherwise one user (all their items in the split are
//! relevant, as RecBole's full-sort evaluation of general models; the model
//! gets `[B, 1]` padding as input). Scores come from `model.score` under
//! `no_grad`, [`EVAL_CHUNK`] units at a time on the device. With full
//! ranking the padding item 0 and, when the protocol excludes history, the
//! user's excluded items ([`Prepared::exclusion`]) are taken out of the
//! candidates by [`RankingEvaluator`]'s own exclusion (once, nowhere else).
//! With sampled candidates a unit is ranked among its relevant items and
//! their saved negatives.

use attnlab_data::{Csr, Part, Prepared, Rng, SequenceData, SplitRows, PAD};
use attnlab_eval::{Metric, RankingEvaluator, RankingOptions, RankingReport};
use attnlab_models::{NextItemModel, SeqBatch};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::amp::{autocast, Amp};
use crate::padding::{drop_columns, padding_columns};
use crate::engine::{fit, BatchSource, TrainTask};
use attnlab_eval::TaskMetric;
use crate::trainer::{EpochObserver, TrainConfig, TrainOutcome};
use crate::{Result, TrainError};

/// Units (rows or users) scored per call of `model.score` in evaluation.
pub const EVAL_CHUNK: usize = 256;

/// Draws before a user's negative may be one of their items.
const NEGATIVE_TRIES: usize = 32;

/// One next-item batch as host buffers (int64, row-major).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeqRaw {
    pub rows: usize,
    /// Positions per example: `max_len` for sequences, 1 for pairs.
    pub width: usize,
    pub users: Vec<i64>,
    pub inputs: Vec<i64>,
    pub targets: Vec<i64>,
    pub negatives: Vec<i64>,
    /// When the data has timestamps, `rows x (width + 1)`: each input's
    /// timestamp (0 under padding), then the time of the last target
    /// ([`SeqBatch::timestamps`]); empty otherwise.
    pub times: Vec<i64>,
    /// One flag per item id, true for the items held out of training
    /// ([`SeqBatch::held_out`]); empty when none is.
    pub held_out: Vec<bool>,
}

impl SeqRaw {
    /// The model's batch on `device`.
    pub fn to_batch(&self, device: Device) -> SeqBatch {
        let (b, w) = (self.rows as i64, self.width as i64);
        let ids = |v: &[i64]| Tensor::from_slice(v).view([b, w]).to_device(device);
        SeqBatch {
            users: Tensor::from_slice(&self.users).to_device(device),
            inputs: ids(&self.inputs),
            targets: ids(&self.targets),
            negatives: Some(ids(&self.negatives)),
            timestamps: (!self.times.is_empty()).then(|| Tensor::from_slice(&self.times).view([b, w + 1]).to_device(device)),
            held_out: (!self.held_out.is_empty()).then(|| Tensor::from_slice(&self.held_out).to_device(device)),
        }
    }

    /// Drops the first columns that are padding in every row (inputs,
    /// targets, negatives and timestamps alike): the batch of a model that
    /// trims padding costs its longest real sequence, not `max_len`.
    pub fn trim_padding(&mut self) {
        let (w, k) = (self.width, padding_columns(&self.inputs, self.width));
        if k == 0 {
            return;
        }
        self.inputs = drop_columns(&self.inputs, w, k);
        self.targets = drop_columns(&self.targets, w, k);
        self.negatives = drop_columns(&self.negatives, w, k);
        self.times = drop_columns(&self.times, w + 1, k);
        self.width = w - k;
    }
}

/// How a sequential model's training sequences become examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceExamples {
    /// Windows of `max_len` positions, a step of `stride` targets apart
    /// (`None`: `max_len`, windows that do not overlap), a loss at each
    /// of a window's `stride` last positions.
    Windows { stride: Option<usize> },
    /// One example per target, with its full context.
    Prefixes,
}

impl Default for SequenceExamples {
    fn default() -> Self {
        SequenceExamples::Windows { stride: None }
    }
}

enum Examples<'a> {
    /// (user, end): the pairs `end - max_len .. end` of the user's sequence,
    /// those before `end - stride` as context only.
    Windows { sequences: &'a Csr, max_len: usize, stride: usize, windows: Vec<(u32, u32)> },
    /// (user, j): target `s[j]` of the user's sequence `s`, after `s[..j]`.
    Prefixes { sequences: &'a Csr, max_len: usize, prefixes: Vec<(u32, u32)> },
    Pairs { rows: &'a SplitRows },
}

/// The timestamps of a user's training sequence, aligned with its items.
fn user_times<'t>(times: &'t [i64], sequences: &Csr, user: u32) -> &'t [i64] {
    let u = user as usize;
    &times[sequences.offsets[u] as usize..sequences.offsets[u + 1] as usize]
}

/// Appends one example's `width + 1` timestamps: those of `s[start..end]`
/// left-padded with 0 to `width`, then that of `s[end]` (the last target).
fn push_times(out: &mut Vec<i64>, times: &[i64], start: usize, end: usize, width: usize) {
    out.extend(std::iter::repeat_n(0, width - (end - start)));
    out.extend_from_slice(&times[start..=end]);
}

/// The training examples of a prepared data set (see the module docs).
pub struct NextItemExamples<'a> {
    kind: Examples<'a>,
    /// The training sequences' timestamps (aligned with their items), when
    /// the data has them and the examples are sequences.
    times: Option<&'a [i64]>,
    /// Per user, the items never drawn as their negatives.
    positives: &'a Csr,
    num_items: usize,
    /// The protocol's cold items (empty: none): never a negative, out of
    /// every full softmax.
    held_out: Vec<bool>,
    /// Cut each batch to its longest real sequence
    /// ([`NextItemModel::trims_padding`]).
    trim: bool,
}

/// The protocol's sequences when `model` reads them (see the module docs).
fn sequences_for<'a>(model: &dyn NextItemModel, prepared: &'a Prepared) -> Option<&'a SequenceData> {
    prepared.sequences.as_ref().filter(|_| model.sequential())
}

impl<'a> NextItemExamples<'a> {
    /// The training examples `model` learns from: windows or prefixes of the
    /// protocol's sequences for a sequential model, the train rows otherwise.
    pub fn new(prepared: &'a Prepared, model: &dyn NextItemModel, how: SequenceExamples) -> NextItemExamples<'a> {
        let kind = match (sequences_for(model, prepared), how) {
            (Some(seq), SequenceExamples::Windows { stride }) => {
                let max_len = seq.max_len.max(1);
                let stride = stride.unwrap_or(max_len).clamp(1, max_len);
                let mut windows = Vec::new();
                for u in 0..seq.train.users() {
                    let mut end = seq.train.get(u).len().saturating_sub(1);
                    while end > 0 {
                        windows.push((u as u32, end as u32));
                        end = end.saturating_sub(stride);
                    }
                }
                Examples::Windows { sequences: &seq.train, max_len, stride, windows }
            }
            (Some(seq), SequenceExamples::Prefixes) => {
                let prefixes = (0..seq.train.users())
                    .flat_map(|u| (1..seq.train.get(u).len()).map(move |j| (u as u32, j as u32)))
                    .collect();
                Examples::Prefixes { sequences: &seq.train, max_len: seq.max_len.max(1), prefixes }
            }
            (None, _) => Examples::Pairs { rows: &prepared.train },
        };
        let times = match kind {
            Examples::Pairs { .. } => None,
            _ => prepared.sequences.as_ref().and_then(|seq| seq.train_times.as_deref()),
        };
        let held_out = prepared.protocol.cold_items(prepared.num_items);
        let held_out = if held_out.contains(&true) { held_out } else { Vec::new() };
        let trim = model.trims_padding();
        NextItemExamples { kind, times, positives: &prepared.train_items, num_items: prepared.num_items, held_out, trim }
    }

    fn negative(&self, rng: &mut Rng, user: u32) -> i64 {
        if self.num_items < 2 {
            return i64::from(PAD);
        }
        let own = self.positives.get(user as usize);
        let mut item = 0;
        for _ in 0..NEGATIVE_TRIES {
            item = 1 + rng.below(self.num_items - 1) as u32;
            if own.binary_search(&item).is_err() && !self.held_out.get(item as usize).copied().unwrap_or(false) {
                break;
            }
        }
        i64::from(item)
    }
}

impl BatchSource for NextItemExamples<'_> {
    type Batch = SeqRaw;

    fn len(&self) -> usize {
        match &self.kind {
            Examples::Windows { windows, .. } => windows.len(),
            Examples::Prefixes { prefixes, .. } => prefixes.len(),
            Examples::Pairs { rows } => rows.len(),
        }
    }

    /// The input positions example `row` fills (the rest is padding).
    fn example_len(&self, row: usize) -> usize {
        match &self.kind {
            Examples::Windows { max_len, windows, .. } => (windows[row].1 as usize).min(*max_len),
            Examples::Prefixes { max_len, prefixes, .. } => (prefixes[row].1 as usize).min(*max_len),
            Examples::Pairs { .. } => 1,
        }
    }

    fn gather(&self, rows: &[usize], seed: u64) -> SeqRaw {
        let mut rng = Rng::new(seed);
        let mut out = SeqRaw { rows: rows.len(), held_out: self.held_out.clone(), ..SeqRaw::default() };
        match &self.kind {
            Examples::Windows { sequences, max_len, stride, windows } => {
                out.width = *max_len;
                for &r in rows {
                    let (user, end) = windows[r];
                    let s = sequences.get(user as usize);
                    let end = end as usize;
                    let start = end.saturating_sub(*max_len);
                    // the targets a later window does not train (the
                    // earliest window trains all of its own)
                    let first_target = end.saturating_sub(*stride);
                    let pad = max_len - (end - start);
                    out.users.push(i64::from(user));
                    if let Some(times) = self.times {
                        push_times(&mut out.times, user_times(times, sequences, user), start, end, *max_len);
                    }
                    out.inputs.extend(std::iter::repeat_n(0, pad));
                    out.targets.extend(std::iter::repeat_n(0, pad));
                    out.negatives.extend(std::iter::repeat_n(0, pad));
                    for j in start..end {
                        out.inputs.push(i64::from(s[j]));
                        if j >= first_target {
                            out.targets.push(i64::from(s[j + 1]));
                            out.negatives.push(self.negative(&mut rng, user));
                        } else {
                            out.targets.push(0);
                            out.negatives.push(0);
                        }
                    }
                }
            }
            Examples::Prefixes { sequences, max_len, prefixes } => {
                let w = *max_len;
                out.width = w;
                for &r in rows {
                    let (user, j) = prefixes[r];
                    let (s, j) = (sequences.get(user as usize), j as usize);
                    let before = &s[j.saturating_sub(w)..j];
                    out.users.push(i64::from(user));
                    if let Some(times) = self.times {
                        push_times(&mut out.times, user_times(times, sequences, user), j - before.len(), j, w);
                    }
                    out.inputs.extend(std::iter::repeat_n(0, w - before.len()));
                    out.inputs.extend(before.iter().map(|&i| i64::from(i)));
                    // the target and its negative at the last position only
                    out.targets.extend(std::iter::repeat_n(0, w - 1));
                    out.targets.push(i64::from(s[j]));
                    out.negatives.extend(std::iter::repeat_n(0, w - 1));
                    out.negatives.push(self.negative(&mut rng, user));
                }
            }
            Examples::Pairs { rows: split } => {
                out.width = 1;
                for &r in rows {
                    let user = split.user[r];
                    out.users.push(i64::from(user));
                    out.inputs.push(i64::from(PAD));
                    out.targets.push(i64::from(split.item[r]));
                    out.negatives.push(self.negative(&mut rng, user));
                }
            }
        }
        if self.trim {
            out.trim_padding();
        }
        out
    }
}

struct NextItem<'a> {
    model: &'a dyn NextItemModel,
    prepared: &'a Prepared,
    examples: NextItemExamples<'a>,
    metrics: Vec<Metric>,
    config: &'a TrainConfig,
}

impl<'a> TrainTask for NextItem<'a> {
    type Source = NextItemExamples<'a>;

    fn source(&self) -> &NextItemExamples<'a> {
        &self.examples
    }

    fn loss(&self, raw: &SeqRaw, device: Device, amp: Amp) -> Tensor {
        let batch = raw.to_batch(device);
        // sparse table gradients, which our optimisers step row by row;
        // DP-SGD adds noise to every row, so its gradients stay dense
        let sparse = self.config.privacy.is_none();
        autocast(amp, || {
            if sparse { self.model.training_loss_sparse(&batch, true) } else { self.model.training_loss(&batch, true) }
        })
        .to_kind(Kind::Float)
    }

    fn validate(&self) -> Result<Vec<(TaskMetric, f64)>> {
        let report = evaluate_next_item(self.model, self.prepared, Part::Valid, &self.metrics, self.config.device)?;
        Ok(report.values.into_iter().map(|(m, v)| (m.into(), v)).collect())
    }

    fn valid_metric(&self) -> TaskMetric {
        self.config.valid_metric.into()
    }
}

/// `config.metrics`, plus the valid metric when it is not among them.
fn valid_metrics(config: &TrainConfig) -> Vec<Metric> {
    let mut metrics = config.metrics.clone();
    if !metrics.contains(&config.valid_metric) {
        metrics.push(config.valid_metric);
    }
    metrics
}

fn ranking_options(prepared: &Prepared, exclude: bool) -> RankingOptions {
    RankingOptions {
        num_items: Some(prepared.num_items),
        item_popularity: Some(prepared.item_popularity.iter().map(|&p| u64::from(p)).collect()),
        exclude_history: exclude,
    }
}

/// Trains a next-item model on `prepared`'s training data (see the module
/// docs for the examples), validating with `config.metrics` (ranking
/// metrics, e.g. `ndcg@10`) on the valid split after every epoch, and leaves
/// the best epoch's weights by `config.valid_metric` in `vs`. Everything
/// else is the loop every task shares ([`crate::fit`]).
///
/// A model with nothing to train (`trainable() == false`, e.g. Pop) is
/// evaluated on the valid split once: the outcome has `epochs_run == 0`,
/// `best_epoch == 0`, the valid metric's value as `best_valid` and no
/// history, and the observer is not called.
pub fn train_next_item(
    model: &dyn NextItemModel,
    vs: &VarStore,
    prepared: &Prepared,
    config: &TrainConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    let metrics = valid_metrics(config);
    // the metrics must all be ranking metrics: say so before training
    RankingEvaluator::new(&metrics, ranking_options(prepared, false))?;
    if !model.trainable() {
        let started = std::time::Instant::now();
        let report = evaluate_next_item(model, prepared, Part::Valid, &metrics, config.device)?;
        let best_valid = report
            .values
            .iter()
            .find(|(m, _)| *m == config.valid_metric)
            .map(|&(_, v)| v)
            .ok_or_else(|| TrainError::UndefinedMetric { metric: config.valid_metric.name() })?;
        return Ok(TrainOutcome {
            best_epoch: 0,
            best_valid,
            epochs_run: 0,
            stopped_early: false,
            seconds: started.elapsed().as_secs_f64(),
            history: Vec::new(),
            resumed_after: None,
            global_steps: 0,
            noise_multiplier: None,
        });
    }
    let task = NextItem { model, prepared, examples: NextItemExamples::new(prepared, model, config.sequence_examples), metrics, config };
    fit(&task, vs, config, observer)
}

/// One evaluated unit: rows `rows` of the split, all of `user`.
struct Unit {
    user: u32,
    rows: std::ops::Range<usize>,
}

/// Ranking metrics of `model` on `part` (valid or test) of `prepared`, with
/// per-user values (`RankingReport::per_user`, for an artifact). See the
/// module docs for the units, candidates and exclusion.
pub fn evaluate_next_item(
    model: &dyn NextItemModel,
    prepared: &Prepared,
    part: Part,
    metrics: &[Metric],
    device: Device,
) -> Result<RankingReport> {
    evaluate_next_item_on(model, prepared, part, metrics, device, None)
}

/// [`evaluate_next_item`] restricted to the items flagged in `relevant`
/// (one flag per item id): a unit keeps its relevant items as its truth
/// and is left out without any, and only flagged items are ranked. This is
/// the item cold-start protocol of the cold-item metrics (the test rows of
/// the items held out of training, ranked among the held-out items): among
/// the whole catalogue every warm item a model has learned outranks every
/// item it never saw, and the metric is 0 whatever the features say.
pub fn evaluate_next_item_on(
    model: &dyn NextItemModel,
    prepared: &Prepared,
    part: Part,
    metrics: &[Metric],
    device: Device,
    relevant: Option<&[bool]>,
) -> Result<RankingReport> {
    let _guard = tch::no_grad_guard();
    let split = prepared.split(part);
    let sequences = match (sequences_for(model, prepared), part) {
        (_, Part::Train) => return Err(TrainError::Config("next-item evaluation is on the valid or test split".into())),
        (Some(seq), Part::Valid) => Some((&seq.valid, seq.max_len)),
        (Some(seq), Part::Test) => Some((&seq.test, seq.max_len)),
        (None, _) => None,
    };
    if let Some((eval, _)) = sequences
        && eval.targets.len() != split.len()
    {
        return Err(TrainError::Config(format!(
            "{} eval sequences for {} rows of the {part:?} split",
            eval.targets.len(),
            split.len()
        )));
    }
    let units: Vec<Unit> = match sequences {
        Some(_) => (0..split.len()).map(|k| Unit { user: split.user[k], rows: k..k + 1 }).collect(),
        None => {
            let mut units: Vec<Unit> = Vec::new();
            for (k, &u) in split.user.iter().enumerate() {
                match units.last_mut() {
                    Some(last) if last.user == u => last.rows.end = k + 1,
                    _ => units.push(Unit { user: u, rows: k..k + 1 }),
                }
            }
            units
        }
    };
    let is_relevant = |item: u32| relevant.is_none_or(|r| r.get(item as usize).copied().unwrap_or(false));
    let mut units = units;
    units.retain(|u| split.item[u.rows.clone()].iter().any(|&i| is_relevant(i)));
    let sampled = prepared.candidates(part);
    let exclusion = prepared.exclusion(part);
    // the items a restricted evaluation does not rank
    let outside: Vec<u32> = match relevant {
        Some(_) => (1..prepared.num_items as u32).filter(|&i| !is_relevant(i)).collect(),
        None => Vec::new(),
    };
    let mut evaluator = RankingEvaluator::new(metrics, ranking_options(prepared, sampled.is_none()))?;
    let width = sequences.map_or(1, |(_, max_len)| max_len);
    for chunk in units.chunks(EVAL_CHUNK.max(1)) {
        let users: Vec<u32> = chunk.iter().map(|u| u.user).collect();
        let mut inputs: Vec<i64> = Vec::with_capacity(chunk.len() * width);
        let mut times: Vec<i64> = Vec::new();
        for unit in chunk {
            match sequences {
                Some((eval, max_len)) => {
                    inputs.extend(eval.input(unit.rows.start, max_len).iter().map(|&i| i64::from(i)));
                    times.extend_from_slice(eval.input_times(unit.rows.start, max_len).unwrap_or_default());
                }
                None => inputs.push(i64::from(PAD)),
            }
        }
        // a model that trims padding scores the chunk at its longest input
        let cut = if model.trims_padding() { padding_columns(&inputs, width) } else { 0 };
        let (inputs, times, width) = (drop_columns(&inputs, width, cut), drop_columns(&times, width + 1, cut), width - cut);
        let user_ids: Vec<i64> = users.iter().map(|&u| i64::from(u)).collect();
        let rows = chunk.len() as i64;
        let timestamps = (!times.is_empty()).then(|| Tensor::from_slice(&times).view([rows, width as i64 + 1]).to_device(device));
        let scores = model
            .score_at(
                &Tensor::from_slice(&user_ids).to_device(device),
                &Tensor::from_slice(&inputs).view([rows, width as i64]).to_device(device),
                timestamps.as_ref(),
            )
            .to_kind(Kind::Float)
            .to_device(Device::Cpu);
        let n = prepared.num_items as i64;
        if scores.size() != [chunk.len() as i64, n] {
            return Err(TrainError::Config(format!(
                "the model scored {:?} for {} users and {n} item ids",
                scores.size(),
                chunk.len()
            )));
        }
        let scores = Vec::<f32>::try_from(&scores.contiguous().view([-1]))?;
        let truth: Vec<Vec<u32>> = chunk.iter().map(|u| split.item[u.rows.clone()].iter().copied().filter(|&i| is_relevant(i)).collect()).collect();
        let truth_refs: Vec<&[u32]> = truth.iter().map(Vec::as_slice).collect();
        match sampled {
            Some(candidates) => {
                let n = n as usize;
                let mut lists: Vec<Vec<u32>> = Vec::with_capacity(chunk.len());
                let mut list_scores: Vec<Vec<f32>> = Vec::with_capacity(chunk.len());
                for (i, unit) in chunk.iter().enumerate() {
                    let mut items = truth[i].clone();
                    for k in unit.rows.clone() {
                        items.extend_from_slice(candidates.row(k));
                    }
                    items.sort_unstable();
                    items.dedup();
                    items.retain(|&it| is_relevant(it));
                    list_scores.push(items.iter().map(|&it| scores[i * n + it as usize]).collect());
                    lists.push(items);
                }
                let c: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
                let s: Vec<&[f32]> = list_scores.iter().map(Vec::as_slice).collect();
                evaluator.add_sampled(&users, &c, &s, &truth_refs)?;
            }
            None => {
                // PAD and the excluded items leave the candidates through the
                // evaluator's exclusion
                let history: Vec<Vec<u32>> = users
                    .iter()
                    .map(|&u| {
                        let mut h = vec![PAD];
                        if let Some(ex) = exclusion {
                            h.extend_from_slice(ex.get(u as usize));
                        }
                        h.extend_from_slice(&outside);
                        h
                    })
                    .collect();
                let h: Vec<&[u32]> = history.iter().map(Vec::as_slice).collect();
                evaluator.add_full(&users, &scores, &truth_refs, &h)?;
            }
        }
    }
    Ok(evaluator.finish()?)
}
