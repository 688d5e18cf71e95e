//! Sending a proposal to every validator at once and turning a quorum of votes into a
//! certificate that a quorum of validators has committed.

use std::{future::Future, sync::Arc};

use futures::{
    channel::{mpsc, oneshot},
    future::{self, Either},
    FutureExt, StreamExt,
};
use skein_base::Committee;
use skein_chain::{
    AnyCertificate, BlockProposal, ChainError, ConfirmedBlock, ConfirmedBlockCertificate, Hashed,
    LiteVote, UncheckedCertificate, VoteAggregator,
};
use skein_views::KeyValueStore;

use super::{Client, ClientError, ValidatorEntry};
use crate::{node::NodeError, requests::ChainInfo};

impl<S: KeyValueStore> Client<S> {
    /// Gets a certificate for `value` (the locally executed outcome of the proposal's
    /// block). Every validator is asked in parallel by its own task; the certificate forms
    /// as soon as votes weighing a quorum agree, and this returns once validators weighing
    /// a quorum have committed it. Slower validators get the certificate in the background.
    pub(crate) async fn communicate_proposal(
        self: &Arc<Self>,
        proposal: BlockProposal,
        value: Hashed<ConfirmedBlock>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let (vote_sender, mut votes) = mpsc::unbounded();
        let (commit_sender, mut commits) = mpsc::unbounded();
        let (certificate_sender, certificate_receiver) =
            oneshot::channel::<UncheckedCertificate<ConfirmedBlock>>();
        let certificate_receiver = certificate_receiver.shared();
        // The committee of the block's epoch votes: the chain's own, even when the client
        // follows a newer one and the block migrates to it.
        let membership = self.membership_of(proposal.content.block.epoch).await?;
        for validator in &membership.validators {
            let client = self.clone();
            let validator = validator.clone();
            let proposal = proposal.clone();
            let vote_sender = vote_sender.clone();
            let commit_sender = commit_sender.clone();
            let certificate_receiver = certificate_receiver.clone();
            self.spawn_background(async move {
                // Once the certificate exists, a vote from this validator is moot: the
                // request in flight completes (cancelling it would cost the validator a
                // stream reset), but no new attempt is made, and it gets the certificate.
                let certified = certificate_receiver.clone();
                let vote = client
                    .propose_to_until(&validator, &proposal, || certified.peek().is_some())
                    .await;
                // The receiver is gone once a quorum voted: this vote is not needed.
                let _ = vote_sender.unbounded_send((validator.public_key, vote));
                drop(vote_sender);
                // Every validator gets the certificate, whether it voted or not.
                if let Ok(certificate) = certificate_receiver.await {
                    let result = client.upload_certificate_to(&validator, certificate).await;
                    let _ = commit_sender.unbounded_send((validator.public_key, result));
                }
            });
        }
        drop(vote_sender);
        drop(commit_sender);

        let mut aggregator =
            VoteAggregator::new(value, proposal.content.round, &membership.committee);
        let mut tally = Tally::new(&membership.committee);
        let candidate = self
            .collect_votes(&mut votes, &mut aggregator, &mut tally)
            .await?;
        // The validators' tasks are waiting for this; if they are all gone, nobody needs it.
        let _ = certificate_sender.send(candidate.clone());

        let mut committed_weight = 0;
        while committed_weight < membership.committee.quorum_threshold() {
            match commits.next().await {
                Some((validator, Ok(_))) => {
                    committed_weight += membership.committee.weight(&validator)
                }
                Some((validator, Err(error))) => {
                    tracing::debug!(?validator, %error, "certificate not committed");
                }
                // Every validator answered: lagging ones will be brought up to date by
                // whoever needs them next.
                None => break,
            }
        }
        if committed_weight >= membership.committee.validity_threshold() {
            // An honest validator checked it.
            return Ok(candidate.vouched_for_by_validators());
        }
        // Too few validators committed it to vouch for it: check it here.
        if let Ok(certificate) = candidate.clone().check(&membership.committee) {
            return Ok(certificate);
        }
        // Some votes were forged. Drop them, ask the validators that have not voted (their
        // tasks stopped asking once the certificate was out), check each answer, and hand
        // the corrected certificate to every validator.
        for validator in aggregator.drop_invalid_votes() {
            tally.fail(
                validator,
                NodeError::InvalidRequest("invalid vote signature".into()),
            );
        }
        if aggregator.certificate().is_none() {
            let failed: Vec<_> = tally
                .errors
                .iter()
                .map(|(validator, _)| *validator)
                .collect();
            let voted: Vec<_> = aggregator.voters().copied().chain(failed).collect();
            let asked = membership
                .validators
                .iter()
                .filter(|validator| !voted.contains(&validator.public_key));
            let answers = futures::future::join_all(asked.map(|validator| async {
                (
                    validator.public_key,
                    self.propose_to(validator, &proposal).await,
                )
            }))
            .await;
            for (validator, answer) in answers {
                let outcome = answer.and_then(|vote| {
                    vote.check().map_err(|error| {
                        NodeError::InvalidRequest(format!("invalid vote: {error}"))
                    })?;
                    aggregator.add_vote(vote).map_err(|error| {
                        NodeError::InvalidRequest(format!("unusable vote: {error}"))
                    })
                });
                if let Err(error) = outcome {
                    tally.fail(validator, error);
                }
            }
        }
        let candidate = aggregator.certificate().ok_or_else(|| tally.no_quorum())?;
        // Every vote added since was checked, and the forged ones are gone.
        let certificate = candidate
            .check(&membership.committee)
            .map_err(|_| tally.no_quorum())?;
        futures::future::join_all(membership.validators.iter().map(|validator| {
            self.upload_certificate_to(validator, certificate.as_unchecked().clone())
        }))
        .await;
        Ok(certificate)
    }

    /// Reads votes until they weigh a quorum, returning the (unchecked) certificate. Fails
    /// once the failures make a quorum impossible.
    async fn collect_votes(
        &self,
        votes: &mut mpsc::UnboundedReceiver<(
            skein_base::ValidatorPublicKey,
            Result<LiteVote, NodeError>,
        )>,
        aggregator: &mut VoteAggregator<'_, ConfirmedBlock>,
        tally: &mut Tally<'_>,
    ) -> Result<UncheckedCertificate<ConfirmedBlock>, ClientError> {
        loop {
            let Some((validator, result)) = votes.next().await else {
                return Err(tally.no_quorum());
            };
            let error = match result {
                Ok(vote) => match aggregator.add_vote(vote) {
                    Ok(Some(candidate)) => return Ok(candidate),
                    Ok(None) => continue,
                    Err(error) => NodeError::InvalidRequest(format!("unusable vote: {error}")),
                },
                Err(error) => error,
            };
            tally.fail(validator, error);
            if tally.quorum_out_of_reach() {
                return Err(tally.no_quorum());
            }
        }
    }

    /// Asks one validator for a vote, bringing it up to date when it says it lacks blocks
    /// or messages.
    pub(crate) async fn propose_to(
        &self,
        validator: &ValidatorEntry,
        proposal: &BlockProposal,
    ) -> Result<LiteVote, NodeError> {
        self.propose_to_until(validator, proposal, || false).await
    }

    /// [`Client::propose_to`], making no new attempt once `moot` says the vote is no longer
    /// needed.
    pub(crate) async fn propose_to_until(
        &self,
        validator: &ValidatorEntry,
        proposal: &BlockProposal,
        moot: impl Fn() -> bool,
    ) -> Result<LiteVote, NodeError> {
        let height = proposal.content.block.height;
        let mut attempts = 0;
        loop {
            let error = match self
                .ask(
                    validator,
                    validator.node.handle_block_proposal(proposal.clone()),
                )
                .await
            {
                Ok(vote) => return Ok(vote),
                Err(error) => error,
            };
            attempts += 1;
            if attempts > self.config.sync_attempts || moot() {
                return Err(error);
            }
            match &error {
                NodeError::Chain(ChainError::MissingEarlierBlocks { chain_id, .. })
                | NodeError::Chain(ChainError::InactiveChain(chain_id)) => {
                    self.sync_chain_at(validator, *chain_id, height).await?;
                }
                error if lacks_admin_blocks(error) => self.sync_admin_chain_to(validator).await?,
                NodeError::Chain(ChainError::MissingCrossChainUpdate {
                    origin, height, ..
                }) => {
                    let target = height.try_add_one().map_err(ChainError::from)?;
                    self.sync_chain_at(validator, *origin, target).await?;
                    // Delivery between the validator's shards may take a moment.
                    self.clock.sleep(self.config.retry_delay).await;
                }
                _ => return Err(error),
            }
        }
    }

    /// Uploads a certificate to one validator, first uploading what it lacks.
    pub(crate) async fn upload_certificate_to(
        &self,
        validator: &ValidatorEntry,
        certificate: impl Into<AnyCertificate>,
    ) -> Result<ChainInfo, NodeError> {
        let certificate = certificate.into();
        let chain_id = certificate.chain_id();
        let height = certificate.height();
        let mut attempts = 0;
        loop {
            let error = match self
                .ask(
                    validator,
                    validator.node.handle_certificate(certificate.clone()),
                )
                .await
            {
                Ok(info) => return Ok(info),
                Err(error) => error,
            };
            attempts += 1;
            if attempts > self.config.sync_attempts {
                return Err(error);
            }
            match &error {
                NodeError::Chain(ChainError::MissingEarlierBlocks { .. })
                | NodeError::Chain(ChainError::InactiveChain(_)) => {
                    self.sync_chain_at(validator, chain_id, height).await?;
                }
                error if lacks_admin_blocks(error) => self.sync_admin_chain_to(validator).await?,
                _ => return Err(error),
            }
        }
    }

    /// Uploads to `validator` the admin chain's blocks the local node holds: what a
    /// validator lacks when it does not know an epoch's committee (one that just joined).
    pub(super) async fn sync_admin_chain_to(
        &self,
        validator: &ValidatorEntry,
    ) -> Result<(), NodeError> {
        let admin_chain = self.admin_chain;
        let info = self
            .local
            .handle_chain_info_query(crate::requests::ChainInfoQuery::new(admin_chain))
            .await?;
        self.sync_chain_at(validator, admin_chain, info.next_block_height)
            .await
    }

    /// Runs a request, failing with [`NodeError::Timeout`] if it takes longer than the
    /// configured timeout.
    pub(crate) async fn with_timeout<T>(
        &self,
        request: impl Future<Output = Result<T, NodeError>>,
    ) -> Result<T, NodeError> {
        let sleep = self.clock.sleep(self.config.request_timeout);
        match future::select(Box::pin(request), sleep).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => Err(NodeError::Timeout),
        }
    }
}

/// The validators that failed to vote, and their weight in the committee the votes are
/// counted against.
pub(super) struct Tally<'a> {
    committee: &'a Committee,
    errors: Vec<(skein_base::ValidatorPublicKey, NodeError)>,
    failed_weight: u64,
}

impl<'a> Tally<'a> {
    pub(super) fn new(committee: &'a Committee) -> Self {
        Self {
            committee,
            errors: Vec::new(),
            failed_weight: 0,
        }
    }

    pub(super) fn fail(&mut self, validator: skein_base::ValidatorPublicKey, error: NodeError) {
        tracing::debug!(?validator, %error, "no vote");
        self.failed_weight += self.committee.weight(&validator);
        self.errors.push((validator, error));
    }

    /// Whether the failures weigh more than the committee can lose and still form a
    /// quorum.
    pub(super) fn quorum_out_of_reach(&self) -> bool {
        self.failed_weight > self.committee.total_votes() - self.committee.quorum_threshold()
    }

    fn no_quorum(&mut self) -> ClientError {
        self.no_quorum_for("voted for the block")
    }

    pub(super) fn no_quorum_for(&mut self, action: &'static str) -> ClientError {
        ClientError::NoQuorum {
            action,
            errors: std::mem::take(&mut self.errors),
        }
    }
}

/// Whether a validator refused for lack of the admin chain's latest blocks: it does not know
/// the committee of an epoch (it has not committed the block that created it), or not that
/// the chain's epoch was revoked (so it expects a block of that epoch).
pub(super) fn lacks_admin_blocks(error: &NodeError) -> bool {
    match error {
        NodeError::Chain(error) => {
            lacks_committee(error) || matches!(error, ChainError::EpochStillLive { .. })
        }
        _ => false,
    }
}

/// Whether a node refused because it does not know the committee of an epoch.
pub(super) fn lacks_committee(error: &ChainError) -> bool {
    matches!(
        error,
        ChainError::UnknownEpoch(_)
            | ChainError::Execution {
                error: skein_execution::ExecutionError::CommitteeNotPublished(_),
                ..
            }
    )
}
