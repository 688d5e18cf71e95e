//! [`ShardNode`]: one shard of a validator running in its own process, sending cross-chain
//! requests to its peers over the internal network, through a [`CrossChainQueue`] each.

use std::sync::{Arc, Weak};

use futures::{future::BoxFuture, FutureExt};
use skein_base::{crypto::CryptoHash, ChainId};
use skein_chain::{AnyCertificate, BlockProposal, ConfirmedBlock, LiteVote, UncheckedCertificate};
use skein_core::{
    shard_of, ChainInfo, ChainInfoQuery, CrossChainRequest, Effects, NodeError, Notification,
    TimeoutRequest, ValidatorNode, Worker,
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
    shard_count: usize,
    peers: Vec<Option<CrossChainQueue>>,
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
            shard_count: peer_addresses.len(),
            peers,
            notifications,
        }))
    }

    /// The worker.
    pub fn worker(&self) -> &Worker<S> {
        &self.worker
    }

    /// Whether this shard owns the chain.
    pub fn owns(&self, chain_id: &ChainId) -> bool {
        shard_of(chain_id, self.shard_count) == self.index
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
            let target = shard_of(&request.target_chain(), self.shard_count);
            match self.peers.get(target) {
                Some(Some(queue)) => queue.push(request),
                _ => {
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
        if !self.owns(&request.target_chain()) {
            return Err(NodeError::InvalidRequest(format!(
                "chain {} does not belong to shard {}",
                request.target_chain(),
                self.index
            )));
        }
        let effects = self.worker.handle_cross_chain_request(request).await?;
        self.deliver(effects);
        Ok(())
    }

    /// Re-sends what this shard's chains sent and was not acknowledged.
    pub async fn retry_pending(&self) -> Result<usize, NodeError> {
        let mut count = 0;
        for chain_id in self.worker.chains_with_pending_outboxes().await? {
            if !self.owns(&chain_id) {
                continue;
            }
            let requests = self.worker.pending_cross_chain_requests(chain_id).await?;
            count += requests.len();
            self.deliver(Effects {
                cross_chain_requests: requests,
                notifications: Vec::new(),
            });
        }
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

impl<S: KeyValueStore> ValidatorNode for ShardNode<S> {
    fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        async move {
            self.check_owner(&proposal.content.block.chain_id)?;
            Ok(self.worker.handle_block_proposal(proposal).await?)
        }
        .boxed()
    }

    fn handle_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        async move {
            self.check_owner(&certificate.chain_id())?;
            let (info, effects) = self.worker.handle_any_certificate(certificate).await?;
            self.deliver(effects);
            Ok(info)
        }
        .boxed()
    }

    fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        async move {
            self.check_owner(&request.chain_id)?;
            Ok(self.worker.handle_timeout_request(request).await?)
        }
        .boxed()
    }

    fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        async move {
            self.check_owner(&query.chain_id)?;
            Ok(self.worker.handle_chain_info_query(query).await?)
        }
        .boxed()
    }

    fn download_blob(
        &self,
        blob_id: skein_base::BlobId,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
        async move { Ok(self.worker.handle_download_blob(blob_id).await?) }.boxed()
    }

    fn download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>> {
        // Certificates are in the store all shards share.
        async move { Ok(self.worker.handle_download_certificates(hashes).await?) }.boxed()
    }
}
