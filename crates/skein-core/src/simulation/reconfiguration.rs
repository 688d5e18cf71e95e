//! Committee changes while users work: the admin chain's owner adds a spare validator,
//! removes a member or replaces a member's key, creating the next epoch each time, and
//! revokes older epochs (sometimes at once, so chains still in them migrate by a block of
//! the new one); a validator in no live committee any more is stopped for good once the
//! revocations' grace is over.
//!
//! A change moves one member at a time and keeps at least four, so that a quorum of any
//! committee and a quorum of the next share an honest member: the condition under which
//! two epochs cannot certify two blocks at one height.

use std::{collections::BTreeMap, sync::Arc};

use skein_base::{Committee, Epoch, TimeDelta, ValidatorPublicKey, ValidatorState};
use skein_execution::SystemOperation;

use super::{network::SimNetwork, workload::User, SimClock};
use crate::{clock::Clock, genesis::GenesisConfig};

/// Fewest members a committee keeps.
const MEMBERS_MIN: usize = 4;

/// Attempts at one admin operation before the change is given up.
const ATTEMPTS_MAX: usize = 20;

/// The committees of the run, as the admin chain's owner made them.
pub struct Committees {
    /// Every validator's current key, by index in the network.
    keys: Vec<ValidatorPublicKey>,
    /// The key each validator may still rotate to, by index.
    next_keys: Vec<Option<ValidatorPublicKey>>,
    /// The keys each validator rotated away from, by index.
    former_keys: Vec<Vec<ValidatorPublicKey>>,
    /// The committees of the live epochs.
    live: BTreeMap<Epoch, Committee>,
    /// Spare validators that have not joined yet, by index.
    spares: Vec<usize>,
    /// The index of the validator that may not leave (the Byzantine one), if any.
    staying: Option<usize>,
    /// Changes made.
    pub changes: u64,
    /// Of which key rotations.
    pub rotations: u64,
}

impl Committees {
    /// The genesis committee, with `spares` (indices) waiting to join.
    pub fn new(
        keys: Vec<ValidatorPublicKey>,
        next_keys: Vec<Option<ValidatorPublicKey>>,
        genesis: Committee,
        spares: Vec<usize>,
        staying: Option<usize>,
    ) -> Self {
        Self {
            former_keys: vec![Vec::new(); keys.len()],
            keys,
            next_keys,
            live: BTreeMap::from([(Epoch::ZERO, genesis)]),
            spares,
            staying,
            changes: 0,
            rotations: 0,
        }
    }

    /// The newest epoch.
    pub fn newest(&self) -> Epoch {
        *self.live.keys().next_back().expect("an epoch is live")
    }

    /// The indices of the newest committee's members.
    pub fn newest_members(&self) -> Vec<usize> {
        let committee = &self.live[&self.newest()];
        (0..self.keys.len())
            .filter(|index| committee.validators().contains_key(&self.keys[*index]))
            .collect()
    }

    /// The indices of validators in no live committee: retired.
    pub fn retired(&self) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|index| !self.spares.contains(index))
            .filter(|index| {
                let mut keys = self.former_keys[*index].iter().chain([&self.keys[*index]]);
                keys.all(|key| {
                    self.live
                        .values()
                        .all(|committee| !committee.validators().contains_key(key))
                })
            })
            .collect()
    }

    /// The next committee: a spare joins, a member leaves, or a member rotates its key
    /// (keeping its votes), as `choice` (random) picks among what is possible.
    fn next_committee(&mut self, choice: u64) -> Option<Committee> {
        let mut members = self.live[&self.newest()].validators().clone();
        let movable: Vec<usize> = self
            .newest_members()
            .into_iter()
            .filter(|index| Some(*index) != self.staying)
            .collect();
        let rotating: Vec<usize> = movable
            .iter()
            .copied()
            .filter(|index| self.next_keys[*index].is_some())
            .collect();
        let mut possible = Vec::new();
        if !self.spares.is_empty() {
            possible.push(Change::Join);
        }
        if members.len() > MEMBERS_MIN && !movable.is_empty() {
            possible.push(Change::Leave);
        }
        if !rotating.is_empty() {
            possible.push(Change::Rotate);
        }
        let count = possible.len() as u64;
        let change = *possible.get(usize::try_from(choice % count.max(1)).ok()?)?;
        let pick = |among: &[usize]| among[usize::try_from(choice / 3).unwrap_or(0) % among.len()];
        match change {
            Change::Join => {
                let spare = self.spares.remove(0);
                members.insert(
                    self.keys[spare],
                    ValidatorState {
                        network_address: String::new(),
                        votes: 1,
                    },
                );
            }
            Change::Leave => {
                members.remove(&self.keys[pick(&movable)]);
            }
            Change::Rotate => {
                let index = pick(&rotating);
                let next = self.next_keys[index].take()?;
                let state = members.remove(&self.keys[index])?;
                members.insert(next, state);
                let former = std::mem::replace(&mut self.keys[index], next);
                self.former_keys[index].push(former);
                self.rotations += 1;
            }
        }
        Committee::new(members).ok()
    }
}

/// One committee change.
#[derive(Clone, Copy)]
enum Change {
    Join,
    Leave,
    Rotate,
}

/// Makes `count` committee changes, one every so often, through user 0's client (the
/// genesis gives it the admin chain).
pub async fn run(
    admin: Arc<User>,
    committees: Arc<parking_lot::Mutex<Committees>>,
    network: Arc<SimNetwork>,
    clock: SimClock,
    count: usize,
) -> Result<(), String> {
    let chain = admin
        .client
        .chain(GenesisConfig::chain_id(0), admin.key.copy());
    for _ in 0..count {
        let pause = 20_000 + network.random_below(150_000);
        clock.sleep(TimeDelta::from_micros(pause)).await;
        let choice = network.random_below(1_000);
        let (epoch, committee) = {
            let mut committees = committees.lock();
            let Some(committee) = committees.next_committee(choice) else {
                return Ok(());
            };
            let epoch = committees
                .newest()
                .try_add_one()
                .map_err(|error| error.to_string())?;
            (epoch, committee)
        };
        let create = SystemOperation::CreateCommittee {
            epoch,
            committee: committee.clone(),
        };
        admin_operation(&admin, &chain, &clock, create).await?;
        // Revoke every older epoch at once now and then, else all but the previous one.
        let revoke_all = network.random_below(2) == 0;
        let revoked: Vec<Epoch> = {
            let mut committees = committees.lock();
            committees.live.insert(epoch, committee);
            committees.changes += 1;
            let keep = if revoke_all { 1 } else { 2 };
            let live: Vec<Epoch> = committees.live.keys().copied().collect();
            live[..live.len().saturating_sub(keep)].to_vec()
        };
        for old in revoked {
            let revoke = SystemOperation::RevokeEpoch { epoch: old };
            admin_operation(&admin, &chain, &clock, revoke).await?;
            committees.lock().live.remove(&old);
        }
    }
    Ok(())
}

/// Stops for good the validators the changes retired, once the revocations' grace is over:
/// until then a block some of them voted for just before a revocation may need their vote.
pub async fn retire_after_grace(
    committees: Arc<parking_lot::Mutex<Committees>>,
    network: Arc<SimNetwork>,
    clock: SimClock,
) {
    let grace = skein_base::limits::REVOKED_EPOCH_VOTES_GRACE_MICROS + 1_000_000;
    clock.sleep(TimeDelta::from_micros(grace)).await;
    for index in committees.lock().retired() {
        network.retire(index);
    }
}

/// Runs an admin operation, retrying while the faulty network fails it.
async fn admin_operation<S: skein_views::KeyValueStore>(
    admin: &User,
    chain: &crate::client::ChainClient<S>,
    clock: &SimClock,
    operation: SystemOperation,
) -> Result<(), String> {
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS_MAX {
        match chain.execute_operation(operation.clone()).await {
            Ok(_) => return Ok(()),
            // An earlier attempt may have gone through after all.
            Err(error) => {
                last_error = error.to_string();
                tracing::debug!(%error, ?operation, "admin operation failed");
                if already_done(admin, chain, &operation).await {
                    return Ok(());
                }
            }
        }
        clock.sleep(TimeDelta::from_millis(50)).await;
    }
    Err(format!(
        "the admin operation {operation:?} failed {ATTEMPTS_MAX} times: {last_error}"
    ))
}

/// Whether the admin chain, as the local node knows it, already did `operation`.
async fn already_done<S: skein_views::KeyValueStore>(
    admin: &User,
    chain: &crate::client::ChainClient<S>,
    operation: &SystemOperation,
) -> bool {
    match operation {
        SystemOperation::CreateCommittee { epoch, .. } => chain
            .chain_info()
            .await
            .is_ok_and(|info| info.epoch >= *epoch),
        SystemOperation::RevokeEpoch { epoch } => {
            admin.client.knows_revoked(*epoch).await.unwrap_or(false)
        }
        _ => false,
    }
}
