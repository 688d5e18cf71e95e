//! One test per voting rule of the chain manager, and the round schedule.

use std::collections::BTreeMap;

use skein_base::{
    crypto::{CryptoHash, SecretKey},
    AccountOwner, BlockHeight, ChainId, Committee, Epoch, Round, TimeDelta, Timestamp,
    ValidatorPublicKey, ValidatorState,
};
use skein_execution::{ChainOwnership, TimeoutConfig};

use super::*;
use crate::{BlockExecutionOutcome, Hashed};

fn owner(seed: u64) -> AccountOwner {
    AccountOwner::from(SecretKey::from_test_seed(seed).public())
}

fn shared() -> ChainOwnership {
    ChainOwnership {
        timeout_config: TimeoutConfig {
            base_timeout: TimeDelta::from_secs(10),
            timeout_increment: TimeDelta::from_secs(1),
        },
        ..ChainOwnership::multiple([(owner(1), 1), (owner(2), 3)], 2)
    }
}

fn committee(votes: &[u64]) -> Committee {
    let validators = votes
        .iter()
        .enumerate()
        .map(|(index, votes)| {
            let key = SecretKey::from_test_seed(100 + index as u64);
            (
                ValidatorPublicKey::from(&key.public()),
                ValidatorState {
                    network_address: String::new(),
                    votes: *votes,
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    Committee::new(validators).unwrap()
}

fn block(timestamp: u64) -> ProposedBlock {
    ProposedBlock {
        chain_id: ChainId::root(0),
        epoch: Epoch::ZERO,
        height: BlockHeight(4),
        timestamp: Timestamp::from_micros(timestamp),
        authenticated_signer: None,
        previous_block_hash: None,
        incoming_bundles: Vec::new(),
        operations: Vec::new(),
    }
}

fn validated(block: &ProposedBlock) -> ValidatedBlock {
    ValidatedBlock {
        block: block.clone(),
        outcome: BlockExecutionOutcome {
            messages: Vec::new(),
            state_hash: CryptoHash::of_bytes(b"state"),
        },
    }
}

fn validator_key() -> SecretKey {
    SecretKey::from_test_seed(100)
}

fn validate_vote(block: &ProposedBlock, round: Round) -> PendingVote {
    PendingVote::Validate(Vote::new(
        Hashed::new(validated(block)),
        round,
        &validator_key(),
    ))
}

fn confirm_vote(block: &ProposedBlock, round: Round) -> PendingVote {
    PendingVote::Confirm(Vote::new(
        Hashed::new(validated(block).to_confirmed()),
        round,
        &validator_key(),
    ))
}

/// A certificate as the manager sees it: checked by the caller already.
fn lock(block: &ProposedBlock, round: Round) -> UncheckedCertificate<ValidatedBlock> {
    UncheckedCertificate {
        value: Hashed::new(validated(block)),
        round,
        signatures: Vec::new(),
    }
}

fn timeout(round: Round) -> UncheckedCertificate<Timeout> {
    UncheckedCertificate {
        value: Hashed::new(Timeout {
            chain_id: ChainId::root(0),
            height: BlockHeight(4),
            epoch: Epoch::ZERO,
        }),
        round,
        signatures: Vec::new(),
    }
}

#[test]
fn test_round_schedule() {
    let ownership = shared();
    assert_eq!(ownership.first_round(), Round::MultiLeader(0));
    assert_eq!(
        ownership.next_round(Round::MultiLeader(0)),
        Some(Round::MultiLeader(1))
    );
    assert_eq!(
        ownership.next_round(Round::MultiLeader(1)),
        Some(Round::SingleLeader(0))
    );
    assert_eq!(ownership.next_round(Round::Fast), None);
    assert_eq!(
        ownership.round_duration(Round::SingleLeader(1)),
        Some(TimeDelta::from_secs(13))
    );
    assert_eq!(ownership.round_duration(Round::Fast), None);
    assert_eq!(ChainOwnership::single(owner(1)).first_round(), Round::Fast);
    assert_eq!(ChainOwnership::public().first_round(), Round::Validator(0));
}

#[test]
fn test_leaders_by_round_kind() {
    let chain = ChainId::root(0);
    let committee = committee(&[1, 1, 1, 1]);
    let height = BlockHeight(0);
    let single = ChainOwnership::single(owner(1));
    assert_eq!(
        round_leader(chain, height, Round::Fast, &single, &committee),
        Some(Leader::SuperOwners)
    );
    // A chain with super owners has no other round.
    assert_eq!(
        round_leader(chain, height, Round::MultiLeader(0), &single, &committee),
        None
    );
    let ownership = shared();
    assert_eq!(
        round_leader(chain, height, Round::Fast, &ownership, &committee),
        None
    );
    assert_eq!(
        round_leader(chain, height, Round::MultiLeader(1), &ownership, &committee),
        Some(Leader::Owners)
    );
    assert_eq!(
        round_leader(chain, height, Round::MultiLeader(2), &ownership, &committee),
        None
    );
    assert!(matches!(
        round_leader(
            chain,
            height,
            Round::SingleLeader(0),
            &ownership,
            &committee
        ),
        Some(Leader::Owner(_))
    ));
    assert_eq!(
        round_leader(chain, height, Round::Validator(0), &ownership, &committee),
        None
    );
    let public = ChainOwnership::public();
    assert!(matches!(
        round_leader(chain, height, Round::Validator(3), &public, &committee),
        Some(Leader::Validator(key)) if committee.weight(&key) > 0
    ));
    assert_eq!(
        round_leader(chain, height, Round::MultiLeader(0), &public, &committee),
        None
    );
}

#[test]
fn test_single_leader_draw_is_deterministic_and_weighted() {
    let chain = ChainId::root(0);
    let committee = committee(&[1]);
    let ownership = shared();
    let mut heavy = 0;
    for round in 0..400 {
        let leader = round_leader(
            chain,
            BlockHeight(7),
            Round::SingleLeader(round),
            &ownership,
            &committee,
        );
        assert_eq!(
            leader,
            round_leader(
                chain,
                BlockHeight(7),
                Round::SingleLeader(round),
                &ownership,
                &committee
            ),
            "every validator draws the same"
        );
        if leader == Some(Leader::Owner(owner(2))) {
            heavy += 1;
        }
    }
    // Owner 2 weighs 3 of 4: expect about 300 of 400.
    assert!(
        (250..350).contains(&heavy),
        "owner 2 led {heavy} of 400 rounds"
    );
    // An owner of weight zero never leads.
    let ownership = ChainOwnership::multiple([(owner(1), 0), (owner(2), 1)], 0);
    for round in 0..50 {
        assert_eq!(
            round_leader(
                chain,
                BlockHeight(0),
                Round::SingleLeader(round),
                &ownership,
                &committee
            ),
            Some(Leader::Owner(owner(2)))
        );
    }
}

#[test]
fn test_never_votes_below_or_twice_in_a_round() {
    let ownership = shared();
    let manager = ChainManager {
        pending_vote: Some(validate_vote(&block(1), Round::MultiLeader(1))),
        ..ChainManager::default()
    };
    // Another block in the same round.
    assert_eq!(
        manager.check_voting_rules(&ownership, Round::MultiLeader(1), &block(2), None),
        Err(ChainError::AlreadyVotedInRound {
            height: BlockHeight(4),
            round: Round::MultiLeader(1),
        })
    );
    // Any block in an earlier round.
    assert!(matches!(
        manager.check_voting_rules(&ownership, Round::MultiLeader(0), &block(1), None),
        Err(ChainError::AlreadyVotedInRound { .. })
    ));
    // The same block in the same round: the same vote.
    assert!(matches!(
        manager.check_voting_rules(&ownership, Round::MultiLeader(1), &block(1), None),
        Ok(RoundVerdict::Repeat(_))
    ));
}

#[test]
fn test_votes_only_in_the_current_round() {
    let ownership = shared();
    let manager = ChainManager::default();
    assert_eq!(
        manager.check_voting_rules(&ownership, Round::MultiLeader(0), &block(1), None),
        Ok(RoundVerdict::Vote { confirm: false })
    );
    assert_eq!(
        manager.check_voting_rules(&ownership, Round::SingleLeader(0), &block(1), None),
        Err(ChainError::WrongRound {
            expected: Round::MultiLeader(0),
            found: Round::SingleLeader(0),
        })
    );
    // A vote in round 1 moves the validator to round 1.
    let manager = ChainManager {
        pending_vote: Some(validate_vote(&block(1), Round::MultiLeader(1))),
        ..ChainManager::default()
    };
    assert_eq!(manager.current_round(&ownership), Round::MultiLeader(1));
    // So does a timeout certificate.
    let manager = ChainManager {
        timeout: Some(timeout(Round::MultiLeader(1))),
        ..ChainManager::default()
    };
    assert_eq!(manager.current_round(&ownership), Round::SingleLeader(0));
    assert_eq!(
        manager.check_voting_rules(&ownership, Round::SingleLeader(0), &block(1), None),
        Ok(RoundVerdict::Vote { confirm: false })
    );
}

#[test]
fn test_fast_round_votes_confirm() {
    let ownership = ChainOwnership::single(owner(1));
    let manager = ChainManager::default();
    assert_eq!(
        manager.check_voting_rules(&ownership, Round::Fast, &block(1), None),
        Ok(RoundVerdict::Vote { confirm: true })
    );
    let manager = ChainManager {
        pending_vote: Some(confirm_vote(&block(1), Round::Fast)),
        ..ChainManager::default()
    };
    assert!(matches!(
        manager.check_voting_rules(&ownership, Round::Fast, &block(2), None),
        Err(ChainError::AlreadyVotedInRound { .. })
    ));
}

#[test]
fn test_locked_validator_votes_only_for_its_lock_or_a_later_one() {
    let ownership = shared();
    let manager = ChainManager {
        locked: Some(lock(&block(1), Round::MultiLeader(1))),
        timeout: Some(timeout(Round::MultiLeader(1))),
        ..ChainManager::default()
    };
    let round = Round::SingleLeader(0);
    assert_eq!(manager.current_round(&ownership), round);
    // Another block: refused.
    assert_eq!(
        manager.check_voting_rules(&ownership, round, &block(2), None),
        Err(ChainError::LockedOnAnotherBlock {
            height: BlockHeight(4),
            round: Round::MultiLeader(1),
        })
    );
    // With a validated certificate from the same round as the lock: still refused.
    let same = lock(&block(2), Round::MultiLeader(1));
    assert!(matches!(
        manager.check_voting_rules(&ownership, round, &block(2), Some(&same)),
        Err(ChainError::LockedOnAnotherBlock { .. })
    ));
    // The locked block: accepted.
    assert_eq!(
        manager.check_voting_rules(&ownership, round, &block(1), None),
        Ok(RoundVerdict::Vote { confirm: false })
    );
    // Another block with a validated certificate from a later round than the lock.
    let manager = ChainManager {
        locked: Some(lock(&block(1), Round::MultiLeader(0))),
        timeout: Some(timeout(Round::MultiLeader(1))),
        ..ChainManager::default()
    };
    let later = lock(&block(2), Round::MultiLeader(1));
    assert_eq!(
        manager.check_voting_rules(&ownership, round, &block(2), Some(&later)),
        Ok(RoundVerdict::Vote { confirm: false })
    );
}

#[test]
fn test_lock_keeps_the_highest_round() {
    let mut manager = ChainManager::default();
    manager.lock(lock(&block(1), Round::MultiLeader(1)));
    manager.lock(lock(&block(2), Round::MultiLeader(0)));
    assert_eq!(manager.locked_block(), Some(&block(1)));
    manager.lock(lock(&block(3), Round::SingleLeader(0)));
    assert_eq!(manager.locked_block(), Some(&block(3)));
}

#[test]
fn test_confirms_a_validated_block_unless_it_moved_on() {
    let round = Round::MultiLeader(1);
    let manager = ChainManager {
        pending_vote: Some(validate_vote(&block(1), round)),
        ..ChainManager::default()
    };
    assert_eq!(
        manager.check_validated(round, &block(1)),
        ValidatedVerdict::Confirm
    );
    // Having voted in a later round, it only takes the lock.
    let manager = ChainManager {
        pending_vote: Some(validate_vote(&block(2), Round::SingleLeader(0))),
        ..ChainManager::default()
    };
    assert_eq!(
        manager.check_validated(round, &block(1)),
        ValidatedVerdict::LockOnly
    );
    // Having confirmed it, the same vote again.
    let manager = ChainManager {
        pending_vote: Some(confirm_vote(&block(1), round)),
        ..ChainManager::default()
    };
    assert!(matches!(
        manager.check_validated(round, &block(1)),
        ValidatedVerdict::Repeat(_)
    ));
}

#[test]
fn test_timeout_votes_only_after_the_deadline() {
    let ownership = shared();
    let start = Timestamp::from_micros(1_000_000);
    let mut manager = ChainManager::new_height(start);
    let round = Round::MultiLeader(0);
    let deadline = start.saturating_add(TimeDelta::from_secs(10));
    assert_eq!(
        manager.round_deadline(&ownership, Timestamp::default()),
        Some(deadline)
    );
    assert_eq!(
        manager.check_timeout_request(&ownership, round, start, Timestamp::default()),
        Err(ChainError::RoundNotTimedOut {
            round,
            deadline: Some(deadline),
        })
    );
    assert_eq!(
        manager.check_timeout_request(&ownership, round, deadline, Timestamp::default()),
        Ok(None)
    );
    // Not for another round.
    assert!(matches!(
        manager.check_timeout_request(
            &ownership,
            Round::MultiLeader(1),
            deadline,
            Timestamp::default()
        ),
        Err(ChainError::WrongRound { .. })
    ));
    // A round starts no earlier than the chain's latest block.
    let later = start.saturating_add(TimeDelta::from_secs(5));
    assert_eq!(
        manager.round_deadline(&ownership, later),
        Some(later.saturating_add(TimeDelta::from_secs(10)))
    );
    // The certificate moves the validator on; the next round lasts one increment longer.
    manager.timeout_vote = Some(Vote::new(timeout(round).value, round, &validator_key()));
    manager.record_timeout(&ownership, timeout(round), deadline);
    assert_eq!(manager.current_round(&ownership), Round::MultiLeader(1));
    assert_eq!(manager.timeout_vote, None);
    assert_eq!(
        manager.round_deadline(&ownership, Timestamp::default()),
        Some(deadline.saturating_add(TimeDelta::from_secs(11)))
    );
    // An older timeout certificate changes nothing.
    manager.record_timeout(&ownership, timeout(Round::MultiLeader(0)), later);
    assert_eq!(manager.current_round(&ownership), Round::MultiLeader(1));
}

#[test]
fn test_fast_round_never_times_out() {
    let ownership = ChainOwnership::single(owner(1));
    let manager = ChainManager::default();
    assert_eq!(
        manager.check_timeout_request(
            &ownership,
            Round::Fast,
            Timestamp::from_micros(u64::MAX),
            Timestamp::default()
        ),
        Err(ChainError::RoundNotTimedOut {
            round: Round::Fast,
            deadline: None,
        })
    );
}
