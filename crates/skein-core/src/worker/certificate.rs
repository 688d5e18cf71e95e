//! Handling a certificate: check it (`skein_chain::check_certificate`), execute the block exactly once,
//! store block and state together, and send the block's messages on.

use skein_base::{limits, ChainId};
use skein_chain::{
    check_certificate, check_standing, AnyCertificate, Certificate, CertificateVerdict, ChainError,
    ConfirmedBlock, ExecutionMode, Hashed, MessageBundle, Standing, UncheckedCertificate,
};
use skein_execution::{Operation, SystemOperation};
use skein_storage::Storage;
use skein_views::{Batch, KeyValueStore, View};

use super::{ChainGuard, WithEffects, Worker, WorkerError};
use crate::budget::ByteBudget;
use crate::requests::{
    ChainInfo, ChainInfoQuery, CrossChainRequest, Effects, Notification, NotificationReason,
};

impl<S: KeyValueStore> Worker<S> {
    /// Handles any certificate: commits a confirmed block, locks on a validated one (and
    /// votes to confirm it), or moves on to the round after a timed-out one.
    pub async fn handle_any_certificate(
        &self,
        certificate: AnyCertificate,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        match certificate {
            AnyCertificate::Confirmed(certificate) => self.handle_certificate(certificate).await,
            AnyCertificate::Validated(certificate) => {
                self.handle_validated_certificate(certificate).await
            }
            AnyCertificate::Timeout(certificate) => {
                self.handle_timeout_certificate(certificate).await
            }
        }
    }

    /// Commits a certified block, once its checks pass (`skein_chain::check_certificate`).
    /// A certificate for a height already committed changes nothing and is answered with
    /// the chain's current state; one for a later height is refused with
    /// [`ChainError::MissingEarlierBlocks`] so the sender uploads the gap first.
    ///
    /// [`ChainError::MissingEarlierBlocks`]: skein_chain::ChainError::MissingEarlierBlocks
    pub async fn handle_certificate(
        &self,
        certificate: UncheckedCertificate<ConfirmedBlock>,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let chain_id = certificate.value.block.chain_id;
        let mut chain = self.lock_chain(chain_id).await?;
        let epoch = self.epoch_record(certificate.value.block.epoch).await?;
        match check_certificate(&chain, certificate, &epoch, self.clock.now())? {
            CertificateVerdict::Past => self.answer(&mut chain, chain_id).await,
            CertificateVerdict::Next(certificate) => {
                self.commit_certificate(&mut chain, &certificate).await
            }
        }
    }

    /// Commits a certificate this node checked already (a client's own, just formed): the
    /// same, but for the signatures.
    pub async fn handle_checked_certificate(
        &self,
        certificate: &Certificate<ConfirmedBlock>,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let unchecked = certificate.as_unchecked();
        let chain_id = unchecked.value.block.chain_id;
        let mut chain = self.lock_chain(chain_id).await?;
        match check_standing(&chain, &*unchecked.value, unchecked.round)? {
            Standing::Past => self.answer(&mut chain, chain_id).await,
            Standing::Next => self.commit_certificate(&mut chain, certificate).await,
        }
    }

    async fn commit_certificate(
        &self,
        chain: &mut ChainGuard<S>,
        certificate: &Certificate<ConfirmedBlock>,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let value: &Hashed<ConfirmedBlock> = &certificate.as_unchecked().value;
        let chain_id = value.block.chain_id;
        // Every message stays in an outbox until its recipient acknowledges it, on a
        // validator and on a client's node alike: a process killed before the delivery
        // re-sends it after the restart, so no inbox ever misses a bundle.
        let recipients = match self.commit_block(chain, value).await {
            Ok(recipients) => recipients,
            Err(error) => {
                chain.rollback();
                return Err(error);
            }
        };
        let mut batch = Batch::new();
        Storage::<S>::write_certificate(&mut batch, certificate.as_unchecked());
        for (blob_id, bytes) in value.block.published_blobs() {
            Storage::<S>::write_blob(&mut batch, &blob_id, bytes.to_vec());
        }
        write_admin_records::<S>(&mut batch, &value.block);
        let mark = !recipients.is_empty() && !self.marked_pending.lock().contains(&chain_id);
        if mark {
            Storage::<S>::mark_pending_outboxes(&mut batch, &chain_id, true);
        }
        self.save(chain, batch).await?;
        if mark {
            self.marked_pending.lock().insert(chain_id);
        }

        let mut effects = Effects::default();
        for recipient in recipients {
            let request = self
                .update_recipient_request(chain, chain_id, recipient, Some(value))
                .await?;
            effects.cross_chain_requests.extend(request);
        }
        effects.notifications.push(Notification {
            chain_id,
            reason: NotificationReason::NewBlock {
                height: value.block.height,
                hash: value.hash(),
            },
        });
        let info = self
            .chain_info(chain, &ChainInfoQuery::new(chain_id))
            .await?;
        Ok((info, effects))
    }

    /// Executes the block, checks the outcome against the certified one, extends the chain
    /// and schedules the outgoing messages. Returns the recipients. The caller rolls back on
    /// error.
    async fn commit_block(
        &self,
        chain: &mut ChainGuard<S>,
        value: &Hashed<ConfirmedBlock>,
    ) -> Result<Vec<ChainId>, WorkerError> {
        let outcome = chain
            .execute_block(&value.block, ExecutionMode::Certificate, &self.runtime)
            .await?;
        if outcome != value.outcome {
            return Err(ChainError::IncorrectOutcome {
                certified: value.outcome.state_hash,
                computed: outcome.state_hash,
            }
            .into());
        }
        let recipients = chain.apply_confirmed_block(value.hash(), value, self.clock.now())?;
        for recipient in &recipients {
            chain
                .schedule_outgoing(*recipient, value.block.height)
                .await?;
        }
        Ok(recipients)
    }

    /// The request that delivers to `recipient` every bundle it has not acknowledged, from
    /// the first one on: never a later bundle without the earlier ones, so the recipient's
    /// inbox has no gaps. All bundles of a height go together; heights stop being added
    /// once the request holds [`limits::BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX`] bundles or
    /// would exceed [`limits::RESPONSE_BYTES_MAX`] bytes.
    /// `current` is a block in hand, to avoid reading it back.
    pub(crate) async fn update_recipient_request(
        &self,
        chain: &mut ChainGuard<S>,
        sender: ChainId,
        recipient: ChainId,
        current: Option<&Hashed<ConfirmedBlock>>,
    ) -> Result<Option<CrossChainRequest>, WorkerError> {
        let heights = chain
            .outbox(&recipient)
            .await?
            .pending_heights(limits::BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX)
            .await?;
        let mut bundles = Vec::new();
        let mut budget = ByteBudget::for_answer();
        for height in heights {
            if bundles.len() >= limits::BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX {
                break;
            }
            let of_height: Vec<MessageBundle> = match current
                .filter(|value| value.block.height == height)
            {
                Some(value) => value.bundles_for(recipient, value.hash()),
                None => {
                    let hash = *chain
                        .block_hashes(height, 1)
                        .await?
                        .first()
                        .ok_or_else(|| {
                            WorkerError::Storage(format!("no block at outbox height {height}"))
                        })?;
                    let stored: UncheckedCertificate<ConfirmedBlock> =
                        self.storage.read_certificate(&hash).await?.ok_or_else(|| {
                            WorkerError::Storage(format!("missing certificate {hash}"))
                        })?;
                    stored.value.bundles_for(recipient, hash)
                }
            };
            // Whole heights only, and within one message's bytes: the rest goes next time.
            if !budget.admits(&of_height) {
                break;
            }
            bundles.extend(of_height);
        }
        if bundles.is_empty() {
            return Ok(None);
        }
        Ok(Some(CrossChainRequest::UpdateRecipient {
            sender,
            recipient,
            bundles,
        }))
    }
}

/// What a committed block of the admin chain publishes for every chain: the committees it
/// created and the epochs it revoked. A certified block's admin operations all succeeded,
/// and they succeed only on the admin chain.
fn write_admin_records<S: KeyValueStore>(batch: &mut Batch, block: &skein_chain::ProposedBlock) {
    for operation in &block.operations {
        match operation {
            Operation::System(SystemOperation::CreateCommittee { epoch, committee }) => {
                Storage::<S>::write_committee(batch, *epoch, committee);
            }
            Operation::System(SystemOperation::RevokeEpoch { epoch }) => {
                Storage::<S>::write_revocation(batch, *epoch, block.timestamp);
            }
            _ => {}
        }
    }
}
