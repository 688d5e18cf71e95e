//! The simulated network: every request and response between clients and validators, and
//! every cross-chain request between shards, is delayed, and may be dropped or duplicated,
//! as a seeded random generator decides. Validators crash (their in-flight work is lost,
//! their store is kept) and restart.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use futures::{channel::mpsc, future::BoxFuture, FutureExt, StreamExt};
use parking_lot::Mutex;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use skein_base::{crypto::SecretKey, TimeDelta};
use skein_views::{Batch, KeyValueStore, KeyValues, MemoryStore, StoreError};

use super::executor::{Executor, SimClock};
use crate::{
    byzantine::ByzantineVoter,
    clock::Clock,
    forward::{Forward, NodeRequest},
    node::{NodeError, ValidatorNode},
    validator::{CrossChainTransport, LocalValidator},
    worker::ValidatorKeys,
};

/// How the network misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkFaults {
    /// Each message is delayed by up to this long.
    pub max_delay: TimeDelta,
    /// Percentage of messages dropped.
    pub drop_percent: u32,
    /// Percentage of messages delivered twice.
    pub duplicate_percent: u32,
}

impl NetworkFaults {
    /// Delays only.
    pub fn calm() -> Self {
        Self {
            max_delay: TimeDelta::from_millis(5),
            drop_percent: 0,
            duplicate_percent: 0,
        }
    }
}

/// A validator's store as one incarnation sees it: once the incarnation crashes, its writes
/// fail, so work in flight at the crash never lands.
#[derive(Clone)]
pub struct SimStore {
    inner: MemoryStore,
    alive: Arc<AtomicBool>,
}

impl KeyValueStore for SimStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.read_value(key).await
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.inner.read_multi_values(keys).await
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        self.inner.find_key_values_by_prefix(prefix).await
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.find_keys_by_prefix(prefix).await
    }

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.find_keys_by_prefix_up_to(prefix, limit).await
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        if !self.alive.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("the process crashed".into()));
        }
        self.inner.write_batch(batch).await
    }
}

/// One simulated validator: its durable store and its current incarnation, if running.
struct Slot {
    store: MemoryStore,
    key: Arc<SecretKey>,
    /// The key it rotates to, held from the start (as an operator who made it ahead), so
    /// that it votes under whichever of the two each committee names.
    next_key: Option<Arc<SecretKey>>,
    running: Option<(Arc<LocalValidator<SimStore>>, Arc<AtomicBool>)>,
    /// Whether every incarnation ignores the voting rules.
    votes_for_anything: bool,
    /// Whether it left every live committee and was stopped for good.
    retired: bool,
}

impl Slot {
    fn keys(&self) -> ValidatorKeys {
        ValidatorKeys::new(self.key.copy())
            .with_previous(self.next_key.iter().map(|key| key.copy()))
    }
}

/// The network and the validators on it.
pub struct SimNetwork {
    rng: Mutex<ChaCha8Rng>,
    faults: Mutex<NetworkFaults>,
    slots: Vec<Mutex<Slot>>,
    shards: usize,
    clock: SimClock,
    executor: Executor,
}

impl SimNetwork {
    /// Validators with these keys (each with the key it may rotate to) and stores (already
    /// holding genesis), all running.
    pub fn new(
        keys: Vec<(Arc<SecretKey>, Option<Arc<SecretKey>>)>,
        stores: Vec<MemoryStore>,
        shards: usize,
        rng: ChaCha8Rng,
        faults: NetworkFaults,
        clock: SimClock,
        executor: Executor,
    ) -> Arc<Self> {
        let slots = keys
            .into_iter()
            .zip(stores)
            .map(|((key, next_key), store)| {
                Mutex::new(Slot {
                    store,
                    key,
                    next_key,
                    running: None,
                    votes_for_anything: false,
                    retired: false,
                })
            })
            .collect();
        let network = Arc::new(Self {
            rng: Mutex::new(rng),
            faults: Mutex::new(faults),
            slots,
            shards,
            clock,
            executor,
        });
        for index in 0..network.slots.len() {
            network.start(index);
        }
        network
    }

    /// The number of validators.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no validators.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Changes how the network misbehaves.
    pub fn set_faults(&self, faults: NetworkFaults) {
        *self.faults.lock() = faults;
    }

    /// A random number below `bound`, from the simulation's generator.
    pub fn random_below(&self, bound: u64) -> u64 {
        self.rng.lock().gen_range(0..bound.max(1))
    }

    fn chance(&self, percent: u32) -> bool {
        percent > 0 && self.rng.lock().gen_range(0..100) < percent
    }

    fn delay(&self) -> TimeDelta {
        let max = self.faults.lock().max_delay.as_micros();
        TimeDelta::from_micros(self.random_below(max + 1))
    }

    /// The running incarnation of validator `index`.
    pub fn validator(&self, index: usize) -> Option<Arc<LocalValidator<SimStore>>> {
        self.slots[index]
            .lock()
            .running
            .as_ref()
            .map(|(validator, _)| validator.clone())
    }

    /// Makes validator `index` Byzantine for the rest of the run, across restarts: it
    /// ignores the voting rules and votes for anything that executes ([`ByzantineVoter`]).
    pub fn set_votes_for_anything(&self, index: usize) {
        self.slots[index].lock().votes_for_anything = true;
    }

    /// Validator `index` as it answers clients: itself, or wrapped if it is Byzantine.
    fn node(&self, index: usize) -> Option<Arc<dyn ValidatorNode>> {
        let slot = self.slots[index].lock();
        let (validator, _) = slot.running.as_ref()?;
        Some(if slot.votes_for_anything {
            Arc::new(ByzantineVoter::new(validator.clone(), slot.key.clone()))
        } else {
            validator.clone()
        })
    }

    /// Whether validator `index` is running.
    pub fn is_running(&self, index: usize) -> bool {
        self.slots[index].lock().running.is_some()
    }

    /// Stops validator `index` at once: its work in flight is lost; its store is kept.
    pub fn crash(&self, index: usize) {
        if let Some((_, alive)) = self.slots[index].lock().running.take() {
            alive.store(false, Ordering::SeqCst);
        }
    }

    /// Stops validator `index` for good, as an operator stops one that left every live
    /// committee: it is never started again.
    pub fn retire(&self, index: usize) {
        self.crash(index);
        self.slots[index].lock().retired = true;
    }

    /// Whether validator `index` was retired.
    pub fn is_retired(&self, index: usize) -> bool {
        self.slots[index].lock().retired
    }

    /// Starts validator `index` on its store (if stopped and not retired) and has it
    /// re-send what its chains' recipients have not acknowledged.
    pub fn start(self: &Arc<Self>, index: usize) {
        let mut slot = self.slots[index].lock();
        if slot.running.is_some() || slot.retired {
            return;
        }
        let alive = Arc::new(AtomicBool::new(true));
        let store = SimStore {
            inner: slot.store.clone(),
            alive: alive.clone(),
        };
        let (sender, mut receiver) = mpsc::unbounded();
        let validator = Arc::new(LocalValidator::with_transport(
            store,
            self.shards,
            slot.keys(),
            Arc::new(self.clock.clone()),
            CrossChainTransport::Channel(sender),
        ));
        slot.running = Some((validator.clone(), alive.clone()));
        drop(slot);
        // Cross-chain requests of this incarnation travel through the network.
        let network = self.clone();
        self.executor.spawn(
            async move {
                while let Some(request) = receiver.next().await {
                    let network = network.clone();
                    let executor = network.executor.clone();
                    executor.spawn(
                        async move {
                            network.clock.sleep(network.delay()).await;
                            let faults = *network.faults.lock();
                            if network.chance(faults.drop_percent) {
                                return;
                            }
                            let copies = if network.chance(faults.duplicate_percent) {
                                2
                            } else {
                                1
                            };
                            for _ in 0..copies {
                                if let Some(validator) = network.validator(index) {
                                    // A failure (say, a crash) leaves the request to the
                                    // sender's retries.
                                    let _ =
                                        validator.handle_cross_chain_request(request.clone()).await;
                                }
                            }
                        }
                        .boxed(),
                    );
                }
            }
            .boxed(),
        );
        let executor = self.executor.clone();
        executor.spawn(
            async move {
                if alive.load(Ordering::SeqCst) {
                    let _ = validator.retry_pending().await;
                }
            }
            .boxed(),
        );
    }

    /// Has every running validator re-send what was not acknowledged.
    pub async fn retry_all(&self) {
        for index in 0..self.slots.len() {
            if let Some(validator) = self.validator(index) {
                let _ = validator.retry_pending().await;
            }
        }
    }

    /// Sends a request to validator `index` and brings back its answer, through the
    /// network's delays, drops and duplicates. A dropped message is never answered: the
    /// client's timeout decides.
    async fn call<T, F>(&self, index: usize, request: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: Fn(Arc<dyn ValidatorNode>) -> BoxFuture<'static, Result<T, NodeError>>,
    {
        self.clock.sleep(self.delay()).await;
        let faults = *self.faults.lock();
        if self.chance(faults.drop_percent) {
            futures::future::pending::<()>().await;
        }
        let Some(validator) = self.node(index) else {
            return Err(NodeError::Unreachable("the validator is down".into()));
        };
        if self.chance(faults.duplicate_percent) {
            let duplicate = request(validator.clone());
            let clock = self.clock.clone();
            let delay = self.delay();
            self.executor.spawn(
                async move {
                    clock.sleep(delay).await;
                    let _ = duplicate.await;
                }
                .boxed(),
            );
        }
        let result = request(validator).await;
        self.clock.sleep(self.delay()).await;
        if self.chance(faults.drop_percent) {
            futures::future::pending::<()>().await;
        }
        result
    }
}

/// Validator `index` as clients reach it over the simulated network.
pub struct SimNode {
    /// The network.
    pub network: Arc<SimNetwork>,
    /// Which validator.
    pub index: usize,
}

impl Forward for SimNode {
    fn forward<R: NodeRequest>(&self, request: R) -> BoxFuture<'_, Result<R::Answer, NodeError>> {
        self.network
            .call(self.index, move |validator| {
                let request = request.clone();
                async move { request.ask(&*validator).await }.boxed()
            })
            .boxed()
    }
}
