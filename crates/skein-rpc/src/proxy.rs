//! [`ProxyNode`]: a validator's public endpoint in front of shard processes. It decodes and
//! bounds requests (the gRPC layer does) and routes each to the shard that owns the chain;
//! it keeps no state of its own.

use std::{sync::Arc, time::Duration};

use futures::{future::BoxFuture, FutureExt, StreamExt};
use skein_core::{Forward, NodeError, NodeRequest, Notification, Shards};
use tokio::sync::broadcast;

use crate::{client::GrpcShard, ShardKey};

/// The proxy's view of its shards.
pub struct ProxyNode {
    shards: Shards<GrpcShard>,
    notifications: broadcast::Sender<Notification>,
}

impl ProxyNode {
    /// A proxy for the shards at `addresses` (in shard order), which share `key`. Starts
    /// following each shard's notifications, reconnecting when a shard restarts.
    pub fn new(addresses: &[String], key: &ShardKey) -> Result<Arc<Self>, NodeError> {
        let shards = Shards::new(
            addresses
                .iter()
                .map(|address| GrpcShard::new(address, key))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let (notifications, _) = broadcast::channel(4096);
        let proxy = Arc::new(Self {
            shards,
            notifications,
        });
        for shard in proxy.shards.iter() {
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

impl Forward for ProxyNode {
    fn forward<R: NodeRequest>(&self, request: R) -> BoxFuture<'_, Result<R::Answer, NodeError>> {
        let shard = self.shards.route(request.route()).clone();
        async move { request.ask(&shard).await }.boxed()
    }
}
