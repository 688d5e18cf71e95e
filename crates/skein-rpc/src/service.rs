//! The gRPC services: the public `Validator` service over any [`ValidatorNode`] (a whole
//! validator in this process, or a proxy in front of shard processes), and the internal
//! `Shard` service of one shard.

use std::{
    collections::BTreeSet,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use futures::Stream;
use skein_base::ChainId;
use skein_core::{Notification, ValidatorNode};
use skein_views::KeyValueStore;
use tokio::sync::broadcast;
use tonic::{Request, Response, Status};

use crate::{
    generated::{shard_server::Shard, validator_server::Validator},
    shard::ShardNode,
    wire::{
        BlobResponse, BlockProposal, CertificateRequest, CertificatesResponse, ChainInfoQuery,
        ChainInfoResponse, CrossChainRequest, CrossChainResponse, DownloadBlobRequest,
        DownloadCertificatesRequest, ProposalResponse, SubscribeRequest, TimeoutRequest,
        SUBSCRIBED_CHAINS_MAX,
    },
};

/// Opens a new receiver of notifications.
pub type NotificationSource = Arc<dyn Fn() -> broadcast::Receiver<Notification> + Send + Sync>;

/// A stream of notifications for one subscriber.
pub type NotificationStream = Pin<Box<dyn Stream<Item = Result<Notification, Status>> + Send>>;

/// Subscriptions one server holds open at once, over all connections: each costs a task
/// and a queue, so a client opening them by the thousand is refused, not served at the
/// expense of everyone. (HTTP/2 bounds the streams of one connection.)
const SUBSCRIPTIONS_MAX: usize = 10_000;

/// The subscriptions a server has open, counted so that there are never more than a limit.
struct SubscriptionSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One open subscription's place; dropping it (the subscriber left) frees it.
struct SubscriptionSlot(Arc<AtomicUsize>);

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SubscriptionSlots {
    /// Room for `max` subscriptions at once.
    fn new(max: usize) -> Self {
        Self {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    fn take(&self) -> Result<SubscriptionSlot, Status> {
        let taken = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.max).then_some(open + 1)
            });
        match taken {
            Ok(_) => Ok(SubscriptionSlot(self.open.clone())),
            Err(_) => Err(Status::resource_exhausted(format!(
                "this server already serves {} subscriptions: try again later",
                self.max
            ))),
        }
    }
}

impl Default for SubscriptionSlots {
    fn default() -> Self {
        Self::new(SUBSCRIPTIONS_MAX)
    }
}

/// The notifications of `receiver` about `chain_ids` (all chains if empty), in a slot of
/// `slots`. A subscriber too slow to keep up misses some, and is told nothing more:
/// notifications are hints to go and look, never the only record of anything.
fn notification_stream(
    slots: &SubscriptionSlots,
    receiver: broadcast::Receiver<Notification>,
    chain_ids: Vec<ChainId>,
) -> Result<NotificationStream, Status> {
    if chain_ids.len() > SUBSCRIBED_CHAINS_MAX {
        return Err(Status::invalid_argument(format!(
            "at most {SUBSCRIBED_CHAINS_MAX} chains per subscription"
        )));
    }
    let slot = slots.take()?;
    let filter: BTreeSet<ChainId> = chain_ids.into_iter().collect();
    let state = (receiver, filter, slot);
    let stream = futures::stream::unfold(state, |(mut receiver, filter, slot)| async move {
        loop {
            match receiver.recv().await {
                Ok(notification) => {
                    if filter.is_empty() || filter.contains(&notification.chain_id) {
                        return Some((Ok(notification), (receiver, filter, slot)));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a subscriber fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Box::pin(stream))
}

/// The public service of a validator.
pub struct PublicService {
    node: Arc<dyn ValidatorNode>,
    notifications: NotificationSource,
    slots: SubscriptionSlots,
}

impl PublicService {
    /// Serves `node`, with notifications from `notifications`.
    pub fn new(node: Arc<dyn ValidatorNode>, notifications: NotificationSource) -> Self {
        Self {
            node,
            notifications,
            slots: SubscriptionSlots::default(),
        }
    }
}

/// Implements a generated service trait whose first methods are the four requests of a
/// [`ValidatorNode`] (and blob downloads), forwarding them to `self.$field`; `$extra` holds
/// the service's own methods.
macro_rules! node_service {
    (impl [$($generics:tt)*] $service:ident for $type:ty, $field:ident, { $($extra:tt)* }) => {
        #[tonic::async_trait]
        impl<$($generics)*> $service for $type {
            async fn handle_block_proposal(
                &self,
                request: Request<BlockProposal>,
            ) -> Result<Response<ProposalResponse>, Status> {
                Ok(Response::new(self.$field.handle_block_proposal(request.into_inner()).await))
            }

            async fn handle_certificate(
                &self,
                request: Request<CertificateRequest>,
            ) -> Result<Response<ChainInfoResponse>, Status> {
                Ok(Response::new(self.$field.handle_certificate(request.into_inner()).await))
            }

            async fn handle_timeout_request(
                &self,
                request: Request<TimeoutRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                Ok(Response::new(self.$field.handle_timeout_request(request.into_inner()).await))
            }

            async fn handle_chain_info_query(
                &self,
                request: Request<ChainInfoQuery>,
            ) -> Result<Response<ChainInfoResponse>, Status> {
                Ok(Response::new(self.$field.handle_chain_info_query(request.into_inner()).await))
            }

            async fn download_blob(
                &self,
                request: Request<DownloadBlobRequest>,
            ) -> Result<Response<BlobResponse>, Status> {
                let blob_id = request.into_inner().blob_id;
                Ok(Response::new(self.$field.download_blob(blob_id).await))
            }

            async fn download_certificates(
                &self,
                request: Request<DownloadCertificatesRequest>,
            ) -> Result<Response<CertificatesResponse>, Status> {
                let hashes = request.into_inner().hashes;
                Ok(Response::new(self.$field.download_certificates(hashes).await))
            }

            $($extra)*
        }
    };
}

node_service!(impl [] Validator for PublicService, node, {
    type SubscribeStream = NotificationStream;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = notification_stream(
            &self.slots,
            (self.notifications)(),
            request.into_inner().chain_ids,
        )?;
        Ok(Response::new(stream))
    }
});

/// The internal service of one shard.
pub struct ShardService<S> {
    shard: Arc<ShardNode<S>>,
    slots: SubscriptionSlots,
}

impl<S> ShardService<S> {
    /// Serves `shard`.
    pub fn new(shard: Arc<ShardNode<S>>) -> Self {
        Self {
            shard,
            slots: SubscriptionSlots::default(),
        }
    }
}

node_service!(impl [S: KeyValueStore] Shard for ShardService<S>, shard, {
    async fn handle_cross_chain_request(
        &self,
        request: Request<CrossChainRequest>,
    ) -> Result<Response<CrossChainResponse>, Status> {
        Ok(Response::new(self.shard.handle_cross_chain_request(request.into_inner()).await))
    }

    type NotificationsStream = NotificationStream;

    async fn notifications(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::NotificationsStream>, Status> {
        let stream = notification_stream(
            &self.slots,
            self.shard.subscribe(),
            request.into_inner().chain_ids,
        )?;
        Ok(Response::new(stream))
    }
});

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn notification(height: u64) -> Notification {
        Notification {
            chain_id: ChainId::root(0),
            reason: skein_core::NotificationReason::NewBlock {
                height: skein_base::BlockHeight(height),
                hash: skein_base::crypto::CryptoHash::of_bytes(b"block"),
            },
        }
    }

    #[tokio::test]
    async fn test_subscriptions_past_the_limit_are_refused_until_one_leaves() {
        let (sender, _) = broadcast::channel(16);
        let slots = SubscriptionSlots::new(2);
        let mut first = notification_stream(&slots, sender.subscribe(), Vec::new()).unwrap();
        let second = notification_stream(&slots, sender.subscribe(), Vec::new()).unwrap();
        let refused = notification_stream(&slots, sender.subscribe(), Vec::new())
            .err()
            .expect("a third subscription is refused");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        sender.send(notification(1)).unwrap();
        assert_eq!(first.next().await.unwrap().unwrap(), notification(1));
        drop(second);
        let mut third = notification_stream(&slots, sender.subscribe(), Vec::new())
            .expect("a subscriber that left frees its slot");
        sender.send(notification(2)).unwrap();
        assert_eq!(third.next().await.unwrap().unwrap(), notification(2));
        let too_many = vec![ChainId::root(0); SUBSCRIBED_CHAINS_MAX + 1];
        drop(first);
        assert_eq!(
            notification_stream(&slots, sender.subscribe(), too_many)
                .err()
                .unwrap()
                .code(),
            tonic::Code::InvalidArgument
        );
    }
}
