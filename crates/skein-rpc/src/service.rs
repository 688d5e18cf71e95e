//! The gRPC services: the public `Validator` service over any [`ValidatorNode`] (a whole
//! validator in this process, or a proxy in front of shard processes), and the internal
//! `Shard` service of one shard.

use std::{collections::BTreeSet, pin::Pin, sync::Arc};

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

/// The notifications of `receiver` about `chain_ids` (all chains if empty). A subscriber too
/// slow to keep up misses some, and is told nothing more: notifications are hints to go and
/// look, never the only record of anything.
fn notification_stream(
    receiver: broadcast::Receiver<Notification>,
    chain_ids: Vec<ChainId>,
) -> Result<NotificationStream, Status> {
    if chain_ids.len() > SUBSCRIBED_CHAINS_MAX {
        return Err(Status::invalid_argument(format!(
            "at most {SUBSCRIBED_CHAINS_MAX} chains per subscription"
        )));
    }
    let filter: BTreeSet<ChainId> = chain_ids.into_iter().collect();
    let stream = futures::stream::unfold((receiver, filter), |(mut receiver, filter)| async move {
        loop {
            match receiver.recv().await {
                Ok(notification) => {
                    if filter.is_empty() || filter.contains(&notification.chain_id) {
                        return Some((Ok(notification), (receiver, filter)));
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
}

impl PublicService {
    /// Serves `node`, with notifications from `notifications`.
    pub fn new(node: Arc<dyn ValidatorNode>, notifications: NotificationSource) -> Self {
        Self {
            node,
            notifications,
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
        let stream = notification_stream((self.notifications)(), request.into_inner().chain_ids)?;
        Ok(Response::new(stream))
    }
});

/// The internal service of one shard.
pub struct ShardService<S> {
    shard: Arc<ShardNode<S>>,
}

impl<S> ShardService<S> {
    /// Serves `shard`.
    pub fn new(shard: Arc<ShardNode<S>>) -> Self {
        Self { shard }
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
        let stream = notification_stream(self.shard.subscribe(), request.into_inner().chain_ids)?;
        Ok(Response::new(stream))
    }
});
