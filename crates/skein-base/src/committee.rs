//! [`Committee`]: the validators of an epoch, their voting power and the thresholds it implies.
//!
//! With total voting power `N` and at most `f < N/3` of it Byzantine, a *quorum* is
//! `⌊2N/3⌋ + 1` and a *validity* set is `⌊(N + 2)/3⌋`: any two quorums share an honest
//! validator, and any validity set contains one.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::crypto::{hex_serde, BcsHashable, PublicKey};

/// A validator's signing key, as it names the validator: the 32 bytes of the compressed
/// point. Kept apart from owners' keys so the two are never confused, and small, since it
/// appears in every vote and certificate. The [`Committee`] holds the decoded keys that
/// verify signatures.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValidatorPublicKey(#[serde(with = "hex_serde")] [u8; 32]);

impl ValidatorPublicKey {
    /// The compressed point.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key for verifying, if the bytes are a valid key.
    pub fn to_public_key(&self) -> Result<PublicKey, crate::crypto::CryptoError> {
        PublicKey::from_bytes(&self.0)
    }
}

impl From<&PublicKey> for ValidatorPublicKey {
    fn from(key: &PublicKey) -> Self {
        ValidatorPublicKey(*key.as_bytes())
    }
}

impl fmt::Display for ValidatorPublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ValidatorPublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "validator:{}…", hex::encode(&self.0[..4]))
    }
}

impl FromStr for ValidatorPublicKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PublicKey::from_str(text).map(|key| ValidatorPublicKey::from(&key))
    }
}

/// What a committee knows of one validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorState {
    /// Where clients reach the validator's proxy.
    pub network_address: String,
    /// Voting power: own stake plus delegated stake.
    pub votes: u64,
}

/// Why a committee cannot be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitteeError {
    /// A committee needs at least one validator.
    #[error("a committee needs at least one validator")]
    Empty,
    /// Every member must have some voting power.
    #[error("validator {0} has no voting power")]
    ZeroVotes(ValidatorPublicKey),
    /// The voting power does not fit in 64 bits.
    #[error("total voting power overflows")]
    Overflow,
    /// More members than [`limits::COMMITTEE_VALIDATORS_MAX`](crate::limits::COMMITTEE_VALIDATORS_MAX).
    #[error("a committee of {count} validators is larger than the limit of {limit}")]
    TooManyValidators {
        /// How many were named.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A member's key is not a valid Ed25519 key.
    #[error("validator {0} has an invalid key")]
    InvalidKey(ValidatorPublicKey),
}

/// The validators of one epoch. The thresholds are derived on construction and on decoding,
/// so they always match the members.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<ValidatorPublicKey, ValidatorState>")]
#[serde(into = "BTreeMap<ValidatorPublicKey, ValidatorState>")]
pub struct Committee {
    validators: BTreeMap<ValidatorPublicKey, ValidatorState>,
    /// The members' keys, decoded once for verifying.
    public_keys: BTreeMap<ValidatorPublicKey, PublicKey>,
    total_votes: u64,
    quorum_threshold: u64,
    validity_threshold: u64,
}

impl Committee {
    /// Forms a committee, refusing an empty or oversized one, or members without votes.
    /// Decoding forms it too, so no committee past the limits exists anywhere.
    pub fn new(
        validators: BTreeMap<ValidatorPublicKey, ValidatorState>,
    ) -> Result<Self, CommitteeError> {
        if validators.is_empty() {
            return Err(CommitteeError::Empty);
        }
        let limit = crate::limits::COMMITTEE_VALIDATORS_MAX;
        if validators.len() > limit {
            return Err(CommitteeError::TooManyValidators {
                count: validators.len(),
                limit,
            });
        }
        let mut total_votes: u64 = 0;
        let mut public_keys = BTreeMap::new();
        for (key, state) in &validators {
            if state.votes == 0 {
                return Err(CommitteeError::ZeroVotes(*key));
            }
            let public_key = key
                .to_public_key()
                .map_err(|_| CommitteeError::InvalidKey(*key))?;
            public_keys.insert(*key, public_key);
            total_votes = total_votes
                .checked_add(state.votes)
                .ok_or(CommitteeError::Overflow)?;
        }
        let total = u128::from(total_votes);
        let quorum_threshold = u64::try_from(2 * total / 3 + 1).expect("at most the total");
        let validity_threshold = u64::try_from(total.div_ceil(3)).expect("at most the total");
        Ok(Committee {
            validators,
            public_keys,
            total_votes,
            quorum_threshold,
            validity_threshold,
        })
    }

    /// The voting power of a validator; zero for a non-member.
    pub fn weight(&self, validator: &ValidatorPublicKey) -> u64 {
        self.validators
            .get(validator)
            .map_or(0, |state| state.votes)
    }

    /// A member's key, for verifying its signatures; `None` for a non-member.
    pub fn public_key(&self, validator: &ValidatorPublicKey) -> Option<&PublicKey> {
        self.public_keys.get(validator)
    }

    /// Whether a key belongs to a member.
    pub fn is_member(&self, validator: &ValidatorPublicKey) -> bool {
        self.validators.contains_key(validator)
    }

    /// The sum of all votes.
    pub fn total_votes(&self) -> u64 {
        self.total_votes
    }

    /// Votes needed for a certificate: `⌊2N/3⌋ + 1`.
    pub fn quorum_threshold(&self) -> u64 {
        self.quorum_threshold
    }

    /// Votes that surely include an honest validator: `⌊(N + 2)/3⌋`.
    pub fn validity_threshold(&self) -> u64 {
        self.validity_threshold
    }

    /// The members in key order.
    pub fn validators(&self) -> &BTreeMap<ValidatorPublicKey, ValidatorState> {
        &self.validators
    }
}

impl TryFrom<BTreeMap<ValidatorPublicKey, ValidatorState>> for Committee {
    type Error = CommitteeError;

    fn try_from(
        validators: BTreeMap<ValidatorPublicKey, ValidatorState>,
    ) -> Result<Self, Self::Error> {
        Committee::new(validators)
    }
}

impl From<Committee> for BTreeMap<ValidatorPublicKey, ValidatorState> {
    fn from(committee: Committee) -> Self {
        committee.validators
    }
}

impl BcsHashable for Committee {
    const TYPE_TAG: &'static str = "Committee";
}

impl fmt::Debug for Committee {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Committee")
            .field("validators", &self.validators.len())
            .field("total_votes", &self.total_votes)
            .field("quorum_threshold", &self.quorum_threshold)
            .finish()
    }
}
