//! Votes and certificates.
//!
//! A validator's [`Vote`] signs a value's hash and the round. A quorum of votes makes an
//! [`UncheckedCertificate`], which is what arrives from the network or a client; only
//! [`UncheckedCertificate::check`] — quorum weight, members only, no duplicate signer,
//! every signature valid — turns it into a [`Certificate`]. Functions that commit blocks
//! take a `Certificate`, so a forgotten check does not compile.

use std::collections::BTreeSet;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use skein_base::{
    crypto::{BcsHashable, BcsSignable, CryptoError, CryptoHash, SecretKey, Signature},
    limits, BlockHeight, ChainId, Committee, Epoch, Round, ValidatorPublicKey,
};

use crate::{
    block::{ConfirmedBlock, ProposedBlock, Timeout, ValidatedBlock},
    hashed::Hashed,
};

/// A value validators sign: it names its chain, height and epoch, so a certificate can be
/// checked against the right committee.
pub trait CertificateValue: BcsHashable + Clone + Serialize + DeserializeOwned {
    /// The chain the value belongs to.
    fn chain_id(&self) -> ChainId;
    /// The height it is for.
    fn height(&self) -> BlockHeight;
    /// The epoch whose committee must certify it.
    fn epoch(&self) -> Epoch;
    /// The block it is about, if it is about one.
    fn block(&self) -> Option<&ProposedBlock>;
    /// Whether a quorum may certify it in `round`.
    fn may_be_certified_in(&self, round: Round) -> bool {
        let _ = round;
        true
    }
}

impl CertificateValue for ConfirmedBlock {
    fn chain_id(&self) -> ChainId {
        self.block.chain_id
    }

    fn height(&self) -> BlockHeight {
        self.block.height
    }

    fn epoch(&self) -> Epoch {
        self.block.epoch
    }

    fn block(&self) -> Option<&ProposedBlock> {
        Some(&self.block)
    }
}

impl CertificateValue for ValidatedBlock {
    fn chain_id(&self) -> ChainId {
        self.block.chain_id
    }

    fn height(&self) -> BlockHeight {
        self.block.height
    }

    fn epoch(&self) -> Epoch {
        self.block.epoch
    }

    fn block(&self) -> Option<&ProposedBlock> {
        Some(&self.block)
    }

    /// Validating is the first phase of a two-phase round; the fast round has one phase.
    fn may_be_certified_in(&self, round: Round) -> bool {
        round != Round::Fast
    }
}

impl CertificateValue for Timeout {
    fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    fn height(&self) -> BlockHeight {
        self.height
    }

    fn epoch(&self) -> Epoch {
        self.epoch
    }

    fn block(&self) -> Option<&ProposedBlock> {
        None
    }
}

/// What a validator's signature covers.
#[derive(Serialize)]
struct VoteContent {
    value_hash: CryptoHash,
    round: Round,
}

impl BcsSignable for VoteContent {
    const TYPE_TAG: &'static str = "Vote";
}

/// Why a vote or certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CertificateError {
    /// More signatures than any committee needs.
    #[error("certificate has {count} signatures, above the limit of {limit}")]
    TooManySignatures {
        /// How many it has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The same validator signed twice.
    #[error("validator {0} signed twice")]
    DuplicateSigner(ValidatorPublicKey),
    /// A signer is not in the committee of the value's epoch.
    #[error("{0} is not a member of the committee")]
    NotMember(ValidatorPublicKey),
    /// The signers do not hold a quorum.
    #[error("signers hold {weight} votes; a quorum needs {quorum}")]
    InsufficientWeight {
        /// Their combined votes.
        weight: u64,
        /// The quorum threshold.
        quorum: u64,
    },
    /// A signature does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// A vote is for a different value or round than the one being certified.
    #[error("the vote is for a different value or round")]
    WrongValue,
}

impl From<CryptoError> for CertificateError {
    fn from(error: CryptoError) -> Self {
        CertificateError::InvalidSignature(error.to_string())
    }
}

/// One validator's signature on a value in a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: BcsHashable + DeserializeOwned"))]
pub struct Vote<V> {
    /// The value voted for.
    pub value: Hashed<V>,
    /// The round of the vote.
    pub round: Round,
    /// Who voted.
    pub validator: ValidatorPublicKey,
    /// The signature on the value's hash and the round.
    pub signature: Signature,
}

impl<V: BcsHashable> Vote<V> {
    /// Signs a value as the validator holding `secret`.
    pub fn new(value: Hashed<V>, round: Round, secret: &SecretKey) -> Self {
        let content = VoteContent {
            value_hash: value.hash(),
            round,
        };
        let signature = Signature::new(&content, secret);
        Self {
            value,
            round,
            validator: ValidatorPublicKey::from(&secret.public()),
            signature,
        }
    }

    /// Checks this one signature.
    pub fn check(&self) -> Result<(), CertificateError> {
        let content = VoteContent {
            value_hash: self.value.hash(),
            round: self.round,
        };
        let key = self.validator.to_public_key()?;
        Ok(self.signature.check(&content, &key)?)
    }
}

impl<V> Vote<V> {
    /// The vote without its value, as validators send it back to the proposer (who has the
    /// value already).
    pub fn lite(&self) -> LiteVote {
        LiteVote {
            value_hash: self.value.hash(),
            round: self.round,
            validator: self.validator,
            signature: self.signature,
        }
    }
}

/// A vote without its value: the hash it signs, the round, who signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiteVote {
    /// The hash of the value voted for.
    pub value_hash: CryptoHash,
    /// The round of the vote.
    pub round: Round,
    /// Who voted.
    pub validator: ValidatorPublicKey,
    /// The signature on the hash and the round.
    pub signature: Signature,
}

impl LiteVote {
    /// Checks this one signature.
    pub fn check(&self) -> Result<(), CertificateError> {
        let content = VoteContent {
            value_hash: self.value_hash,
            round: self.round,
        };
        let key = self.validator.to_public_key()?;
        Ok(self.signature.check(&content, &key)?)
    }
}

impl<V: CertificateValue> skein_storage::StoredCertificate for UncheckedCertificate<V> {
    fn value_hash(&self) -> CryptoHash {
        self.value.hash()
    }
}

/// A value with signatures, not yet checked against a committee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: BcsHashable + DeserializeOwned"))]
pub struct UncheckedCertificate<V> {
    /// The certified value.
    pub value: Hashed<V>,
    /// The round of the votes.
    pub round: Round,
    /// The signers and their signatures.
    pub signatures: Vec<(ValidatorPublicKey, Signature)>,
}

impl<V: CertificateValue> UncheckedCertificate<V> {
    /// Checks the certificate against the committee of the value's epoch: at most
    /// [`limits::SIGNATURES_PER_CERTIFICATE_MAX`] signatures, members only, no duplicate,
    /// a quorum of weight, and every signature valid (checked in one batch). The cheap
    /// checks run first.
    pub fn check(self, committee: &Committee) -> Result<Certificate<V>, CertificateError> {
        let count = self.signatures.len();
        if count > limits::SIGNATURES_PER_CERTIFICATE_MAX {
            return Err(CertificateError::TooManySignatures {
                count,
                limit: limits::SIGNATURES_PER_CERTIFICATE_MAX,
            });
        }
        let mut signers = BTreeSet::new();
        let mut weight: u64 = 0;
        let mut keys = Vec::with_capacity(count);
        for (validator, signature) in &self.signatures {
            if !signers.insert(*validator) {
                return Err(CertificateError::DuplicateSigner(*validator));
            }
            let key = committee
                .public_key(validator)
                .ok_or(CertificateError::NotMember(*validator))?;
            weight = weight.saturating_add(committee.weight(validator));
            keys.push((key, signature));
        }
        if weight < committee.quorum_threshold() {
            return Err(CertificateError::InsufficientWeight {
                weight,
                quorum: committee.quorum_threshold(),
            });
        }
        let content = VoteContent {
            value_hash: self.value.hash(),
            round: self.round,
        };
        Signature::check_batch(&content, keys)?;
        Ok(Certificate(self))
    }

    /// Accepts a certificate that validators holding more than the Byzantine stake (the
    /// validity threshold) have committed: at least one of them is honest and checked it.
    /// This spares a proposer the signature checks every honest validator does anyway.
    pub fn vouched_for_by_validators(self) -> Certificate<V> {
        Certificate(self)
    }

    /// Accepts a certificate this node checked before storing it. Only for certificates
    /// read back from the node's own store, never for anything from the network.
    pub fn trusted_from_own_storage(self) -> Certificate<V> {
        Certificate(self)
    }
}

/// A value certified by a quorum of the committee of its epoch. Built only by
/// [`UncheckedCertificate::check`] (or read back from the node's own store).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Certificate<V>(UncheckedCertificate<V>);

impl<V> Certificate<V> {
    /// The certified value.
    pub fn value(&self) -> &V {
        &self.0.value
    }

    /// The hash of the certified value; also the certificate's identifier.
    pub fn hash(&self) -> CryptoHash {
        self.0.value.hash()
    }

    /// The round of the votes.
    pub fn round(&self) -> Round {
        self.0.round
    }

    /// The signers and their signatures.
    pub fn signatures(&self) -> &[(ValidatorPublicKey, Signature)] {
        &self.0.signatures
    }

    /// The certificate in its wire form, for sending on.
    pub fn as_unchecked(&self) -> &UncheckedCertificate<V> {
        &self.0
    }

    /// The certificate in its wire form.
    pub fn into_unchecked(self) -> UncheckedCertificate<V> {
        self.0
    }
}

/// A certificate of a confirmed block: the proof that a block is final.
pub type ConfirmedBlockCertificate = Certificate<ConfirmedBlock>;

/// Any certificate, as it travels to a validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnyCertificate {
    /// A block is final.
    Confirmed(UncheckedCertificate<ConfirmedBlock>),
    /// A block is locked: validators may now vote to confirm it.
    Validated(UncheckedCertificate<ValidatedBlock>),
    /// A round timed out: validators move to the next.
    Timeout(UncheckedCertificate<Timeout>),
}

impl From<UncheckedCertificate<ConfirmedBlock>> for AnyCertificate {
    fn from(certificate: UncheckedCertificate<ConfirmedBlock>) -> Self {
        AnyCertificate::Confirmed(certificate)
    }
}

impl From<UncheckedCertificate<ValidatedBlock>> for AnyCertificate {
    fn from(certificate: UncheckedCertificate<ValidatedBlock>) -> Self {
        AnyCertificate::Validated(certificate)
    }
}

impl From<UncheckedCertificate<Timeout>> for AnyCertificate {
    fn from(certificate: UncheckedCertificate<Timeout>) -> Self {
        AnyCertificate::Timeout(certificate)
    }
}

impl AnyCertificate {
    /// The chain the certificate is about.
    pub fn chain_id(&self) -> ChainId {
        match self {
            AnyCertificate::Confirmed(certificate) => certificate.value.chain_id(),
            AnyCertificate::Validated(certificate) => certificate.value.chain_id(),
            AnyCertificate::Timeout(certificate) => certificate.value.chain_id(),
        }
    }

    /// The height the certificate is about.
    pub fn height(&self) -> BlockHeight {
        match self {
            AnyCertificate::Confirmed(certificate) => certificate.value.height(),
            AnyCertificate::Validated(certificate) => certificate.value.height(),
            AnyCertificate::Timeout(certificate) => certificate.value.height(),
        }
    }
}

/// Collects votes for one value until they weigh a quorum. Collecting does no signature
/// checks: every honest validator checks the certificate anyway, so a proposer forms it
/// first and checks signatures (with [`VoteAggregator::drop_invalid_votes`]) only if the
/// validators refuse it.
pub struct VoteAggregator<'a, V> {
    committee: &'a Committee,
    value: Hashed<V>,
    round: Round,
    signatures: Vec<(ValidatorPublicKey, Signature)>,
    weight: u64,
}

impl<'a, V: CertificateValue> VoteAggregator<'a, V> {
    /// Starts collecting votes for `value` in `round`.
    pub fn new(value: Hashed<V>, round: Round, committee: &'a Committee) -> Self {
        Self {
            committee,
            value,
            round,
            signatures: Vec::new(),
            weight: 0,
        }
    }

    /// Adds a vote. Returns the (unchecked) certificate once the votes weigh a quorum;
    /// `Ok(None)` while more are needed. Votes for another value or round, from
    /// non-members, or repeated, are refused.
    pub fn add_vote(
        &mut self,
        vote: LiteVote,
    ) -> Result<Option<UncheckedCertificate<V>>, CertificateError> {
        if vote.value_hash != self.value.hash() || vote.round != self.round {
            return Err(CertificateError::WrongValue);
        }
        if self
            .signatures
            .iter()
            .any(|(key, _)| *key == vote.validator)
        {
            return Err(CertificateError::DuplicateSigner(vote.validator));
        }
        let votes = self.committee.weight(&vote.validator);
        if votes == 0 {
            return Err(CertificateError::NotMember(vote.validator));
        }
        self.signatures.push((vote.validator, vote.signature));
        self.weight = self.weight.saturating_add(votes);
        Ok(self.certificate())
    }

    /// The validators whose votes were collected.
    pub fn voters(&self) -> impl Iterator<Item = &ValidatorPublicKey> {
        self.signatures.iter().map(|(validator, _)| validator)
    }

    /// The certificate, if the votes collected weigh a quorum.
    pub fn certificate(&self) -> Option<UncheckedCertificate<V>> {
        (self.weight >= self.committee.quorum_threshold()).then(|| UncheckedCertificate {
            value: self.value.clone(),
            round: self.round,
            signatures: self.signatures.clone(),
        })
    }

    /// Checks every collected signature and drops the invalid ones. Returns the validators
    /// whose votes were dropped.
    pub fn drop_invalid_votes(&mut self) -> Vec<ValidatorPublicKey> {
        let content = VoteContent {
            value_hash: self.value.hash(),
            round: self.round,
        };
        let committee = self.committee;
        let mut dropped = Vec::new();
        self.signatures.retain(|(validator, signature)| {
            let valid = committee
                .public_key(validator)
                .is_some_and(|key| signature.check(&content, key).is_ok());
            if !valid {
                dropped.push(*validator);
            }
            valid
        });
        self.weight = self
            .signatures
            .iter()
            .map(|(validator, _)| committee.weight(validator))
            .fold(0, u64::saturating_add);
        dropped
    }
}
