//! Next-item training and evaluation with a tiny model defined here, on a
//! synthetic data set where the next item is a function of the previous one.

use std::path::Path;

use attnlab_data::{prepare, Candidates, Interactions, Part, Prepared, Protocol, Rng};
use attnlab_eval::{Metric, RankingMetric};
use attnlab_models::{NextItemModel, SeqBatch};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::loss::{bpr, cross_entropy_seq};
use crate::tests::{torch_lock, Recorder};
use crate::{
    evaluate_next_item, train_next_item, BatchSource, EpochObserver, EpochReport, NextItemExamples, SequenceExamples, TrainConfig,
};

const ITEMS: u32 = 40;

/// `users` sequences of `len` items: a random first item, then always
/// `next(i) = i % ITEMS + 1`.
fn successor_data(users: u32, len: u32) -> Interactions {
    successor_data_of(users, |_| len)
}

/// [`successor_data`] with user `u`'s sequence `len(u)` items long, item
/// `t` of it at time `t`.
pub(crate) fn successor_data_of(users: u32, len: impl Fn(u32) -> u32) -> Interactions {
    let mut data = Interactions::empty();
    for i in 1..=ITEMS {
        data.items.intern(&format!("i{i}"));
    }
    let mut rng = Rng::new(11);
    let mut timestamps = Vec::new();
    for u in 0..users {
        let user = data.users.intern(&format!("u{u}"));
        let mut item = 1 + rng.below(ITEMS as usize) as u32;
        for t in 0..len(u) {
            data.user.push(user);
            data.item.push(item);
            timestamps.push(i64::from(t));
            item = item % ITEMS + 1;
        }
    }
    data.timestamp = Some(timestamps);
    data.check().unwrap();
    data
}

fn sequential(max_len: usize) -> Prepared {
    prepare(&successor_data(60, 10), &Protocol { max_len: Some(max_len), ..Protocol::recbole_sequential() }).unwrap()
}

fn hit(k: u32) -> Metric {
    Metric::Ranking(RankingMetric::Hit, k)
}

/// Scores from the last input item and the user: `(prev[i] + user[u]) · out[j] + bias[j]`.
#[derive(Debug)]
struct Successor {
    user: Tensor,
    prev: Tensor,
    out: Tensor,
    bias: Tensor,
}

impl Successor {
    fn new(vs: &VarStore, users: usize, items: usize) -> Successor {
        let p = vs.root();
        Successor {
            user: p.randn("user", &[users as i64, 8], 0.0, 0.1),
            prev: p.randn("prev", &[items as i64, 8], 0.0, 0.1),
            out: p.randn("out", &[items as i64, 8], 0.0, 0.1),
            bias: p.zeros("bias", &[items as i64]),
        }
    }

    /// `[B, T, N]` logits at every input position.
    fn logits(&self, users: &Tensor, inputs: &Tensor) -> Tensor {
        let (b, t) = (inputs.size()[0], inputs.size()[1]);
        let h = self.prev.index_select(0, &inputs.reshape([-1])).view([b, t, 8]) + self.user.index_select(0, users).unsqueeze(1);
        h.matmul(&self.out.tr()) + &self.bias
    }
}

impl NextItemModel for Successor {
    fn training_loss(&self, batch: &SeqBatch, _train: bool) -> Tensor {
        let logits = self.logits(&batch.users, &batch.inputs);
        let ce = cross_entropy_seq(&logits, &batch.targets, 0);
        let negatives = batch.negatives.as_ref().expect("the trainer samples negatives");
        let pos = logits.gather(-1, &batch.targets.unsqueeze(-1), false).squeeze_dim(-1);
        let neg = logits.gather(-1, &negatives.unsqueeze(-1), false).squeeze_dim(-1);
        ce + bpr(&pos, &neg)
    }

    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor {
        self.logits(users, &inputs.narrow(1, inputs.size()[1] - 1, 1)).squeeze_dim(1)
    }
}

/// Training popularity, nothing to train.
#[derive(Debug)]
struct Pop(Tensor);

impl NextItemModel for Pop {
    fn training_loss(&self, _: &SeqBatch, _: bool) -> Tensor {
        unreachable!("Pop is not trained")
    }
    fn score(&self, users: &Tensor, _: &Tensor) -> Tensor {
        self.0.unsqueeze(0).expand([users.size()[0], -1], false).shallow_clone()
    }
    fn trainable(&self) -> bool {
        false
    }
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        lr: 0.05,
        patience: 100,
        seed: 1,
        metrics: vec![hit(10), Metric::Ranking(RankingMetric::Ndcg, 10)],
        valid_metric: hit(10),
        device: Device::Cpu,
        label: "next-item".into(),
        ..Default::default()
    }
}

fn value(report: &attnlab_eval::RankingReport, m: Metric) -> f64 {
    report.values.iter().find(|(k, _)| *k == m).unwrap().1
}

/// The default: windows of `max_len` targets, a loss at every position.
#[test]
fn windows_cover_every_position_and_negatives_avoid_the_users_items() {
    // Successor::new draws from libtorch's global generator
    let _lock = torch_lock();
    let prepared = sequential(4);
    let model = Successor::new(&VarStore::new(Device::Cpu), prepared.num_users, prepared.num_items);
    let examples = NextItemExamples::new(&prepared, &model, SequenceExamples::default());
    // 10 items per user: 8 in train, 7 pairs -> windows ending at 7 and 3
    assert_eq!(examples.len(), 60 * 2);
    let batch = examples.gather(&[0, 1], 5);
    let seq = prepared.sequences.as_ref().unwrap().train.get(0);
    assert_eq!(batch.width, 4);
    let ids = |v: &[u32]| v.iter().map(|&i| i64::from(i)).collect::<Vec<_>>();
    assert_eq!(&batch.inputs[..4], &ids(&seq[3..7])[..]);
    assert_eq!(&batch.targets[..4], &ids(&seq[4..8])[..]);
    assert_eq!(&batch.inputs[4..8], &[&[0i64][..], &ids(&seq[0..3])].concat()[..]);
    assert_eq!(&batch.targets[4..8], &[&[0i64][..], &ids(&seq[1..4])].concat()[..]);
    // user 0's items are at times 0, 1, 2, ...: each window's inputs, then
    // its last target's, the inputs left-padded with 0
    assert_eq!(batch.times, vec![3, 4, 5, 6, 7, 0, 0, 1, 2, 3]);
    assert_eq!(batch.to_batch(Device::Cpu).timestamps.unwrap().size(), vec![2, 5]);
    let own = prepared.train_items.get(0);
    for (&n, &t) in batch.negatives.iter().zip(&batch.targets) {
        assert_eq!(n == 0, t == 0, "a negative for every real target");
        assert!(t == 0 || own.binary_search(&(n as u32)).is_err(), "negative {n} is the user's");
    }
    assert_eq!(examples.gather(&[0, 1], 5), batch, "the batch seed decides");
}

/// Overlapping windows (`train.window_stride`): every train target is
/// trained exactly once an epoch, after at least `max_len - stride` items of
/// context (or all the items before it); stride 1 gives each target the
/// context `prefixes` does, stride `max_len` the default windows.
#[test]
fn windows_with_a_stride_train_each_target_once_with_its_context() {
    // Successor::new draws from libtorch's global generator
    let _lock = torch_lock();
    let prepared = sequential(4);
    let model = Successor::new(&VarStore::new(Device::Cpu), prepared.num_users, prepared.num_items);
    let train = &prepared.sequences.as_ref().unwrap().train;
    for stride in 1..=4usize {
        let examples = NextItemExamples::new(&prepared, &model, SequenceExamples::Windows { stride: Some(stride) });
        // 8 train items per user: 7 targets, windows ending at 7, 7-s, ...
        assert_eq!(examples.len(), 60 * 7usize.div_ceil(stride), "stride {stride}");
        let all: Vec<usize> = (0..examples.len()).collect();
        let batch = examples.gather(&all, 9);
        // per user, the (target, context) pairs trained
        let mut trained = vec![Vec::new(); 60];
        for (r, user) in batch.users.iter().enumerate() {
            let row = r * 4..(r + 1) * 4;
            let (inputs, targets, negatives) = (&batch.inputs[row.clone()], &batch.targets[row.clone()], &batch.negatives[row]);
            for t in 0..4 {
                assert_eq!(targets[t] == 0, negatives[t] == 0, "a negative for every target, none elsewhere");
                if targets[t] != 0 {
                    let context: Vec<i64> = inputs[..=t].iter().copied().filter(|&i| i != 0).collect();
                    trained[*user as usize].push((targets[t], context));
                }
            }
        }
        for (u, mut pairs) in trained.into_iter().enumerate() {
            let seq: Vec<i64> = train.get(u).iter().map(|&i| i64::from(i)).collect();
            pairs.sort();
            let mut expected: Vec<(i64, usize)> = (1..seq.len()).map(|j| (seq[j], j)).collect();
            expected.sort();
            assert_eq!(pairs.len(), expected.len(), "stride {stride}: user {u} trains each target once");
            for ((target, context), (want, j)) in pairs.iter().zip(&expected) {
                assert_eq!(target, want);
                let longest = seq[j.saturating_sub(4)..*j].to_vec();
                let shortest = (4 + 1 - stride).min(*j);
                assert!(longest.ends_with(context) && context.len() >= shortest, "stride {stride}: target s[{j}] after {context:?}");
                if stride == 1 {
                    assert_eq!(context, &longest, "stride 1: the full context, as prefixes");
                }
            }
        }
    }
    let default = NextItemExamples::new(&prepared, &model, SequenceExamples::default());
    let four = NextItemExamples::new(&prepared, &model, SequenceExamples::Windows { stride: Some(4) });
    let all: Vec<usize> = (0..default.len()).collect();
    assert_eq!(default.gather(&all, 3), four.gather(&all, 3), "stride max_len is the default");
}

/// RecBole's `data_augmentation` (`train.sequence_examples: prefixes`): one
/// example per train target, seeing the `max_len` items before it, the loss
/// at the last position only.
#[test]
fn one_example_per_prefix_with_its_full_context_and_negatives_avoid_the_users_items() {
    // Successor::new draws from libtorch's global generator
    let _lock = torch_lock();
    let prepared = sequential(4);
    let model = Successor::new(&VarStore::new(Device::Cpu), prepared.num_users, prepared.num_items);
    let examples = NextItemExamples::new(&prepared, &model, SequenceExamples::Prefixes);
    // 10 items per user: 8 in train, so targets s[1..8]
    assert_eq!(examples.len(), 60 * 7);
    let seq = prepared.sequences.as_ref().unwrap().train.get(0);
    let ids = |v: &[u32]| v.iter().map(|&i| i64::from(i)).collect::<Vec<_>>();
    let last = |t: u32| [0, 0, 0, i64::from(t)];
    // user 0's targets s[1], s[5] and s[7]
    let batch = examples.gather(&[0, 4, 6], 5);
    assert_eq!(batch.width, 4);
    assert_eq!(&batch.inputs[..4], &[0, 0, 0, i64::from(seq[0])]);
    assert_eq!(&batch.targets[..4], &last(seq[1]));
    assert_eq!(&batch.inputs[4..8], &ids(&seq[1..5])[..], "the 4 items before s[5], not a window's tail");
    assert_eq!(&batch.targets[4..8], &last(seq[5]));
    assert_eq!(&batch.inputs[8..], &ids(&seq[3..7])[..]);
    assert_eq!(&batch.targets[8..], &last(seq[7]));
    assert_eq!(batch.times, vec![0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7], "the inputs' times, then the target's");
    let own = prepared.train_items.get(0);
    for (&n, &t) in batch.negatives.iter().zip(&batch.targets) {
        assert_eq!(n == 0, t == 0, "a negative for every real target");
        assert!(t == 0 || own.binary_search(&(n as u32)).is_err(), "negative {n} is the user's");
    }
    assert_eq!(examples.gather(&[0, 4, 6], 5), batch, "the batch seed decides");
}

#[test]
fn learns_the_successor_and_beats_untrained_and_popularity_scorers() {
    let _lock = torch_lock();
    let prepared = sequential(4);
    let metrics = [hit(10), Metric::Ranking(RankingMetric::Ndcg, 10)];
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = Successor::new(&vs, prepared.num_users, prepared.num_items);
    let untrained = evaluate_next_item(&model, &prepared, Part::Test, &metrics, Device::Cpu).unwrap();
    let recorder = Recorder::default();
    let outcome = train_next_item(&model, &vs, &prepared, &config(12), &mut &recorder).unwrap();
    assert_eq!(recorder.0.borrow().len(), 12);
    assert!(outcome.best_valid > 0.95, "valid hit@10 {}", outcome.best_valid);
    let test = evaluate_next_item(&model, &prepared, Part::Test, &metrics, Device::Cpu).unwrap();
    assert!(value(&test, hit(10)) > 0.95, "trained: {test:?}");
    assert!(value(&untrained, hit(10)) < 0.5, "untrained: {untrained:?}");
    assert_eq!((test.users_evaluated, test.per_user[0].values.len()), (60, 60), "per-user values for the artifact");
    assert_eq!(test.per_user[0].metric, "hit@10");

    let popularity: Vec<f32> = prepared.item_popularity.iter().map(|&p| p as f32).collect();
    let pop = Pop(Tensor::from_slice(&popularity));
    let recorder = Recorder::default();
    let pop_outcome = train_next_item(&pop, &VarStore::new(Device::Cpu), &prepared, &config(5), &mut &recorder).unwrap();
    assert_eq!((pop_outcome.epochs_run, pop_outcome.best_epoch), (0, 0));
    assert!(recorder.0.borrow().is_empty(), "nothing trained, nothing reported");
    let pop_test = evaluate_next_item(&pop, &prepared, Part::Test, &metrics, Device::Cpu).unwrap();
    assert!(value(&pop_test, hit(10)) < 0.5, "popularity: {pop_test:?}");

    let e = train_next_item(&model, &vs, &prepared, &TrainConfig { metrics: vec![Metric::Auc], ..config(1) }, &mut &recorder);
    assert!(e.unwrap_err().to_string().contains("not a ranking metric"));
}

/// Scores from a fixed `[users, items]` table: a general model (it reads
/// no sequence), like BPR.
#[derive(Debug)]
struct Table(Tensor);

impl NextItemModel for Table {
    fn training_loss(&self, _: &SeqBatch, _: bool) -> Tensor {
        unreachable!()
    }
    fn score(&self, users: &Tensor, _: &Tensor) -> Tensor {
        self.0.index_select(0, users)
    }
    fn sequential(&self) -> bool {
        false
    }
}

/// A table scoring PAD highest, then the user's excluded items, then their
/// test items, everything else 0.
fn cheater(prepared: &Prepared) -> Table {
    let n = prepared.num_items;
    let mut scores = vec![0f32; prepared.num_users * n];
    for u in 0..prepared.num_users {
        scores[u * n] = 100.0;
        for &i in prepared.exclude_test.get(u) {
            scores[u * n + i as usize] = 10.0;
        }
    }
    for (&u, &i) in prepared.test.user.iter().zip(&prepared.test.item) {
        scores[u as usize * n + i as usize] = 5.0;
    }
    Table(Tensor::from_slice(&scores).view([prepared.num_users as i64, n as i64]))
}

#[test]
fn padding_and_excluded_items_never_enter_a_top_k() {
    let data = successor_data(30, 10);
    let general = prepare(&data, &Protocol::recbole_general()).unwrap();
    assert!(general.exclude_test.items.len() > 100);
    let report = evaluate_next_item(&cheater(&general), &general, Part::Test, &[hit(1)], Device::Cpu).unwrap();
    // every user's first item is a test item: PAD and the excluded items (scored higher) were taken out
    assert_eq!(report.users_evaluated, 30);
    assert!(report.per_user[0].values.iter().all(|&v| v == 1.0), "{report:?}");
    // the same scores without exclusion: the history items come first
    let kept = Protocol { candidates: Candidates::Full { exclude_history: false }, ..Protocol::recbole_general() };
    let kept = prepare(&data, &kept).unwrap();
    let report = evaluate_next_item(&cheater(&kept), &kept, Part::Test, &[hit(1)], Device::Cpu).unwrap();
    assert_eq!(value(&report, hit(1)), 0.0);

    // sampled candidates: each user's test items among their saved negatives
    let sampled = Protocol { candidates: Candidates::Uniform(5), ..Protocol::recbole_general() };
    let sampled = prepare(&data, &sampled).unwrap();
    let mut table = cheater(&sampled);
    table.0 = table.0.where_self(&table.0.eq(5.0), &Tensor::from(0f32)); // only the test items score
    let report = evaluate_next_item(&table, &sampled, Part::Test, &[hit(1)], Device::Cpu).unwrap();
    assert_eq!(value(&report, hit(1)), 1.0);
}

/// RS 8:1:1 with sequences built, as the CLI prepares every file data set:
/// a general model must still train on every train row and be evaluated
/// once per user with all their test items relevant (the bug this guards
/// against: prefixes of the sequences and one test row per unit, so BPR
/// trained on ~1 example per user and hit@K equalled recall@K).
#[test]
fn general_models_ignore_the_sequences_a_protocol_also_built() {
    // Successor::new draws from libtorch's global generator
    let _lock = torch_lock();
    let data = successor_data(30, 40);
    let prepared = prepare(&data, &Protocol { max_len: Some(4), ..Protocol::recbole_general() }).unwrap();
    assert!(prepared.sequences.is_some());
    // 40 rows per user: 32 train, 4 valid, 4 test
    assert_eq!((prepared.train.len(), prepared.test.len()), (30 * 32, 30 * 4));
    let general = cheater(&prepared);
    let examples = NextItemExamples::new(&prepared, &general, SequenceExamples::Prefixes);
    assert_eq!(examples.len(), prepared.train.len(), "an epoch is every train row");
    let batch = examples.gather(&[0, 1, 2], 3);
    assert_eq!(batch.width, 1);
    assert_eq!(batch.targets, prepared.train.item[..3].iter().map(|&i| i64::from(i)).collect::<Vec<_>>());

    let recall = Metric::Ranking(RankingMetric::Recall, 10);
    let precision = Metric::Ranking(RankingMetric::Precision, 10);
    let report = evaluate_next_item(&general, &prepared, Part::Test, &[hit(10), recall, precision], Device::Cpu).unwrap();
    assert_eq!(report.users_evaluated, 30, "one unit per user, not per test row");
    // the cheater ranks all 4 test items of a user first
    assert_eq!((value(&report, hit(10)), value(&report, recall)), (1.0, 1.0));
    assert!((value(&report, precision) - 0.4).abs() < 1e-9, "4 relevant items per user: {report:?}");

    // a sequential model on the same data keeps its windows (or prefixes) and rows
    let sequential = Successor::new(&VarStore::new(Device::Cpu), prepared.num_users, prepared.num_items);
    assert_eq!(NextItemExamples::new(&prepared, &sequential, SequenceExamples::default()).len(), 30 * 8, "31 pairs per user in windows of 4");
    assert_eq!(NextItemExamples::new(&prepared, &sequential, SequenceExamples::Prefixes).len(), 30 * 31, "a prefix per target");
    let report = evaluate_next_item(&sequential, &prepared, Part::Test, &[hit(10)], Device::Cpu).unwrap();
    assert_eq!(report.users_evaluated, prepared.test.len());
}

const CHILD_DIR: &str = "ATTNLAB_NEXT_ITEM_TEST_CHILD_DIR";

struct AbortAt(usize);

impl EpochObserver for AbortAt {
    fn on_epoch(&mut self, r: &EpochReport) -> Result<(), crate::ObserverError> {
        if r.epoch == self.0 {
            std::process::abort();
        }
        Ok(())
    }
}

/// General protocol (pairs with sampled negatives), warmup + cosine.
fn resume_setup(dir: Option<&Path>) -> (Prepared, TrainConfig) {
    let prepared = prepare(&successor_data(40, 10), &Protocol::recbole_general()).unwrap();
    let config = TrainConfig {
        warmup_steps: 5,
        decay: crate::Decay::Cosine { final_lr: 0.001 },
        clip_grad_norm: Some(1.0),
        prefetch: 2,
        checkpoint_dir: dir.map(Path::to_path_buf),
        ..config(3)
    };
    (prepared, config)
}

/// The child half of `next_item_resumes_exactly_after_a_hard_crash`.
#[test]
#[ignore]
fn next_item_resume_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    tch::set_num_threads(1);
    let (prepared, config) = resume_setup(Some(Path::new(&dir)));
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = Successor::new(&vs, prepared.num_users, prepared.num_items);
    let _ = train_next_item(&model, &vs, &prepared, &config, &mut AbortAt(2));
    unreachable!("the observer aborts");
}

#[test]
fn next_item_resumes_exactly_after_a_hard_crash() {
    let _lock = torch_lock();
    let run = |dir: Option<&Path>| {
        let (prepared, config) = resume_setup(dir);
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let model = Successor::new(&vs, prepared.num_users, prepared.num_items);
        let recorder = Recorder::default();
        let outcome = train_next_item(&model, &vs, &prepared, &config, &mut &recorder).unwrap();
        (outcome, crate::snapshot::named_variables(&vs), recorder.0.into_inner())
    };
    let (expected, expected_weights, _) = run(None);
    assert_eq!(expected.epochs_run, 3);

    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "next_item_tests::next_item_resume_child", "--nocapture", "--ignored", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts");
    let (outcome, weights, reported) = run(Some(dir.path()));
    assert_eq!(outcome.resumed_after, Some(1));
    assert_eq!(reported.iter().map(|r| r.epoch).collect::<Vec<_>>(), [2, 3]);
    let strip = |h: &[EpochReport]| h.iter().map(|r| EpochReport { seconds: 0.0, samples_per_s: 0.0, ..r.clone() }).collect::<Vec<_>>();
    assert_eq!(strip(&outcome.history), strip(&expected.history));
    assert_eq!((outcome.best_epoch, outcome.best_valid, outcome.global_steps), (expected.best_epoch, expected.best_valid, expected.global_steps));
    for ((n, a), (m, b)) in weights.iter().zip(&expected_weights) {
        assert_eq!(n, m);
        assert!(a.equal(b), "`{n}` differs after resuming");
    }
}
