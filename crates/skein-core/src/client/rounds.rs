//! Getting a block confirmed on a chain without a fast round: a chain shared by several
//! owners, who may propose conflicting blocks at the same height.
//!
//! Each attempt at a height asks every validator where it stands, then acts on the most
//! advanced proof it hears of (checked against the committee, so a lying validator cannot
//! steer it): a block already confirmed there ends the attempt; a validated block in the
//! current round is confirmed; otherwise the client proposes in the current round if it may
//! — re-proposing the highest locked block, if there is one, instead of its own — and takes
//! the block through both phases. When the round makes no progress, it waits for the
//! round's deadline, gathers a timeout certificate, and tries again in the next round.
//!
//! The caller learns which block was confirmed at the height. If it was another owner's,
//! the caller builds its block again on top and retries, so no operation it was asked to
//! run is lost.

use std::sync::Arc;

use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use skein_base::{
    crypto::BcsHashable, AccountOwner, BlockHeight, ChainId, Round, TimeDelta, ValidatorPublicKey,
};
use skein_chain::{
    round_leader, Certificate, CertificateValue, ChainError, ConfirmedBlock,
    ConfirmedBlockCertificate, Hashed, Leader, LiteVote, Timeout, UncheckedCertificate,
    ValidatedBlock, VoteAggregator,
};
use skein_execution::ChainOwnership;
use skein_views::KeyValueStore;

use super::{communicate::Tally, Client, ClientError, Membership, ValidatorEntry};
use crate::{
    node::NodeError,
    requests::{ChainInfo, ChainInfoQuery, TimeoutRequest},
};

/// Rounds tried at one height before giving up.
const ROUNDS_PER_HEIGHT_MAX: usize = 32;

/// Failed attempts in a row to time a round out before giving up.
const TIMEOUT_FAILURES_MAX: usize = 2;

/// What the validators say about a height.
struct HeightStatus {
    /// Some validator holds a block at this height: it is confirmed.
    confirmed: bool,
    /// The highest validated certificate reported at the height, checked.
    locked: Option<Certificate<ValidatedBlock>>,
    /// The highest timeout certificate reported at the height, checked.
    timeout: Option<Certificate<Timeout>>,
    /// Each answering validator's round and its deadline.
    rounds: Vec<(ValidatorPublicKey, Round, Option<skein_base::Timestamp>)>,
    /// The weight of the validators that answered.
    answered_weight: u64,
    /// Why the others did not.
    errors: Vec<(ValidatorPublicKey, NodeError)>,
}

/// How long a proposer keeps at a height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Patience {
    /// Through round after round, timing stalled ones out: an owner with work to do.
    Rounds,
    /// Only the current round, and only if the proposer may propose in it: a validator
    /// taking its turn on a public chain, which must not sit out other validators' rounds.
    CurrentRound,
}

impl<S: KeyValueStore> Client<S> {
    /// Gets some block confirmed at the height of `ours` and returns its certificate: ours,
    /// or another owner's that won the height. `owner` is who the client proposes as.
    pub(crate) async fn confirm_at_height(
        self: &Arc<Self>,
        ours: &Hashed<ConfirmedBlock>,
        owner: AccountOwner,
        key: &skein_base::crypto::SecretKey,
        patience: Patience,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let chain_id = ours.block.chain_id;
        let height = ours.block.height;
        let info = self
            .local
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await?;
        let ownership = info.ownership;
        // The committee of the block's epoch decides the height: it draws the leaders,
        // locks, times rounds out and certifies.
        let members = self.membership_of(ours.block.epoch).await?;
        let mut failed_timeouts = 0;
        for _ in 0..ROUNDS_PER_HEIGHT_MAX {
            let status = self.height_status(&members, chain_id, height).await;
            if status.confirmed {
                return self.confirmed_at(chain_id, height).await;
            }
            if status.answered_weight < members.committee.quorum_threshold() {
                return Err(ClientError::NoQuorum {
                    action: "answered",
                    errors: status.errors,
                });
            }
            let round = current_round(&ownership, &status);
            self.bring_to_round(&members, round, &status).await;

            // A block validated in this round only needs its confirm votes.
            if let Some(locked) = status
                .locked
                .as_ref()
                .filter(|locked| locked.round() == round)
            {
                if let Ok(certificate) = self.confirm_validated(locked).await {
                    return self.finish(certificate).await;
                }
            }
            let leader = round_leader(chain_id, height, round, &ownership, &members.committee);
            if may_propose(leader, &ownership, owner, key) {
                // A locked block is re-proposed, with its certificate to unlock others.
                let (proposal, validated) = match &status.locked {
                    Some(locked) if locked.round() < round => {
                        let value = locked.as_unchecked().value.clone();
                        let proposal =
                            sign(&value.block, round, key).with_lock(locked.as_unchecked().clone());
                        (proposal, value)
                    }
                    _ => (
                        sign(&ours.block, round, key),
                        Hashed::new(ours.to_validated()),
                    ),
                };
                match self.validate_and_confirm(&proposal, validated, round).await {
                    Ok(certificate) => return self.finish(certificate).await,
                    Err(error) => {
                        tracing::debug!(%chain_id, %height, ?round, %error, "round failed")
                    }
                }
            }
            if patience == Patience::CurrentRound {
                return Err(ClientError::NoProgress {
                    chain_id,
                    height,
                    rounds: 1,
                });
            }
            // The round stalled (or belongs to someone else): time it out once it may be.
            self.wait_for_deadline(&ownership, round, &status).await;
            match self
                .time_out_round_of(&members, chain_id, height, round)
                .await
            {
                Ok(()) => failed_timeouts = 0,
                // Validators that cannot agree even on a timeout are unreachable or
                // behind: give up rather than wait round after round.
                Err(error) if failed_timeouts >= TIMEOUT_FAILURES_MAX => return Err(error),
                Err(error) => {
                    failed_timeouts += 1;
                    tracing::debug!(%chain_id, %height, ?round, %error, "no timeout");
                }
            }
        }
        Err(ClientError::NoProgress {
            chain_id,
            height,
            rounds: ROUNDS_PER_HEIGHT_MAX,
        })
    }

    /// Asks the members of the committee deciding the height where they stand, keeping
    /// only what proves itself.
    async fn height_status(
        &self,
        members: &Membership,
        chain_id: ChainId,
        height: BlockHeight,
    ) -> HeightStatus {
        let answers = self
            .ask_quorum_of(members, |validator| {
                let node = validator.node.clone();
                async move {
                    node.handle_chain_info_query(ChainInfoQuery::new(chain_id))
                        .await
                }
            })
            .await;
        let mut status = HeightStatus {
            confirmed: false,
            locked: None,
            timeout: None,
            rounds: Vec::new(),
            answered_weight: 0,
            errors: Vec::new(),
        };
        for (validator, info) in answers {
            let info = match info {
                Ok(info) => info,
                Err(error) => {
                    status.errors.push((validator, error));
                    continue;
                }
            };
            status.answered_weight += members.committee.weight(&validator);
            if info.next_block_height > height {
                status.confirmed = true;
                continue;
            }
            if info.next_block_height < height {
                continue;
            }
            status.rounds.push((
                validator,
                info.manager.current_round,
                info.manager.round_deadline,
            ));
            let ChainInfo { manager, .. } = info;
            if let Some(locked) = manager.locked {
                if status
                    .locked
                    .as_ref()
                    .is_none_or(|best| locked.round > best.round())
                {
                    // A forged higher lock must not erase a genuine lower one.
                    if let Some(locked) = self.checked(members, *locked, height).await {
                        status.locked = Some(locked);
                    }
                }
            }
            if let Some(timeout) = manager.timeout {
                if status
                    .timeout
                    .as_ref()
                    .is_none_or(|best| timeout.round > best.round())
                {
                    if let Some(timeout) = self.checked(members, *timeout, height).await {
                        status.timeout = Some(timeout);
                    }
                }
            }
        }
        status
    }

    /// A certificate reported by a validator, if it is for `height` and holds: signed by
    /// `members`, the committee deciding the height, or by the committee of an older epoch
    /// it names (the chain's own, which decided the height's earlier rounds before it was
    /// revoked: the round numbers carry on across the change).
    async fn checked<V: CertificateValue>(
        &self,
        members: &Membership,
        certificate: UncheckedCertificate<V>,
        height: BlockHeight,
    ) -> Option<Certificate<V>> {
        if certificate.value.height() != height {
            return None;
        }
        let epoch = certificate.value.epoch();
        if epoch == members.epoch {
            return certificate.check(&members.committee).ok();
        }
        if epoch > members.epoch {
            return None;
        }
        let committee = self.committee_of(epoch).await?;
        certificate.check(&committee).ok()
    }

    /// Sends the timeout certificate and the lock to the validators in an earlier round,
    /// so they all vote in `round`.
    async fn bring_to_round(&self, members: &Membership, round: Round, status: &HeightStatus) {
        // A straggler that did not even answer where it stands is not waited for.
        let stragglers = self.stragglers.lock().clone();
        let behind: Vec<&ValidatorEntry> = members
            .validators
            .iter()
            .filter(|validator| !stragglers.contains(&validator.public_key))
            .filter(|validator| {
                status
                    .rounds
                    .iter()
                    .find(|(key, _, _)| *key == validator.public_key)
                    .is_none_or(|(_, validator_round, _)| *validator_round < round)
            })
            .collect();
        if behind.is_empty() {
            return;
        }
        futures::future::join_all(behind.into_iter().map(|validator| async move {
            if let Some(timeout) = &status.timeout {
                let _ = self
                    .upload_certificate_to(validator, timeout.as_unchecked().clone())
                    .await;
            }
            if let Some(locked) = &status.locked {
                let _ = self
                    .upload_certificate_to(validator, locked.as_unchecked().clone())
                    .await;
            }
        }))
        .await;
    }

    /// Both phases for a proposal: a quorum of validate votes, then of confirm votes.
    async fn validate_and_confirm(
        &self,
        proposal: &skein_chain::BlockProposal,
        value: Hashed<ValidatedBlock>,
        round: Round,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let members = self.membership_of(value.block.epoch).await?;
        let validated = self
            .gather(
                &members,
                value,
                round,
                "voted to validate the block",
                |validator| {
                    let validator = validator.clone();
                    async move { self.propose_to(&validator, proposal).await }.boxed()
                },
            )
            .await?;
        self.confirm_validated(&validated).await
    }

    /// Sends a validated certificate to every validator and gathers their confirm votes.
    async fn confirm_validated(
        &self,
        validated: &Certificate<ValidatedBlock>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let round = validated.round();
        let confirmed = Hashed::new(validated.value().to_confirmed());
        let hash = confirmed.hash();
        let members = self.membership_of(confirmed.block.epoch).await?;
        self.gather(
            &members,
            confirmed,
            round,
            "voted to confirm the block",
            |validator| {
                let validator = validator.clone();
                async move {
                    let info = self
                        .upload_certificate_to(&validator, validated.as_unchecked().clone())
                        .await?;
                    match info.pending_vote {
                        Some(vote) if vote.value_hash == hash && vote.round == round => Ok(vote),
                        _ => Err(NodeError::Chain(ChainError::WrongRound {
                            expected: info.manager.current_round,
                            found: round,
                        })),
                    }
                }
                .boxed()
            },
        )
        .await
    }

    /// Hands every validator behind at the chain's next height the highest timeout
    /// certificate and lock any of them reports, so they all reach the current round.
    pub(crate) async fn bring_validators_to_current_round(
        &self,
        chain_id: ChainId,
    ) -> Result<(), ClientError> {
        let (info, members) = self.deciding_members(chain_id).await?;
        let status = self
            .height_status(&members, chain_id, info.next_block_height)
            .await;
        let round = current_round(&info.ownership, &status);
        self.bring_to_round(&members, round, &status).await;
        Ok(())
    }

    /// Gathers a timeout certificate for `round` at the chain's `height` from the committee
    /// deciding it (as the local node knows the chain) and hands it to its members.
    pub(crate) async fn time_out_round(
        &self,
        chain_id: ChainId,
        height: BlockHeight,
        round: Round,
    ) -> Result<(), ClientError> {
        let (_, members) = self.deciding_members(chain_id).await?;
        self.time_out_round_of(&members, chain_id, height, round)
            .await
    }

    /// The chain as the local node knows it, and the members of the committee deciding its
    /// next height.
    async fn deciding_members(
        &self,
        chain_id: ChainId,
    ) -> Result<(ChainInfo, Arc<Membership>), ClientError> {
        let info = self
            .local
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await?;
        let members = self
            .membership_of(self.deciding_epoch(info.epoch).await?)
            .await?;
        Ok((info, members))
    }

    /// Gathers a timeout certificate for `round` from `members`, the committee deciding the
    /// height, and hands it to them, so they all move on to the next round.
    async fn time_out_round_of(
        &self,
        members: &Membership,
        chain_id: ChainId,
        height: BlockHeight,
        round: Round,
    ) -> Result<(), ClientError> {
        let certificate = self
            .time_out(members, chain_id, height, round)
            .await?
            .into_unchecked();
        // Validators weighing a quorum are enough to move the round on.
        self.ask_quorum_of(members, |validator| {
            let (validator, certificate) = (validator.clone(), certificate.clone());
            async move { self.upload_certificate_to(&validator, certificate).await }
        })
        .await;
        Ok(())
    }

    /// Gathers timeout votes for `round` from `members`.
    async fn time_out(
        &self,
        members: &Membership,
        chain_id: ChainId,
        height: BlockHeight,
        round: Round,
    ) -> Result<Certificate<Timeout>, ClientError> {
        let epoch = members.epoch;
        let value = Hashed::new(Timeout {
            chain_id,
            height,
            epoch,
        });
        let request = TimeoutRequest {
            chain_id,
            height,
            round,
            epoch,
        };
        self.gather(
            members,
            value,
            round,
            "voted to time the round out",
            |validator| {
                let (validator, request) = (validator.clone(), request.clone());
                async move { self.request_timeout_from(&validator, request).await }.boxed()
            },
        )
        .await
    }

    /// Asks one validator for a timeout vote, bringing it up to date first if it lacks
    /// blocks.
    async fn request_timeout_from(
        &self,
        validator: &ValidatorEntry,
        request: TimeoutRequest,
    ) -> Result<LiteVote, NodeError> {
        let mut attempts = 0;
        loop {
            let error = match self
                .ask(
                    validator,
                    validator.node.handle_timeout_request(request.clone()),
                )
                .await
            {
                Ok(vote) => return Ok(vote),
                Err(error) => error,
            };
            attempts += 1;
            match &error {
                NodeError::Chain(ChainError::MissingEarlierBlocks { .. })
                | NodeError::Chain(ChainError::InactiveChain(_))
                    if attempts <= self.config.sync_attempts =>
                {
                    self.sync_chain_at(validator, request.chain_id, request.height)
                        .await?;
                }
                // It has not seen the chain's epoch revoked, or not the newest committee.
                NodeError::Chain(ChainError::WrongEpoch { expected, found })
                    if expected < found && attempts <= self.config.sync_attempts =>
                {
                    self.sync_admin_chain_to(validator).await?;
                }
                _ => return Err(error),
            }
        }
    }

    /// Sleeps until validators will time `round` out: the latest deadline among those in
    /// the round, or a whole round's duration from now if none reported one.
    async fn wait_for_deadline(
        &self,
        ownership: &ChainOwnership,
        round: Round,
        status: &HeightStatus,
    ) {
        let now = self.clock.now();
        let deadline = status
            .rounds
            .iter()
            .filter(|(_, validator_round, _)| *validator_round == round)
            .filter_map(|(_, _, deadline)| *deadline)
            .max()
            .or_else(|| {
                ownership
                    .round_duration(round)
                    .map(|duration| now.saturating_add(duration))
            });
        let Some(deadline) = deadline else { return };
        let wait = deadline.saturating_since(now).saturating_add(TIMEOUT_SLACK);
        self.clock.sleep(wait).await;
    }

    /// Asks every validator at once with `ask` and collects their votes for `value` in
    /// `round` until they weigh a quorum. Forged votes are dropped when the certificate
    /// fails its check, and more answers are awaited.
    async fn gather<'a, V>(
        &'a self,
        membership: &Membership,
        value: Hashed<V>,
        round: Round,
        action: &'static str,
        ask: impl Fn(&ValidatorEntry) -> BoxFuture<'a, Result<LiteVote, NodeError>>,
    ) -> Result<Certificate<V>, ClientError>
    where
        V: CertificateValue + BcsHashable + Clone,
    {
        let mut aggregator = VoteAggregator::new(value, round, &membership.committee);
        let mut tally = Tally::new(&membership.committee);
        let mut answers: FuturesUnordered<_> = membership
            .validators
            .iter()
            .map(|validator| {
                let answer = ask(validator);
                let validator = validator.clone();
                async move { (validator.public_key, self.ask(&validator, answer).await) }
            })
            .collect();
        while let Some((validator, answer)) = answers.next().await {
            let added = answer.and_then(|vote| {
                if vote.validator != validator {
                    return Err(NodeError::InvalidRequest(
                        "vote from another validator".into(),
                    ));
                }
                aggregator
                    .add_vote(vote)
                    .map_err(|error| NodeError::InvalidRequest(format!("unusable vote: {error}")))
            });
            match added {
                Ok(Some(candidate)) => match candidate.check(&membership.committee) {
                    Ok(certificate) => return Ok(certificate),
                    Err(_) => {
                        for forger in aggregator.drop_invalid_votes() {
                            tally.fail(
                                forger,
                                NodeError::InvalidRequest("invalid vote signature".into()),
                            );
                        }
                    }
                },
                Ok(None) => {}
                Err(error) => tally.fail(validator, error),
            }
            if tally.quorum_out_of_reach() {
                break;
            }
        }
        Err(tally.no_quorum_for(action))
    }

    /// Commits a confirmed certificate here and at every validator.
    async fn finish(
        self: &Arc<Self>,
        certificate: ConfirmedBlockCertificate,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.upload_to_quorum(certificate.as_unchecked().clone().into())
            .await;
        let (_, effects) = self.local.handle_checked_certificate(&certificate).await?;
        self.deliver_locally(effects).await?;
        Ok(certificate)
    }

    /// The certificate of the block validators confirmed at `height`, downloaded into the
    /// local node.
    async fn confirmed_at(
        &self,
        chain_id: ChainId,
        height: BlockHeight,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.synchronize_from_validators(chain_id).await?;
        let next = height
            .try_add_one()
            .map_err(ChainError::from)
            .map_err(crate::worker::WorkerError::from)?;
        let mut certificates = self
            .local
            .certificates_in_range(chain_id, height, next)
            .await?;
        match certificates.pop() {
            Some(certificate) => Ok(certificate.trusted_from_own_storage()),
            None => Err(ClientError::NoProgress {
                chain_id,
                height,
                rounds: 0,
            }),
        }
    }
}

/// How long after a reported deadline the client asks for timeout votes, for clocks that
/// differ a little.
pub(crate) const TIMEOUT_SLACK: TimeDelta = TimeDelta::from_millis(20);

/// The round to act in: after the highest timeout certificate, and no earlier than the
/// highest lock.
fn current_round(ownership: &ChainOwnership, status: &HeightStatus) -> Round {
    let mut round = ownership.first_round();
    if let Some(next) = status
        .timeout
        .as_ref()
        .and_then(|timeout| ownership.next_round(timeout.round()))
    {
        round = round.max(next);
    }
    if let Some(locked) = &status.locked {
        round = round.max(locked.round());
    }
    round
}

/// Signs `block` for `round`.
fn sign(
    block: &skein_chain::ProposedBlock,
    round: Round,
    key: &skein_base::crypto::SecretKey,
) -> skein_chain::BlockProposal {
    skein_chain::BlockProposal::new(
        skein_chain::ProposalContent {
            block: block.clone(),
            round,
        },
        key,
    )
}

/// Whether `owner`, signing with `key`, is who the round's `leader` lets propose.
fn may_propose(
    leader: Option<Leader>,
    ownership: &ChainOwnership,
    owner: AccountOwner,
    key: &skein_base::crypto::SecretKey,
) -> bool {
    match leader {
        Some(Leader::Owners) => ownership.may_propose_in_multi_leader_round(&owner),
        Some(Leader::Owner(leader)) => leader == owner,
        Some(Leader::SuperOwners) => ownership.super_owners.contains(&owner),
        Some(Leader::Validator(leader)) => leader == ValidatorPublicKey::from(&key.public()),
        None => false,
    }
}
