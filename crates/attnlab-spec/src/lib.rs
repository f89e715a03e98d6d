//! Experiment specs: the YAML a researcher writes, parsed strictly.
//!
//! Unknown keys and wrong types are rejected with `file:line:column`; range
//! checks run inside deserialisation so they get a location too. Command-line
//! `key=value` overrides are applied on the YAML tree before the typed parse.
//! The resolved spec has a canonical JSON form whose blake3 hash identifies it.

mod error;
mod load;
mod overrides;
mod types;
mod validate;
pub use validate::DeviceChoice;

pub use error::{Result, SpecError};
pub use load::{fingerprint, load_spec, parse_spec, LoadedSpec};
pub use overrides::Override;
pub use types::*;
