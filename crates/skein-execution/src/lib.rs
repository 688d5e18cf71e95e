//! What blocks execute.
//!
//! A chain's execution state ([`ExecutionState`]) is the system application's state
//! (tokens, ownership, committees, the registry of applications) and each user
//! application's key-value state, hashed after every block with
//! [`skein_views::HashedView`] so that validators can compare states. Operations come from
//! blocks, messages from other chains' blocks; both return the messages they send. User
//! applications run in the [`wasm`] runtime, their code loaded through an
//! [`ExecutionRuntime`], their fuel counted against the block's allowance.

mod message;
mod ownership;
mod runtime;
mod state;
pub mod system;
mod user;
pub mod wasm;

use serde::{Deserialize, Serialize};
use skein_base::{
    AccountOwner, Amount, ApplicationId, ArithmeticError, BlobId, ChainId, Epoch, SessionId,
};
use skein_views::{HashedView, ViewError};

use crate::wasm::WasmError;

pub use message::{
    Message, MessageContext, MessageKind, Operation, OperationContext, OutgoingMessage,
};
pub use ownership::{ChainOwnership, TimeoutConfig};
pub use runtime::{ExecutionRuntime, PublishedData};
pub use state::ExecutionState;
pub use system::{ChainConfig, SystemExecutionStateView, SystemMessage, SystemOperation};

/// A chain's execution state with its state hash.
pub type ExecutionStateView<S> = HashedView<S, ExecutionState<S>>;

/// Why an operation or message failed. The state is unchanged after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ExecutionError {
    /// The account holds less than the amount.
    #[error("insufficient balance in {}: {available} available, {requested} requested",
        owner.map_or("the chain balance".to_string(), |owner| format!("the account of {owner}")))]
    InsufficientBalance {
        /// The debited account; `None` for the chain's balance.
        owner: Option<AccountOwner>,
        /// What it holds.
        available: Amount,
        /// What was asked.
        requested: Amount,
    },
    /// A balance would overflow.
    #[error(transparent)]
    Arithmetic(#[from] ArithmeticError),
    /// Transfers of nothing are refused: they are always a mistake.
    #[error("the amount must be greater than zero")]
    ZeroAmount,
    /// Only an account's owner may spend from it.
    #[error("only {owner} may spend from its account; the signer is {signer:?}")]
    Unauthorized {
        /// The account's owner.
        owner: AccountOwner,
        /// Who signed instead.
        signer: Option<AccountOwner>,
    },
    /// Only the chain's owners may spend its balance, open chains or change ownership.
    #[error("only an owner of the chain may do this; the signer is {signer:?}")]
    NotChainOwner {
        /// Who signed.
        signer: Option<AccountOwner>,
    },
    /// A chain needs at least one owner.
    #[error("a chain must have at least one owner")]
    NoOwners,
    /// The chain was closed.
    #[error("the chain is closed")]
    ClosedChain,
    /// A chain can only be created once.
    #[error("the chain already exists")]
    AlreadyInitialized,
    /// The state could not be read or written.
    #[error("storage error: {0}")]
    Storage(String),
    /// A published module is not Wasm, or too large.
    #[error("invalid bytecode: {0}")]
    InvalidBytecode(String),
    /// The application is not registered on this chain.
    #[error("application {0} is not registered on this chain")]
    UnknownApplication(ApplicationId),
    /// This node lacks a blob the block needs (application code): not the block's fault;
    /// the node should fetch the blob from a validator and try again.
    #[error("blob {0:?} is not available on this node")]
    BlobNotFound(BlobId),
    /// An application called another, or a session, in a way the rules refuse
    /// (reentrancy, too deep, a session it does not own or that is in use).
    #[error("invalid call: {0}")]
    InvalidCall(String),
    /// An application went past a limit of [`skein_base::limits`].
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// A transaction ended with sessions still open: what they hold would be lost.
    #[error("the transaction ended with sessions still open: {0:?}")]
    SessionsNotClosed(Vec<SessionId>),
    /// An application's call failed: it aborted, trapped, ran out of fuel or broke the
    /// calling convention.
    #[error("application {application_id} failed: {error}")]
    Application {
        /// The application that failed.
        application_id: ApplicationId,
        /// How.
        error: WasmError,
    },
    /// Committees are created and epochs revoked on the admin chain only.
    #[error("only the admin chain ({admin_chain:?}) manages committees")]
    NotAdminChain {
        /// The chain that does.
        admin_chain: Option<ChainId>,
    },
    /// Epochs are created in order, one after the admin chain's current one.
    #[error("the next epoch is {expected}, not {found}")]
    WrongNextEpoch {
        /// The admin chain's epoch plus one.
        expected: Epoch,
        /// What the operation named.
        found: Epoch,
    },
    /// As many epochs are live as [`limits::LIVE_EPOCHS_MAX`](skein_base::limits::LIVE_EPOCHS_MAX)
    /// allows: revoke an old one first.
    #[error("{limit} epochs are live already; revoke one before creating another")]
    TooManyLiveEpochs {
        /// The limit.
        limit: usize,
    },
    /// Only an epoch older than the current one may be revoked: the current committee
    /// must keep certifying the admin chain.
    #[error("epoch {epoch} cannot be revoked while the current epoch is {current}")]
    EpochNotRevocable {
        /// The epoch named.
        epoch: Epoch,
        /// The admin chain's epoch.
        current: Epoch,
    },
    /// The epoch named is not live: never created, or revoked already.
    #[error("epoch {0} is not live")]
    EpochNotLive(Epoch),
    /// A chain migrates only forwards, to an epoch after its own.
    #[error("the chain is in epoch {current} already; it cannot migrate to epoch {epoch}")]
    EpochNotNewer {
        /// The epoch named.
        epoch: Epoch,
        /// The chain's.
        current: Epoch,
    },
    /// This node has not committed the admin chain's block that created the epoch's
    /// committee: not the block's fault; the node must first learn the admin chain.
    #[error("this node does not know the committee of epoch {0} yet")]
    CommitteeNotPublished(Epoch),
}

impl ExecutionError {
    /// Whether this node failed (its storage, code it lacks, its runtime's capacity) rather
    /// than the transaction: worth retrying, never a reason to reject a message.
    pub fn is_node_failure(&self) -> bool {
        matches!(
            self,
            ExecutionError::Storage(_)
                | ExecutionError::BlobNotFound(_)
                | ExecutionError::CommitteeNotPublished(_)
                | ExecutionError::Application {
                    error: WasmError::Host(_),
                    ..
                }
        )
    }
}

impl From<ViewError> for ExecutionError {
    fn from(error: ViewError) -> Self {
        ExecutionError::Storage(error.to_string())
    }
}

#[cfg(test)]
#[path = "unit_tests/application_tests.rs"]
mod application_tests;

#[cfg(test)]
#[path = "unit_tests/system_tests.rs"]
mod system_tests;
