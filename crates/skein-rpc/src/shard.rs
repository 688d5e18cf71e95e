//! [`ShardNode`]: one shard of a validator running in its own process, sending cross-chain
//! requests to its peers over the internal network, through a [`CrossChainQueue`] each.

use std::sync::{Arc, Weak};

use futures::{future::BoxFuture, FutureExt};
use skein_base::ChainId;
use skein_core::{
    CrossChainRequest, Effects, Forward, NodeError, NodeRequest, Notification, Route, Shards,
    Worker,
};
use skein_views::KeyValueStore;
use tokio::sync::broadcast;

use crate::{client::GrpcShard, cross_chain_queue::CrossChainQueue, ShardKey};

/// One shard in this process, its peers over the network.
pub struct ShardNode<S> {
    /// This node, for handing work to background tasks.
    this: Weak<ShardNode<S>>,
    worker: Worker<S>,
    index: usize,
    /// A queue to each other shard; `None` for this one.
    peers: Shards<Option<CrossChainQueue>>,
    notifications: broadcast::Sender<Notification>,
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
        let mut peers = Vec::new();
        for (position, address) in peer_addresses.iter().enumerate() {
            if position == index {
                peers.push(None);
            } else {
                let peer = GrpcShard::new(address, key)?;
                peers.push(Some(CrossChainQueue::spawn(Arc::new(move |request| {
                    let peer = peer.clone();
                    async move { peer.handle_cross_chain_request(request).await }.boxed()
                }))));
            }
        }
        let (notifications, _) = broadcast::channel(4096);
        Ok(Arc::new_cyclic(|this| Self {
            this: this.clone(),
            worker,
            index,
            peers: Shards::new(peers),
            notifications,
        }))
    }

    /// The worker.
    pub fn worker(&self) -> &Worker<S> {
        &self.worker
    }

    /// Whether this shard owns the chain.
    pub fn owns(&self, chain_id: &ChainId) -> bool {
        self.peers.index_of(Route::Chain(*chain_id)) == self.index
    }

    /// New receiver of this shard's notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.notifications.subscribe()
    }

    /// Publishes notifications and sends cross-chain requests on: to peers through their
    /// queues, to this shard in the background.
    pub fn deliver(&self, effects: Effects) {
        for notification in effects.notifications {
            let _ = self.notifications.send(notification);
        }
        for request in effects.cross_chain_requests {
            match self.peers.owner(&request.target_chain()) {
                Some(queue) => queue.push(request),
                None => {
                    let Some(shard) = self.this.upgrade() else {
                        return;
                    };
                    tokio::spawn(async move {
                        if let Err(error) = shard.handle_cross_chain_request(request).await {
                            tracing::warn!(%error, "local cross-chain request failed; it will be re-sent");
                        }
                    });
                }
            }
        }
    }

    /// Handles a cross-chain request for one of this shard's chains.
    pub async fn handle_cross_chain_request(
        &self,
        request: CrossChainRequest,
    ) -> Result<(), NodeError> {
        self.check_owner(&request.target_chain())?;
        let effects = self.worker.handle_cross_chain_request(request).await?;
        self.deliver(effects);
        Ok(())
    }

    /// Re-sends what this shard's chains sent and was not acknowledged.
    pub async fn retry_pending(&self) -> Result<usize, NodeError> {
        let requests = self
            .worker
            .unacknowledged_requests(|chain_id| self.owns(chain_id).then_some(&self.worker))
            .await?;
        let count = requests.len();
        self.deliver(Effects {
            cross_chain_requests: requests,
            notifications: Vec::new(),
        });
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
            self.deliver(effects);
            Ok(answer)
        }
        .boxed()
    }
}
