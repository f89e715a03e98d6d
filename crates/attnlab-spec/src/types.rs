//! The typed spec. Every struct denies unknown fields; defaults are the values
//! a first experiment should use.

use serde::{Deserialize, Deserializer, Serialize};

use crate::range::{at_least_one, non_negative_f64, optional_positive_f64, optional_probability, optional_short_text, positive_f64};

pub use crate::ab_test::{AbTestSpec, ArmPolicy, ArmSource, ArmSpec, MechanismSpec, PowerSpec, TradeOffSpec};
pub use crate::privacy::{FederatedDpSpec, FederatedSpec, PartitionKind, PrivacySpec};
pub use crate::sweep::{Distribution, SweepMethod, SweepParams, SweepSpec, SweepValues};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Spec files merged under this one, in order, paths relative to this
    /// file's folder. Consumed while loading: always empty in a loaded spec,
    /// and never serialised (the fingerprint covers the merged values only).
    #[serde(default, skip_serializing)]
    pub defaults: Vec<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_short_text")]
    pub description: Option<String>,
    pub dataset: DatasetSpec,
    /// Keys left out take the defaults of the data's kind
    /// (`DataKind::protocol_defaults`), then those of `ProtocolSpec`.
    #[serde(default)]
    pub protocol: ProtocolSpec,
    #[serde(default)]
    pub train: TrainSpec,
    /// What `run` trains; a spec without models can still be validated,
    /// explained and its data explored (`data stats`).
    #[serde(default)]
    pub models: Vec<ModelSpec>,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub tracking: TrackingSpec,
    /// Published numbers this experiment should reproduce.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetSpec>,
    /// A hyper-parameter sweep over this spec (`expand_sweep`). Not part of
    /// the fingerprint: a trial is identified by its resolved values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
    /// Devices that parallel trials spread over (`--jobs N`: each trial
    /// process takes a free slot, slot i runs on `devices[i % len]`), e.g.
    /// `[cuda:0, cuda:1]`. Where a run executes changes nothing of what it
    /// computes, so this is not part of the fingerprint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// An offline A/B test of ranking policies on the simulated market, run
    /// after training. Not part of the fingerprint (it trains nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab_test: Option<AbTestSpec>,
}

/// A published result: `model` names a run name of this spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub model: String,
    /// A test metric, e.g. `ndcg@10`.
    pub metric: String,
    pub value: f64,
    /// Accepted distance from `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// The paper's standard deviation over its seeds, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Where the number comes from.
    pub source: String,
}

/// Where runs are mirrored besides the local store.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingSpec {
    /// An MLflow tracking server; each run is pushed when it ends
    /// (`ATTNLAB_MLFLOW_URI` does the same for every spec).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<String>,
}

fn default_seeds() -> Vec<u64> {
    vec![2024]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// The embedded attention-market simulator (impressions: click and
    /// multi-task models).
    Simulator,
    /// RecBole atomic files `NAME.inter` (+ `.user`, `.item`) in `path`
    /// (interactions: next-item and general recommenders).
    RecboleAtomic,
    /// A click log in `path` (Criteo/Avazu-style, see `ctr_log`), one row per
    /// impression in time order (impressions: CTR models).
    CtrLog,
    /// MovieLens raw files in `path` (`u.data`, `ratings.dat` or
    /// `ratings.csv`; see `movielens`) (interactions).
    Movielens,
    /// An attention log `attention_log.file` in `path` (impressions, or
    /// interactions of chosen events; see `attention_log`).
    AttentionLog,
    /// One log of the Open Bandit Dataset (`obd: { policy, campaign }`) in
    /// `path` (default `data/obd`), one row per shown item in time order
    /// (impressions: CTR models).
    Obd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub source: DataSource,
    /// Seed of the data itself (simulation, shuffles, sampled negatives);
    /// training seeds are `seeds:`.
    #[serde(default = "default_data_seed")]
    pub seed: u64,
    #[serde(default)]
    pub simulator: SimulatorSpec,
    /// Folder of the data files (file sources), relative to the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Dataset name, the stem of the atomic files; default: the folder's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A malformed row stops loading (`error`) or is skipped and counted (`skip`).
    #[serde(default)]
    pub on_bad_row: BadRowPolicy,
    #[serde(default)]
    pub preprocess: PreprocessSpec,
    /// The file and columns of a `ctr-log` source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctr_log: Option<CtrLogSpec>,
    /// The layout of a `movielens` source (detected when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub movielens: Option<crate::MovieLensSpec>,
    /// The file and its use of an `attention-log` source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_log: Option<crate::AttentionLogSpec>,
    /// The log of an `obd` source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obd: Option<crate::ObdSource>,
    /// Item side-feature columns (of the RecBole `.item` file, or MovieLens's
    /// item file: `class`, `release_year`, `movie_title`, ...) that every
    /// next-item model fuses into its item representation. Empty: ids only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_features: Vec<String>,
    /// User side-feature columns (of the RecBole `.user` file, or
    /// MovieLens's user file: `age`, `gender`, `occupation`, ...) whose
    /// vectors every model with a user vector (BPR, Caser) adds to it; the
    /// other models do not read them. Empty: ids only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_features: Vec<String>,
    /// Pretrained item vectors from a file, a feature the models name in
    /// their `item_features` lists by `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_embeddings: Option<ItemEmbeddingsSpec>,
    /// Pretrained user vectors from a file (the forms and key file of
    /// `item_embeddings`, keyed by the original user ids), added through a
    /// trainable adapter to the user vector of every model that has one
    /// (BPR, Caser); the other models do not read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_embeddings: Option<UserEmbeddingsSpec>,
    /// Replace user ids in everything written (store, artifacts, reports)
    /// by keyed hashes: HMAC-SHA256 with the key in `ATTNLAB_PSEUDONYM_KEY`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pseudonymise: bool,
}

/// Pretrained item vectors (text or image embeddings from another
/// pipeline), a file inside `dataset.path` keyed by the original item ids:
/// a `.csv` (one item a line, `item_id,v1,...,vD`, no header), or a
/// `.npy` / `.safetensors` matrix `[items, D]` whose row ids are the lines
/// of its `key` file. Frozen; a small trainable `adapter` maps them into
/// each model's item space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemEmbeddingsSpec {
    pub file: String,
    /// The ids of a matrix's rows, one a line, inside `dataset.path`;
    /// default: `file` with the extension `.keys`. Unused for a CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The feature name `item_features` lists use. Default `embedding`.
    #[serde(default = "default_embedding_name")]
    pub name: String,
    #[serde(default)]
    pub adapter: AdapterKind,
}

/// Pretrained user vectors: `file` (`.csv`, `.npy` or `.safetensors`) and
/// `key` as in [`ItemEmbeddingsSpec`], keyed by the original user ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEmbeddingsSpec {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub adapter: AdapterKind,
}

fn default_embedding_name() -> String {
    "embedding".into()
}

/// The trainable map from pretrained vectors into a model's item space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    #[default]
    Linear,
    Mlp,
}

/// A click log: which file, its layout, which of its categorical columns
/// fill the CTR models' four role fields (user, item, category, position;
/// an unmapped one is one constant id), and which other columns the
/// models read as extra fields (by default every one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtrLogSpec {
    /// The log file inside `dataset.path`.
    pub file: String,
    #[serde(default)]
    pub format: CtrLogFormat,
    /// The 0/1 label column (`csv` only; `criteo` and `avazu` know theirs).
    #[serde(default = "default_ctr_label")]
    pub label: String,
    #[serde(default)]
    pub fields: CtrLogFields,
    /// Categorical columns read as extra fields: `all` (default: the
    /// format's categorical columns, i.e. `criteo`'s C1..C26, `avazu`'s
    /// without `id`, every column of a `csv`, less the label, the role and
    /// the numeric columns) or a list (`[]`: none).
    #[serde(default)]
    pub categorical: crate::ColumnSelection,
    /// Numeric columns read as extra fields: `all` (default: `criteo`'s
    /// I1..I13; `avazu` and `csv` have none) or a list.
    #[serde(default)]
    pub numeric: crate::ColumnSelection,
    /// A categorical value seen fewer times in the training rows becomes
    /// one out-of-vocabulary id, as does a value never seen there
    /// (FuxiCTR's `min_categr_count`). Default 1; 0 keeps every value.
    #[serde(default = "default_min_count")]
    pub min_count: usize,
    /// `none` (default), `log_square` or `standardise`.
    #[serde(default)]
    pub numeric_preprocess: crate::NumericPreprocess,
    /// A column of dwell times after a click, in milliseconds (empty: 0):
    /// dwell targets and the metrics of time then apply to the log. A
    /// negative value is an error at its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwell: Option<String>,
}

fn default_min_count() -> usize {
    1
}

fn default_ctr_label() -> String {
    "label".into()
}

/// Column layout of a click log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtrLogFormat {
    /// Kaggle Criteo `train.txt`: tab-separated, no header, columns
    /// label, I1..I13, C1..C26.
    Criteo,
    /// Avazu: comma-separated with a header, label `click`.
    Avazu,
    /// Comma-separated with a header; the label column is `label`.
    #[default]
    Csv,
}

/// Column names (as in the header, or Criteo's C1..C26) per model field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtrLogFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRowPolicy {
    #[default]
    Error,
    Skip,
}

/// Filters applied to interactions before splitting (RecBole's names in brackets).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreprocessSpec {
    /// Drop repeated (user, item, timestamp) rows (`rm_dup_inter`).
    pub dedup: bool,
    /// Label = rating >= this (`threshold: {rating: X}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_threshold: Option<f32>,
    /// Keep positive rows only (implicit feedback from ratings).
    pub positives_only: bool,
    /// k-core: users and items with fewer interactions are removed, to a fixed point.
    pub min_user_inter: u64,
    pub min_item_inter: u64,
}

fn default_data_seed() -> u64 {
    7
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorSpec {
    #[serde(deserialize_with = "at_least_one")]
    pub users: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub items: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub topics: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub sessions_per_user: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub slots: u64,
    /// How sharply a user's interest concentrates on few topics (higher = sharper).
    #[serde(deserialize_with = "positive_f64")]
    pub interest_sharpness: f64,
    /// Ads in the feed; absent = an organic feed only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ads: Option<AdsSpec>,
}

/// Ads in the simulated feed. Unset fields take the simulator's defaults
/// (`attnlab explain` shows them); the simulator checks the ranges.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdsSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertisers: Option<u64>,
    /// Share of the catalogue that are ads, in (0, 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_share: Option<f64>,
    /// Feed positions (0-based) that hold an ad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<Vec<u64>>,
    /// Instead of fixed slots: each slot is an ad with this probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<f64>,
    /// Share of advertisers paying per conversion, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpa_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_cpc_bid: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_daily_budget: Option<f64>,
    /// Weight of the user's topic affinity in the conversion logit (clicks
    /// weigh it 0.9): higher = stronger sample selection bias for CVR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvr_affinity_weight: Option<f64>,
    /// Weight of the item's log content length in the log dwell (default 0:
    /// dwell independent of length; 1: proportional to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dwell_length_weight: Option<f64>,
}

impl Default for SimulatorSpec {
    fn default() -> Self {
        SimulatorSpec {
            users: 1500,
            items: 600,
            topics: 12,
            sessions_per_user: 12,
            slots: 8,
            interest_sharpness: 3.0,
            ads: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Simulated impressions ordered by time; the earliest fractions train,
    /// then valid, then test.
    Temporal,
    /// RecBole `RS`: each group (user, or the whole table) cut by `ratios`
    /// after ordering by `order`.
    Ratio,
    /// RecBole `LS`: per user, the last interaction tests, the second last validates.
    LeaveOneOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    Random,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    User,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolSpec {
    pub split: SplitKind,
    /// Train / valid / test fractions; must sum to 1.
    pub ratios: [f64; 3],
    pub order: OrderKind,
    pub group_by: GroupKind,
    /// `full` (rank every item), `uniform:N` or `popularity:N` sampled negatives.
    pub candidates: String,
    /// Full ranking: items the user met in earlier splits are not ranked.
    pub exclude_history: bool,
    /// Input length of next-item sequences.
    #[serde(deserialize_with = "at_least_one")]
    pub max_len: u64,
    /// How many of a user's most recent clicked items form the behaviour
    /// history (simulated impressions).
    #[serde(deserialize_with = "at_least_one")]
    pub history_len: u64,
    pub metrics: Vec<String>,
    pub valid_metric: String,
    /// Cold start (interactions): this share of the items, in (0, 1), is
    /// held out of training entirely; the test metrics are then also
    /// reported on the test rows of those items alone (`test.cold.*`).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "optional_probability")]
    pub cold_items: Option<f64>,
    /// User columns (interactions: token columns of the user file, e.g.
    /// `gender`) whose groups' per-user test metrics are compared: the gap
    /// between the best and the worst group with its bootstrap CI.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_groups: Vec<String>,
    /// An item column (interactions: a token column of the item file) that
    /// names each item's provider: the test rankings' position-discounted
    /// exposure per provider is compared with its share of the test items
    /// (disparity of exposure, `test.exposure.disparity@K`). A data set
    /// without providers can group items by any column, e.g. ml-100k's
    /// `release_year`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub providers: Option<String>,
}

impl Default for ProtocolSpec {
    fn default() -> Self {
        ProtocolSpec {
            split: SplitKind::Temporal,
            ratios: [0.8, 0.1, 0.1],
            order: OrderKind::Random,
            group_by: GroupKind::User,
            candidates: "full".into(),
            exclude_history: true,
            max_len: 50,
            history_len: 20,
            metrics: vec!["auc".into(), "gauc".into(), "logloss".into()],
            valid_metric: "auc".into(),
            cold_items: None,
            user_groups: Vec::new(),
            providers: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    #[serde(deserialize_with = "at_least_one")]
    pub epochs: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub batch_size: u64,
    pub optimizer: OptimizerSpec,
    pub schedule: ScheduleSpec,
    pub early_stopping: EarlyStoppingSpec,
    /// Clip the global gradient norm to this value.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "optional_positive_f64")]
    pub clip_grad_norm: Option<f64>,
    /// Weight of positive examples in the click loss (class imbalance).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "optional_positive_f64")]
    pub pos_weight: Option<f64>,
    /// `auto`, `cpu` or `cuda:N`.
    pub device: String,
    /// Mixed precision on CUDA.
    pub amp: AmpSpec,
    /// Torch intra-op threads; unset = all cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
    /// Batches built ahead on a worker thread (0 = inline).
    pub prefetch: u64,
    /// Fine-tuning: a checkpoint file (`.safetensors`) whose matching
    /// parameters initialise the model.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "text_or_number")]
    pub init_from: Option<String>,
    /// Parameter name prefixes kept fixed (e.g. `item` for the item table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<String>,
    /// Write a checkpoint every epoch, so a killed run resumes where it stopped.
    pub checkpoints: bool,
    /// DP-SGD (per-example clipping, Gaussian noise, ε per epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<PrivacySpec>,
    /// Federated averaging over clients made of users (no checkpoints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federated: Option<FederatedSpec>,
    /// How a sequential next-item model's training sequences become
    /// examples. Left out of the spec's identity while at its default.
    #[serde(skip_serializing_if = "SequenceExamples::is_default")]
    pub sequence_examples: SequenceExamples,
    /// With `windows`: targets between two windows of a user, each window
    /// training its `window_stride` last positions, so every target sees
    /// at least `max_len - window_stride` items before it. Unset: `max_len`
    /// (windows side by side); 1 trains as `prefixes` does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_stride: Option<u64>,
    /// Length-bucketed batches: each window of shuffled training examples
    /// is sorted by length before it is cut into batches, so a model that
    /// trims padding (SASRec, HSTU) pays for a batch's longest sequence,
    /// not `max_len`. Changes which examples share a batch, hence the
    /// numbers: left out of the spec's identity while false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub length_buckets: bool,
    /// The training objective of next-item models: the model's own (full
    /// cross entropy, BPR, BERT4Rec's cloze) or a sampled softmax. Left out
    /// of the spec's identity while at its default.
    #[serde(skip_serializing_if = "LossSpec::is_default")]
    pub loss: LossSpec,
    /// What click models learn: `click` (default), `dwell_log` or
    /// `dwell_weighted`. Left out of the spec's identity while `click`.
    #[serde(skip_serializing_if = "crate::Target::is_click")]
    pub target: crate::Target,
    /// `none` (default: position is a feature), `pal` or `ips`. Left out
    /// of the spec's identity while `none`.
    #[serde(skip_serializing_if = "crate::PositionDebias::is_none")]
    pub position_debias: crate::PositionDebias,
    /// With `position_debias: ips`: the examination propensity of each slot
    /// (position 0 first), each in (0, 1]. Empty: the simulator's own
    /// examination curve (data from elsewhere must give them). Left out of
    /// the spec's identity while empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub propensities: Vec<f64>,
    /// Weights of a multi-task model's click, conversion and dwell losses
    /// (default 1, 1, 0.03). Left out of the spec's identity while default.
    #[serde(skip_serializing_if = "crate::TaskWeights::is_default")]
    pub task_weights: crate::TaskWeights,
}

/// `train.loss`: which objective a next-item model trains with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossSpec {
    pub name: LossName,
    /// `sampled_softmax`: negatives per batch, shared by its targets.
    #[serde(deserialize_with = "at_least_one")]
    pub negatives: u64,
    /// `sampled_softmax`: logits are divided by it.
    #[serde(deserialize_with = "positive_f64")]
    pub temperature: f64,
    /// `sampled_softmax`: queries and item vectors scaled to unit length
    /// (cosine logits), for training and scoring alike.
    pub l2_normalize: bool,
    /// `sampled_softmax`: where negatives come from.
    pub sampler: SamplerName,
}

/// The objectives of `train.loss.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossName {
    /// The model's own objective.
    Model,
    /// Softmax over the target and sampled negatives.
    SampledSoftmax,
}

/// Negative samplers of a sampled softmax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerName {
    /// Uniform over the catalogue.
    Uniform,
    /// Other targets of the batch (popularity-distributed), with the
    /// log-Q correction.
    InBatch,
}

impl Default for LossSpec {
    /// The model's own objective; a sampled softmax defaults to the HSTU
    /// reference's MovieLens settings (128 negatives, temperature 0.05,
    /// L2-normalised, uniform).
    fn default() -> Self {
        LossSpec { name: LossName::Model, negatives: 128, temperature: 0.05, l2_normalize: true, sampler: SamplerName::Uniform }
    }
}

impl LossSpec {
    fn is_default(&self) -> bool {
        *self == LossSpec::default()
    }
}

/// Training examples of sequential next-item models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SequenceExamples {
    /// Windows of `max_len` targets, a loss at every position in one pass
    /// (SASRec's way: fast; a window's first targets see a short context).
    #[default]
    Windows,
    /// One example per target with the `max_len` items before it, the loss
    /// at its last position (RecBole's data augmentation: every target sees
    /// its full context, at about `max_len` times the work per epoch).
    Prefixes,
}

impl SequenceExamples {
    fn is_default(&self) -> bool {
        *self == SequenceExamples::Windows
    }
}

impl Default for TrainSpec {
    fn default() -> Self {
        TrainSpec {
            epochs: 10,
            batch_size: 1024,
            optimizer: OptimizerSpec::default(),
            schedule: ScheduleSpec::default(),
            early_stopping: EarlyStoppingSpec::default(),
            clip_grad_norm: None,
            pos_weight: None,
            device: "auto".into(),
            amp: AmpSpec::None,
            threads: None,
            prefetch: 2,
            init_from: None,
            freeze: Vec::new(),
            checkpoints: true,
            privacy: None,
            federated: None,
            sequence_examples: SequenceExamples::Windows,
            window_stride: None,
            length_buckets: false,
            loss: LossSpec::default(),
            target: crate::Target::Click,
            position_debias: crate::PositionDebias::None,
            propensities: Vec::new(),
            task_weights: crate::TaskWeights::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmpSpec {
    None,
    Bf16,
    Fp16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    Adam,
    AdamW,
    Sgd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSpec {
    pub name: OptimizerName,
    #[serde(deserialize_with = "positive_f64")]
    pub lr: f64,
    /// L2 (Adam, SGD) or decoupled decay (AdamW).
    #[serde(deserialize_with = "non_negative_f64")]
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    #[serde(deserialize_with = "positive_f64")]
    pub eps: f64,
    /// SGD momentum.
    #[serde(deserialize_with = "non_negative_f64")]
    pub momentum: f64,
    pub nesterov: bool,
    /// L2 on the embedding tables named in `embedding_params`.
    #[serde(deserialize_with = "non_negative_f64")]
    pub l2_embedding: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embedding_params: Vec<String>,
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        OptimizerSpec {
            name: OptimizerName::Adam,
            lr: 1e-3,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            momentum: 0.0,
            nesterov: false,
            l2_embedding: 0.0,
            embedding_params: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecayName {
    Constant,
    Linear,
    Cosine,
    Step,
}

/// Learning-rate schedule: optional linear warmup, then a decay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSpec {
    pub warmup_steps: u64,
    pub decay: DecayName,
    /// Where linear and cosine decay end.
    #[serde(deserialize_with = "non_negative_f64")]
    pub final_lr: f64,
    /// Step decay: multiply by `gamma` every `every_steps` optimiser steps.
    pub every_steps: u64,
    #[serde(deserialize_with = "positive_f64")]
    pub gamma: f64,
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        ScheduleSpec { warmup_steps: 0, decay: DecayName::Constant, final_lr: 0.0, every_steps: 1000, gamma: 0.5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStoppingSpec {
    /// Epochs without improvement of the valid metric before stopping.
    pub patience: u64,
}

impl Default for EarlyStoppingSpec {
    fn default() -> Self {
        EarlyStoppingSpec { patience: 3 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The run name in tables and reports (unique within the spec).
    pub name: String,
    /// The registry name of the architecture, e.g. `LR`, `DIN`.
    pub model: String,
    /// Architecture parameters; checked by the model registry.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// This model's own training settings over the spec's `train:` (batch
    /// size, optimizer, schedule, ...; see `Spec::train_for`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub train: serde_json::Map<String, serde_json::Value>,
    /// This model's own item side-feature columns over
    /// `dataset.item_features` (`[]`: ids only); absent: the dataset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_features: Option<Vec<String>>,
    /// This model's own user side-feature columns over
    /// `dataset.user_features` (`[]`: ids only); absent: the dataset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_features: Option<Vec<String>>,
    /// How this model fuses its item features with the id vector: `sum`
    /// (the default) or `concat` (concatenated, then one linear map).
    #[serde(default, skip_serializing_if = "is_default")]
    pub item_fusion: ItemFusion,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// How an item's id vector and its feature vectors become one vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemFusion {
    /// Their sum: every feature adds a vector of the model's width.
    #[default]
    Sum,
    /// Their concatenation, projected back to the model's width by one
    /// trainable linear map (no bias, so padding stays zero).
    Concat,
}

/// Text that YAML may have read as a number: a run id prefix made only of
/// digits (`train.init_from=29592853`) is still the prefix.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Integer(u64),
    }
    Ok(Option::<TextOrNumber>::deserialize(d)?.map(|v| match v {
        TextOrNumber::Text(t) => t,
        TextOrNumber::Integer(n) => n.to_string(),
    }))
}

