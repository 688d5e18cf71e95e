//! [`LocalValidator`]: a whole validator — several shards on one store — in this process.
//!
//! Requests go to the shard that owns the chain (`hash(chain) mod shards`). Cross-chain
//! requests a shard produces are delivered to their target shard before the call returns
//! (through [`Delivery`], as in a shard process);
//! [`LocalValidator::retry_pending`] re-sends whatever was not acknowledged (after a
//! restart, or when faults dropped requests).

use std::sync::Arc;

use futures::{future::BoxFuture, FutureExt};
use skein_base::{ChainId, ValidatorPublicKey};
use skein_execution::ChainConfig;
use skein_storage::Storage;
use skein_views::KeyValueStore;
use tokio::sync::broadcast;

use crate::{
    clock::Clock,
    delivery::{Delivery, Inlet},
    forward::{Forward, NodeRequest, Route},
    node::NodeError,
    requests::{CrossChainRequest, Effects, Notification},
    shards::Shards,
    worker::{ValidatorKeys, Worker, WorkerError},
};

/// Notifications kept for a subscriber that lags.
const NOTIFICATION_BACKLOG: usize = 1024;

/// How cross-chain requests travel between the shards.
pub enum CrossChainTransport {
    /// Handled before the call that produced them returns.
    Inline,
    /// Handed to someone else (the simulator), who delivers them later through
    /// [`LocalValidator::handle_cross_chain_request`].
    Channel(futures::channel::mpsc::UnboundedSender<CrossChainRequest>),
}

/// A validator in this process.
pub struct LocalValidator<S> {
    delivery: Delivery<InProcessShard<S>>,
    /// Drops or duplicates inline cross-chain requests, in tests only.
    #[cfg(feature = "testing")]
    lossy: Arc<parking_lot::Mutex<crate::faults::LossyDelivery>>,
}

/// One shard of a [`LocalValidator`]: its worker, and how cross-chain requests reach it.
struct InProcessShard<S> {
    worker: Worker<S>,
    transport: Arc<CrossChainTransport>,
    #[cfg(feature = "testing")]
    lossy: Arc<parking_lot::Mutex<crate::faults::LossyDelivery>>,
}

impl<S: KeyValueStore> InProcessShard<S> {
    /// How many times to handle the next inline request: once, but for injected faults.
    fn copies_to_handle(&self) -> usize {
        #[cfg(feature = "testing")]
        return self.lossy.lock().copies();
        #[cfg(not(feature = "testing"))]
        1
    }
}

impl<S: KeyValueStore> Inlet for InProcessShard<S> {
    fn take(&self, request: CrossChainRequest) -> BoxFuture<'_, Effects> {
        async move {
            let mut produced = Effects::default();
            if let CrossChainTransport::Channel(sender) = &*self.transport {
                // A closed channel means the simulation is over.
                let _ = sender.unbounded_send(request);
                return produced;
            }
            for _ in 0..self.copies_to_handle() {
                match self
                    .worker
                    .handle_cross_chain_request(request.clone())
                    .await
                {
                    Ok(effects) => produced.merge(effects),
                    Err(error) => {
                        tracing::warn!(%error, "cross-chain request failed; it will be retried");
                    }
                }
            }
            produced
        }
        .boxed()
    }
}

impl<S: KeyValueStore> LocalValidator<S> {
    /// A validator with `shard_count` shards sharing `store`, voting with `keys` (a
    /// [`SecretKey`](skein_base::crypto::SecretKey) for a validator that never rotated its key).
    pub fn new(
        store: S,
        shard_count: usize,
        keys: impl Into<ValidatorKeys>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_transport(store, shard_count, keys, clock, CrossChainTransport::Inline)
    }

    /// A validator whose cross-chain requests travel by `transport`.
    pub fn with_transport(
        store: S,
        shard_count: usize,
        keys: impl Into<ValidatorKeys>,
        clock: Arc<dyn Clock>,
        transport: CrossChainTransport,
    ) -> Self {
        let keys = Arc::new(keys.into());
        let transport = Arc::new(transport);
        #[cfg(feature = "testing")]
        let lossy = Arc::new(parking_lot::Mutex::default());
        let shards = (0..shard_count.max(1))
            .map(|_| InProcessShard {
                worker: Worker::new(
                    Storage::new(store.clone()),
                    Some(keys.clone()),
                    clock.clone(),
                ),
                transport: transport.clone(),
                #[cfg(feature = "testing")]
                lossy: lossy.clone(),
            })
            .collect();
        Self {
            delivery: Delivery::new(Shards::new(shards), NOTIFICATION_BACKLOG),
            #[cfg(feature = "testing")]
            lossy,
        }
    }

    fn shards(&self) -> &Shards<InProcessShard<S>> {
        self.delivery.shards()
    }

    /// The validator's key.
    pub fn public_key(&self) -> ValidatorPublicKey {
        self.shards()
            .first()
            .worker
            .validator()
            .expect("validators have keys")
    }

    /// Which shard owns a chain.
    pub fn shard_of(&self, chain_id: &ChainId) -> usize {
        self.shards().index_of(Route::Chain(*chain_id))
    }

    /// The shard that owns a chain.
    pub fn worker(&self, chain_id: &ChainId) -> &Worker<S> {
        &self.shards().owner(chain_id).worker
    }

    /// Creates a genesis chain.
    pub async fn initialize_chain(&self, config: ChainConfig) -> Result<(), WorkerError> {
        self.worker(&config.description.id())
            .initialize_chain(config)
            .await
    }

    /// Makes cross-chain requests between this validator's shards misbehave from now on,
    /// with a seeded randomness.
    #[cfg(feature = "testing")]
    pub fn set_cross_chain_faults(&self, faults: crate::faults::CrossChainFaults, seed: u64) {
        *self.lossy.lock() = crate::faults::LossyDelivery::new(faults, seed);
    }

    /// Notifications of new blocks and incoming bundles.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.delivery.subscribe()
    }

    /// Forgets everything held in memory, as a restart would.
    pub fn clear_caches(&self) {
        for shard in self.shards().iter() {
            shard.worker.clear_cache();
        }
    }

    /// Handles one cross-chain request that arrived by a [`CrossChainTransport::Channel`],
    /// sending on whatever it produces.
    pub async fn handle_cross_chain_request(
        &self,
        request: CrossChainRequest,
    ) -> Result<(), WorkerError> {
        let effects = self
            .worker(&request.target_chain())
            .handle_cross_chain_request(request)
            .await?;
        self.delivery.deliver(effects).await;
        Ok(())
    }

    /// Whether some chain has bundles its recipients have not acknowledged.
    pub async fn has_pending_outboxes(&self) -> Result<bool, WorkerError> {
        Ok(!self
            .shards()
            .first()
            .worker
            .chains_with_pending_outboxes()
            .await?
            .is_empty())
    }

    /// Re-sends every unacknowledged bundle of every chain. Returns how many requests were
    /// sent.
    pub async fn retry_pending(&self) -> Result<usize, WorkerError> {
        let requests = self
            .shards()
            .first()
            .worker
            .unacknowledged_requests(|chain_id| Some(self.worker(chain_id)))
            .await?;
        let count = requests.len();
        self.delivery
            .deliver(Effects {
                cross_chain_requests: requests,
                notifications: Vec::new(),
            })
            .await;
        Ok(count)
    }
}

impl<S: KeyValueStore> Forward for LocalValidator<S> {
    fn forward<R: NodeRequest>(&self, request: R) -> BoxFuture<'_, Result<R::Answer, NodeError>> {
        async move {
            let worker = &self.shards().route(request.route()).worker;
            let (answer, effects) = request.answer_in(worker).await?;
            self.delivery.deliver(effects).await;
            within_one_message(answer)
        }
        .boxed()
    }
}

/// Refuses an answer larger than one message may carry, as the wire does: tests in process
/// meet the same limit as validators over the network.
fn within_one_message<T: serde::Serialize>(answer: T) -> Result<T, NodeError> {
    let bytes = skein_base::encoding::encoded_len(&answer);
    if bytes > skein_base::limits::REQUEST_BYTES_MAX {
        return Err(NodeError::Unreachable(format!(
            "an answer of {bytes} bytes is larger than a message may be ({})",
            skein_base::limits::REQUEST_BYTES_MAX
        )));
    }
    Ok(answer)
}
