//! Bringing a validator (or the local node) up to date with the certificates it lacks:
//! a chain's own blocks, the ancestors that opened it, and the senders of its messages.

use futures::{future::BoxFuture, FutureExt};
use skein_base::{limits, BlockHeight, ChainDescription, ChainId};
use skein_chain::{ChainError, ConfirmedBlock, UncheckedCertificate};
use skein_views::KeyValueStore;

use super::{communicate::lacks_committee, Client, ClientError, ValidatorEntry};
use crate::{
    node::NodeError,
    requests::{ChainInfo, ChainInfoQuery},
    worker::WorkerError,
};

impl<S: KeyValueStore> Client<S> {
    /// Makes `validator` hold chain `chain_id` up to (not including) height `target`: if it
    /// does not know the chain, first the parent's blocks up to the one that opened it
    /// (recursively), then the chain's own missing blocks.
    pub(crate) fn sync_chain_at<'a>(
        &'a self,
        validator: &'a ValidatorEntry,
        chain_id: ChainId,
        target: BlockHeight,
    ) -> BoxFuture<'a, Result<(), NodeError>> {
        async move {
            let mut info = self
                .ask(
                    validator,
                    validator
                        .node
                        .handle_chain_info_query(ChainInfoQuery::new(chain_id)),
                )
                .await?;
            if !info.is_active() {
                let Some(ChainDescription::Child { parent, height, .. }) =
                    self.find_description(chain_id).await
                else {
                    return Err(ChainError::InactiveChain(chain_id).into());
                };
                let after_opening = height.try_add_one().map_err(ChainError::from)?;
                self.sync_chain_at(validator, parent, after_opening).await?;
                // The opening message travels between the validator's shards.
                for _ in 0..self.config.sync_attempts {
                    info = self
                        .ask(
                            validator,
                            validator
                                .node
                                .handle_chain_info_query(ChainInfoQuery::new(chain_id)),
                        )
                        .await?;
                    if info.is_active() {
                        break;
                    }
                    self.clock.sleep(self.config.retry_delay).await;
                }
                if !info.is_active() {
                    return Err(ChainError::InactiveChain(chain_id).into());
                }
            }
            if info.next_block_height >= target {
                return Ok(());
            }
            let certificates = self
                .certificates(chain_id, info.next_block_height, target)
                .await?;
            // A validator that lacks the admin chain's block creating a certificate's
            // epoch (one that was down, or joined later) gets that first.
            for certificate in certificates {
                self.upload_certificate_to(validator, certificate).await?;
            }
            Ok(())
        }
        .boxed()
    }

    /// Brings every validator up to the local node's height of `chain_id` (with the
    /// chain's ancestors), so that none lags behind. Returns the validators that could not
    /// be updated, with why.
    pub async fn update_validators(
        &self,
        chain_id: ChainId,
    ) -> Result<Vec<(skein_base::ValidatorPublicKey, NodeError)>, ClientError> {
        let local = self
            .local
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await?;
        let membership = self.membership();
        let results =
            futures::future::join_all(membership.validators.iter().map(|validator| async move {
                let result = self
                    .sync_chain_at(validator, chain_id, local.next_block_height)
                    .await;
                (validator.public_key, result)
            }))
            .await;
        Ok(results
            .into_iter()
            .filter_map(|(validator, result)| result.err().map(|error| (validator, error)))
            .collect())
    }

    /// The certificates of `chain_id` at heights `[from, to)`: from the local node if it has
    /// them all, otherwise downloaded from the validators and checked against the committee
    /// of their epoch. Stops early, with the checked ones, at a certificate of an epoch the
    /// client learns only by committing them.
    pub(crate) async fn certificates(
        &self,
        chain_id: ChainId,
        from: BlockHeight,
        to: BlockHeight,
    ) -> Result<Vec<UncheckedCertificate<ConfirmedBlock>>, NodeError> {
        let wanted = usize::try_from(to.0.saturating_sub(from.0)).unwrap_or(usize::MAX);
        let local = self.local.certificates_in_range(chain_id, from, to).await?;
        if local.len() == wanted {
            return Ok(local);
        }
        let mut certificates = local;
        let mut next = BlockHeight(from.0 + certificates.len() as u64);
        for validator in &self.validators_by_preference() {
            while next < to {
                let query = ChainInfoQuery {
                    request_certificates_from: Some(next),
                    ..ChainInfoQuery::new(chain_id)
                };
                let Ok(info) = self
                    .ask(validator, validator.node.handle_chain_info_query(query))
                    .await
                else {
                    break;
                };
                let before = certificates.len();
                for certificate in info.requested_certificates {
                    let block = &certificate.value.block;
                    if block.chain_id != chain_id || block.height != next || next >= to {
                        break;
                    }
                    let epoch = block.epoch;
                    let mut committee = self.committee_of(epoch).await;
                    if committee.is_none() {
                        // A committee the admin chain created after what the local node
                        // holds of it. What is in hand is checked: committing it first
                        // may be what teaches the epoch (on the admin chain itself).
                        if !certificates.is_empty() {
                            return Ok(certificates);
                        }
                        if chain_id != self.admin_chain() {
                            if let Err(error) = self.follow_admin_chain().await {
                                tracing::warn!(%error, "could not follow the admin chain");
                            }
                            committee = self.committee_of(epoch).await;
                        }
                    }
                    let valid = match committee {
                        Some(committee) => certificate.clone().check(&committee).is_ok(),
                        None => false,
                    };
                    if !valid {
                        tracing::warn!(?validator.public_key, "served an invalid certificate");
                        break;
                    }
                    certificates.push(certificate);
                    next = BlockHeight(next.0 + 1);
                }
                if certificates.len() == before {
                    break;
                }
            }
            if next >= to {
                return Ok(certificates);
            }
        }
        Err(NodeError::Unreachable(format!(
            "no validator could provide the blocks of chain {chain_id} from height {next} to {to}"
        )))
    }

    /// How a chain was created, from the local node or else from any validator (checked
    /// against the chain id, which is its hash).
    pub(crate) async fn find_description(&self, chain_id: ChainId) -> Option<ChainDescription> {
        if let Ok(info) = self
            .local
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await
        {
            if let Some(description) = info.description {
                return Some(description);
            }
        }
        for validator in &self.validators_by_preference() {
            if let Ok(info) = self
                .ask(
                    validator,
                    validator
                        .node
                        .handle_chain_info_query(ChainInfoQuery::new(chain_id)),
                )
                .await
            {
                if let Some(description) = info.description.filter(|d| d.id() == chain_id) {
                    return Some(description);
                }
            }
        }
        None
    }

    /// Brings the local node's copy of `chain_id` up to the highest height any validator
    /// reports, downloading and checking the missing certificates. Returns the local state.
    pub(crate) fn synchronize_from_validators(
        &self,
        chain_id: ChainId,
    ) -> BoxFuture<'_, Result<ChainInfo, ClientError>> {
        async move {
            let local = self.learn_chain(chain_id).await?;
            self.catch_up(chain_id, local).await
        }
        .boxed()
    }

    /// The local node's state of `chain_id`, first creating the chain there if it is new,
    /// by replaying the parent's blocks (checked) up to the one that opened it: the opening
    /// message and everything the parent sent later then arrive in order, whether or not
    /// the chain has consumed them already.
    async fn learn_chain(&self, chain_id: ChainId) -> Result<ChainInfo, ClientError> {
        let query = || {
            self.local
                .handle_chain_info_query(ChainInfoQuery::new(chain_id))
        };
        let local = query().await?;
        if local.is_active() {
            return Ok(local);
        }
        if let Some(ChainDescription::Child { parent, .. }) = self.find_description(chain_id).await
        {
            self.synchronize_from_validators(parent).await?;
        }
        let local = query().await?;
        if local.is_active() {
            return Ok(local);
        }
        Err(ClientError::UnknownChain(chain_id))
    }

    /// Downloads, checks and executes the blocks of `chain_id` that validators have beyond
    /// `local`.
    async fn catch_up(
        &self,
        chain_id: ChainId,
        local: ChainInfo,
    ) -> Result<ChainInfo, ClientError> {
        // A block is confirmed once validators weighing a quorum hold it, and any two quorums
        // share an honest validator: the first quorum to answer knows the latest one.
        let answers = self
            .ask_quorum(|validator| {
                let node = validator.node.clone();
                async move {
                    node.handle_chain_info_query(ChainInfoQuery::new(chain_id))
                        .await
                }
            })
            .await;
        let highest = answers
            .into_iter()
            .filter_map(|(_, answer)| answer.ok())
            .map(|info| info.next_block_height)
            .fold(local.next_block_height, BlockHeight::max);
        let mut next = local.next_block_height;
        while next < highest {
            let end = BlockHeight(
                highest.0.min(
                    next.0
                        .saturating_add(limits::CERTIFICATES_PER_QUERY_MAX as u64),
                ),
            );
            let certificates = match self.certificates(chain_id, next, end).await {
                Ok(certificates) => certificates,
                Err(error) => {
                    tracing::warn!(%error, "could not download missing blocks");
                    break;
                }
            };
            for certificate in certificates {
                let handle =
                    || self.with_blobs(|| self.local.handle_certificate(certificate.clone()));
                let (info, effects) = match handle().await {
                    // The block is of (or migrates to) an epoch the local node has not
                    // learnt yet: it learns the admin chain first.
                    Err(WorkerError::Chain(error))
                        if chain_id != self.admin_chain && lacks_committee(&error) =>
                    {
                        self.follow_admin_chain().await?;
                        handle().await?
                    }
                    result => result?,
                };
                self.deliver_locally(effects).await?;
                next = info.next_block_height;
            }
        }
        Ok(self
            .local
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await?)
    }
}
