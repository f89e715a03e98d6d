//! Keyed pseudonyms of user ids (`dataset.pseudonymise: true`).
//!
//! A user's pseudonym is the first 8 bytes (big-endian, a `u64`) of
//! HMAC-SHA256(key, raw id), the key taken from `ATTNLAB_PSEUDONYM_KEY` and
//! never written anywhere. The raw id is the simulator's user number, or
//! for interaction files the dense id the loader gave the user's token (the
//! tokens themselves never leave the loader). The same key gives the same
//! pseudonyms in every run, so per-user artifacts stay joinable across runs
//! and with the attention samples; another key gives unrelated ones.
//! 64 bits keep collisions negligible (about n²/2⁶⁵ for n users).
//!
//! Models still train on dense ids in memory: pseudonyms replace user ids
//! wherever they leave the process, through [`public_user_id`] (per-user
//! test values, attention samples; see [`crate::public_ids`]). The pseudonymiser is a value the caller
//! passes with each run (`None`: ids stay as they are). The run is tagged with a key id
//! (an HMAC of a fixed label, not the key) so runs made with different keys
//! can be told apart, and that id is part of the run's identity.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ExperimentError;

/// Where the key comes from.
pub const KEY_ENV: &str = "ATTNLAB_PSEUDONYM_KEY";

/// Shorter keys are refused: a guessable key makes pseudonyms reversible
/// by trying every raw id.
pub const MIN_KEY_BYTES: usize = 16;

#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl Pseudonymiser {
    /// The key from [`KEY_ENV`]; missing or short is bad input (exit 2).
    pub fn from_env() -> Result<Pseudonymiser, ExperimentError> {
        let key = std::env::var(KEY_ENV).unwrap_or_default();
        if key.is_empty() {
            return Err(ExperimentError::bad(format!(
                "dataset.pseudonymise is on but {KEY_ENV} is not set: export a secret key of at least {MIN_KEY_BYTES} characters"
            )));
        }
        if key.len() < MIN_KEY_BYTES {
            return Err(ExperimentError::bad(format!("{KEY_ENV} must be at least {MIN_KEY_BYTES} characters long, got {}", key.len())));
        }
        Ok(Pseudonymiser::new(key.as_bytes()))
    }

    pub fn new(key: &[u8]) -> Pseudonymiser {
        Pseudonymiser { mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length") }
    }

    fn digest(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// The pseudonym of the raw id `raw`.
    pub fn user(&self, raw: &str) -> u64 {
        let d = self.digest(raw.as_bytes());
        u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
    }

    /// 16 hex characters that identify the key without revealing it.
    pub fn key_id(&self) -> String {
        self.digest(b"attnlab pseudonym key id")[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How user `dense` is named in anything written: its pseudonym when the
/// run pseudonymises, else the id itself.
pub fn public_user_id(pseudonyms: Option<&Pseudonymiser>, dense: u32) -> u64 {
    match pseudonyms {
        Some(p) => p.user(&dense.to_string()),
        None => u64::from(dense),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_as_rfc_4231_and_keyed() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let p = Pseudonymiser::new(b"Jefe");
        let d = p.digest(b"what do ya want for nothing?");
        assert_eq!(d[..8], [0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e]);
        assert_eq!(p.user("what do ya want for nothing?"), 0x5bdc_c146_bf60_754e);
        let (a, b) = (Pseudonymiser::new(b"key-one-0123456789"), Pseudonymiser::new(b"key-two-0123456789"));
        assert_eq!(a.user("17"), a.user("17"));
        assert_ne!(a.user("17"), b.user("17"));
        assert_ne!(a.user("17"), a.user("18"));
        assert_ne!(a.key_id(), b.key_id());
    }

    #[test]
    fn public_user_ids_are_pseudonyms_only_with_a_pseudonymiser() {
        let p = Pseudonymiser::new(b"key-one-0123456789");
        assert_eq!(public_user_id(Some(&p), 3), p.user("3"));
        assert_eq!(public_user_id(None, 3), 3);
    }
}
