//! The one place that says whether a block proposal is acceptable.
//!
//! [`check_proposal`] runs the rules below in order, before any execution. It reads the
//! chain's registers only, does no I/O and changes nothing. What needs execution —
//! consuming bundles in inbox order (rule 8) and running the transactions — happens next, in
//! [`crate::ChainStateView::execute_block`], on a copy the worker rolls back.

use skein_base::{encoding, ensure, limits, TimeDelta, Timestamp, ValidatorPublicKey};
use skein_views::KeyValueStore;

use crate::{
    block::MessageAction,
    certificate::LiteVote,
    chain::ChainStateView,
    manager::{round_leader, Leader, RoundVerdict},
    proposal::BlockProposal,
    ChainError,
};

/// What to do with a proposal that passed the checks.
#[derive(Debug)]
pub enum Verdict {
    /// Execute the block and vote for it: to confirm it (the fast round) or to validate it.
    Execute {
        /// Whether the vote is to confirm.
        confirm: bool,
    },
    /// This validator already voted for exactly this block in this round: answer with the
    /// same vote.
    RepeatVote(LiteVote),
}

/// Checks a proposal against the chain's state at this validator, at time `now`.
pub fn check_proposal<S: KeyValueStore>(
    chain: &ChainStateView<S>,
    proposal: &BlockProposal,
    now: Timestamp,
) -> Result<Verdict, ChainError> {
    let block = &proposal.content.block;
    let state = chain.system();

    // 1. Size and shape (limits.rs): bounded work before anything else.
    ensure!(
        block.operations.len() <= limits::OPERATIONS_PER_BLOCK_MAX,
        ChainError::TooManyOperations {
            count: block.operations.len(),
            limit: limits::OPERATIONS_PER_BLOCK_MAX,
        }
    );
    ensure!(
        block.incoming_bundles.len() <= limits::INCOMING_BUNDLES_PER_BLOCK_MAX,
        ChainError::TooManyIncomingBundles {
            count: block.incoming_bundles.len(),
            limit: limits::INCOMING_BUNDLES_PER_BLOCK_MAX,
        }
    );
    ensure!(block.transaction_count() > 0, ChainError::EmptyBlock);
    let size = encoding::encode(block).len();
    ensure!(
        size <= limits::BLOCK_BYTES_MAX,
        ChainError::BlockTooLarge {
            size,
            limit: limits::BLOCK_BYTES_MAX,
        }
    );

    // 2. Owner signature (PROTOCOL.md §7: only owners extend a chain).
    proposal
        .check_signature()
        .map_err(|error| ChainError::InvalidProposalSignature(error.to_string()))?;

    // 3. Chain active, epoch current, closed chains only reject (§3).
    ensure!(state.is_active(), ChainError::InactiveChain(block.chain_id));
    ensure!(
        block.epoch == state.epoch(),
        ChainError::WrongEpoch {
            expected: state.epoch(),
            found: block.epoch,
        }
    );
    if state.is_closed() {
        ensure!(block.operations.is_empty(), ChainError::ClosedChain);
        for incoming in &block.incoming_bundles {
            ensure!(
                incoming.action == MessageAction::Reject || !incoming.bundle.is_rejectable(),
                ChainError::ClosedChain
            );
        }
    }

    // 4. Height and parent hash (§7).
    let tip = chain.tip();
    ensure!(
        block.height >= tip.next_block_height,
        ChainError::HeightAlreadyCertified {
            height: block.height,
            next_block_height: tip.next_block_height,
        }
    );
    ensure!(
        block.height == tip.next_block_height,
        ChainError::MissingEarlierBlocks {
            chain_id: block.chain_id,
            next_block_height: tip.next_block_height,
        }
    );
    ensure!(
        block.previous_block_hash == tip.block_hash,
        ChainError::WrongPreviousHash {
            expected: tip.block_hash,
            found: block.previous_block_hash,
        }
    );

    // 5. The proposer may propose in this round (§10): a super owner in the fast round, an
    //    owner (or anyone, if the chain allows it) in multi-leader rounds, the drawn leader in
    //    single-leader and validator rounds. The block names no one else as its signer —
    //    unless it is a locked block re-proposed with the validated certificate that locked
    //    it, which proves a quorum accepted its signer already (§17.5). A validator's block
    //    on a public chain only receives messages: it runs no operations of its own.
    let owner = proposal.owner();
    let round = proposal.content.round;
    let ownership = state.ownership();
    let committee = state
        .committee(block.epoch)
        .ok_or(ChainError::UnknownEpoch(block.epoch))?;
    let leader = round_leader(block.chain_id, block.height, round, ownership, committee);
    let allowed = match leader {
        Some(Leader::SuperOwners) => ownership.super_owners.contains(&owner),
        Some(Leader::Owners) => ownership.may_propose_in_multi_leader_round(&owner),
        Some(Leader::Owner(leader)) => leader == owner,
        Some(Leader::Validator(leader)) => leader == ValidatorPublicKey::from(&proposal.public_key),
        None => false,
    };
    ensure!(allowed, ChainError::NotAllowedToPropose { owner, round });
    if let Some(Leader::Validator(_)) = leader {
        ensure!(
            block.operations.is_empty(),
            ChainError::OperationsOnPublicChain {
                count: block.operations.len()
            }
        );
    }
    let lock = proposal.lock.as_deref();
    match lock {
        Some(lock) => {
            ensure!(
                lock.value.block == *block && lock.round < round,
                ChainError::MismatchedLock
            );
            lock.clone().check(committee)?;
        }
        None => {
            let signer_allowed = match leader {
                Some(Leader::Validator(_)) => block.authenticated_signer.is_none(),
                _ => {
                    block.authenticated_signer.is_none()
                        || block.authenticated_signer == Some(owner)
                }
            };
            ensure!(
                signer_allowed,
                ChainError::WrongAuthenticatedSigner {
                    proposer: owner,
                    found: block.authenticated_signer,
                }
            );
        }
    }

    // 6. Voting rules (manager.rs): never in a round below one voted in, nor for two blocks
    //    in one round; only in the current round; when locked, only for the locked block or
    //    one with a later validated certificate. The same request gets the same vote.
    let verdict = match chain
        .manager()
        .check_proposal(ownership, round, block, lock)?
    {
        RoundVerdict::Repeat(vote) => return Ok(Verdict::RepeatVote(vote)),
        RoundVerdict::Vote { confirm } => Verdict::Execute { confirm },
    };

    // 7. Timestamp: not before the chain's last block or any picked bundle, not beyond now
    //    plus the grace period.
    ensure!(
        block.timestamp >= state.timestamp(),
        ChainError::TimestampBeforePrevious {
            timestamp: block.timestamp,
            previous: state.timestamp(),
        }
    );
    let latest = now.saturating_add(TimeDelta::from_micros(limits::TIMESTAMP_GRACE_MICROS));
    ensure!(
        block.timestamp <= latest,
        ChainError::TimestampInFuture {
            timestamp: block.timestamp,
            now,
        }
    );

    // 8. Inbox order: bundles carry no later timestamp than the block and bouncing ones are
    //    never rejected; the order itself is checked while consuming them.
    for incoming in &block.incoming_bundles {
        ensure!(
            incoming.bundle.timestamp <= block.timestamp,
            ChainError::BundleFromTheFuture {
                origin: incoming.origin,
                height: incoming.bundle.height,
            }
        );
        ensure!(
            incoming.action == MessageAction::Accept || incoming.bundle.is_rejectable(),
            ChainError::UnrejectableBundle {
                origin: incoming.origin,
                height: incoming.bundle.height,
            }
        );
    }
    Ok(verdict)
}
