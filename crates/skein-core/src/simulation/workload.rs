//! What simulated users do: transfers to random chains and accounts, claims, inbox
//! processing, opening and closing chains. Failures (no quorum while validators are down,
//! overdrafts) are expected and simply counted.

use std::sync::Arc;

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skein_base::{crypto::SecretKey, Account, AccountOwner, Amount, ChainId, TimeDelta};
use skein_execution::ChainOwnership;
use skein_views::MemoryStore;

use super::executor::SimClock;
use crate::{client::Client, clock::Clock};

/// Every chain of the simulation, for picking recipients and for the final checks.
#[derive(Clone, Default)]
pub struct Registry {
    chains: Arc<Mutex<Vec<ChainId>>>,
    shared: Arc<Mutex<Vec<ChainId>>>,
    public: Arc<Mutex<Vec<ChainId>>>,
}

impl Registry {
    /// Adds a chain.
    pub fn add(&self, chain_id: ChainId) {
        self.chains.lock().push(chain_id);
    }

    /// Adds a chain all users share.
    pub fn add_shared(&self, chain_id: ChainId) {
        self.add(chain_id);
        self.shared.lock().push(chain_id);
    }

    /// Whether users share the chain.
    pub fn is_shared(&self, chain_id: &ChainId) -> bool {
        self.shared.lock().contains(chain_id)
    }

    /// Adds a public chain: users send to it and claim from it, validators propose there.
    pub fn add_public(&self, chain_id: ChainId) {
        self.add(chain_id);
        self.public.lock().push(chain_id);
    }

    /// Whether the chain is public.
    pub fn is_public(&self, chain_id: &ChainId) -> bool {
        self.public.lock().contains(chain_id)
    }

    /// The public chains.
    pub fn public_chains(&self) -> Vec<ChainId> {
        self.public.lock().clone()
    }

    /// Every chain, in the order they were added.
    pub fn chains(&self) -> Vec<ChainId> {
        self.chains.lock().clone()
    }
}

/// What one user did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserStats {
    /// Operations that produced a certificate.
    pub succeeded: u64,
    /// Operations that failed (and were left for later or dropped).
    pub failed: u64,
}

/// One user: a key, the chains it owns, and its client.
pub struct User {
    /// The user's client.
    pub client: Arc<Client<MemoryStore>>,
    /// The user's key, owner of all its chains.
    pub key: Arc<SecretKey>,
    /// Its chains, with whether each was closed.
    pub chains: Mutex<Vec<(ChainId, bool)>>,
}

impl User {
    /// The chains this user owns.
    pub fn chain_ids(&self) -> Vec<ChainId> {
        self.chains
            .lock()
            .iter()
            .map(|(chain_id, _)| *chain_id)
            .collect()
    }
}

/// Runs `operations` random operations for `user` (the `index`-th). Every transfer has an
/// amount no other operation of the run has, so the checks can tell them apart.
pub async fn run_user(
    user: Arc<User>,
    index: usize,
    registry: Registry,
    clock: SimClock,
    seed: u64,
    operations: usize,
) -> UserStats {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = UserStats::default();
    let owner = AccountOwner::from(user.key.public());
    for operation in 0..operations {
        clock
            .sleep(TimeDelta::from_micros(rng.gen_range(0..30_000)))
            .await;
        let chains = user.chains.lock().clone();
        let (chain_id, closed) = chains[rng.gen_range(0..chains.len())];
        let chain = user.client.chain(chain_id, user.key.copy());
        let everyone = registry.chains();
        let random_chain = everyone[rng.gen_range(0..everyone.len())];
        let amount = Amount::from_attos(1 + 1_000 * index as u128 + operation as u128);
        let choice = rng.gen_range(0..100);
        let outcome = match choice {
            0..=49 => chain
                .transfer(None, amount, Account::chain(random_chain))
                .await
                .map(|_| ()),
            50..=57 => chain
                .transfer(None, amount, Account::owner(random_chain, owner))
                .await
                .map(|_| ()),
            58..=62 => chain
                .claim(
                    random_chain,
                    Amount::from_attos(1),
                    Account::chain(chain_id),
                )
                .await
                .map(|_| ()),
            63..=87 => chain.process_inbox().await.map(|_| ()),
            88..=93 => {
                let opened = chain
                    .open_chain(ChainOwnership::single(owner), Amount::from_attos(1_000))
                    .await;
                opened.map(|(child, _)| {
                    user.chains.lock().push((child, false));
                    registry.add(child);
                })
            }
            _ => {
                let root = chains.first().map(|(id, _)| *id);
                if closed || Some(chain_id) == root || registry.is_shared(&chain_id) {
                    continue;
                }
                let result = chain.close_chain().await.map(|_| ());
                if result.is_ok() {
                    for entry in user.chains.lock().iter_mut() {
                        if entry.0 == chain_id {
                            entry.1 = true;
                        }
                    }
                }
                result
            }
        };
        match outcome {
            Ok(()) => stats.succeeded += 1,
            Err(_) => stats.failed += 1,
        }
    }
    stats
}
