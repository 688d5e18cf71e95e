//! [`ChainOwnership`]: who may propose blocks on a chain.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use skein_base::{AccountOwner, TimeDelta};

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

    /// Whether anyone at all may propose.
    pub fn is_active(&self) -> bool {
        !self.super_owners.is_empty() || !self.owners.is_empty()
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
