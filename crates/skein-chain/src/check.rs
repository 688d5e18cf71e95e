//! The one place that says whether a proposal, a certificate or a cross-chain update is
//! acceptable.
//!
//! Each check runs its numbered rules in order, reads the chain's registers only, does no
//! I/O and changes nothing; each refusal is a [`ChainError`] variant naming its rule.
//! - [`check_proposal`], before a vote. What needs execution — consuming bundles in inbox
//!   order (rule 8) and running the transactions — happens next, in
//!   [`crate::ChainStateView::execute_block`], on a copy the worker rolls back.
//! - [`check_certificate`], before a certificate is acted on: committed, locked on, or
//!   moved past. [`check_standing`] is its first rules alone, for a certificate this node
//!   formed and checked itself, and for a timeout request.
//! - [`check_cross_chain_update`], before bundles go into an inbox; whether each one is new
//!   is for the inbox to say.

use skein_base::{
    encoding, ensure, limits, BlockHeight, ChainId, Committee, Epoch, Round, TimeDelta, Timestamp,
    ValidatorPublicKey,
};
use skein_execution::{Operation, SystemExecutionStateView};
use skein_views::KeyValueStore;

use crate::{
    block::{MessageAction, MessageBundle, ProposedBlock},
    certificate::{Certificate, CertificateValue, LiteVote, UncheckedCertificate},
    chain::{ChainStateView, ChainTip},
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

/// What this node knows of one epoch from the admin chain, read from its store by the
/// caller: the checks themselves do no I/O.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochRecord {
    /// The committee the admin chain created for the epoch, if this node committed that
    /// block.
    pub committee: Option<Committee>,
    /// When the admin chain revoked the epoch, if it did and this node knows.
    pub revoked_at: Option<Timestamp>,
}

/// Checks a proposal against the chain's state at this validator, at time `now`; `epoch`
/// is what the admin chain published about the block's epoch, `own_epoch` about the
/// chain's (the same record when they are one epoch).
pub fn check_proposal<S: KeyValueStore>(
    chain: &ChainStateView<S>,
    proposal: &BlockProposal,
    epoch: &EpochRecord,
    own_epoch: &EpochRecord,
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

    // 3. Height and parent hash (§7): not certified yet, no gap, on the latest block. Before
    //    the epoch: a validator that lacks the chain's latest blocks (and may not know its
    //    epoch yet) says so, and is brought up to date.
    let tip = chain.tip();
    ensure!(
        block.height >= tip.next_block_height,
        ChainError::HeightAlreadyCertified {
            height: block.height,
            next_block_height: tip.next_block_height,
        }
    );
    check_extends_tip(&tip, block)?;
    // The same proposal again gets the same vote, even if the epoch was revoked since: a
    // vote once given is not taken back, and its proposer must learn who holds it.
    if let Some(vote) = chain.manager().repeated_vote(proposal.content.round, block) {
        return Ok(Verdict::RepeatVote(vote));
    }

    // 4. Chain active; the epoch the chain's own, or once that is revoked a later one the
    //    block migrates to (§13): one committee decides each height, the chain's own while
    //    it lives (a chain migrates in a block of its own epoch then); not revoked, but for
    //    a short grace so that a block some validators voted for just before can still be
    //    certified (votes already given do not flip it); closed chains only reject (§3).
    ensure!(state.is_active(), ChainError::InactiveChain(block.chain_id));
    ensure!(
        block.epoch == state.epoch() || migrates(block, state),
        ChainError::WrongEpoch {
            expected: state.epoch(),
            found: block.epoch,
        }
    );
    if let Some(revoked_at) = epoch.revoked_at {
        let grace = TimeDelta::from_micros(limits::REVOKED_EPOCH_VOTES_GRACE_MICROS);
        ensure!(
            now <= revoked_at.saturating_add(grace),
            ChainError::RevokedEpoch {
                epoch: block.epoch,
                revoked_at,
            }
        );
    }
    ensure!(
        block.epoch == state.epoch() || own_epoch.revoked_at.is_some(),
        ChainError::EpochStillLive {
            epoch: state.epoch(),
            found: block.epoch,
        }
    );
    // A migration is not the chain's own work: closed and public chains migrate too.
    let migration = block
        .operations
        .first()
        .and_then(Operation::migrates_to)
        .is_some();
    let own_operations = &block.operations[usize::from(migration)..];
    if state.is_closed() {
        ensure!(own_operations.is_empty(), ChainError::ClosedChain);
        for incoming in &block.incoming_bundles {
            ensure!(
                incoming.action == MessageAction::Reject || !incoming.bundle.is_rejectable(),
                ChainError::ClosedChain
            );
        }
    }

    // 5. The proposer may propose in this round (§10): a super owner in the fast round, an
    //    owner (or anyone, if the chain allows it) in multi-leader rounds, the drawn leader in
    //    single-leader and validator rounds. The block names no one else as its signer —
    //    unless it is a locked block re-proposed with the validated certificate that locked
    //    it, which proves a quorum accepted its signer already (§17.5). A validator's block
    //    on a public chain only receives messages (and migrates): it runs no operations of
    //    its own. The committee that certifies the block draws the leaders.
    let owner = proposal.owner();
    let round = proposal.content.round;
    let ownership = state.ownership();
    let committee = committee_of(state, Some(block), block.epoch, epoch)?;
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
            own_operations.is_empty(),
            ChainError::OperationsOnPublicChain {
                count: own_operations.len()
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
        .check_voting_rules(ownership, round, block, lock)?
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

/// Where a certificate, or a request about a height, stands against the chain's tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// It is about the chain's next height: act on it.
    Next,
    /// That height is certified already: answer with the chain's state, change nothing.
    Past,
}

/// What to do with a certificate that passed the checks.
#[derive(Debug)]
pub enum CertificateVerdict<V> {
    /// Act on it: it is for the next height and a quorum of its epoch's committee signed it.
    Next(Certificate<V>),
    /// Its height is certified already: answer with the chain's state, change nothing.
    Past,
}

/// Checks a certificate against the chain's state at this node, at time `now`: where it
/// stands (rules 1 to 4, [`check_standing`]), then its epoch (`epoch` is what the admin
/// chain published about it) and its signers.
pub fn check_certificate<S: KeyValueStore, V: CertificateValue>(
    chain: &ChainStateView<S>,
    certificate: UncheckedCertificate<V>,
    epoch: &EpochRecord,
    now: Timestamp,
) -> Result<CertificateVerdict<V>, ChainError> {
    if check_standing(chain, &*certificate.value, certificate.round)? == Standing::Past {
        return Ok(CertificateVerdict::Past);
    }
    // 5. Epoch: the chain's committee of the value's epoch, or the published committee of
    //    the epoch a block migrates to; a revoked epoch only within the time it is honoured.
    let value_epoch = certificate.value.epoch();
    if let Some(revoked_at) = epoch.revoked_at {
        let honoured_until = revoked_at.saturating_add(TimeDelta::from_micros(
            limits::REVOKED_EPOCH_HONOURED_MICROS,
        ));
        ensure!(
            now <= honoured_until,
            ChainError::RevokedEpoch {
                epoch: value_epoch,
                revoked_at,
            }
        );
    }
    let committee = committee_of(
        chain.system(),
        certificate.value.block(),
        value_epoch,
        epoch,
    )?;
    // 6. Signers: members of that committee, no one twice, a quorum of its votes, every
    //    signature valid.
    Ok(CertificateVerdict::Next(certificate.check(committee)?))
}

/// Where a value certified (or to be certified) in `round` stands against the chain's tip.
/// Signatures are not looked at.
pub fn check_standing<S: KeyValueStore, V: CertificateValue>(
    chain: &ChainStateView<S>,
    value: &V,
    round: Round,
) -> Result<Standing, ChainError> {
    let tip = chain.tip();
    // 1. A height certified already changes nothing, whoever signed it.
    if value.height() < tip.next_block_height {
        return Ok(Standing::Past);
    }
    // 2. The chain is active here.
    ensure!(
        chain.system().is_active(),
        ChainError::InactiveChain(value.chain_id())
    );
    // 3. No gap, and a block extends the chain's latest block.
    match value.block() {
        Some(block) => check_extends_tip(&tip, block)?,
        None => check_no_gap(&tip, value.chain_id(), value.height())?,
    }
    // 4. A validated block is certified in a two-phase round, never the fast one.
    ensure!(
        value.may_be_certified_in(round),
        ChainError::ValidatedInFastRound { round }
    );
    Ok(Standing::Next)
}

/// Whether `block` is in a later epoch than its chain and starts by migrating to it.
fn migrates<S: KeyValueStore>(block: &ProposedBlock, state: &SystemExecutionStateView<S>) -> bool {
    let target = block.operations.first().and_then(Operation::migrates_to);
    block.epoch > state.epoch() && target == Some(block.epoch)
}

/// The committee that certifies `block` (or a value about no block) of `epoch`: the chain's
/// own, or the committee the admin chain published for a block migrating to its epoch and
/// for a timeout of a later epoch (a quorum of it signs those only once the chain's own
/// epoch is revoked).
fn committee_of<'a, S: KeyValueStore>(
    state: &'a SystemExecutionStateView<S>,
    block: Option<&ProposedBlock>,
    epoch: Epoch,
    record: &'a EpochRecord,
) -> Result<&'a Committee, ChainError> {
    let committee = match block {
        Some(block) if migrates(block, state) => record.committee.as_ref(),
        None if epoch > state.epoch() => record.committee.as_ref(),
        _ => state.committee(epoch),
    };
    committee.ok_or(ChainError::UnknownEpoch(epoch))
}

/// A block at the chain's next height or later: there is no gap before it, and it names
/// the chain's latest block as its parent.
fn check_extends_tip(tip: &ChainTip, block: &ProposedBlock) -> Result<(), ChainError> {
    check_no_gap(tip, block.chain_id, block.height)?;
    ensure!(
        block.previous_block_hash == tip.block_hash,
        ChainError::WrongPreviousHash {
            expected: tip.block_hash,
            found: block.previous_block_hash,
        }
    );
    Ok(())
}

/// Something at `height` comes next on the chain: a later height waits for the blocks
/// before it.
fn check_no_gap(tip: &ChainTip, chain_id: ChainId, height: BlockHeight) -> Result<(), ChainError> {
    ensure!(
        height == tip.next_block_height,
        ChainError::MissingEarlierBlocks {
            chain_id,
            next_block_height: tip.next_block_height,
        }
    );
    Ok(())
}

/// Checks the bundles that `origin` sends in one cross-chain update: the shape of the
/// update, before any inbox is read. Returns the height to acknowledge, the last bundle's.
pub fn check_cross_chain_update(
    origin: ChainId,
    bundles: &[MessageBundle],
) -> Result<BlockHeight, ChainError> {
    // 1. At least one bundle: an update without one has no height to acknowledge.
    let last = bundles
        .last()
        .ok_or(ChainError::EmptyCrossChainUpdate { origin })?;
    // 2. Bounded: whole heights of at most the request size, plus one block's transactions.
    ensure!(
        bundles.len() <= limits::BUNDLES_PER_CROSS_CHAIN_UPDATE_MAX,
        ChainError::TooManyBundlesInUpdate {
            origin,
            count: bundles.len(),
            limit: limits::BUNDLES_PER_CROSS_CHAIN_UPDATE_MAX,
        }
    );
    // 3. In the sender's order, each bundle once: strictly increasing places.
    if let Some(pair) = bundles
        .windows(2)
        .find(|pair| pair[0].cursor() >= pair[1].cursor())
    {
        return Err(ChainError::BundlesOutOfOrder {
            origin,
            previous: pair[0].cursor(),
            next: pair[1].cursor(),
        });
    }
    Ok(last.height)
}
