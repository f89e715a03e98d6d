//! How a run names users and items wherever its outputs leave the process
//! (per-user test values, attention samples): as the data's own files name
//! them (`u17`, a MovieLens movie id, a click log's hashed user), as the
//! dense numbers of a simulated world or a bandit log, or, for users of a
//! run that pseudonymises, by their pseudonyms. Models train on dense ids;
//! only what is written is renamed.

use attnlab_data::Vocab;
use attnlab_spec::LoadedSpec;

use crate::dataset::{Dataset, Prepared};
use crate::pseudonym::Pseudonymiser;
use crate::Result;

pub struct PublicIds<'a> {
    users: Option<Vocab>,
    items: Option<Vocab>,
    pseudonyms: Option<&'a Pseudonymiser>,
}

impl<'a> PublicIds<'a> {
    /// The names of the spec's data: interaction files are read again for
    /// their vocabularies (the prepared-data cache holds dense ids only);
    /// logs of impressions keep theirs from preparing.
    pub fn of(loaded: &LoadedSpec, prepared: &Prepared, pseudonyms: Option<&'a Pseudonymiser>) -> Result<PublicIds<'a>> {
        let (users, items) = match &prepared.data {
            Dataset::Interactions { .. } => {
                let (users, items) = crate::dataset::interaction_vocabularies(loaded)?;
                (Some(users), Some(items))
            }
            Dataset::Impressions { vocabularies: Some(v), .. } => (Some(v.users.clone()), Some(v.items.clone())),
            Dataset::Impressions { vocabularies: None, .. } => (None, None),
        };
        Ok(PublicIds { users, items, pseudonyms })
    }

    /// Dense ids (users pseudonymised when `pseudonyms` is given).
    pub fn dense(pseudonyms: Option<&'a Pseudonymiser>) -> PublicIds<'a> {
        PublicIds { users: None, items: None, pseudonyms }
    }

    pub fn user(&self, dense: u32) -> String {
        match self.pseudonyms {
            Some(p) => crate::pseudonym::public_user_id(Some(p), dense).to_string(),
            None => name(self.users.as_ref(), dense),
        }
    }

    pub fn item(&self, dense: u32) -> String {
        name(self.items.as_ref(), dense)
    }
}

/// A dense id's token, or the number itself where there is no vocabulary
/// (or the id is a reserved one, such as padding).
fn name(vocab: Option<&Vocab>, dense: u32) -> String {
    vocab.and_then(|v| v.token(dense)).map_or_else(|| dense.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_dense_ids_and_pseudonyms_replace_users() {
        let mut users = Vocab::unpadded();
        let mut items = Vocab::padded();
        let (alice, film) = (users.intern("alice"), items.intern("tt0111161"));
        let ids = PublicIds { users: Some(users.clone()), items: Some(items.clone()), pseudonyms: None };
        assert_eq!((ids.user(alice), ids.item(film)), ("alice".to_string(), "tt0111161".to_string()));
        // ids the vocabulary does not hold (padding) stay numbers
        assert_eq!(ids.item(0), "0");
        let p = Pseudonymiser::new(b"key-one-0123456789");
        let hidden = PublicIds { users: Some(users), items: Some(items), pseudonyms: Some(&p) };
        assert_eq!(hidden.user(alice), p.user(&alice.to_string()).to_string());
        assert_eq!(hidden.item(film), "tt0111161");
        assert_eq!(PublicIds::dense(None).user(7), "7");
    }
}
