//! [`ChainOwnership`]: who may propose blocks on a chain.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use skein_base::{AccountOwner, Round, TimeDelta};

/// How long rounds last before validators may time them out (multi-owner chains).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutConfig {
    /// The duration of the first timed round.
    pub base_timeout: TimeDelta,
    /// How much longer each further round lasts.
    pub timeout_increment: TimeDelta,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self {
            base_timeout: TimeDelta::from_secs(10),
            timeout_increment: TimeDelta::from_secs(1),
        }
    }
}

/// The owners of a chain. Super owners propose in the fast round; owners, weighted, in the
/// later rounds. A chain with neither is inactive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainOwnership {
    /// Owners who may propose in the fast round.
    pub super_owners: BTreeSet<AccountOwner>,
    /// Owners who may propose in multi- and single-leader rounds, with their weights.
    pub owners: BTreeMap<AccountOwner, u64>,
    /// How many multi-leader rounds precede the single-leader ones.
    pub multi_leader_rounds: u32,
    /// Whether anyone, not only owners, may propose in the multi-leader rounds.
    pub open_multi_leader_rounds: bool,
    /// Whether validators propose, in turn (a public chain): users reach it only through
    /// messages.
    pub validators_propose: bool,
    /// Round durations.
    pub timeout_config: TimeoutConfig,
}

impl ChainOwnership {
    /// One owner who proposes in the fast round: a user's own chain.
    pub fn single(owner: AccountOwner) -> Self {
        Self {
            super_owners: BTreeSet::from([owner]),
            ..Self::default()
        }
    }

    /// Several owners sharing a chain, with weights for the single-leader draw: no fast
    /// round; `multi_leader_rounds` rounds where any of them proposes, then one leader per
    /// round.
    pub fn multiple(
        owners: impl IntoIterator<Item = (AccountOwner, u64)>,
        multi_leader_rounds: u32,
    ) -> Self {
        Self {
            owners: owners.into_iter().collect(),
            multi_leader_rounds,
            ..Self::default()
        }
    }

    /// A public chain: validators propose in turn.
    pub fn public() -> Self {
        Self {
            validators_propose: true,
            ..Self::default()
        }
    }

    /// Whether anyone at all may propose.
    pub fn is_active(&self) -> bool {
        !self.super_owners.is_empty() || !self.owners.is_empty() || self.validators_propose
    }

    /// The first round at each height: the fast round if there are super owners, validator
    /// rounds on a public chain, otherwise the first multi- or single-leader round.
    pub fn first_round(&self) -> Round {
        if !self.super_owners.is_empty() {
            Round::Fast
        } else if self.validators_propose {
            Round::Validator(0)
        } else if self.multi_leader_rounds > 0 {
            Round::MultiLeader(0)
        } else {
            Round::SingleLeader(0)
        }
    }

    /// The round after `round`. The fast round has none: a super owner's block is final
    /// once proposed, so the chain never leaves it (as a single-owner chain never needs to).
    pub fn next_round(&self, round: Round) -> Option<Round> {
        match round {
            Round::Fast => None,
            Round::MultiLeader(index) if index.saturating_add(1) < self.multi_leader_rounds => {
                Some(Round::MultiLeader(index + 1))
            }
            Round::MultiLeader(_) => Some(Round::SingleLeader(0)),
            Round::SingleLeader(index) => index.checked_add(1).map(Round::SingleLeader),
            Round::Validator(index) => index.checked_add(1).map(Round::Validator),
        }
    }

    /// How long `round` lasts before validators may time it out; `None` for the fast round.
    /// The k-th timed round lasts `base + k × increment`.
    pub fn round_duration(&self, round: Round) -> Option<TimeDelta> {
        let position = match round {
            Round::Fast => return None,
            Round::MultiLeader(index) => u64::from(index),
            Round::SingleLeader(index) => u64::from(self.multi_leader_rounds) + u64::from(index),
            Round::Validator(index) => u64::from(index),
        };
        let config = &self.timeout_config;
        let extra = config
            .timeout_increment
            .as_micros()
            .saturating_mul(position);
        Some(TimeDelta::from_micros(
            config.base_timeout.as_micros().saturating_add(extra),
        ))
    }

    /// Whether `owner` may propose in a multi-leader round.
    pub fn may_propose_in_multi_leader_round(&self, owner: &AccountOwner) -> bool {
        self.open_multi_leader_rounds || self.is_owner(owner)
    }

    /// Whether `owner` may propose in some round.
    pub fn is_owner(&self, owner: &AccountOwner) -> bool {
        self.super_owners.contains(owner) || self.owners.contains_key(owner)
    }

    /// The owner of a single-owner chain, if that is what this is.
    pub fn single_owner(&self) -> Option<AccountOwner> {
        match (self.super_owners.len(), self.owners.is_empty()) {
            (1, true) => self.super_owners.first().copied(),
            _ => None,
        }
    }
}
