//! [`ChainStateView`]: everything a validator stores about one chain, and how blocks and
//! incoming bundles change it.

use serde::{Deserialize, Serialize};
use skein_base::{crypto::CryptoHash, limits, BlockHeight, ChainDescription, ChainId, Timestamp};
use skein_execution::{
    ExecutionRuntime, ExecutionStateView, Message, MessageContext, MessageKind, OperationContext,
    OutgoingMessage, SystemExecutionStateView, SystemMessage,
};
use skein_views::{CollectionView, KeyValueStore, LogView, RegisterView, View};

use crate::{
    block::{
        BlockExecutionOutcome, ChainAndHeight, ConfirmedBlock, IncomingBundle, MessageAction,
        MessageBundle, ProposedBlock,
    },
    inbox::InboxStateView,
    manager::ChainManager,
    outbox::OutboxStateView,
    ChainError,
};

/// The end of a chain as this validator knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainTip {
    /// The hash of the latest block; `None` before the first.
    pub block_hash: Option<CryptoHash>,
    /// The height of the next block: the number of blocks so far.
    pub next_block_height: BlockHeight,
}

/// Whether a block is executed to vote on it or to commit a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionMode {
    /// For a proposal: every picked bundle must have arrived here already.
    Proposal,
    /// For a certificate: a quorum vouched for the block, so bundles not yet arrived are
    /// consumed by anticipation.
    Certificate,
}

/// A chain's state at one validator. The execution state is the same at every honest
/// validator after the same blocks; inboxes and outboxes reflect this validator's progress
/// in delivering messages.
#[derive(View)]
pub struct ChainStateView<S> {
    execution_state: ExecutionStateView<S>,
    tip: RegisterView<S, ChainTip>,
    manager: RegisterView<S, ChainManager>,
    /// The hash of the block at each height.
    confirmed_log: LogView<S, CryptoHash>,
    /// Every (sender, height) that sent this chain messages, in arrival order.
    received_log: LogView<S, ChainAndHeight>,
    inboxes: CollectionView<S, ChainId, InboxStateView<S>>,
    outboxes: CollectionView<S, ChainId, OutboxStateView<S>>,
}

impl<S: KeyValueStore> ChainStateView<S> {
    /// The execution state.
    pub fn execution_state(&self) -> &ExecutionStateView<S> {
        &self.execution_state
    }

    /// The system application's state: ownership, committees, tokens, applications.
    pub fn system(&self) -> &SystemExecutionStateView<S> {
        &self.execution_state.system
    }

    /// The execution state, for genesis set-up.
    pub fn execution_state_mut(&mut self) -> &mut ExecutionStateView<S> {
        &mut self.execution_state
    }

    /// The end of the chain.
    pub fn tip(&self) -> ChainTip {
        *self.tip.get()
    }

    /// The consensus state at the next height.
    pub fn manager(&self) -> &ChainManager {
        self.manager.get()
    }

    /// Records this validator's vote at the next height.
    pub fn set_manager(&mut self, manager: ChainManager) {
        self.manager.set(manager);
    }

    /// The hashes of the blocks at heights `[start, start + count)`, cut at the tip.
    pub async fn block_hashes(
        &self,
        start: BlockHeight,
        count: u64,
    ) -> Result<Vec<CryptoHash>, ChainError> {
        Ok(self
            .confirmed_log
            .read(start.0..start.0.saturating_add(count))
            .await?)
    }

    /// The received log from entry `start`, at most `count` entries.
    pub async fn received_log(
        &self,
        start: u64,
        count: u64,
    ) -> Result<Vec<ChainAndHeight>, ChainError> {
        Ok(self
            .received_log
            .read(start..start.saturating_add(count))
            .await?)
    }

    /// The length of the received log.
    pub fn received_log_count(&self) -> u64 {
        self.received_log.count()
    }

    /// The senders with an inbox here.
    pub async fn inbox_origins(&self) -> Result<Vec<ChainId>, ChainError> {
        Ok(self.inboxes.indices().await?)
    }

    /// The inbox of bundles from `origin`.
    pub async fn inbox(&mut self, origin: &ChainId) -> Result<&mut InboxStateView<S>, ChainError> {
        Ok(self.inboxes.load_entry_mut(origin).await?)
    }

    /// Up to `count` bundles received from `origin` and not yet consumed.
    pub async fn inbox_bundles(
        &mut self,
        origin: &ChainId,
        count: usize,
    ) -> Result<Vec<MessageBundle>, ChainError> {
        let inbox = self.inboxes.load_entry_mut(origin).await?;
        inbox
            .pending_bundles(count)
            .await
            .map_err(|error| ChainError::Inbox {
                origin: *origin,
                error,
            })
    }

    /// The recipients with unacknowledged messages.
    pub async fn outbox_recipients(&self) -> Result<Vec<ChainId>, ChainError> {
        Ok(self.outboxes.indices().await?)
    }

    /// The outbox of messages to `recipient`.
    pub async fn outbox(
        &mut self,
        recipient: &ChainId,
    ) -> Result<&mut OutboxStateView<S>, ChainError> {
        Ok(self.outboxes.load_entry_mut(recipient).await?)
    }

    /// Executes a block on this state (the caller saves or rolls back) and returns its
    /// outcome. Applications run in `runtime`, sharing the block's fuel allowance. Nothing
    /// is checked here that `check_proposal` checks.
    pub async fn execute_block(
        &mut self,
        block: &ProposedBlock,
        mode: ExecutionMode,
        runtime: &ExecutionRuntime,
    ) -> Result<BlockExecutionOutcome, ChainError> {
        let mut fuel = limits::FUEL_PER_BLOCK_MAX;
        let mut messages = Vec::with_capacity(block.transaction_count());
        for (index, incoming) in block.incoming_bundles.iter().enumerate() {
            let inbox = self.inboxes.load_entry_mut(&incoming.origin).await?;
            inbox
                .remove_bundle(&incoming.bundle)
                .await
                .map_err(|error| ChainError::Inbox {
                    origin: incoming.origin,
                    error,
                })?;
            if mode == ExecutionMode::Proposal
                && inbox
                    .first_anticipated()
                    .await
                    .map_err(|error| ChainError::Inbox {
                        origin: incoming.origin,
                        error,
                    })?
                    .is_some()
            {
                return Err(ChainError::MissingCrossChainUpdate {
                    chain_id: block.chain_id,
                    origin: incoming.origin,
                    height: incoming.bundle.height,
                });
            }
            let outgoing = match incoming.action {
                MessageAction::Accept => {
                    self.execute_bundle(block, incoming, index, runtime, &mut fuel)
                        .await?
                }
                MessageAction::Reject => bounce(incoming.origin, &incoming.bundle),
            };
            messages.push(outgoing);
        }
        let first_operation_index = block.incoming_bundles.len();
        for (offset, operation) in block.operations.iter().enumerate() {
            let index = first_operation_index + offset;
            let context = OperationContext {
                chain_id: block.chain_id,
                height: block.height,
                index: transaction_index(index),
                authenticated_signer: block.authenticated_signer,
                timestamp: block.timestamp,
            };
            let outgoing = self
                .execution_state
                .execute_operation(runtime, &context, operation, &mut fuel)
                .await
                .map_err(|error| ChainError::Execution {
                    transaction_index: transaction_index(index),
                    error,
                })?;
            check_message_count(&outgoing, index)?;
            messages.push(outgoing);
        }
        self.execution_state.system.set_timestamp(block.timestamp);
        let state_hash = self.execution_state.hash()?;
        Ok(BlockExecutionOutcome {
            messages,
            state_hash,
        })
    }

    async fn execute_bundle(
        &mut self,
        block: &ProposedBlock,
        incoming: &IncomingBundle,
        index: usize,
        runtime: &ExecutionRuntime,
        fuel: &mut u64,
    ) -> Result<Vec<OutgoingMessage>, ChainError> {
        let mut messages = Vec::with_capacity(incoming.bundle.messages.len());
        for posted in &incoming.bundle.messages {
            let context = MessageContext {
                chain_id: block.chain_id,
                height: block.height,
                index: transaction_index(index),
                origin: incoming.origin,
                authenticated_signer: posted.authenticated_signer,
                kind: posted.kind,
                timestamp: block.timestamp,
            };
            messages.push((context, &posted.message));
        }
        let outgoing = self
            .execution_state
            .execute_messages(runtime, &messages, fuel)
            .await
            .map_err(|error| ChainError::Execution {
                transaction_index: transaction_index(index),
                error,
            })?;
        check_message_count(&outgoing, index)?;
        Ok(outgoing)
    }

    /// Extends the chain with an executed block: moves the tip, logs the block and starts
    /// the next height's first round at `now`, with no votes. Returns the chains the block
    /// sends messages to.
    pub fn apply_confirmed_block(
        &mut self,
        block_hash: CryptoHash,
        confirmed: &ConfirmedBlock,
        now: Timestamp,
    ) -> Result<Vec<ChainId>, ChainError> {
        let next_block_height = confirmed.block.height.try_add_one()?;
        self.tip.set(ChainTip {
            block_hash: Some(block_hash),
            next_block_height,
        });
        self.confirmed_log.push(block_hash);
        self.manager.set(ChainManager::new_height(now));
        Ok(confirmed.recipients())
    }

    /// Schedules the block at `height` in the outbox of `recipient`.
    pub async fn schedule_outgoing(
        &mut self,
        recipient: ChainId,
        height: BlockHeight,
    ) -> Result<(), ChainError> {
        self.outboxes
            .load_entry_mut(&recipient)
            .await?
            .schedule(height)?;
        Ok(())
    }

    /// Records bundles from `origin` arriving at this chain (`chain_id`), skipping those
    /// already received. Creates the chain if a bundle opens it. Returns how many bundles
    /// were new. A node that does not follow every sender (`partial`, a client's) takes
    /// bundles its blocks consumed before these as received.
    pub async fn receive_bundles(
        &mut self,
        chain_id: ChainId,
        origin: ChainId,
        bundles: Vec<MessageBundle>,
        partial: bool,
    ) -> Result<usize, ChainError> {
        let mut added = 0;
        let mut last_logged_height = None;
        for bundle in bundles {
            let height = bundle.height;
            let opening = opening_config(chain_id, origin, &bundle);
            let inbox = self.inboxes.load_entry_mut(&origin).await?;
            if partial {
                inbox
                    .skip_consumed_before(bundle.cursor())
                    .await
                    .map_err(|error| ChainError::Inbox { origin, error })?;
            }
            if !inbox
                .add_bundle(bundle)
                .await
                .map_err(|error| ChainError::Inbox { origin, error })?
            {
                continue;
            }
            added += 1;
            if let Some(config) = opening {
                if self.execution_state.system.description().is_none() {
                    self.execution_state
                        .system
                        .initialize(config)
                        .map_err(|error| ChainError::Execution {
                            transaction_index: 0,
                            error,
                        })?;
                }
            }
            if last_logged_height != Some(height) {
                self.received_log.push(ChainAndHeight {
                    chain_id: origin,
                    height,
                });
                last_logged_height = Some(height);
            }
        }
        Ok(added)
    }

    /// Checks the chain's bookkeeping; for debug builds and the simulator.
    pub fn assert_invariants(&self) {
        let tip = self.tip();
        assert_eq!(
            self.confirmed_log.count(),
            tip.next_block_height.0,
            "one logged block per height"
        );
        assert_eq!(
            tip.block_hash.is_none(),
            tip.next_block_height == BlockHeight(0),
            "a block hash exactly when there are blocks"
        );
        let manager = self.manager();
        if let Some(vote) = manager.pending_vote() {
            assert_eq!(
                vote.block().height,
                tip.next_block_height,
                "votes are for the next height"
            );
        }
        if let Some(locked) = manager.locked() {
            assert_eq!(
                locked.value.block.height, tip.next_block_height,
                "locks are at the next height"
            );
        }
    }

    /// The chain's latest timestamp.
    pub fn timestamp(&self) -> Timestamp {
        self.execution_state.system.timestamp()
    }
}

/// The chain configuration in an opening message for this chain, if the bundle carries one
/// and really comes from the transaction the chain's id names (so no other chain can seize
/// an id before its parent opens it).
fn opening_config(
    chain_id: ChainId,
    origin: ChainId,
    bundle: &MessageBundle,
) -> Option<skein_execution::ChainConfig> {
    bundle
        .messages
        .iter()
        .find_map(|posted| match &posted.message {
            Message::System(SystemMessage::OpenChain(config))
                if config.description.id() == chain_id =>
            {
                Some(config)
            }
            _ => None,
        })
        .filter(|config| {
            matches!(
                config.description,
                ChainDescription::Child { parent, height, index, .. }
                    if parent == origin
                        && height == bundle.height
                        && index == bundle.transaction_index
            )
        })
        .cloned()
}

/// What rejecting a bundle sends: its tracked messages back to the sender.
fn bounce(origin: ChainId, bundle: &MessageBundle) -> Vec<OutgoingMessage> {
    bundle
        .messages
        .iter()
        .filter(|posted| posted.kind == MessageKind::Tracked)
        .map(|posted| OutgoingMessage {
            destination: origin,
            authenticated_signer: posted.authenticated_signer,
            kind: MessageKind::Bouncing,
            message: posted.message.clone(),
        })
        .collect()
}

fn transaction_index(index: usize) -> u32 {
    u32::try_from(index).expect("transactions per block are bounded far below u32::MAX")
}

fn check_message_count(messages: &[OutgoingMessage], index: usize) -> Result<(), ChainError> {
    if messages.len() > limits::MESSAGES_PER_TRANSACTION_MAX {
        return Err(ChainError::TooManyMessages {
            transaction_index: transaction_index(index),
            limit: limits::MESSAGES_PER_TRANSACTION_MAX,
        });
    }
    Ok(())
}
