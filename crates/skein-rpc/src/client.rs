//! [`GrpcValidatorNode`]: a validator reached over gRPC, as a [`ValidatorNode`].

use std::{sync::Arc, time::Duration};

use futures::{future::BoxFuture, FutureExt, Stream, StreamExt};
use skein_base::{crypto::CryptoHash, limits, BlobId, ChainId, Committee};
use skein_chain::{AnyCertificate, BlockProposal, ConfirmedBlock, LiteVote, UncheckedCertificate};
use skein_core::{
    ChainInfo, ChainInfoQuery, CrossChainRequest, NodeError, Notification, TimeoutRequest,
    ValidatorEntry, ValidatorNode,
};
use tonic::{service::interceptor::InterceptedService, transport::Channel, Code, Status};

use crate::{
    generated::{shard_client::ShardClient, validator_client::ValidatorClient},
    wire::{DownloadBlobRequest, DownloadCertificatesRequest, SubscribeRequest},
    PresentShardKey, ShardKey,
};

/// How long a client waits to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Maps a transport failure to the error clients handle.
pub fn status_to_error(status: Status) -> NodeError {
    match status.code() {
        Code::InvalidArgument
        | Code::ResourceExhausted
        | Code::OutOfRange
        | Code::Unauthenticated => NodeError::InvalidRequest(status.message().to_string()),
        Code::DeadlineExceeded => NodeError::Timeout,
        _ => NodeError::Unreachable(format!("{}: {}", status.code(), status.message())),
    }
}

/// A channel to `address` (`host:port`), connecting on first use and reconnecting after
/// failures.
pub fn channel(address: &str) -> Result<Channel, NodeError> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|error| NodeError::Unreachable(format!("invalid address {address:?}: {error}")))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30));
    Ok(endpoint.connect_lazy())
}

/// Implements [`ValidatorNode`] for a wrapper of a generated gRPC client with a `client`
/// field: the public and the internal services share these four methods.
macro_rules! impl_validator_node {
    ($node:ty) => {
        impl ValidatorNode for $node {
            fn handle_block_proposal(
                &self,
                proposal: BlockProposal,
            ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
                let mut client = self.client.clone();
                async move {
                    client
                        .handle_block_proposal(proposal)
                        .await
                        .map_err(status_to_error)?
                        .into_inner()
                }
                .boxed()
            }

            fn handle_certificate(
                &self,
                certificate: AnyCertificate,
            ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
                let mut client = self.client.clone();
                async move {
                    client
                        .handle_certificate(certificate)
                        .await
                        .map_err(status_to_error)?
                        .into_inner()
                }
                .boxed()
            }

            fn handle_timeout_request(
                &self,
                request: TimeoutRequest,
            ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
                let mut client = self.client.clone();
                async move {
                    client
                        .handle_timeout_request(request)
                        .await
                        .map_err(status_to_error)?
                        .into_inner()
                }
                .boxed()
            }

            fn handle_chain_info_query(
                &self,
                query: ChainInfoQuery,
            ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
                let mut client = self.client.clone();
                async move {
                    client
                        .handle_chain_info_query(query)
                        .await
                        .map_err(status_to_error)?
                        .into_inner()
                }
                .boxed()
            }

            fn download_blob(
                &self,
                blob_id: BlobId,
            ) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
                let mut client = self.client.clone();
                async move {
                    client
                        .download_blob(DownloadBlobRequest { blob_id })
                        .await
                        .map_err(status_to_error)?
                        .into_inner()
                }
                .boxed()
            }

            fn download_certificates(
                &self,
                hashes: Vec<CryptoHash>,
            ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>> {
                let mut client = self.client.clone();
                async move {
                    client
                        .download_certificates(DownloadCertificatesRequest { hashes })
                        .await
                        .map_err(status_to_error)?
                        .into_inner()
                }
                .boxed()
            }
        }
    };
}

impl_validator_node!(GrpcValidatorNode);
impl_validator_node!(GrpcShard);

/// How a client reaches, over gRPC, the validators it learns of from the admin chain.
pub fn grpc_connect() -> skein_core::Connect {
    Arc::new(|public_key, state| {
        let node = GrpcValidatorNode::new(&state.network_address)
            .map_err(|error| NodeError::Unreachable(format!("validator {public_key}: {error}")))?;
        Ok(Arc::new(node) as Arc<dyn ValidatorNode>)
    })
}

/// The validators of `committee`, each reached over gRPC at its network address.
pub fn validator_entries(committee: &Committee) -> Result<Vec<ValidatorEntry>, NodeError> {
    committee
        .validators()
        .iter()
        .map(|(public_key, state)| {
            let node = GrpcValidatorNode::new(&state.network_address).map_err(|error| {
                NodeError::Unreachable(format!("validator {public_key}: {error}"))
            })?;
            Ok(ValidatorEntry {
                public_key: *public_key,
                node: Arc::new(node) as Arc<dyn ValidatorNode>,
            })
        })
        .collect()
}

/// A validator's public endpoint.
#[derive(Clone)]
pub struct GrpcValidatorNode {
    client: ValidatorClient<Channel>,
    address: String,
}

impl GrpcValidatorNode {
    /// A node at `address`; nothing is sent until the first request.
    pub fn new(address: &str) -> Result<Self, NodeError> {
        let client = ValidatorClient::new(channel(address)?)
            .max_decoding_message_size(limits::REQUEST_BYTES_MAX)
            .max_encoding_message_size(limits::REQUEST_BYTES_MAX);
        Ok(Self {
            client,
            address: address.to_string(),
        })
    }

    /// Where the node is.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Notifications about `chain_ids` (all chains if empty), until the connection drops.
    pub async fn subscribe(
        &self,
        chain_ids: Vec<ChainId>,
    ) -> Result<impl Stream<Item = Result<Notification, NodeError>>, NodeError> {
        let mut client = self.client.clone();
        let stream = client
            .subscribe(SubscribeRequest { chain_ids })
            .await
            .map_err(status_to_error)?
            .into_inner();
        Ok(stream.map(|item| item.map_err(status_to_error)))
    }
}

/// One shard of a validator, as the proxy and the other shards reach it.
#[derive(Clone)]
pub struct GrpcShard {
    client: ShardClient<InterceptedService<Channel, PresentShardKey>>,
}

impl GrpcShard {
    /// A shard at `address`, asked with the validator's `key`; nothing is sent until the
    /// first request.
    pub fn new(address: &str, key: &ShardKey) -> Result<Self, NodeError> {
        let client = ShardClient::with_interceptor(channel(address)?, key.presenter())
            .max_decoding_message_size(limits::REQUEST_BYTES_MAX)
            .max_encoding_message_size(limits::REQUEST_BYTES_MAX);
        Ok(Self { client })
    }

    /// Delivers a cross-chain request.
    pub async fn handle_cross_chain_request(
        &self,
        request: CrossChainRequest,
    ) -> Result<(), NodeError> {
        let mut client = self.client.clone();
        client
            .handle_cross_chain_request(request)
            .await
            .map_err(status_to_error)?
            .into_inner()
    }

    /// The shard's notifications, until the connection drops.
    pub async fn notifications(
        &self,
    ) -> Result<impl Stream<Item = Result<Notification, NodeError>>, NodeError> {
        let mut client = self.client.clone();
        let stream = client
            .notifications(SubscribeRequest::default())
            .await
            .map_err(status_to_error)?
            .into_inner();
        Ok(stream.map(|item| item.map_err(status_to_error)))
    }
}
