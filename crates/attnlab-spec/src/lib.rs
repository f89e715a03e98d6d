//! Experiment specs: the YAML a researcher writes, parsed strictly.
//!
//! Unknown keys and wrong types are rejected with `file:line:column` (with a
//! "did you mean" when a known name is close); range checks run inside
//! deserialisation so they get a location too. A spec may be composed from
//! `defaults:` files (mappings merge key by key, lists and scalars replace);
//! command-line `key=value` overrides are applied on the merged YAML tree
//! before the typed parse. The resolved spec has a canonical JSON form whose
//! blake3 hash identifies it. A `sweep:` section expands into trials
//! (`expand_sweep`); `explain` says where every value came from;
//! `validate_all` lists every problem it can find. OPE specs (`load_ope`,
//! recognised by `is_ope_spec`) are their own small document: a `name` and
//! an `ope:` section.

mod ab_test;
mod blame;
mod ctr_log;
mod data_kind;
mod error;
mod excerpt;
mod explain;
mod load;
mod locate;
mod model_train;
mod obd_source;
mod objective;
mod ope;
mod overrides;
mod privacy;
mod range;
mod sources;
mod suggest;
mod sweep;
mod types;
mod validate;
pub use validate::DeviceChoice;

pub use ab_test::ad_load_positions;
pub use ctr_log::{ColumnSelection, NumericPreprocess};
pub use data_kind::DataKind;
pub use error::{Place, Result, SpecError};
pub use explain::{explain, render_explain, ExplainLine, Source};
pub use load::{fingerprint, load_spec, parse_spec, validate_all, LoadedSpec};
pub use model_train::PER_MODEL_KEYS;
pub use objective::{PositionDebias, Target, TaskWeights};
pub use obd_source::{ObdCampaign, ObdPolicy, ObdSource, OBD_DEFAULT_PATH};
pub use ope::{is_ope_spec, load_ope, ObdRef, OpeEstimator, OpeFile, OpeSpec, OpeTarget, Ranking, RunRef, OBD_CAMPAIGNS, OBD_POLICIES};
pub use overrides::Override;
pub use sources::{AttentionLogKind, AttentionLogSpec, LogEvent, MovieLensLayout, MovieLensSpec};
pub use sweep::{expand_sweep, Trial, MAX_TRIALS};
pub use types::*;
