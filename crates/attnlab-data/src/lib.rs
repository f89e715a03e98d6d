//! Data for attention models, with no libtorch: the attention-market
//! simulator, the columnar impression table the trainers read, and splits.
//!
//! Item and category ids are 1-based; 0 is the padding id of behaviour
//! histories, so embedding tables reserve row 0.

mod error;
mod extra_fields;
pub mod fetch;
mod impressions;
mod interactions;
pub mod loaders;
pub mod preprocess;
mod rng;
mod simulator;
mod split;

pub use error::{DataError, Result};
pub use fetch::{fetch_ml100k, fetch_ml100k_from, verify_ml100k, FetchReport, FetchSource, PinnedDataset, ML100K_FILES};
pub use interactions::{Column, ColumnData, FeatureTable, FieldType, Interactions, Vocab};
pub use loaders::{
    load_atomic, load_attention_log, load_ctr, load_movielens, AtomicDataset, AtomicOptions, AttentionLog, CtrSchema, CtrTable,
    Event, LoadReport, OnBadRow, ATTENTION_LOG_HEADER, ATTENTION_LOG_OPTIONAL,
};
pub use loaders::{load_obd, ObdLog, OBD_SLOTS};
pub use extra_fields::{CategoricalField, ExtraColumns, ExtraFields};
pub use impressions::{Cardinalities, Impressions, PAD};
pub use rng::Rng;
pub use simulator::{examination, simulate, true_relevance, SimulatorConfig};
pub use split::{split_temporal, split_temporal_owned, temporal_cut, Splits};
mod attention_log;
pub use attention_log::write_attention_log;
mod log_impressions;
pub use log_impressions::{impressions_from_log, LogImpressions};
pub use simulator::{
    simulate_market, AdPlacement, Advertiser, AdsConfig, Bidding, FeedRequest, Market, MarketSessions, SessionDraw, SessionRows, SessionSampler,
    SIMULATOR_VERSION,
};
pub mod cache;
pub mod fingerprint;
pub mod protocol;
pub mod stats;
pub mod synth;
pub mod text;
pub use text::{hashed_ngrams, TEXT_BUCKETS};
pub use cache::{load_or_prepare, CacheOutcome};
pub use fingerprint::{fingerprint, DataSource, Fingerprint, SourceFile, FORMAT_VERSION};
pub use protocol::{
    prepare, preprocess, recbole_split_sizes, Candidates, Csr, GroupBy, Order, Part, Prepared, Preprocess, PreprocessReport,
    Protocol, SequenceData, Split, SplitRows,
};
pub use stats::{stats, DatasetStats, ImpressionStats, LengthDist, PositionRates, StatsSource};
