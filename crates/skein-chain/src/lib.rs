//! Chains: their state, the blocks that extend them, and the rules that accept blocks.
//!
//! The protocol steps are types: a [`ProposedBlock`] is signed into a [`BlockProposal`];
//! validators that accept it ([`check_proposal`], then
//! [`ChainStateView::execute_block`]) answer with a [`Vote`]; a quorum of votes makes an
//! [`UncheckedCertificate`], and [`UncheckedCertificate::check`] makes it a
//! [`Certificate`], the only thing that can extend a chain.

mod block;
mod certificate;
mod chain;
mod check;
mod hashed;
mod inbox;
mod manager;
mod outbox;
mod proposal;

use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::CryptoHash, AccountOwner, ArithmeticError, BlockHeight, ChainId, Epoch, Round,
    Timestamp,
};
use skein_execution::ExecutionError;
use skein_views::ViewError;

pub use block::{
    BlockExecutionOutcome, ChainAndHeight, ConfirmedBlock, Cursor, IncomingBundle, MessageAction,
    MessageBundle, PostedMessage, ProposedBlock, Timeout, ValidatedBlock,
};
pub use certificate::{
    AnyCertificate, Certificate, CertificateError, CertificateValue, ConfirmedBlockCertificate,
    LiteVote, UncheckedCertificate, Vote, VoteAggregator,
};
pub use chain::{ChainStateView, ChainTip, ExecutionMode};
pub use check::{
    check_certificate, check_cross_chain_update, check_proposal, check_standing,
    CertificateVerdict, EpochRecord, Standing, Verdict,
};
pub use hashed::Hashed;
pub use inbox::{InboxError, InboxStateView};
pub use manager::{
    round_leader, ChainManager, Leader, PendingVote, RoundVerdict, ValidatedVerdict,
};
pub use outbox::OutboxStateView;
pub use proposal::{BlockProposal, ProposalContent};

/// Why a block, proposal, certificate or bundle was refused. Each variant names one rule and
/// carries the facts needed to act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ChainError {
    /// Rule 1: too many operations.
    #[error("block has {count} operations, above the limit of {limit}")]
    TooManyOperations {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Rule 1: too many incoming bundles.
    #[error("block picks {count} incoming bundles, above the limit of {limit}")]
    TooManyIncomingBundles {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Rule 1: a block must do something.
    #[error("block has no operations and no incoming bundles")]
    EmptyBlock,
    /// Rule 1: too many bytes.
    #[error("block is {size} bytes, above the limit of {limit}")]
    BlockTooLarge {
        /// Its encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Rule 2: the owner's signature does not verify.
    #[error("invalid proposal signature: {0}")]
    InvalidProposalSignature(String),
    /// Rule 3: the chain does not exist here or has no owners.
    #[error("chain {0} is not active on this validator")]
    InactiveChain(ChainId),
    /// Rule 3: the chain was closed; blocks may only reject incoming bundles (and migrate
    /// the chain to a new epoch).
    #[error("the chain is closed: blocks may only reject incoming messages")]
    ClosedChain,
    /// Rule 3: the block is for another epoch than the chain's.
    #[error("block is for epoch {found}; the chain is in epoch {expected}")]
    WrongEpoch {
        /// The chain's epoch.
        expected: Epoch,
        /// The block's.
        found: Epoch,
    },
    /// The chain does not know the committee of this epoch.
    #[error("the chain has no committee for epoch {0}")]
    UnknownEpoch(Epoch),
    /// Rule 4: a block at this height is already certified.
    #[error("height {height} is already certified; the next height is {next_block_height}")]
    HeightAlreadyCertified {
        /// The block's height.
        height: BlockHeight,
        /// The chain's next height here.
        next_block_height: BlockHeight,
    },
    /// Rule 4: this validator lacks earlier blocks of the chain; upload them first.
    #[error("chain {chain_id} is missing blocks here: the next height is {next_block_height}")]
    MissingEarlierBlocks {
        /// The chain.
        chain_id: ChainId,
        /// The height this validator expects next.
        next_block_height: BlockHeight,
    },
    /// Rule 4: the block does not extend the chain's latest block.
    #[error("the previous block hash is {found:?}; expected {expected:?}")]
    WrongPreviousHash {
        /// The chain's tip.
        expected: Option<CryptoHash>,
        /// What the block names.
        found: Option<CryptoHash>,
    },
    /// Rule 5: the proposer may not propose in this round.
    #[error("{owner} may not propose in the {round}")]
    NotAllowedToPropose {
        /// The proposer.
        owner: AccountOwner,
        /// The round.
        round: Round,
    },
    /// Rule 5: the block names another signer than its proposer.
    #[error("the block names signer {found:?} but was proposed by {proposer}")]
    WrongAuthenticatedSigner {
        /// Who signed the proposal.
        proposer: AccountOwner,
        /// Who the block names.
        found: Option<AccountOwner>,
    },
    /// Rule 5: the validated certificate carried by a re-proposal is not for this block, or
    /// not from an earlier round.
    #[error("the carried validated certificate is not for this block from an earlier round")]
    MismatchedLock,
    /// Rule 6: this validator already voted for another block in this round or a later
    /// one at this height.
    #[error("already voted for another block at height {height}, in the {round}")]
    AlreadyVotedInRound {
        /// The height.
        height: BlockHeight,
        /// The round of that vote.
        round: Round,
    },
    /// Rule 6: the proposal, certificate or timeout request is not for this validator's
    /// current round at the chain's next height. Send it the latest timeout certificate or
    /// lock first.
    #[error("this validator is in the {expected}, not the {found}")]
    WrongRound {
        /// The validator's current round.
        expected: Round,
        /// The round of the request.
        found: Round,
    },
    /// Rule 6: this validator is locked on another block at this height; re-propose that
    /// one, or carry a validated certificate from a later round.
    #[error("locked on another block at height {height} (validated in the {round})")]
    LockedOnAnotherBlock {
        /// The height.
        height: BlockHeight,
        /// The round of the lock.
        round: Round,
    },
    /// A timeout vote was asked for before the round's time was up (or for the fast round,
    /// which never times out).
    #[error("the {round} has not timed out (deadline: {deadline:?})")]
    RoundNotTimedOut {
        /// The round.
        round: Round,
        /// When it may be timed out; `None` if never.
        deadline: Option<Timestamp>,
    },
    /// Rule 7: the timestamp is before the chain's latest.
    #[error("block timestamp {timestamp} is before the chain's latest, {previous}")]
    TimestampBeforePrevious {
        /// The block's.
        timestamp: Timestamp,
        /// The chain's.
        previous: Timestamp,
    },
    /// Rule 7: the timestamp is too far in the future.
    #[error("block timestamp {timestamp} is in the future (now: {now})")]
    TimestampInFuture {
        /// The block's.
        timestamp: Timestamp,
        /// The validator's clock.
        now: Timestamp,
    },
    /// Rule 8: a picked bundle is newer than the block.
    #[error("the bundle from {origin} at height {height} is newer than the block")]
    BundleFromTheFuture {
        /// The sender.
        origin: ChainId,
        /// The sending height.
        height: BlockHeight,
    },
    /// Rule 8: bouncing messages cannot be rejected.
    #[error("the bundle from {origin} at height {height} cannot be rejected")]
    UnrejectableBundle {
        /// The sender.
        origin: ChainId,
        /// The sending height.
        height: BlockHeight,
    },
    /// Rule 8: bundles out of order.
    #[error("inbox of messages from {origin}: {error}")]
    Inbox {
        /// The sender.
        origin: ChainId,
        /// What went wrong.
        error: InboxError,
    },
    /// Rule 8: this validator has not received a picked bundle yet; upload the sender's
    /// blocks up to `height`.
    #[error("chain {chain_id} has not received the messages of {origin} at height {height} here")]
    MissingCrossChainUpdate {
        /// The receiving chain.
        chain_id: ChainId,
        /// The sender.
        origin: ChainId,
        /// The sending height.
        height: BlockHeight,
    },
    /// A transaction failed.
    #[error("transaction {transaction_index} failed: {error}")]
    Execution {
        /// Which transaction.
        transaction_index: u32,
        /// Why.
        error: ExecutionError,
    },
    /// A transaction sent too many messages.
    #[error("transaction {transaction_index} sends more than {limit} messages")]
    TooManyMessages {
        /// Which transaction.
        transaction_index: u32,
        /// The limit.
        limit: usize,
    },
    /// Executing a certified block gave another outcome than the certified one.
    #[error("executing the certified block gives state {computed}, not the certified {certified}")]
    IncorrectOutcome {
        /// The certified state hash.
        certified: CryptoHash,
        /// The computed one.
        computed: CryptoHash,
    },
    /// The certificate does not hold.
    #[error("invalid certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// A height or balance would overflow.
    #[error(transparent)]
    Arithmetic(#[from] ArithmeticError),
    /// The state could not be read or written.
    #[error("storage error: {0}")]
    Storage(String),
    /// Rule 5: a validator's block on a public chain carries operations; it may only pick
    /// incoming messages (and migrate the chain to a new epoch).
    #[error("a block proposed by a validator on a public chain may only receive messages, not run {count} operations")]
    OperationsOnPublicChain {
        /// The operations found.
        count: usize,
    },
    /// Certificate rule 4: a validated block is certified only in a two-phase round, never
    /// in the fast round.
    #[error("a validated block cannot be certified in the {round}")]
    ValidatedInFastRound {
        /// The certificate's round.
        round: Round,
    },
    /// Cross-chain rule 1: an update must carry a bundle.
    #[error("a cross-chain update from {origin} carries no bundle")]
    EmptyCrossChainUpdate {
        /// The sender.
        origin: ChainId,
    },
    /// Cross-chain rule 2: too many bundles in one update.
    #[error(
        "a cross-chain update from {origin} carries {count} bundles, above the limit of {limit}"
    )]
    TooManyBundlesInUpdate {
        /// The sender.
        origin: ChainId,
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Cross-chain rule 3: the bundles of an update are not in their sender's order.
    #[error("a cross-chain update from {origin} has the bundle at {next:?} after the one at {previous:?}")]
    BundlesOutOfOrder {
        /// The sender.
        origin: ChainId,
        /// The earlier bundle's place in the sender's history.
        previous: Cursor,
        /// The bundle that does not come after it.
        next: Cursor,
    },
    /// The admin chain revoked the epoch: its committee certifies no new blocks, and its
    /// certificates are honoured only for
    /// [`REVOKED_EPOCH_HONOURED_MICROS`](skein_base::limits::REVOKED_EPOCH_HONOURED_MICROS)
    /// after the revocation. A chain in that epoch migrates by a block of a later one.
    #[error("epoch {epoch} was revoked at {revoked_at}")]
    RevokedEpoch {
        /// The epoch.
        epoch: Epoch,
        /// When the admin chain revoked it.
        revoked_at: Timestamp,
    },
    /// Proposal rule 4: the block is in a later epoch than its chain's, which is still
    /// live here. A chain migrates in a block of its own epoch while that epoch lives, so
    /// that one committee decides each height; only once the admin chain revoked it does a
    /// block of a later epoch take the chain there.
    #[error("the chain's epoch {epoch} is not revoked here: it migrates in a block of that epoch, not of {found}")]
    EpochStillLive {
        /// The chain's epoch.
        epoch: Epoch,
        /// The block's.
        found: Epoch,
    },
}

impl From<ViewError> for ChainError {
    fn from(error: ViewError) -> Self {
        ChainError::Storage(error.to_string())
    }
}

impl ChainError {
    /// Whether the request was at fault (as opposed to this node): decides the log level and
    /// whether a peer is blamed.
    pub fn is_client_fault(&self) -> bool {
        !matches!(
            self,
            ChainError::Storage(_) | ChainError::IncorrectOutcome { .. }
        )
    }

    /// Whether a validator that refused a proposal for this reason refuses that block for
    /// good: the facts it rests on (the block itself, the chain's previous block, its inboxes
    /// in order) do not change while the height stays open. Missing blocks or messages,
    /// rounds, clocks and the node's own failures may change, so those refusals are not.
    /// A signed block refused for good by validators weighing a quorum can never be
    /// certified, and its owner may abandon it.
    pub fn refuses_block_for_good(&self) -> bool {
        match self {
            ChainError::TooManyOperations { .. }
            | ChainError::TooManyIncomingBundles { .. }
            | ChainError::EmptyBlock
            | ChainError::BlockTooLarge { .. }
            | ChainError::InvalidProposalSignature(_)
            | ChainError::ClosedChain
            | ChainError::WrongEpoch { .. }
            | ChainError::WrongPreviousHash { .. }
            | ChainError::NotAllowedToPropose { .. }
            | ChainError::WrongAuthenticatedSigner { .. }
            | ChainError::MismatchedLock
            | ChainError::TimestampBeforePrevious { .. }
            | ChainError::BundleFromTheFuture { .. }
            | ChainError::UnrejectableBundle { .. }
            | ChainError::TooManyMessages { .. }
            | ChainError::Arithmetic(_)
            | ChainError::OperationsOnPublicChain { .. }
            | ChainError::RevokedEpoch { .. } => true,
            // Not about a proposed block.
            ChainError::ValidatedInFastRound { .. }
            | ChainError::EmptyCrossChainUpdate { .. }
            | ChainError::TooManyBundlesInUpdate { .. }
            | ChainError::BundlesOutOfOrder { .. } => false,
            ChainError::Execution { error, .. } => !error.is_node_failure(),
            ChainError::Inbox { error, .. } => !matches!(error, InboxError::Storage(_)),
            ChainError::InactiveChain(_)
            | ChainError::UnknownEpoch(_)
            | ChainError::EpochStillLive { .. }
            | ChainError::HeightAlreadyCertified { .. }
            | ChainError::MissingEarlierBlocks { .. }
            | ChainError::AlreadyVotedInRound { .. }
            | ChainError::WrongRound { .. }
            | ChainError::LockedOnAnotherBlock { .. }
            | ChainError::RoundNotTimedOut { .. }
            | ChainError::TimestampInFuture { .. }
            | ChainError::MissingCrossChainUpdate { .. }
            | ChainError::IncorrectOutcome { .. }
            | ChainError::Certificate(_)
            | ChainError::Storage(_) => false,
        }
    }

    /// Whether the error is one of the voting rules (rule 6) that keep two blocks from being
    /// confirmed at a height — the rules a Byzantine validator ignores.
    pub fn is_voting_rule(&self) -> bool {
        matches!(
            self,
            ChainError::AlreadyVotedInRound { .. }
                | ChainError::WrongRound { .. }
                | ChainError::LockedOnAnotherBlock { .. }
                | ChainError::RoundNotTimedOut { .. }
        )
    }
}

#[cfg(test)]
#[path = "unit_tests/block_tests.rs"]
mod block_tests;

#[cfg(test)]
#[path = "unit_tests/inbox_tests.rs"]
mod inbox_tests;

#[cfg(test)]
#[path = "unit_tests/certificate_tests.rs"]
mod certificate_tests;

#[cfg(test)]
#[path = "unit_tests/formats_tests.rs"]
mod formats_tests;

#[cfg(test)]
#[path = "unit_tests/errors_tests.rs"]
mod errors_tests;

#[cfg(test)]
#[path = "unit_tests/snapshot.rs"]
mod snapshot;
