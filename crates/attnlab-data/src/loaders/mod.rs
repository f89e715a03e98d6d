//! Streaming loaders for real data sets. Every loader reads its file line
//! by line into one reused buffer, parses each row completely before
//! keeping it, and names file, line and field in every error. Under
//! [`OnBadRow::Skip`] bad rows (wrong field count, a value that does not
//! parse, invalid UTF-8, an unknown event) are skipped and counted in the
//! [`LoadReport`] instead.
//!
//! Fields are split on the delimiter only: CSV quoting is not supported
//! (a field starting with `"` in a comma-separated file is an error).
//! Empty lines are ignored; `\r\n` line ends and a UTF-8 BOM are accepted.

mod atomic;
mod attention;
mod ctr;
mod movielens;
mod obd;
mod reader;
mod table;

pub use atomic::{
    AtomicDataset, AtomicField, AtomicOptions, load_atomic, load_atomic_features,
    load_atomic_inter, read_atomic_header,
};
pub use attention::{ATTENTION_LOG_HEADER, ATTENTION_LOG_OPTIONAL, AttentionLog, Event, load_attention_log};
pub use ctr::{ColumnRef, CtrSchema, CtrTable, DenseColumn, ctr_column_names, load_ctr};
pub use movielens::{
    ML100K_GENRES, ML20M_RATINGS_HEADER, MovieLensFormat, load_movielens, load_movielens_items, load_movielens_ratings,
    load_movielens_users,
};
pub use obd::{OBD_SLOTS, ObdItems, ObdLog, TokenColumn, load_obd};
pub use reader::{Delimiter, Encoding, LoadReport, OnBadRow};
