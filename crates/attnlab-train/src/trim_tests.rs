//! Batches cut to their longest real sequence ([`SeqRaw::trim_padding`])
//! give SASRec and HSTU (own loss and sampled softmax) exactly the loss,
//! scores and metrics of the same batches at full width.

use attnlab_data::{prepare, Part, Prepared, Protocol};
use attnlab_eval::{Metric, RankingMetric};
use attnlab_models::{build_next_item, DotProduct, NextItemModel, NextItemSizes, SeqBatch};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::next_item_tests::successor_data_of;
use crate::tests::torch_lock;
use crate::{evaluate_next_item, BatchSource, NegativeSampler, NextItemExamples, SampledSoftmax, SampledSoftmaxConfig, SeqRaw, SequenceExamples};

const MAX_LEN: usize = 30;

/// The model it wraps, but never trimmed: the full-width reference.
struct Padded(Box<dyn NextItemModel>);

impl NextItemModel for Padded {
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor {
        self.0.training_loss(batch, train)
    }
    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor {
        self.0.score(users, inputs)
    }
    fn score_at(&self, users: &Tensor, inputs: &Tensor, timestamps: Option<&Tensor>) -> Tensor {
        self.0.score_at(users, inputs, timestamps)
    }
    fn reads_time(&self) -> bool {
        self.0.reads_time()
    }
    fn dot_product(&self) -> Option<&dyn DotProduct> {
        self.0.dot_product()
    }
}

/// Users of 4 to 24 items: every batch mixes lengths, none fills `MAX_LEN`.
fn varied() -> Prepared {
    let data = successor_data_of(50, |u| 4 + (u * 7) % 21);
    prepare(&data, &Protocol { max_len: Some(MAX_LEN), ..Protocol::recbole_sequential() }).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    f64::try_from((a - b).abs().max()).unwrap()
}

fn check(name: &str, padded_model: &Padded, prepared: &Prepared, how: SequenceExamples) {
    let model = padded_model.0.as_ref();
    assert!(model.trims_padding(), "{name} trims padding");
    let trimmed = NextItemExamples::new(prepared, model, how);
    let padded = NextItemExamples::new(prepared, padded_model, how);
    let rows: Vec<usize> = (0..trimmed.len()).step_by(3).take(16).collect();
    let (short, full): (SeqRaw, SeqRaw) = (trimmed.gather(&rows, 7), padded.gather(&rows, 7));
    assert_eq!(full.width, MAX_LEN);
    let longest = rows.iter().map(|&r| trimmed.example_len(r)).max().unwrap();
    assert_eq!(short.width, longest, "{name}: cut to the longest example");
    assert!(short.width < MAX_LEN);
    let mut cut = full.clone();
    cut.trim_padding();
    assert_eq!(cut, short, "{name}: trimming the full batch gives the trimmed batch");
    // the sampled softmax draws its negatives from libtorch's generator
    let loss = |raw: &SeqRaw| {
        tch::manual_seed(5);
        f64::try_from(model.training_loss(&raw.to_batch(Device::Cpu), false)).unwrap()
    };
    let (a, b) = (loss(&short), loss(&full));
    assert!(a.is_finite() && (a - b).abs() < 1e-5, "{name}: loss {a} trimmed vs {b} padded");
    let scores = |raw: &SeqRaw| {
        let batch = raw.to_batch(Device::Cpu);
        model.score_at(&batch.users, &batch.inputs, batch.timestamps.as_ref())
    };
    let d = max_abs_diff(&scores(&short), &scores(&full));
    assert!(d < 1e-5, "{name}: scores differ by {d}");
    let metrics = [Metric::Ranking(RankingMetric::Ndcg, 10), Metric::Ranking(RankingMetric::Mrr, 10)];
    let r_trim = evaluate_next_item(model, prepared, Part::Test, &metrics, Device::Cpu).unwrap();
    let r_full = evaluate_next_item(padded_model, prepared, Part::Test, &metrics, Device::Cpu).unwrap();
    for ((m, x), (_, y)) in r_trim.values.iter().zip(&r_full.values) {
        assert!((x - y).abs() < 1e-9, "{name}: {m:?} {x} trimmed vs {y} padded");
    }
}

#[test]
fn trimmed_batches_give_sasrec_and_hstu_the_loss_and_scores_of_padded_ones() {
    let _lock = torch_lock();
    let prepared = varied();
    let sizes = NextItemSizes { users: prepared.num_users, items: prepared.num_items, max_len: MAX_LEN };
    let ssm = SampledSoftmaxConfig { negatives: 8, temperature: 0.05, l2_normalize: true, sampler: NegativeSampler::Uniform };
    for name in ["SASRec", "HSTU"] {
        tch::manual_seed(3);
        let vs = VarStore::new(Device::Cpu);
        let model = build_next_item(name, &vs.root(), &sizes, &serde_json::Map::new(), None, None).unwrap();
        assert_eq!(model.reads_time(), name == "HSTU", "HSTU reads the timestamps the data has");
        let own = Padded(model);
        for how in [SequenceExamples::default(), SequenceExamples::Prefixes] {
            check(name, &own, &prepared, how);
        }
        let popularity = vec![1u32; prepared.num_items];
        let wrapped = Padded(SampledSoftmax::wrap(own.0, ssm.clone(), &popularity).unwrap());
        check(&format!("{name} sampled softmax"), &wrapped, &prepared, SequenceExamples::default());
    }
}
