//! [`ProxyNode`]: a validator's public endpoint in front of shard processes. It decodes and
//! bounds requests (the gRPC layer does) and routes each to the shard that owns the chain;
//! it keeps no state of its own.

use std::{sync::Arc, time::Duration};

use futures::{future::BoxFuture, FutureExt, StreamExt};
use skein_base::crypto::CryptoHash;
use skein_chain::{AnyCertificate, BlockProposal, ConfirmedBlock, LiteVote, UncheckedCertificate};
use skein_core::{
    shard_of, ChainInfo, ChainInfoQuery, NodeError, Notification, TimeoutRequest, ValidatorNode,
};
use tokio::sync::broadcast;

use crate::{client::GrpcShard, ShardKey};

/// The proxy's view of its shards.
pub struct ProxyNode {
    shards: Vec<GrpcShard>,
    notifications: broadcast::Sender<Notification>,
}

impl ProxyNode {
    /// A proxy for the shards at `addresses` (in shard order), which share `key`. Starts
    /// following each shard's notifications, reconnecting when a shard restarts.
    pub fn new(addresses: &[String], key: &ShardKey) -> Result<Arc<Self>, NodeError> {
        let shards = addresses
            .iter()
            .map(|address| GrpcShard::new(address, key))
            .collect::<Result<Vec<_>, _>>()?;
        let (notifications, _) = broadcast::channel(4096);
        let proxy = Arc::new(Self {
            shards,
            notifications,
        });
        for shard in &proxy.shards {
            let shard = shard.clone();
            let sender = proxy.notifications.clone();
            tokio::spawn(async move { follow_notifications(shard, sender).await });
        }
        Ok(proxy)
    }

    /// New receiver of the notifications of every shard.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.notifications.subscribe()
    }

    fn shard(&self, chain_id: &skein_base::ChainId) -> &GrpcShard {
        &self.shards[shard_of(chain_id, self.shards.len())]
    }
}

async fn follow_notifications(shard: GrpcShard, sender: broadcast::Sender<Notification>) {
    let mut pause = Duration::from_millis(50);
    loop {
        match shard.notifications().await {
            Ok(mut stream) => {
                pause = Duration::from_millis(50);
                while let Some(Ok(notification)) = stream.next().await {
                    let _ = sender.send(notification);
                }
            }
            Err(error) => tracing::debug!(%error, "shard notifications unavailable"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

impl ValidatorNode for ProxyNode {
    fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        let shard = self.shard(&proposal.content.block.chain_id).clone();
        async move { shard.handle_block_proposal(proposal).await }.boxed()
    }

    fn handle_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        let shard = self.shard(&certificate.chain_id()).clone();
        async move { shard.handle_certificate(certificate).await }.boxed()
    }

    fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        let shard = self.shard(&request.chain_id).clone();
        async move { shard.handle_timeout_request(request).await }.boxed()
    }

    fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        let shard = self.shard(&query.chain_id).clone();
        async move { shard.handle_chain_info_query(query).await }.boxed()
    }

    fn download_blob(
        &self,
        blob_id: skein_base::BlobId,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
        // Any shard reads the shared store.
        let count = self.shards.len() as u64;
        let index = usize::try_from(blob_id.hash.prefix_u64() % count).unwrap_or(0);
        let shard = self.shards[index].clone();
        async move { shard.download_blob(blob_id).await }.boxed()
    }

    fn download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>> {
        // Any shard reads the shared store; spread the load by the first hash.
        let index = hashes.first().map_or(0, |hash| {
            usize::try_from(hash.prefix_u64() % self.shards.len() as u64).unwrap_or(0)
        });
        let shard = self.shards[index].clone();
        async move { shard.download_certificates(hashes).await }.boxed()
    }
}
