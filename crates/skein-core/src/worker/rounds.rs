//! The two-phase rounds of multi-owner and public chains: a validated certificate locks a
//! block and earns a vote to confirm it; a timeout certificate moves the chain to its next
//! round; a timeout vote is signed once a round's time is up.

use skein_chain::{
    check_certificate, check_standing, CertificateVerdict, ChainError, ConfirmedBlock, Hashed,
    LiteVote, PendingVote, Standing, Timeout, UncheckedCertificate, ValidatedBlock,
    ValidatedVerdict, Vote,
};
use skein_views::{Batch, KeyValueStore};

use super::{WithEffects, Worker, WorkerError};
use crate::requests::{ChainInfo, TimeoutRequest};

impl<S: KeyValueStore> Worker<S> {
    /// Handles a validated certificate: keeps it as the lock if it is the highest seen,
    /// and votes to confirm its block unless this validator voted in a later round. The
    /// vote is in the answer's `pending_vote`.
    pub async fn handle_validated_certificate(
        &self,
        certificate: UncheckedCertificate<ValidatedBlock>,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let chain_id = certificate.value.block.chain_id;
        let mut chain = self.lock_chain(chain_id).await?;
        let round = certificate.round;
        let epoch = self.epoch_record(certificate.value.block.epoch).await?;
        let key = self.signing_key(&epoch)?;
        let now = self.clock.now();
        let certificate = match check_certificate(&chain, certificate, &epoch, now)? {
            CertificateVerdict::Past => return self.answer(&mut chain, chain_id).await,
            CertificateVerdict::Next(certificate) => certificate.into_unchecked(),
        };
        let mut manager = chain.manager().clone();
        let confirm = match manager.check_validated(round, &certificate.value.block) {
            ValidatedVerdict::Repeat(_) => return self.answer(&mut chain, chain_id).await,
            ValidatedVerdict::Confirm => true,
            ValidatedVerdict::LockOnly => false,
        };
        if confirm {
            let value = Hashed::new(certificate.value.to_confirmed());
            manager.record_vote(PendingVote::Confirm(Vote::<ConfirmedBlock>::new(
                value, round, key,
            )));
        }
        manager.lock(certificate);
        chain.set_manager(manager);
        self.save(&mut chain, Batch::new()).await?;
        self.answer(&mut chain, chain_id).await
    }

    /// Handles a timeout certificate: moves to the round after it, if that is later than
    /// this validator's.
    pub async fn handle_timeout_certificate(
        &self,
        certificate: UncheckedCertificate<Timeout>,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let chain_id = certificate.value.chain_id;
        let mut chain = self.lock_chain(chain_id).await?;
        let epoch = self.epoch_record(certificate.value.epoch).await?;
        let now = self.clock.now();
        let certificate = match check_certificate(&chain, certificate, &epoch, now)? {
            CertificateVerdict::Past => return self.answer(&mut chain, chain_id).await,
            CertificateVerdict::Next(certificate) => certificate.into_unchecked(),
        };
        let mut manager = chain.manager().clone();
        manager.record_timeout(chain.system().ownership(), certificate, now);
        if manager != *chain.manager() {
            chain.set_manager(manager);
            self.save(&mut chain, Batch::new()).await?;
        }
        self.answer(&mut chain, chain_id).await
    }

    /// Signs a timeout vote for the chain's current round at its next height, once the
    /// round's time is up, as a member of the committee that decides that height (the
    /// chain's epoch's, or once it is revoked the newest one's). Asking again in the same
    /// round gets the same vote.
    pub async fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> Result<LiteVote, WorkerError> {
        if self.keys.is_none() {
            return Err(WorkerError::NotAValidator);
        }
        let mut chain = self.lock_chain(request.chain_id).await?;
        let epoch = self.deciding_epoch(chain.system().epoch()).await?;
        let value = Hashed::new(Timeout {
            chain_id: request.chain_id,
            height: request.height,
            epoch,
        });
        if check_standing(&chain, &*value, request.round)? == Standing::Past {
            let next_block_height = chain.tip().next_block_height;
            return Err(ChainError::HeightAlreadyCertified {
                height: request.height,
                next_block_height,
            }
            .into());
        }
        // A client that sees another epoch decide the height (either of us has not heard
        // of the admin chain's latest blocks) would count this vote for nothing.
        if request.epoch != epoch {
            return Err(ChainError::WrongEpoch {
                expected: epoch,
                found: request.epoch,
            }
            .into());
        }
        let state = chain.system();
        let checked = chain.manager().check_timeout_request(
            state.ownership(),
            request.round,
            self.clock.now(),
            state.timestamp(),
        )?;
        // The vote in this round may be of the epoch before its revocation: then the round
        // is timed out again, in the epoch deciding it now.
        if let Some(vote) = checked.filter(|vote| vote.value_hash == value.hash()) {
            return Ok(vote);
        }
        let key = self.signing_key(&self.epoch_record(epoch).await?)?;
        let vote = Vote::new(value, request.round, key);
        let answer = vote.lite();
        let mut manager = chain.manager().clone();
        manager.record_timeout_vote(vote);
        chain.set_manager(manager);
        self.save(&mut chain, Batch::new()).await?;
        Ok(answer)
    }
}
