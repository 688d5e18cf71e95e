//! [`Forward`]: a node that passes every request on, written once for all six requests a
//! validator answers.
//!
//! A router to shards, a network hop, a stopped validator: each differs from the others in
//! what it does around a request, never in which request it is. Such a node implements
//! [`Forward::forward`] once, generic over [`NodeRequest`], and is a [`ValidatorNode`] by
//! the implementation at the end of this file.

use futures::{future::BoxFuture, FutureExt};
use serde::Serialize;
use skein_base::{crypto::CryptoHash, BlobId, ChainId};
use skein_chain::{AnyCertificate, BlockProposal, ConfirmedBlock, LiteVote, UncheckedCertificate};
use skein_views::KeyValueStore;

use crate::{
    node::{NodeError, ValidatorNode},
    requests::{ChainInfo, ChainInfoQuery, Effects, TimeoutRequest},
    worker::{WithEffects, Worker, WorkerError},
};

/// Which shard may answer a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Only the shard that owns this chain: it holds the chain's state.
    Chain(ChainId),
    /// Any shard, since all read the shared store; the number spreads the load.
    AnyShard(u64),
}

/// One of the requests of [`ValidatorNode`], with the answer it gets.
pub trait NodeRequest: Clone + Send + Sync + 'static {
    /// What the validator answers.
    type Answer: Serialize + Send + 'static;

    /// Which shard answers.
    fn route(&self) -> Route;

    /// Asks `node`, by the method of [`ValidatorNode`] this request is for.
    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<Self::Answer, NodeError>>;

    /// Has `worker`, the shard that [`route`](Self::route) names, answer.
    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<Self::Answer>, WorkerError>>;
}

/// A node that answers every request by passing it on, around a step of its own (routing
/// to a shard, a network hop, a refusal while stopped).
pub trait Forward: Send + Sync {
    /// Answers `request`.
    fn forward<R: NodeRequest>(&self, request: R) -> BoxFuture<'_, Result<R::Answer, NodeError>>;
}

/// The answer of a handler that has no effects.
async fn without_effects<T>(
    answer: impl std::future::Future<Output = Result<T, WorkerError>>,
) -> Result<WithEffects<T>, WorkerError> {
    Ok((answer.await?, Effects::default()))
}

impl NodeRequest for BlockProposal {
    type Answer = LiteVote;

    fn route(&self) -> Route {
        Route::Chain(self.content.block.chain_id)
    }

    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        node.handle_block_proposal(self)
    }

    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<LiteVote>, WorkerError>> {
        without_effects(worker.handle_block_proposal(self)).boxed()
    }
}

impl NodeRequest for AnyCertificate {
    type Answer = ChainInfo;

    fn route(&self) -> Route {
        Route::Chain(self.chain_id())
    }

    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        node.handle_certificate(self)
    }

    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<ChainInfo>, WorkerError>> {
        worker.handle_any_certificate(self).boxed()
    }
}

impl NodeRequest for TimeoutRequest {
    type Answer = LiteVote;

    fn route(&self) -> Route {
        Route::Chain(self.chain_id)
    }

    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        node.handle_timeout_request(self)
    }

    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<LiteVote>, WorkerError>> {
        without_effects(worker.handle_timeout_request(self)).boxed()
    }
}

impl NodeRequest for ChainInfoQuery {
    type Answer = ChainInfo;

    fn route(&self) -> Route {
        Route::Chain(self.chain_id)
    }

    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        node.handle_chain_info_query(self)
    }

    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<ChainInfo>, WorkerError>> {
        without_effects(worker.handle_chain_info_query(self)).boxed()
    }
}

/// A blob by its id.
impl NodeRequest for BlobId {
    type Answer = Option<Vec<u8>>;

    fn route(&self) -> Route {
        Route::AnyShard(self.hash.prefix_u64())
    }

    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
        node.download_blob(self)
    }

    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<Option<Vec<u8>>>, WorkerError>> {
        without_effects(worker.handle_download_blob(self)).boxed()
    }
}

/// Confirmed certificates by the hashes of their blocks.
impl NodeRequest for Vec<CryptoHash> {
    type Answer = Vec<UncheckedCertificate<ConfirmedBlock>>;

    fn route(&self) -> Route {
        Route::AnyShard(self.first().map_or(0, CryptoHash::prefix_u64))
    }

    fn ask(self, node: &dyn ValidatorNode) -> BoxFuture<'_, Result<Self::Answer, NodeError>> {
        node.download_certificates(self)
    }

    fn answer_in<S: KeyValueStore>(
        self,
        worker: &Worker<S>,
    ) -> BoxFuture<'_, Result<WithEffects<Self::Answer>, WorkerError>> {
        without_effects(worker.handle_download_certificates(self)).boxed()
    }
}

impl<N: Forward> ValidatorNode for N {
    fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        self.forward(proposal)
    }

    fn handle_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        self.forward(certificate)
    }

    fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        self.forward(request)
    }

    fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        self.forward(query)
    }

    fn download_blob(&self, blob_id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
        self.forward(blob_id)
    }

    fn download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>> {
        self.forward(hashes)
    }
}
