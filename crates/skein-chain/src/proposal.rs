//! [`BlockProposal`]: a block signed by an owner of its chain.

use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::{BcsSignable, CryptoError, PublicKey, SecretKey, Signature},
    AccountOwner, Round,
};

use crate::block::ProposedBlock;

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
}

impl BlockProposal {
    /// Signs a proposal.
    pub fn new(content: ProposalContent, secret: &SecretKey) -> Self {
        let signature = Signature::new(&content, secret);
        Self {
            content,
            public_key: secret.public(),
            signature,
        }
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
