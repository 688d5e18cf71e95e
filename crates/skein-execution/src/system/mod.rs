//! The system application: native tokens, opening and closing chains, ownership, and on
//! the admin chain the committees of every epoch.
//!
//! Every chain runs it. Its operations are checked against the block's authenticated
//! signer; its messages move tokens between chains. A transfer to another chain sends a
//! *tracked* credit, so if the recipient rejects it, the tokens come back.

mod channels;
mod execute;
mod state;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skein_base::{
    Account, AccountOwner, Amount, ApplicationDescription, ApplicationId, BytecodeId,
    ChainDescription, ChainId, Committee, Epoch, Timestamp,
};

pub use channels::{ChannelName, ChannelStateView};
pub use state::SystemExecutionStateView;

use crate::ownership::ChainOwnership;

/// An operation of the system application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SystemOperation {
    /// Moves tokens from the chain's balance (`owner: None`, any chain owner may sign) or
    /// from the signer's own account to any account on any chain.
    Transfer {
        /// The account to debit on this chain; `None` for the chain's balance.
        owner: Option<AccountOwner>,
        /// Where the tokens go.
        recipient: Account,
        /// How many; never zero.
        amount: Amount,
    },
    /// Withdraws from the signer's account on another chain (`target_chain`) and sends the
    /// tokens to `recipient`.
    Claim {
        /// The account owner, who must be the block's signer.
        owner: AccountOwner,
        /// The chain holding the account.
        target_chain: ChainId,
        /// Where the tokens go.
        recipient: Account,
        /// How many; never zero.
        amount: Amount,
    },
    /// Opens a new chain, funded from this chain's balance. Its id derives from this chain,
    /// the block height and the transaction index.
    OpenChain {
        /// Who owns the new chain.
        ownership: ChainOwnership,
        /// Tokens moved from this chain's balance to the new chain's.
        balance: Amount,
    },
    /// Closes the chain for good: no more operations or accepted messages; incoming
    /// messages may still be rejected, so tracked transfers bounce back.
    CloseChain,
    /// Hands the chain to new owners.
    ChangeOwnership(ChainOwnership),
    /// Publishes an application's code: a contract module and a service module, which the
    /// validators store as blobs when they commit the block. Applications are then created
    /// from their [`BytecodeId`](skein_base::BytecodeId).
    PublishBytecode {
        /// The contract's Wasm module.
        contract: Vec<u8>,
        /// The service's Wasm module.
        service: Vec<u8>,
    },
    /// Asks `chain_id`, where the application is registered (its creator, say), to
    /// register it here, so that this chain's owners can use it.
    RequestApplication {
        /// The application.
        application_id: ApplicationId,
        /// A chain that knows it.
        chain_id: ChainId,
    },
    /// Creates an application from published bytecode and instantiates it on this chain.
    /// Its id derives from the description, which names this chain, the block height and
    /// the transaction index.
    CreateApplication {
        /// The published contract and service.
        bytecode_id: BytecodeId,
        /// Fixed for the application's life; its code reads them on every chain.
        parameters: Vec<u8>,
        /// What the contract's `instantiate` is given.
        instantiation_argument: Vec<u8>,
        /// Applications this one relies on, registered on this chain.
        required_application_ids: Vec<ApplicationId>,
    },
    /// On the admin chain only: starts epoch `epoch`, the one after the admin chain's, with
    /// `committee`. The admin chain moves to it at once: its next block is signed by the
    /// new committee. Other chains adopt it in a block of their own.
    CreateCommittee {
        /// The new epoch: the admin chain's current one plus one.
        epoch: Epoch,
        /// Its validators.
        committee: Committee,
    },
    /// On the admin chain only: ends an epoch older than the current one. Its committee
    /// certifies no more blocks; what its blocks sent is honoured for
    /// [`REVOKED_EPOCH_HONOURED_MICROS`](skein_base::limits::REVOKED_EPOCH_HONOURED_MICROS)
    /// more.
    RevokeEpoch {
        /// The epoch to end.
        epoch: Epoch,
    },
    /// Moves the chain to `epoch`, a later epoch the admin chain created: from the next
    /// block on, the chain's blocks are certified by that epoch's committee only. A chain
    /// idle for several epochs migrates straight to the newest. As the first operation of
    /// a block of `epoch` itself, it moves a chain whose epoch was revoked: the new
    /// committee certifies the move.
    MigrateToEpoch {
        /// The epoch to move to.
        epoch: Epoch,
    },
}

impl SystemOperation {
    /// The blobs this operation publishes, with their ids.
    pub fn published_blobs(&self) -> Vec<(skein_base::BlobId, &[u8])> {
        match self {
            SystemOperation::PublishBytecode { contract, service } => {
                let id = skein_base::BytecodeId::of(contract, service);
                vec![(id.contract, contract), (id.service, service)]
            }
            _ => Vec::new(),
        }
    }

    /// The application a `CreateApplication` at `context` creates.
    pub fn created_application(
        &self,
        context: &crate::OperationContext,
    ) -> Option<ApplicationDescription> {
        match self {
            SystemOperation::CreateApplication {
                bytecode_id,
                parameters,
                required_application_ids,
                ..
            } => Some(ApplicationDescription {
                bytecode_id: *bytecode_id,
                creator_chain_id: context.chain_id,
                creation_height: context.height,
                creation_index: context.index,
                parameters: parameters.clone(),
                required_application_ids: required_application_ids.clone(),
            }),
            _ => None,
        }
    }
}

/// A message of the system application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SystemMessage {
    /// Adds tokens to `target` (or, when bouncing back, to `source` on the sending chain).
    Credit {
        /// The debited account on the sending chain.
        source: Option<AccountOwner>,
        /// The account to credit on the receiving chain.
        target: Option<AccountOwner>,
        /// How many.
        amount: Amount,
    },
    /// Asks the receiving chain to move tokens out of `owner`'s account, which only works if
    /// the message carries `owner` as its authenticated signer.
    Withdraw {
        /// Whose account to debit.
        owner: AccountOwner,
        /// How many.
        amount: Amount,
        /// Where to send them.
        recipient: Account,
    },
    /// Creates the receiving chain. Applied when the message arrives, before any block, so
    /// the chain's owner can propose right away.
    OpenChain(ChainConfig),
    /// Makes applications known to the receiving chain: sent ahead of an application's
    /// messages (with the applications it requires), so its first message registers it.
    RegisterApplications(Vec<ApplicationDescription>),
    /// Asks the receiving chain (where the application is registered) to register it on
    /// the sender: answered with [`SystemMessage::RegisterApplications`].
    RequestApplication(ApplicationId),
    /// Subscribes the sending chain to a channel of the receiving chain.
    Subscribe(ChannelName),
    /// Ends the sending chain's subscription to a channel of the receiving chain.
    Unsubscribe(ChannelName),
}

/// Everything a chain starts with: at genesis, or when opened by another chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainConfig {
    /// How the chain came to exist; its hash is the chain's id.
    pub description: ChainDescription,
    /// The chain that creates committees, named in the genesis and passed to every chain
    /// opened since.
    pub admin_chain: ChainId,
    /// Who owns it.
    pub ownership: ChainOwnership,
    /// Its current epoch.
    pub epoch: Epoch,
    /// The committees it trusts, by epoch.
    pub committees: BTreeMap<Epoch, Committee>,
    /// Its initial balance.
    pub balance: Amount,
    /// The time of its creation; its first block may not be earlier.
    pub timestamp: Timestamp,
}
