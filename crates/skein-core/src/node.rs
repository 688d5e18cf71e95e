//! [`ValidatorNode`]: what a client can ask a validator, wherever it runs.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use skein_base::{crypto::CryptoHash, BlobId};
use skein_chain::{
    AnyCertificate, BlockProposal, ChainError, ConfirmedBlock, LiteVote, UncheckedCertificate,
};

use crate::{
    requests::{ChainInfo, ChainInfoQuery, TimeoutRequest},
    worker::WorkerError,
};

/// Why a validator did not do what was asked: the error clients see, the same in process
/// and on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum NodeError {
    /// A protocol rule refused the request; the variant says which and what to do.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The request is malformed or too large.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The node does not vote.
    #[error("this node is not a validator")]
    NotAValidator,
    /// The validator failed internally; retrying later may work.
    #[error("validator storage error: {0}")]
    Storage(String),
    /// The validator could not be reached.
    #[error("validator unreachable: {0}")]
    Unreachable(String),
    /// The validator did not answer in time.
    #[error("validator did not answer in time")]
    Timeout,
}

impl From<WorkerError> for NodeError {
    fn from(error: WorkerError) -> Self {
        match error {
            WorkerError::Chain(error) => NodeError::Chain(error),
            WorkerError::NotAValidator => NodeError::NotAValidator,
            error @ WorkerError::TooManyCertificatesRequested { .. } => {
                NodeError::InvalidRequest(error.to_string())
            }
            WorkerError::Storage(message) => NodeError::Storage(message),
        }
    }
}

impl NodeError {
    /// Whether the validator refuses the proposed block for good: a rule that does not
    /// change at this height refuses it (see [`ChainError::refuses_block_for_good`]). Other
    /// failures (including malformed or unusable answers, and the transport's refusals)
    /// may pass, or may hide a vote.
    pub fn refuses_block_for_good(&self) -> bool {
        match self {
            NodeError::Chain(error) => error.refuses_block_for_good(),
            NodeError::InvalidRequest(_)
            | NodeError::NotAValidator
            | NodeError::Storage(_)
            | NodeError::Unreachable(_)
            | NodeError::Timeout => false,
        }
    }
}

/// A validator as its clients see it. Every method is idempotent: asking twice gets the
/// same answer and has no second effect, so clients retry freely.
pub trait ValidatorNode: Send + Sync {
    /// Asks for a vote on a proposed block.
    fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>>;

    /// Submits a certificate: a confirmed block to commit, a validated block to lock on
    /// (the answer's `pending_vote` is then the vote to confirm it), or a timed-out round.
    fn handle_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>>;

    /// Asks for a vote to time out a chain's round that made no progress; refused before
    /// the round's deadline.
    fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>>;

    /// Asks about a chain.
    fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>>;

    /// Fetches a blob; `None` if the validator does not have it.
    fn download_blob(&self, blob_id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>>;

    /// Fetches certificates by hash; those the validator lacks are left out.
    fn download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>>;
}

#[cfg(test)]
mod tests {
    use skein_chain::ChainError;

    use super::NodeError;

    /// Clients decode `NodeError` from every answer: a variant added in the middle,
    /// removed or reshaped must show here (the `ChainError` inside is pinned in
    /// skein-chain's `errors.snap`).
    #[test]
    fn test_node_errors_on_the_wire_are_pinned() {
        let samples = [
            (NodeError::Chain(ChainError::EmptyBlock), "0002"),
            (NodeError::InvalidRequest("big".into()), "0103626967"),
            (NodeError::NotAValidator, "02"),
            (NodeError::Storage("disk".into()), "03046469736b"),
            (NodeError::Unreachable("down".into()), "0404646f776e"),
            (NodeError::Timeout, "05"),
        ];
        for (error, pinned) in samples {
            let bytes = bcs::to_bytes(&error).expect("errors encode");
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            assert_eq!(hex, pinned, "the wire encoding of {error:?} changed");
            // The match names every variant, so that a new one is pinned too.
            match error {
                NodeError::Chain(_)
                | NodeError::InvalidRequest(_)
                | NodeError::NotAValidator
                | NodeError::Storage(_)
                | NodeError::Unreachable(_)
                | NodeError::Timeout => {}
            }
        }
    }
}
