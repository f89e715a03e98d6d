//! Preprocessing of interaction tables and CTR columns: deduplication,
//! k-core filtering, labels from ratings, categorical encoding with a
//! minimum count, numeric normalisation and per-user sequences.
//!
//! Every function takes its table by reference and returns a new one (or
//! recodes a column in place), so a pipeline is a plain sequence of calls
//! whose options the caller records in the protocol fingerprint.

mod ctr_encode;
mod encode;
mod filter;
mod sequences;

pub use ctr_encode::{encode_ctr_table, log_square_bucket, CtrEncoding, NumericEncoding};
pub use encode::{MinCount, Norm, Normalizer};
pub use filter::{Compacted, KCoreReport, Keep, compact, dedup, k_core, label_from_threshold};
pub use sequences::{Sequences, build_sequences};
