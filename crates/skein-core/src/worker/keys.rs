//! [`ValidatorKeys`]: the keys a validator votes with, more than one after a key rotation.
//!
//! A validator rotates its key by a new committee that names it with a new public key.
//! Chains migrate to that committee one by one, in blocks of their own epoch while it
//! lives, so for a while the validator certifies blocks of both epochs: it keeps the keys
//! of its earlier committees and signs each vote with the one the deciding committee
//! names. Once those epochs are revoked and every chain has migrated, the old keys can go.

use skein_base::{crypto::SecretKey, Committee, ValidatorPublicKey};

/// A validator's current key and those it had in earlier committees.
pub struct ValidatorKeys {
    current: SecretKey,
    previous: Vec<SecretKey>,
}

impl ValidatorKeys {
    /// A validator that has never rotated its key.
    pub fn new(current: SecretKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds the keys of earlier committees, still needed for chains that have not migrated.
    pub fn with_previous(mut self, previous: impl IntoIterator<Item = SecretKey>) -> Self {
        self.previous.extend(previous);
        self
    }

    /// The key the newest committees name.
    pub fn current(&self) -> ValidatorPublicKey {
        ValidatorPublicKey::from(&self.current.public())
    }

    /// Our key that is `validator`, if it is one of ours: a round led by the validator
    /// under an earlier key is still ours to propose in.
    pub fn named(&self, validator: &ValidatorPublicKey) -> Option<&SecretKey> {
        self.all()
            .find(|key| ValidatorPublicKey::from(&key.public()) == *validator)
    }

    fn all(&self) -> impl Iterator<Item = &SecretKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// The key to vote with for `committee`: the one of ours it names, or the current key
    /// if it names none (the vote then counts for nothing, as for any non-member).
    pub fn for_committee(&self, committee: Option<&Committee>) -> &SecretKey {
        let Some(committee) = committee else {
            return &self.current;
        };
        self.all()
            .find(|key| committee.is_member(&ValidatorPublicKey::from(&key.public())))
            .unwrap_or(&self.current)
    }
}

impl From<SecretKey> for ValidatorKeys {
    fn from(current: SecretKey) -> Self {
        Self::new(current)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use skein_base::ValidatorState;

    use super::*;

    fn committee_of(keys: &[&SecretKey]) -> Committee {
        let validators: BTreeMap<_, _> = keys
            .iter()
            .map(|key| {
                let state = ValidatorState {
                    network_address: "127.0.0.1:1".into(),
                    votes: 1,
                };
                (ValidatorPublicKey::from(&key.public()), state)
            })
            .collect();
        Committee::new(validators).expect("a valid committee")
    }

    #[test]
    fn each_committee_gets_the_key_it_names() {
        let (old, new, other) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let keys = ValidatorKeys::new(new.copy()).with_previous([old.copy()]);
        let public = |key: &SecretKey| ValidatorPublicKey::from(&key.public());
        let before = committee_of(&[&old, &other]);
        let after = committee_of(&[&new, &other]);
        let without = committee_of(&[&other]);
        assert_eq!(public(keys.for_committee(Some(&before))), public(&old));
        assert_eq!(public(keys.for_committee(Some(&after))), public(&new));
        assert_eq!(public(keys.for_committee(Some(&without))), public(&new));
        assert_eq!(public(keys.for_committee(None)), public(&new));
        assert_eq!(keys.current(), public(&new));
        assert_eq!(keys.named(&public(&old)).map(public), Some(public(&old)));
        assert!(keys.named(&public(&other)).is_none());
    }
}
