//! Operations, messages and the contexts they run in.

use serde::{Deserialize, Serialize};
use skein_base::{AccountOwner, ApplicationId, BlockHeight, ChainId, Epoch, Timestamp};

use crate::system::{SystemMessage, SystemOperation};

/// Something a block's proposer asks the chain to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// An operation of the system application.
    System(SystemOperation),
    /// An operation of a user application, in the encoding its contract reads.
    User {
        /// The application, registered on the chain.
        application_id: ApplicationId,
        /// The operation, as the application encodes it.
        bytes: Vec<u8>,
    },
}

impl Operation {
    /// The epoch a block starting with this operation may be in, beyond the chain's own:
    /// the one a `MigrateToEpoch` moves to.
    pub fn migrates_to(&self) -> Option<Epoch> {
        match self {
            Operation::System(SystemOperation::MigrateToEpoch { epoch }) => Some(*epoch),
            _ => None,
        }
    }
}

/// Something one chain asks another to do, delivered through the recipient's inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A message of the system application.
    System(SystemMessage),
    /// A message of a user application to its own instance on the recipient chain, which
    /// learns the application from a [`SystemMessage::RegisterApplications`] before it.
    User {
        /// The application.
        application_id: ApplicationId,
        /// The message, as the application encodes it.
        bytes: Vec<u8>,
    },
}

/// How a message may be treated by its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageKind {
    /// May be rejected; then it is dropped.
    Simple,
    /// May be rejected; then it returns to the sender as [`MessageKind::Bouncing`], so the
    /// assets it carries are never lost.
    Tracked,
    /// A tracked message on its way back. It cannot be rejected.
    Bouncing,
}

impl MessageKind {
    /// Whether the recipient may reject it.
    pub fn is_rejectable(self) -> bool {
        !matches!(self, MessageKind::Bouncing)
    }
}

/// A message produced by a transaction, addressed to a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The recipient chain.
    pub destination: ChainId,
    /// The user on whose behalf the message acts on the recipient, when the sender chose to
    /// forward the block's signer.
    pub authenticated_signer: Option<AccountOwner>,
    /// Whether and how it may be rejected.
    pub kind: MessageKind,
    /// The content.
    pub message: Message,
}

/// Where an operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationContext {
    /// The chain executing the block.
    pub chain_id: ChainId,
    /// The block's height.
    pub height: BlockHeight,
    /// The transaction's index in the block.
    pub index: u32,
    /// The block's signer, if the block names one.
    pub authenticated_signer: Option<AccountOwner>,
    /// The block's timestamp.
    pub timestamp: Timestamp,
}

/// Where a received message runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageContext {
    /// The chain executing the block.
    pub chain_id: ChainId,
    /// The block's height.
    pub height: BlockHeight,
    /// The index of the message's bundle among the block's transactions.
    pub index: u32,
    /// The chain that sent the message.
    pub origin: ChainId,
    /// The user the sender forwarded with the message, if any.
    pub authenticated_signer: Option<AccountOwner>,
    /// How the message was sent.
    pub kind: MessageKind,
    /// The block's timestamp.
    pub timestamp: Timestamp,
}
