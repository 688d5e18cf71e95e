//! [`BlockProposal`]: a block signed by an owner of its chain (or, on a public chain, by the
//! validator whose turn it is).

use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::{BcsSignable, CryptoError, PublicKey, SecretKey, Signature},
    AccountOwner, Round,
};

use crate::{
    block::{ProposedBlock, ValidatedBlock},
    certificate::UncheckedCertificate,
};

/// What an owner signs: the block and the round it is proposed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalContent {
    /// The block.
    pub block: ProposedBlock,
    /// The round; [`Round::Fast`] on single-owner chains.
    pub round: Round,
}

impl BcsSignable for ProposalContent {
    const TYPE_TAG: &'static str = "BlockProposal";
}

/// A block proposed by an owner, who signs it with the key whose hash is their
/// [`AccountOwner`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockProposal {
    /// What is proposed.
    pub content: ProposalContent,
    /// The proposer's key.
    pub public_key: PublicKey,
    /// The proposer's signature on the content.
    pub signature: Signature,
    /// When a later round's proposer re-proposes a block validators locked on: the validated
    /// certificate that locked it. It lets a validator locked on an older block switch, and
    /// stands in for the original proposer's authority over the block. Outside the signed
    /// content: it proves itself.
    pub lock: Option<Box<UncheckedCertificate<ValidatedBlock>>>,
}

impl BlockProposal {
    /// Signs a proposal.
    pub fn new(content: ProposalContent, secret: &SecretKey) -> Self {
        let signature = Signature::new(&content, secret);
        Self {
            content,
            public_key: secret.public(),
            signature,
            lock: None,
        }
    }

    /// The same proposal, carrying the validated certificate of the locked block it
    /// re-proposes.
    pub fn with_lock(mut self, lock: UncheckedCertificate<ValidatedBlock>) -> Self {
        self.lock = Some(Box::new(lock));
        self
    }

    /// The proposer.
    pub fn owner(&self) -> AccountOwner {
        AccountOwner::from(&self.public_key)
    }

    /// Checks the proposer's signature.
    pub fn check_signature(&self) -> Result<(), CryptoError> {
        self.signature.check(&self.content, &self.public_key)
    }
}
