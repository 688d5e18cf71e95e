//! [`ChainManager`]: what a validator promised at a chain's next height, and the voting rules
//! that keep two blocks from being confirmed there.
//!
//! Rounds (see `ChainOwnership::first_round`): a chain with super owners stays in the *fast*
//! round, where validators vote to confirm at once and never vote twice at a height (a
//! super owner must not propose two blocks). Other chains go through *multi-leader* rounds
//! (any owner proposes), then *single-leader* rounds (one owner, drawn by weight), or, on a
//! public chain, *validator* rounds (one validator, drawn by stake). There, a block takes two
//! phases: a quorum of *validate* votes makes a validated certificate, which *locks* the block;
//! a quorum of *confirm* votes, each given only on seeing that certificate, makes it final. A
//! round that makes no progress is ended by a quorum of *timeout* votes.
//!
//! Safety: an honest validator (1) never votes in a round lower than one it voted in, nor
//! twice in one round for different blocks; (2) votes to confirm a block in round r only with
//! a validated certificate for it from round r; (3) once locked on block A from round s,
//! votes to validate another block only if the proposal carries a validated certificate for
//! it from a round after s. If block A is confirmed in round r, a quorum locked A at r, and
//! any quorum at a later round shares an honest validator with it, who refuses to validate
//! anything but A unless shown a later validated certificate — which needs such a quorum
//! again. So no other block is ever validated, let alone confirmed, at that height.
//! Liveness: the leader of a later round re-proposes the highest locked block, which every
//! honest validator accepts.

use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::{BcsHashable, CryptoHash},
    AccountOwner, BlockHeight, ChainId, Committee, Round, Timestamp, ValidatorPublicKey,
};
use skein_execution::ChainOwnership;

use crate::{
    block::{ConfirmedBlock, ProposedBlock, Timeout, ValidatedBlock},
    certificate::{LiteVote, UncheckedCertificate, Vote},
    ChainError,
};

/// A validator's vote at the next height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingVote {
    /// To validate a block (two-phase rounds).
    Validate(Vote<ValidatedBlock>),
    /// To confirm a block (the fast round, or after a validated certificate).
    Confirm(Vote<ConfirmedBlock>),
}

impl PendingVote {
    /// The round of the vote.
    pub fn round(&self) -> Round {
        match self {
            PendingVote::Validate(vote) => vote.round,
            PendingVote::Confirm(vote) => vote.round,
        }
    }

    /// The block voted for.
    pub fn block(&self) -> &ProposedBlock {
        match self {
            PendingVote::Validate(vote) => &vote.value.block,
            PendingVote::Confirm(vote) => &vote.value.block,
        }
    }

    /// The vote without its value.
    pub fn lite(&self) -> LiteVote {
        match self {
            PendingVote::Validate(vote) => vote.lite(),
            PendingVote::Confirm(vote) => vote.lite(),
        }
    }
}

/// Who may propose in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Leader {
    /// Any super owner (the fast round).
    SuperOwners,
    /// Any owner, or anyone if the chain opens its multi-leader rounds.
    Owners,
    /// This owner alone.
    Owner(AccountOwner),
    /// This validator alone.
    Validator(ValidatorPublicKey),
}

/// What makes a leader draw: the same on every validator.
#[derive(Serialize)]
struct LeaderSeed {
    chain_id: ChainId,
    height: BlockHeight,
    round: Round,
}

impl BcsHashable for LeaderSeed {
    const TYPE_TAG: &'static str = "LeaderSeed";
}

/// Draws one of `candidates` with probability proportional to its weight, from a seed.
fn draw<T: Copy>(seed: CryptoHash, candidates: impl Iterator<Item = (T, u64)>) -> Option<T> {
    let candidates: Vec<(T, u64)> = candidates.filter(|(_, weight)| *weight > 0).collect();
    let total: u128 = candidates
        .iter()
        .map(|(_, weight)| u128::from(*weight))
        .sum();
    if total == 0 {
        return None;
    }
    let mut ticket = u128::from(seed.prefix_u64()) % total;
    for (candidate, weight) in candidates {
        let weight = u128::from(weight);
        if ticket < weight {
            return Some(candidate);
        }
        ticket -= weight;
    }
    None
}

/// Who may propose in `round` at `height` of a chain, or `None` if the chain has no such
/// round. Single-leader and validator rounds draw their leader by weight from a hash of
/// the chain, height and round, so every validator draws the same.
pub fn round_leader(
    chain_id: ChainId,
    height: BlockHeight,
    round: Round,
    ownership: &ChainOwnership,
    committee: &Committee,
) -> Option<Leader> {
    let has_super_owners = !ownership.super_owners.is_empty();
    let seed = || {
        CryptoHash::new(&LeaderSeed {
            chain_id,
            height,
            round,
        })
    };
    match round {
        Round::Fast => has_super_owners.then_some(Leader::SuperOwners),
        _ if has_super_owners => None,
        Round::Validator(_) if ownership.validators_propose => draw(
            seed(),
            committee
                .validators()
                .iter()
                .map(|(key, state)| (*key, state.votes)),
        )
        .map(Leader::Validator),
        Round::Validator(_) => None,
        _ if ownership.validators_propose => None,
        Round::MultiLeader(index) => {
            (index < ownership.multi_leader_rounds).then_some(Leader::Owners)
        }
        Round::SingleLeader(_) => draw(
            seed(),
            ownership
                .owners
                .iter()
                .map(|(owner, weight)| (*owner, *weight)),
        )
        .map(Leader::Owner),
    }
}

/// Consensus state at the next height. It changes only through the methods below, each
/// one step of the round rules (a vote, a lock, a timeout).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainManager {
    /// This validator's latest vote to validate or confirm at this height.
    pending_vote: Option<PendingVote>,
    /// The validated certificate of the highest round seen at this height: the lock. Checked
    /// before it was stored.
    locked: Option<UncheckedCertificate<ValidatedBlock>>,
    /// The timeout certificate of the highest round seen at this height. Checked before it
    /// was stored.
    timeout: Option<UncheckedCertificate<Timeout>>,
    /// This validator's timeout vote in the current round, if it cast one.
    timeout_vote: Option<Vote<Timeout>>,
    /// When the current round began, by this validator's clock.
    round_start: Timestamp,
}

/// What to do with a proposal that passed the round rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundVerdict {
    /// Vote for it: to confirm in the fast round, to validate otherwise.
    Vote {
        /// Whether the vote is to confirm at once.
        confirm: bool,
    },
    /// This validator already voted for exactly this block in this round.
    Repeat(LiteVote),
}

/// What to do with a validated certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidatedVerdict {
    /// Lock on it and vote to confirm it.
    Confirm,
    /// Already voted to confirm it: the same vote.
    Repeat(LiteVote),
    /// Lock on it if it is the highest, but do not vote: this validator voted in a later
    /// round.
    LockOnly,
}

impl ChainManager {
    /// The state at a new height, whose first round starts `now`.
    pub fn new_height(now: Timestamp) -> Self {
        Self {
            round_start: now,
            ..Self::default()
        }
    }

    /// The round this validator is in: the first round, or later after votes, locks and
    /// timeouts.
    pub fn current_round(&self, ownership: &ChainOwnership) -> Round {
        let mut round = ownership.first_round();
        if let Some(vote) = &self.pending_vote {
            round = round.max(vote.round());
        }
        if let Some(locked) = &self.locked {
            round = round.max(locked.round);
        }
        if let Some(next) = self
            .timeout
            .as_ref()
            .and_then(|timeout| ownership.next_round(timeout.round))
        {
            round = round.max(next);
        }
        round
    }

    /// When the current round may be timed out; `None` if it never times out. A round
    /// starts no earlier than the chain's latest timestamp (`chain_timestamp`), which covers
    /// a chain that was just created.
    pub fn round_deadline(
        &self,
        ownership: &ChainOwnership,
        chain_timestamp: Timestamp,
    ) -> Option<Timestamp> {
        let start = self.round_start.max(chain_timestamp);
        ownership
            .round_duration(self.current_round(ownership))
            .map(|duration| start.saturating_add(duration))
    }

    /// The block this validator is locked on, if any.
    pub fn locked_block(&self) -> Option<&ProposedBlock> {
        self.locked.as_ref().map(|locked| &locked.value.block)
    }

    /// The vote this validator gave already for `block` in `round`, if it did: what the
    /// same request gets again.
    pub fn repeated_vote(&self, round: Round, block: &ProposedBlock) -> Option<LiteVote> {
        self.pending_vote
            .as_ref()
            .filter(|vote| vote.round() == round && vote.block() == block)
            .map(PendingVote::lite)
    }

    /// Rule 6 for a proposal in `round` of `block` (the proposer's right to propose was
    /// checked already): never vote below a round voted in, nor twice in a round for two
    /// blocks; only in the current round; and, when locked, only for the locked block unless
    /// `carried` is a validated certificate for this block from a later round than the lock.
    pub fn check_voting_rules(
        &self,
        ownership: &ChainOwnership,
        round: Round,
        block: &ProposedBlock,
        carried: Option<&UncheckedCertificate<ValidatedBlock>>,
    ) -> Result<RoundVerdict, ChainError> {
        if let Some(vote) = self.repeated_vote(round, block) {
            return Ok(RoundVerdict::Repeat(vote));
        }
        if let Some(vote) = &self.pending_vote {
            if vote.round() >= round {
                return Err(ChainError::AlreadyVotedInRound {
                    height: block.height,
                    round: vote.round(),
                });
            }
        }
        let current = self.current_round(ownership);
        if round != current {
            return Err(ChainError::WrongRound {
                expected: current,
                found: round,
            });
        }
        if let Some(locked) = &self.locked {
            let unlocked = carried.is_some_and(|carried| {
                carried.round > locked.round && carried.value.block == *block
            });
            if locked.value.block != *block && !unlocked {
                return Err(ChainError::LockedOnAnotherBlock {
                    height: block.height,
                    round: locked.round,
                });
            }
        }
        Ok(RoundVerdict::Vote {
            confirm: round == Round::Fast,
        })
    }

    /// The rules for a (checked) validated certificate of `round`: vote to confirm it
    /// unless this validator voted in a later round; the same vote again if it did already.
    pub fn check_validated(&self, round: Round, block: &ProposedBlock) -> ValidatedVerdict {
        if let Some(vote) = &self.pending_vote {
            if let PendingVote::Confirm(confirm) = vote {
                if confirm.round == round && confirm.value.block == *block {
                    return ValidatedVerdict::Repeat(vote.lite());
                }
            }
            if vote.round() > round
                || (vote.round() == round && matches!(vote, PendingVote::Confirm(_)))
            {
                return ValidatedVerdict::LockOnly;
            }
        }
        ValidatedVerdict::Confirm
    }

    /// This validator's latest vote to validate or confirm at this height.
    pub fn pending_vote(&self) -> Option<&PendingVote> {
        self.pending_vote.as_ref()
    }

    /// The lock: the validated certificate of the highest round seen at this height.
    pub fn locked(&self) -> Option<&UncheckedCertificate<ValidatedBlock>> {
        self.locked.as_ref()
    }

    /// The timeout certificate of the highest round seen at this height.
    pub fn timeout(&self) -> Option<&UncheckedCertificate<Timeout>> {
        self.timeout.as_ref()
    }

    /// This validator's timeout vote in the current round, if it cast one.
    pub fn timeout_vote(&self) -> Option<&Vote<Timeout>> {
        self.timeout_vote.as_ref()
    }

    /// Records this validator's vote at this height, which the voting rules then hold it to.
    pub fn record_vote(&mut self, vote: PendingVote) {
        self.pending_vote = Some(vote);
    }

    /// Records this validator's timeout vote in the current round.
    pub fn record_timeout_vote(&mut self, vote: Vote<Timeout>) {
        self.timeout_vote = Some(vote);
    }

    /// Keeps `certificate` as the lock if it is from a later round than the current lock.
    pub fn lock(&mut self, certificate: UncheckedCertificate<ValidatedBlock>) {
        if self
            .locked
            .as_ref()
            .is_none_or(|locked| certificate.round > locked.round)
        {
            self.locked = Some(certificate);
        }
    }

    /// The rules for a timeout vote in `round`: only the current round, only once its
    /// deadline has passed. Returns the vote cast before, if any.
    pub fn check_timeout_request(
        &self,
        ownership: &ChainOwnership,
        round: Round,
        now: Timestamp,
        chain_timestamp: Timestamp,
    ) -> Result<Option<LiteVote>, ChainError> {
        let current = self.current_round(ownership);
        if round != current {
            return Err(ChainError::WrongRound {
                expected: current,
                found: round,
            });
        }
        if let Some(vote) = &self.timeout_vote {
            if vote.round == round {
                return Ok(Some(vote.lite()));
            }
        }
        match self.round_deadline(ownership, chain_timestamp) {
            Some(deadline) if now >= deadline => Ok(None),
            deadline => Err(ChainError::RoundNotTimedOut { round, deadline }),
        }
    }

    /// Records a (checked) timeout certificate; a later round starts `now`.
    pub fn record_timeout(
        &mut self,
        ownership: &ChainOwnership,
        certificate: UncheckedCertificate<Timeout>,
        now: Timestamp,
    ) {
        let before = self.current_round(ownership);
        if self
            .timeout
            .as_ref()
            .is_none_or(|timeout| certificate.round > timeout.round)
        {
            self.timeout = Some(certificate);
        }
        if self.current_round(ownership) > before {
            self.round_start = now;
            self.timeout_vote = None;
        }
    }
}

#[cfg(test)]
#[path = "unit_tests/manager_tests.rs"]
mod manager_tests;
