//! Handling a block proposal: check, execute on a copy, vote, remember the vote.

use skein_chain::{
    check_proposal, BlockProposal, ChainError, ConfirmedBlock, ExecutionMode, Hashed, LiteVote,
    PendingVote, ProposedBlock, ValidatedBlock, Verdict, Vote,
};
use skein_views::{Batch, KeyValueStore, View};

use super::{Worker, WorkerError};

impl<S: KeyValueStore> Worker<S> {
    /// Votes for a proposal if it is acceptable (see `skein_chain::check_proposal`): to
    /// confirm it in the fast round, to validate it in the others. The block is executed on
    /// the chain's state and rolled back; only the vote is saved, before it is returned, so
    /// a validator never breaks a voting rule even across restarts.
    pub async fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> Result<LiteVote, WorkerError> {
        let block = &proposal.content.block;
        let round = proposal.content.round;
        let mut chain = self.lock_chain(block.chain_id).await?;
        let now = self.clock.now();
        let epoch = self.epoch_record(block.epoch).await?;
        let key = self.signing_key(&epoch)?;
        let own_epoch = chain.system().epoch();
        let own_epoch = if own_epoch == block.epoch {
            epoch.clone()
        } else {
            self.epoch_record(own_epoch).await?
        };
        let confirm = match check_proposal(&chain, &proposal, &epoch, &own_epoch, now)? {
            Verdict::RepeatVote(vote) => return Ok(vote),
            Verdict::Execute { confirm } => confirm,
        };
        let outcome = chain
            .execute_block(block, ExecutionMode::Proposal, &self.runtime)
            .await;
        chain.rollback();
        let outcome = outcome?;
        // Its certificate must fit in a request, or no validator could be given it.
        let size =
            skein_base::encoding::encoded_len(block) + skein_base::encoding::encoded_len(&outcome);
        if size > skein_base::limits::CERTIFIED_BLOCK_BYTES_MAX {
            return Err(ChainError::BlockTooLarge {
                size,
                limit: skein_base::limits::CERTIFIED_BLOCK_BYTES_MAX,
            }
            .into());
        }
        let vote = if confirm {
            let value = Hashed::new(ConfirmedBlock {
                block: block.clone(),
                outcome,
            });
            PendingVote::Confirm(Vote::new(value, round, key))
        } else {
            let value = Hashed::new(ValidatedBlock {
                block: block.clone(),
                outcome,
            });
            PendingVote::Validate(Vote::new(value, round, key))
        };
        let answer = vote.lite();
        let mut manager = chain.manager().clone();
        if let Some(lock) = proposal.lock {
            // It was checked against the committee, and is for this block.
            manager.lock(*lock);
        }
        manager.record_vote(vote);
        chain.set_manager(manager);
        self.save(&mut chain, Batch::new()).await?;
        Ok(answer)
    }

    /// Executes a block on a copy of the chain's state and returns what the certified value
    /// would be, changing nothing: how a client checks a block before signing it.
    pub async fn stage_block(
        &self,
        block: ProposedBlock,
    ) -> Result<Hashed<ConfirmedBlock>, WorkerError> {
        let mut chain = self.lock_chain(block.chain_id).await?;
        let outcome = chain
            .execute_block(&block, ExecutionMode::Proposal, &self.runtime)
            .await;
        chain.rollback();
        Ok(Hashed::new(ConfirmedBlock {
            block,
            outcome: outcome?,
        }))
    }
}
