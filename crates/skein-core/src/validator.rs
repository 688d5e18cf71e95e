//! [`LocalValidator`]: a whole validator — several shards on one store — in this process.
//!
//! Requests go to the shard that owns the chain (`hash(chain) mod shards`). Cross-chain
//! requests a shard produces are delivered to their target shard before the call returns;
//! [`LocalValidator::retry_pending`] re-sends whatever was not acknowledged (after a
//! restart, or when faults dropped requests).

use std::sync::Arc;

use futures::{future::BoxFuture, FutureExt};
use skein_base::{crypto::SecretKey, ChainId, ValidatorPublicKey};
use skein_execution::ChainConfig;
use skein_storage::Storage;
use skein_views::KeyValueStore;
use tokio::sync::broadcast;

use crate::{
    clock::Clock,
    forward::{Forward, NodeRequest, Route},
    node::NodeError,
    requests::{CrossChainRequest, Effects, Notification},
    shards::Shards,
    worker::{Worker, WorkerError},
};

/// Cross-chain requests handled per delivery round at most: bounds the work one call does.
const CROSS_CHAIN_DELIVERIES_MAX: usize = 100_000;

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
    shards: Shards<Worker<S>>,
    /// Drops or duplicates inline cross-chain requests, in tests only.
    #[cfg(feature = "testing")]
    lossy: parking_lot::Mutex<crate::faults::LossyDelivery>,
    notifications: broadcast::Sender<Notification>,
    transport: CrossChainTransport,
}

impl<S: KeyValueStore> LocalValidator<S> {
    /// A validator with `shard_count` shards sharing `store`, voting with `key`.
    pub fn new(store: S, shard_count: usize, key: SecretKey, clock: Arc<dyn Clock>) -> Self {
        Self::with_transport(store, shard_count, key, clock, CrossChainTransport::Inline)
    }

    /// A validator whose cross-chain requests travel by `transport`.
    pub fn with_transport(
        store: S,
        shard_count: usize,
        key: SecretKey,
        clock: Arc<dyn Clock>,
        transport: CrossChainTransport,
    ) -> Self {
        let key = Arc::new(key);
        let shards = Shards::new(
            (0..shard_count.max(1))
                .map(|_| {
                    Worker::new(
                        Storage::new(store.clone()),
                        Some(key.clone()),
                        clock.clone(),
                    )
                })
                .collect(),
        );
        let (notifications, _) = broadcast::channel(1024);
        Self {
            shards,
            #[cfg(feature = "testing")]
            lossy: parking_lot::Mutex::default(),
            notifications,
            transport,
        }
    }

    /// The validator's key.
    pub fn public_key(&self) -> ValidatorPublicKey {
        self.shards
            .first()
            .validator()
            .expect("validators have keys")
    }

    /// Which shard owns a chain.
    pub fn shard_of(&self, chain_id: &ChainId) -> usize {
        self.shards.index_of(Route::Chain(*chain_id))
    }

    /// The shard that owns a chain.
    pub fn worker(&self, chain_id: &ChainId) -> &Worker<S> {
        self.shards.owner(chain_id)
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
        self.notifications.subscribe()
    }

    /// Forgets everything held in memory, as a restart would.
    pub fn clear_caches(&self) {
        for shard in self.shards.iter() {
            shard.clear_cache();
        }
    }

    /// Delivers effects: cross-chain requests to their shards (and the effects those
    /// produce, and so on), notifications to subscribers.
    pub async fn deliver(&self, effects: Effects) {
        self.publish(effects.notifications);
        if let CrossChainTransport::Channel(sender) = &self.transport {
            for request in effects.cross_chain_requests {
                // A closed channel means the simulation is over.
                let _ = sender.unbounded_send(request);
            }
            return;
        }
        let mut queue = std::collections::VecDeque::from(effects.cross_chain_requests);
        let mut delivered = 0;
        while let Some(request) = queue.pop_front() {
            delivered += 1;
            if delivered > CROSS_CHAIN_DELIVERIES_MAX {
                tracing::warn!("cross-chain delivery stopped after {CROSS_CHAIN_DELIVERIES_MAX} requests; the rest will be retried");
                break;
            }
            let copies = self.copies_to_deliver();
            for _ in 0..copies {
                let worker = self.worker(&request.target_chain());
                match worker.handle_cross_chain_request(request.clone()).await {
                    Ok(effects) => {
                        self.publish(effects.notifications);
                        queue.extend(effects.cross_chain_requests);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cross-chain request failed; it will be retried");
                    }
                }
            }
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
        self.deliver(effects).await;
        Ok(())
    }

    /// How many times to deliver the next inline request: once, but for injected faults.
    fn copies_to_deliver(&self) -> usize {
        #[cfg(feature = "testing")]
        return self.lossy.lock().copies();
        #[cfg(not(feature = "testing"))]
        1
    }

    fn publish(&self, notifications: Vec<Notification>) {
        for notification in notifications {
            // No subscriber is not an error.
            let _ = self.notifications.send(notification);
        }
    }

    /// Whether some chain has bundles its recipients have not acknowledged.
    pub async fn has_pending_outboxes(&self) -> Result<bool, WorkerError> {
        Ok(!self
            .shards
            .first()
            .chains_with_pending_outboxes()
            .await?
            .is_empty())
    }

    /// Re-sends every unacknowledged bundle of every chain. Returns how many requests were
    /// sent.
    pub async fn retry_pending(&self) -> Result<usize, WorkerError> {
        let requests = self
            .shards
            .first()
            .unacknowledged_requests(|chain_id| Some(self.shards.owner(chain_id)))
            .await?;
        let count = requests.len();
        self.deliver(Effects {
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
            let worker = self.shards.route(request.route());
            let (answer, effects) = request.answer_in(worker).await?;
            self.deliver(effects).await;
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
