//! [`FaultyNode`]: a validator that misbehaves on purpose, for tests and the simulator;
//! [`StoppedNode`] stands in for one that is down; [`CrossChainFaults`] loses requests
//! between a validator's shards.

use std::sync::Arc;

use futures::{future::BoxFuture, FutureExt};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skein_base::{
    crypto::{BcsSignable, CryptoHash, SecretKey, Signature},
    BlobId, TimeDelta,
};
use skein_chain::{
    AnyCertificate, BlockExecutionOutcome, BlockProposal, ChainError, ConfirmedBlock, Hashed,
    LiteVote, UncheckedCertificate, Vote,
};

use crate::{
    clock::Clock,
    forward::{Forward, NodeRequest},
    node::{NodeError, ValidatorNode},
    requests::{ChainInfo, ChainInfoQuery, TimeoutRequest},
};

/// How a validator misbehaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// It behaves.
    #[default]
    Honest,
    /// It answers nothing: every request fails as unreachable.
    Offline,
    /// It answers everything after a delay.
    Slow(TimeDelta),
    /// It refuses to vote, but otherwise works.
    RefuseVotes,
    /// It votes, with a valid signature, for a different outcome than the proposed block's.
    VoteForDifferentBlock,
    /// It votes for the right block with a signature that does not verify.
    ForgedSignature,
    /// It refuses every proposed block as too large, as a validator whose limits are
    /// stricter than the client's would: a refusal that does not change.
    StricterLimits,
}

/// A validator wrapped with a fault that can change at any time.
pub struct FaultyNode {
    inner: Mutex<Arc<dyn ValidatorNode>>,
    key: Arc<SecretKey>,
    clock: Arc<dyn Clock>,
    fault: Mutex<Fault>,
}

impl FaultyNode {
    /// Wraps `inner`, whose signing key is `key` (a Byzantine validator signs what it likes).
    pub fn new(inner: Arc<dyn ValidatorNode>, key: Arc<SecretKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(inner),
            key,
            clock,
            fault: Mutex::new(Fault::Honest),
        }
    }

    /// Changes the fault.
    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock() = fault;
    }

    /// Replaces the validator behind this node, as a restart does.
    pub fn replace_inner(&self, inner: Arc<dyn ValidatorNode>) {
        *self.inner.lock() = inner;
    }

    fn inner(&self) -> Arc<dyn ValidatorNode> {
        self.inner.lock().clone()
    }

    /// The current fault.
    pub fn fault(&self) -> Fault {
        *self.fault.lock()
    }

    async fn before_request(&self) -> Result<(), NodeError> {
        match self.fault() {
            Fault::Offline => Err(NodeError::Unreachable("the validator is offline".into())),
            Fault::Slow(delay) => {
                self.clock.sleep(delay).await;
                Ok(())
            }
            Fault::Honest
            | Fault::RefuseVotes
            | Fault::VoteForDifferentBlock
            | Fault::ForgedSignature
            | Fault::StricterLimits => Ok(()),
        }
    }
}

impl ValidatorNode for FaultyNode {
    fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        async move {
            self.before_request().await?;
            match self.fault() {
                Fault::RefuseVotes => Err(NodeError::InvalidRequest(
                    "this validator refuses to vote".into(),
                )),
                Fault::VoteForDifferentBlock => {
                    let honest = self.inner().handle_block_proposal(proposal.clone()).await?;
                    let value = ConfirmedBlock {
                        block: proposal.content.block,
                        outcome: BlockExecutionOutcome {
                            messages: Vec::new(),
                            state_hash: CryptoHash::of_bytes(b"a different state"),
                        },
                    };
                    Ok(Vote::new(Hashed::new(value), honest.round, &self.key).lite())
                }
                Fault::StricterLimits => Err(NodeError::Chain(ChainError::BlockTooLarge {
                    size: skein_base::encoding::encoded_len(&proposal.content.block),
                    limit: 0,
                })),
                Fault::ForgedSignature => {
                    let mut vote = self.inner().handle_block_proposal(proposal).await?;
                    let other = SecretKey::from_test_seed(u64::MAX);
                    vote.signature = Signature::new(&NotAVote, &other);
                    Ok(vote)
                }
                _ => self.inner().handle_block_proposal(proposal).await,
            }
        }
        .boxed()
    }

    fn handle_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        async move {
            self.before_request().await?;
            self.inner().handle_certificate(certificate).await
        }
        .boxed()
    }

    fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        async move {
            self.before_request().await?;
            match self.fault() {
                Fault::RefuseVotes => Err(NodeError::InvalidRequest(
                    "this validator refuses to vote".into(),
                )),
                _ => self.inner().handle_timeout_request(request).await,
            }
        }
        .boxed()
    }

    fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        async move {
            self.before_request().await?;
            self.inner().handle_chain_info_query(query).await
        }
        .boxed()
    }

    fn download_blob(&self, blob_id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
        async move {
            self.before_request().await?;
            self.inner().download_blob(blob_id).await
        }
        .boxed()
    }

    fn download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>> {
        async move {
            self.before_request().await?;
            self.inner().download_certificates(hashes).await
        }
        .boxed()
    }
}

/// A validator that is not running: every request fails as unreachable. Stands in for a
/// validator while it restarts.
pub struct StoppedNode;

impl Forward for StoppedNode {
    fn forward<R: NodeRequest>(&self, _request: R) -> BoxFuture<'_, Result<R::Answer, NodeError>> {
        async { Err(NodeError::Unreachable("the validator is stopped".into())) }.boxed()
    }
}

/// How cross-chain requests between a [`LocalValidator`](crate::LocalValidator)'s shards
/// misbehave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrossChainFaults {
    /// Drop one request in this many (never if `None`).
    pub drop_one_in: Option<u32>,
    /// Deliver one request in this many twice (never if `None`).
    pub duplicate_one_in: Option<u32>,
}

/// [`CrossChainFaults`] with the seeded randomness that decides each request.
pub(crate) struct LossyDelivery {
    faults: CrossChainFaults,
    rng: ChaCha8Rng,
}

impl Default for LossyDelivery {
    fn default() -> Self {
        Self::new(CrossChainFaults::default(), 0)
    }
}

impl LossyDelivery {
    pub(crate) fn new(faults: CrossChainFaults, seed: u64) -> Self {
        Self {
            faults,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// How many times to deliver the next request: 0 (dropped), 1 or 2 (duplicated).
    pub(crate) fn copies(&mut self) -> usize {
        if let Some(one_in) = self.faults.drop_one_in {
            if self.rng.gen_ratio(1, one_in.max(1)) {
                return 0;
            }
        }
        if let Some(one_in) = self.faults.duplicate_one_in {
            if self.rng.gen_ratio(1, one_in.max(1)) {
                return 2;
            }
        }
        1
    }
}

/// Something that is not a vote, for forging signatures.
#[derive(serde::Serialize)]
struct NotAVote;

impl BcsSignable for NotAVote {
    const TYPE_TAG: &'static str = "NotAVote";
}
