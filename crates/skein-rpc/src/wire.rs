//! The messages of the gRPC services. Requests and responses are the protocol's own types;
//! a response carries the validator's answer, refusals included, as a `Result`, so clients
//! see the same structured [`NodeError`] as in process. gRPC statuses are left for transport
//! failures and undecodable messages.

use serde::{Deserialize, Serialize};
use skein_base::{crypto::CryptoHash, BlobId, ChainId};
use skein_chain::{AnyCertificate, ConfirmedBlock, LiteVote, UncheckedCertificate};
use skein_core::{ChainInfo, NodeError};

pub use skein_chain::BlockProposal;
pub use skein_core::{ChainInfoQuery, CrossChainRequest, Notification, TimeoutRequest};

/// A certificate to commit, lock on, or move rounds by.
pub type CertificateRequest = AnyCertificate;

/// The answer to a proposal or a timeout request: a vote.
pub type ProposalResponse = Result<LiteVote, NodeError>;

/// The answer to a certificate or a query.
pub type ChainInfoResponse = Result<ChainInfo, NodeError>;

/// The answer to a download.
pub type CertificatesResponse = Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>;

/// The answer to a cross-chain request.
pub type CrossChainResponse = Result<(), NodeError>;

/// Certificates to fetch by hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadCertificatesRequest {
    /// Their hashes.
    pub hashes: Vec<CryptoHash>,
}

/// A blob to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadBlobRequest {
    /// Its id.
    pub blob_id: BlobId,
}

/// The answer to a blob download: the bytes, if the validator has the blob.
pub type BlobResponse = Result<Option<Vec<u8>>, NodeError>;

/// Which chains to hear about; all of them if empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeRequest {
    /// The chains.
    pub chain_ids: Vec<ChainId>,
}

/// Chains one subscription may follow.
pub const SUBSCRIBED_CHAINS_MAX: usize = 10_000;
