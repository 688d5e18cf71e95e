//! [`ByzantineVoter`]: a validator that ignores the voting rules, for tests and the
//! simulator. The protocol must stay safe while such validators hold less than a third of
//! the votes.
//!
//! It wraps an honest validator and lets it answer; where the honest one refuses for a
//! voting rule (a round voted in already, a lock, a round not timed out) or declines to
//! confirm, it signs anyway, with the validator's own key, for whatever executes. It
//! records none of those votes, so it never holds itself to them either.

use std::sync::Arc;

use futures::{future::BoxFuture, FutureExt};
use skein_base::{
    crypto::{CryptoHash, SecretKey},
    BlobId, Round,
};
use skein_chain::{
    AnyCertificate, BlockProposal, ConfirmedBlock, Hashed, LiteVote, Timeout, UncheckedCertificate,
    ValidatedBlock, Vote,
};
use skein_views::KeyValueStore;

use crate::{
    node::{NodeError, ValidatorNode},
    requests::{ChainInfo, ChainInfoQuery, TimeoutRequest},
    validator::LocalValidator,
};

/// A validator that votes for anything that executes.
pub struct ByzantineVoter<S> {
    validator: Arc<LocalValidator<S>>,
    key: Arc<SecretKey>,
}

impl<S: KeyValueStore> ByzantineVoter<S> {
    /// Wraps `validator`, whose signing key is `key`.
    pub fn new(validator: Arc<LocalValidator<S>>, key: Arc<SecretKey>) -> Self {
        Self { validator, key }
    }
}

/// Whether the honest validator refused for one of the rules a Byzantine one ignores.
fn refused_by_voting_rule<T>(answer: &Result<T, NodeError>) -> bool {
    matches!(answer, Err(NodeError::Chain(error)) if error.is_voting_rule())
}

impl<S: KeyValueStore> ValidatorNode for ByzantineVoter<S> {
    fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        async move {
            let honest = self.validator.handle_block_proposal(proposal.clone()).await;
            if !refused_by_voting_rule(&honest) {
                return honest;
            }
            let round = proposal.content.round;
            let block = proposal.content.block;
            let staged = self
                .validator
                .worker(&block.chain_id)
                .stage_block(block)
                .await?
                .into_inner();
            Ok(if round == Round::Fast {
                Vote::new(Hashed::new(staged), round, &self.key).lite()
            } else {
                let validated = ValidatedBlock {
                    block: staged.block,
                    outcome: staged.outcome,
                };
                Vote::new(Hashed::new(validated), round, &self.key).lite()
            })
        }
        .boxed()
    }

    fn handle_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        async move {
            let AnyCertificate::Validated(validated) = &certificate else {
                return self.validator.handle_certificate(certificate).await;
            };
            let (height, round) = (validated.value.block.height, validated.round);
            let confirmed = Hashed::new(validated.value.to_confirmed());
            let mut info = self
                .validator
                .handle_certificate(certificate.clone())
                .await?;
            // At the certificate's height, it confirms whether or not it voted later.
            let confirms = info
                .pending_vote
                .is_some_and(|vote| vote.value_hash == confirmed.hash() && vote.round == round);
            if info.next_block_height == height && !confirms {
                info.pending_vote = Some(Vote::new(confirmed, round, &self.key).lite());
            }
            Ok(info)
        }
        .boxed()
    }

    fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> BoxFuture<'_, Result<LiteVote, NodeError>> {
        async move {
            let honest = self.validator.handle_timeout_request(request.clone()).await;
            if !refused_by_voting_rule(&honest) {
                return honest;
            }
            let info = self
                .validator
                .handle_chain_info_query(ChainInfoQuery::new(request.chain_id))
                .await?;
            let value = Timeout {
                chain_id: request.chain_id,
                height: request.height,
                epoch: info.epoch,
            };
            Ok(Vote::new(Hashed::new(value), request.round, &self.key).lite())
        }
        .boxed()
    }

    fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> BoxFuture<'_, Result<ChainInfo, NodeError>> {
        self.validator.handle_chain_info_query(query)
    }

    fn download_blob(&self, blob_id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, NodeError>> {
        self.validator.download_blob(blob_id)
    }

    fn download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> BoxFuture<'_, Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError>> {
        self.validator.download_certificates(hashes)
    }
}
