//! The two-phase rounds of multi-owner and public chains: a validated certificate locks a
//! block and earns a vote to confirm it; a timeout certificate moves the chain to its next
//! round; a timeout vote is signed once a round's time is up.

use skein_base::{BlockHeight, ChainId, Round};
use skein_chain::{
    CertificateValue, ChainError, ConfirmedBlock, Hashed, LiteVote, PendingVote, Timeout,
    UncheckedCertificate, ValidatedBlock, ValidatedVerdict, Vote,
};
use skein_views::{Batch, KeyValueStore};

use super::{ChainGuard, WithEffects, Worker, WorkerError};
use crate::requests::{ChainInfo, ChainInfoQuery, Effects, TimeoutRequest};

/// Where a request about a chain's next height stands against the chain's tip.
enum HeightCheck {
    /// The request is about the next height.
    Current,
    /// That height is certified already: answer with the chain's state.
    Past,
}

impl<S: KeyValueStore> Worker<S> {
    /// Handles a validated certificate: keeps it as the lock if it is the highest seen,
    /// and votes to confirm its block unless this validator voted in a later round. The
    /// vote is in the answer's `pending_vote`.
    pub async fn handle_validated_certificate(
        &self,
        certificate: UncheckedCertificate<ValidatedBlock>,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let key = self.key.clone().ok_or(WorkerError::NotAValidator)?;
        let chain_id = certificate.value.chain_id();
        let mut chain = self.lock_chain(chain_id).await?;
        if let HeightCheck::Past = self.check_height(&chain, &*certificate.value)? {
            return self.answer(&mut chain, chain_id).await;
        }
        let round = certificate.round;
        if round == Round::Fast {
            return Err(ChainError::WrongRound {
                expected: chain.manager().current_round(chain.system().ownership()),
                found: round,
            }
            .into());
        }
        if chain.tip().block_hash != certificate.value.block.previous_block_hash {
            return Err(ChainError::WrongPreviousHash {
                expected: chain.tip().block_hash,
                found: certificate.value.block.previous_block_hash,
            }
            .into());
        }
        let certificate = self.check(&chain, certificate)?;
        let mut manager = chain.manager().clone();
        let verdict = if self.votes_for_anything() {
            ValidatedVerdict::Confirm
        } else {
            manager.check_validated(round, &certificate.value.block)
        };
        let confirm = match verdict {
            ValidatedVerdict::Repeat(_) => return self.answer(&mut chain, chain_id).await,
            ValidatedVerdict::Confirm => true,
            ValidatedVerdict::LockOnly => false,
        };
        if confirm {
            let value = Hashed::new(certificate.value.to_confirmed());
            manager.pending_vote = Some(PendingVote::Confirm(Vote::<ConfirmedBlock>::new(
                value, round, &key,
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
        if let HeightCheck::Past = self.check_height(&chain, &*certificate.value)? {
            return self.answer(&mut chain, chain_id).await;
        }
        let certificate = self.check(&chain, certificate)?;
        let mut manager = chain.manager().clone();
        let now = self.clock.now();
        manager.record_timeout(chain.system().ownership(), certificate, now);
        if manager != *chain.manager() {
            chain.set_manager(manager);
            self.save(&mut chain, Batch::new()).await?;
        }
        self.answer(&mut chain, chain_id).await
    }

    /// Signs a timeout vote for the chain's current round at its next height, once the
    /// round's time is up. Asking again in the same round gets the same vote.
    pub async fn handle_timeout_request(
        &self,
        request: TimeoutRequest,
    ) -> Result<LiteVote, WorkerError> {
        let key = self.key.clone().ok_or(WorkerError::NotAValidator)?;
        let mut chain = self.lock_chain(request.chain_id).await?;
        let value = Hashed::new(Timeout {
            chain_id: request.chain_id,
            height: request.height,
            epoch: chain.system().epoch(),
        });
        if let HeightCheck::Past = self.check_height(&chain, &*value)? {
            let next_block_height = chain.tip().next_block_height;
            return Err(ChainError::HeightAlreadyCertified {
                height: request.height,
                next_block_height,
            }
            .into());
        }
        let state = chain.system();
        let checked = chain.manager().check_timeout_request(
            state.ownership(),
            request.round,
            self.clock.now(),
            state.timestamp(),
        );
        match checked {
            Ok(Some(vote)) => return Ok(vote),
            Ok(None) => {}
            Err(error) if self.votes_for_anything() && error.is_voting_rule() => {}
            Err(error) => return Err(error.into()),
        }
        let vote = Vote::new(value, request.round, &key);
        let answer = vote.lite();
        let mut manager = chain.manager().clone();
        manager.timeout_vote = Some(vote);
        chain.set_manager(manager);
        self.save(&mut chain, Batch::new()).await?;
        Ok(answer)
    }

    /// Compares the height a certificate or request is about with the chain's next
    /// height: a later one means this validator must be brought up to date first.
    fn check_height<V: CertificateValue>(
        &self,
        chain: &ChainGuard<S>,
        value: &V,
    ) -> Result<HeightCheck, WorkerError> {
        let next_block_height = chain.tip().next_block_height;
        let height: BlockHeight = value.height();
        if height < next_block_height {
            return Ok(HeightCheck::Past);
        }
        let chain_id: ChainId = value.chain_id();
        if !chain.system().is_active() {
            return Err(ChainError::InactiveChain(chain_id).into());
        }
        if height > next_block_height {
            return Err(ChainError::MissingEarlierBlocks {
                chain_id,
                next_block_height,
            }
            .into());
        }
        Ok(HeightCheck::Current)
    }

    /// Checks a certificate against the committee of its epoch, as this chain knows it.
    fn check<V: CertificateValue>(
        &self,
        chain: &ChainGuard<S>,
        certificate: UncheckedCertificate<V>,
    ) -> Result<UncheckedCertificate<V>, WorkerError> {
        let epoch = certificate.value.epoch();
        let committee = chain
            .system()
            .committee(epoch)
            .ok_or(ChainError::UnknownEpoch(epoch))?;
        let checked = certificate.check(committee).map_err(ChainError::from)?;
        Ok(checked.into_unchecked())
    }

    async fn answer(
        &self,
        chain: &mut ChainGuard<S>,
        chain_id: ChainId,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let info = self
            .chain_info(chain, &ChainInfoQuery::new(chain_id))
            .await?;
        Ok((info, Effects::default()))
    }
}
