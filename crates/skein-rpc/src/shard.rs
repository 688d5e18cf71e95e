//! [`ShardNode`]: one shard of a validator running in its own process, sending cross-chain
//! requests to its peers over the internal network, through a [`CrossChainQueue`] each,
//! and to itself in the background, by a [`Delivery`].

use std::sync::{Arc, Weak};

use futures::{future::BoxFuture, FutureExt};
use skein_base::ChainId;
use skein_core::{
    CrossChainRequest, Delivery, Effects, Forward, Inlet, NodeError, NodeRequest, Notification,
    Route, Shards, Worker,
};
use skein_views::KeyValueStore;
use tokio::sync::broadcast;

use crate::{client::GrpcShard, cross_chain_queue::CrossChainQueue, ShardKey};

/// Notifications kept for a subscriber that lags.
const NOTIFICATION_BACKLOG: usize = 4096;

/// One shard in this process, its peers over the network.
pub struct ShardNode<S> {
    worker: Worker<S>,
    index: usize,
    delivery: Delivery<Peer<S>>,
}

/// Where a cross-chain request for one shard goes from this one.
enum Peer<S> {
    /// Another shard process, through its queue.
    Remote(CrossChainQueue),
    /// This shard, handled in the background so that the answer does not wait.
    This(Weak<ShardNode<S>>),
}

impl<S: KeyValueStore> Inlet for Peer<S> {
    fn take(&self, request: CrossChainRequest) -> BoxFuture<'_, Effects> {
        match self {
            Peer::Remote(queue) => queue.push(request),
            Peer::This(this) => {
                if let Some(shard) = this.upgrade() {
                    tokio::spawn(async move {
                        if let Err(error) = shard.handle_cross_chain_request(request).await {
                            tracing::warn!(%error, "local cross-chain request failed; it will be re-sent");
                        }
                    });
                }
            }
        }
        futures::future::ready(Effects::default()).boxed()
    }
}

impl<S: KeyValueStore> ShardNode<S> {
    /// Shard `index` running `worker`, its peers at `peer_addresses` (all shards, itself
    /// included, in order), reached with the validator's `key`.
    pub fn new(
        worker: Worker<S>,
        index: usize,
        peer_addresses: &[String],
        key: &ShardKey,
    ) -> Result<Arc<Self>, NodeError> {
        let mut remotes = Vec::new();
        for (position, address) in peer_addresses.iter().enumerate() {
            if position == index {
                remotes.push(None);
            } else {
                let peer = GrpcShard::new(address, key)?;
                remotes.push(Some(CrossChainQueue::spawn(Arc::new(move |request| {
                    let peer = peer.clone();
                    async move { peer.handle_cross_chain_request(request).await }.boxed()
                }))));
            }
        }
        Ok(Arc::new_cyclic(|this| {
            let peers = remotes
                .into_iter()
                .map(|remote| match remote {
                    Some(queue) => Peer::Remote(queue),
                    None => Peer::This(this.clone()),
                })
                .collect();
            Self {
                worker,
                index,
                delivery: Delivery::new(Shards::new(peers), NOTIFICATION_BACKLOG),
            }
        }))
    }

    /// The worker.
    pub fn worker(&self) -> &Worker<S> {
        &self.worker
    }

    /// Whether this shard owns the chain.
    pub fn owns(&self, chain_id: &ChainId) -> bool {
        self.delivery.shards().index_of(Route::Chain(*chain_id)) == self.index
    }

    /// New receiver of this shard's notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.delivery.subscribe()
    }

    /// Handles a cross-chain request for one of this shard's chains.
    pub async fn handle_cross_chain_request(
        &self,
        request: CrossChainRequest,
    ) -> Result<(), NodeError> {
        self.check_owner(&request.target_chain())?;
        let effects = self.worker.handle_cross_chain_request(request).await?;
        self.delivery.deliver(effects).await;
        Ok(())
    }

    /// Re-sends what this shard's chains sent and was not acknowledged.
    pub async fn retry_pending(&self) -> Result<usize, NodeError> {
        let requests = self
            .worker
            .unacknowledged_requests(|chain_id| self.owns(chain_id).then_some(&self.worker))
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

    fn check_owner(&self, chain_id: &ChainId) -> Result<(), NodeError> {
        if self.owns(chain_id) {
            Ok(())
        } else {
            Err(NodeError::InvalidRequest(format!(
                "chain {chain_id} does not belong to shard {}",
                self.index
            )))
        }
    }
}

impl<S: KeyValueStore> Forward for ShardNode<S> {
    fn forward<R: NodeRequest>(&self, request: R) -> BoxFuture<'_, Result<R::Answer, NodeError>> {
        async move {
            if let Route::Chain(chain_id) = request.route() {
                self.check_owner(&chain_id)?;
            }
            let (answer, effects) = request.answer_in(&self.worker).await?;
            self.delivery.deliver(effects).await;
            Ok(answer)
        }
        .boxed()
    }
}
