//! Blocks, message bundles and executed outcomes.
//!
//! A proposer builds a [`ProposedBlock`]; validators execute it into a
//! [`BlockExecutionOutcome`]; the pair is a [`ConfirmedBlock`], the value certificates sign.
//! Messages travel as [`MessageBundle`]s: the messages of one transaction for one recipient.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::{BcsHashable, CryptoHash},
    AccountOwner, BlockHeight, ChainId, Epoch, Timestamp,
};
use skein_execution::{Message, MessageKind, Operation, OutgoingMessage};

/// A block as its proposer builds it. Transactions are numbered with the incoming bundles
/// first, then the operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedBlock {
    /// The chain the block extends.
    pub chain_id: ChainId,
    /// The epoch whose committee certifies it: the chain's current epoch.
    pub epoch: Epoch,
    /// Its height: the chain's next height.
    pub height: BlockHeight,
    /// Not before the chain's previous block or any picked bundle; not after the
    /// validator's clock plus a small grace.
    pub timestamp: Timestamp,
    /// The owner who signed the proposal, made visible to operations; or none.
    pub authenticated_signer: Option<AccountOwner>,
    /// The hash of the chain's previous block; `None` at height 0.
    pub previous_block_hash: Option<CryptoHash>,
    /// Bundles picked from the inboxes, each accepted or rejected, in inbox order.
    pub incoming_bundles: Vec<IncomingBundle>,
    /// Operations to run after the bundles.
    pub operations: Vec<Operation>,
}

impl ProposedBlock {
    /// How many transactions the block has.
    pub fn transaction_count(&self) -> usize {
        self.incoming_bundles.len() + self.operations.len()
    }

    /// The chains the block's `OpenChain` operations open, in order. Their ids depend on
    /// each operation's transaction index, which bundles and a migration put first move.
    pub fn opened_chains(&self) -> Vec<ChainId> {
        let first = self.incoming_bundles.len();
        self.operations
            .iter()
            .enumerate()
            .filter(|(_, operation)| {
                matches!(
                    operation,
                    Operation::System(skein_execution::SystemOperation::OpenChain { .. })
                )
            })
            .map(|(offset, _)| {
                let index =
                    u32::try_from(first + offset).expect("transactions per block are bounded");
                ChainId::child(self.chain_id, self.height, index)
            })
            .collect()
    }

    /// The blobs the block's operations publish (application bytecode), with their ids:
    /// what a node stores when it commits the block.
    pub fn published_blobs(&self) -> Vec<(skein_base::BlobId, &[u8])> {
        self.operations
            .iter()
            .flat_map(|operation| match operation {
                Operation::System(operation) => operation.published_blobs(),
                Operation::User { .. } => Vec::new(),
            })
            .collect()
    }
}

/// What the proposer decided to do with a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageAction {
    /// Execute its messages.
    Accept,
    /// Skip its messages; tracked ones go back to the sender.
    Reject,
}

/// A bundle from an inbox, as picked in a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingBundle {
    /// The chain that sent it.
    pub origin: ChainId,
    /// The bundle.
    pub bundle: MessageBundle,
    /// Accept or reject.
    pub action: MessageAction,
}

/// The position of a bundle in its sender's history. Bundles from one sender arrive and are
/// consumed in increasing cursor order.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Cursor {
    /// The height of the sending block.
    pub height: BlockHeight,
    /// The index of the sending transaction.
    pub index: u32,
}

/// The messages one transaction sent to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBundle {
    /// The height of the sending block.
    pub height: BlockHeight,
    /// The timestamp of the sending block.
    pub timestamp: Timestamp,
    /// The hash of the sending block, to fetch and check it.
    pub block_hash: CryptoHash,
    /// The index of the sending transaction in its block.
    pub transaction_index: u32,
    /// The messages, in the order they were sent.
    pub messages: Vec<PostedMessage>,
}

impl MessageBundle {
    /// The bundle's position in its sender's history.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            height: self.height,
            index: self.transaction_index,
        }
    }

    /// Whether every message may be rejected.
    pub fn is_rejectable(&self) -> bool {
        self.messages
            .iter()
            .all(|message| message.kind.is_rejectable())
    }
}

/// A message inside a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedMessage {
    /// The user the sender forwarded, if any.
    pub authenticated_signer: Option<AccountOwner>,
    /// How it may be treated.
    pub kind: MessageKind,
    /// The content.
    pub message: Message,
}

/// What executing a block produced; every validator computes it and must agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockExecutionOutcome {
    /// The messages each transaction sent, by transaction index.
    pub messages: Vec<Vec<OutgoingMessage>>,
    /// The hash of the execution state after the block.
    pub state_hash: CryptoHash,
}

/// A block with its outcome: what validators vote on and certificates certify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedBlock {
    /// The block.
    pub block: ProposedBlock,
    /// Its outcome.
    pub outcome: BlockExecutionOutcome,
}

impl BcsHashable for ConfirmedBlock {
    const TYPE_TAG: &'static str = "ConfirmedBlock";
}

impl ConfirmedBlock {
    /// The chains this block sends messages to, in order.
    pub fn recipients(&self) -> Vec<ChainId> {
        let mut recipients: Vec<ChainId> = self
            .outcome
            .messages
            .iter()
            .flatten()
            .map(|message| message.destination)
            .collect();
        recipients.sort();
        recipients.dedup();
        recipients
    }

    /// The bundles this block sends to `recipient`, in cursor order. `block_hash` is this
    /// block's hash, passed in because callers already have it.
    pub fn bundles_for(&self, recipient: ChainId, block_hash: CryptoHash) -> Vec<MessageBundle> {
        let mut bundles = Vec::new();
        for (index, messages) in self.outcome.messages.iter().enumerate() {
            let posted: Vec<PostedMessage> = messages
                .iter()
                .filter(|message| message.destination == recipient)
                .map(|message| PostedMessage {
                    authenticated_signer: message.authenticated_signer,
                    kind: message.kind,
                    message: message.message.clone(),
                })
                .collect();
            if posted.is_empty() {
                continue;
            }
            bundles.push(MessageBundle {
                height: self.block.height,
                timestamp: self.block.timestamp,
                block_hash,
                transaction_index: u32::try_from(index)
                    .expect("transactions per block are bounded far below u32::MAX"),
                messages: posted,
            });
        }
        bundles
    }

    /// Every bundle of the block, grouped by recipient.
    pub fn bundles(&self, block_hash: CryptoHash) -> BTreeMap<ChainId, Vec<MessageBundle>> {
        self.recipients()
            .into_iter()
            .map(|recipient| (recipient, self.bundles_for(recipient, block_hash)))
            .collect()
    }
}

/// A block with its outcome that validators voted to *validate*, in the two-phase rounds of
/// multi-owner chains: a quorum of such votes (a validated certificate) locks the block; a
/// quorum of confirm votes then makes it final. Its hash differs from the confirmed block's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedBlock {
    /// The block.
    pub block: ProposedBlock,
    /// Its outcome.
    pub outcome: BlockExecutionOutcome,
}

impl BcsHashable for ValidatedBlock {
    const TYPE_TAG: &'static str = "ValidatedBlock";
}

impl ValidatedBlock {
    /// The same block, to be confirmed.
    pub fn to_confirmed(&self) -> ConfirmedBlock {
        ConfirmedBlock {
            block: self.block.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

impl ConfirmedBlock {
    /// The same block, to be validated.
    pub fn to_validated(&self) -> ValidatedBlock {
        ValidatedBlock {
            block: self.block.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

/// What validators sign to end a round that made no progress: a quorum of these (a timeout
/// certificate) moves every validator to the next round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeout {
    /// The chain.
    pub chain_id: ChainId,
    /// The height whose round timed out.
    pub height: BlockHeight,
    /// The chain's epoch.
    pub epoch: Epoch,
}

impl BcsHashable for Timeout {
    const TYPE_TAG: &'static str = "Timeout";
}

/// A block of a chain, named by chain and height.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChainAndHeight {
    /// The chain.
    pub chain_id: ChainId,
    /// The height.
    pub height: BlockHeight,
}
