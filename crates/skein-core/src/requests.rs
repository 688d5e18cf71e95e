//! What nodes ask each other, beyond proposals and certificates: chain queries, cross-chain
//! requests between shards, and notifications for clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::CryptoHash, AccountOwner, Amount, BlockHeight, ChainDescription, ChainId, Committee,
    Epoch, Round, Timestamp,
};
use skein_chain::{
    ChainAndHeight, ConfirmedBlock, Leader, LiteVote, MessageBundle, Timeout, UncheckedCertificate,
    ValidatedBlock,
};
use skein_execution::ChainOwnership;

/// A question about a chain. The flags ask for more than the summary; each answer is
/// bounded by a limit in `skein_base::limits`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfoQuery {
    /// The chain.
    pub chain_id: ChainId,
    /// Ask for the bundles received and not yet consumed.
    pub request_pending_bundles: bool,
    /// Ask for the received log from this entry on.
    pub request_received_log_from: Option<u64>,
    /// Ask for the chain's certificates from this height on.
    pub request_certificates_from: Option<BlockHeight>,
    /// Ask for the balance of this owner's account.
    pub request_owner_balance: Option<AccountOwner>,
    /// Ask for the committees the chain trusts.
    pub request_committees: bool,
}

impl ChainInfoQuery {
    /// A query for the summary only.
    pub fn new(chain_id: ChainId) -> Self {
        Self {
            chain_id,
            request_pending_bundles: false,
            request_received_log_from: None,
            request_certificates_from: None,
            request_owner_balance: None,
            request_committees: false,
        }
    }
}

/// What a validator knows about a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The chain.
    pub chain_id: ChainId,
    /// How it came to exist; `None` if this validator has not seen it created.
    pub description: Option<ChainDescription>,
    /// Its owners.
    pub ownership: ChainOwnership,
    /// Whether it was closed.
    pub is_closed: bool,
    /// Its epoch.
    pub epoch: Epoch,
    /// The height of its next block.
    pub next_block_height: BlockHeight,
    /// The hash of its latest block.
    pub block_hash: Option<CryptoHash>,
    /// The timestamp of its latest block.
    pub timestamp: Timestamp,
    /// Its own balance.
    pub chain_balance: Amount,
    /// The hash of its execution state.
    pub state_hash: CryptoHash,
    /// This validator's latest vote at the next height, if any: to confirm (the fast
    /// round, or after a validated certificate) or to validate.
    pub pending_vote: Option<LiteVote>,
    /// Where consensus on the next height stands at this validator.
    pub manager: ManagerInfo,
    /// The balance asked for.
    pub requested_owner_balance: Option<Amount>,
    /// The bundles asked for, by sender, in inbox order.
    pub requested_pending_bundles: Vec<(ChainId, MessageBundle)>,
    /// The received-log entries asked for.
    pub requested_received_log: Vec<ChainAndHeight>,
    /// The length of the received log.
    pub received_log_count: u64,
    /// The certificates asked for, by height.
    pub requested_certificates: Vec<UncheckedCertificate<ConfirmedBlock>>,
    /// The committees asked for.
    pub requested_committees: Option<BTreeMap<Epoch, Committee>>,
}

impl ChainInfo {
    /// Whether the chain exists at this validator and has owners.
    pub fn is_active(&self) -> bool {
        self.description.is_some() && self.ownership.is_active()
    }
}

/// Where consensus on a chain's next height stands at one validator: what a client needs
/// to propose in the right round, re-propose a locked block, or time a round out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerInfo {
    /// The round the validator is in.
    pub current_round: Round,
    /// Who may propose in it; `None` if no one may.
    pub leader: Option<Leader>,
    /// When the round may be timed out; `None` if never.
    pub round_deadline: Option<Timestamp>,
    /// The validated certificate the validator is locked on.
    pub locked: Option<Box<UncheckedCertificate<ValidatedBlock>>>,
    /// The latest timeout certificate it saw at this height.
    pub timeout: Option<Box<UncheckedCertificate<Timeout>>>,
    /// Its timeout vote in the current round, if it cast one.
    pub timeout_vote: Option<LiteVote>,
}

/// A request for a timeout vote: the chain's `round` at `height` made no progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutRequest {
    /// The chain.
    pub chain_id: ChainId,
    /// Its next height.
    pub height: BlockHeight,
    /// The round to time out.
    pub round: Round,
    /// The epoch whose committee decides the height, as the client sees it: the chain's
    /// own, or once that is revoked the newest. A validator that sees another refuses.
    pub epoch: Epoch,
}

/// A request between the shards of one validator. Shards trust each other: the sending
/// shard executed the certified block these bundles come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrossChainRequest {
    /// Bundles from `sender` for `recipient`, in cursor order, starting at the first one
    /// the recipient has not acknowledged.
    UpdateRecipient {
        /// The sending chain.
        sender: ChainId,
        /// The receiving chain.
        recipient: ChainId,
        /// The bundles.
        bundles: Vec<MessageBundle>,
    },
    /// The recipient has every bundle up to `latest_height`; the sender may forget them.
    ConfirmUpdatedRecipient {
        /// The sending chain.
        sender: ChainId,
        /// The receiving chain.
        recipient: ChainId,
        /// The highest height received.
        latest_height: BlockHeight,
    },
}

impl CrossChainRequest {
    /// The chain whose shard handles the request.
    pub fn target_chain(&self) -> ChainId {
        match self {
            CrossChainRequest::UpdateRecipient { recipient, .. } => *recipient,
            CrossChainRequest::ConfirmUpdatedRecipient { sender, .. } => *sender,
        }
    }
}

/// Something clients following a chain want to hear about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    /// The chain concerned.
    pub chain_id: ChainId,
    /// What happened.
    pub reason: NotificationReason,
}

/// What happened on a chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationReason {
    /// A block was added.
    NewBlock {
        /// Its height.
        height: BlockHeight,
        /// Its hash.
        hash: CryptoHash,
    },
    /// Bundles arrived in an inbox.
    NewIncomingBundle {
        /// The sender.
        origin: ChainId,
        /// The sending height.
        height: BlockHeight,
    },
}

/// What a handler asks its caller to do next: the core does no I/O itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Requests to deliver to other shards (or to this one).
    pub cross_chain_requests: Vec<CrossChainRequest>,
    /// Notifications to publish.
    pub notifications: Vec<Notification>,
}

impl Effects {
    /// Adds another handler's effects to these.
    pub fn merge(&mut self, other: Effects) {
        self.cross_chain_requests.extend(other.cross_chain_requests);
        self.notifications.extend(other.notifications);
    }
}
