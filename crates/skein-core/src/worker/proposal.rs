//! Handling a block proposal: check, execute on a copy, vote, remember the vote.

use skein_chain::{
    check_proposal, BlockProposal, ChainManager, ConfirmedBlock, ExecutionMode, Hashed, LiteVote,
    Verdict, Vote,
};
use skein_views::{Batch, KeyValueStore, View};

use super::{Worker, WorkerError};

impl<S: KeyValueStore> Worker<S> {
    /// Votes for a proposal if it is acceptable (see `skein_chain::check_proposal`). The
    /// block is executed on the chain's state and rolled back; only the vote is saved, before
    /// it is returned, so a validator never votes twice at one height even across restarts.
    pub async fn handle_block_proposal(
        &self,
        proposal: BlockProposal,
    ) -> Result<LiteVote, WorkerError> {
        let key = self.key.clone().ok_or(WorkerError::NotAValidator)?;
        let block = &proposal.content.block;
        let mut chain = self.lock_chain(block.chain_id).await?;
        let now = self.clock.now();
        match check_proposal(&chain, &proposal, now)? {
            Verdict::RepeatVote(vote) => return Ok(vote.lite()),
            Verdict::Execute => {}
        }
        let outcome = chain.execute_block(block, ExecutionMode::Proposal).await;
        chain.rollback();
        let outcome = outcome?;
        let value = Hashed::new(ConfirmedBlock {
            block: proposal.content.block.clone(),
            outcome,
        });
        let vote = Vote::new(value, proposal.content.round, &key);
        let answer = vote.lite();
        chain.set_manager(ChainManager {
            pending_vote: Some(vote),
        });
        self.save(&mut chain, Batch::new()).await?;
        Ok(answer)
    }

    /// Executes a block on a copy of the chain's state and returns what the certified value
    /// would be, changing nothing: how a client checks a block before signing it.
    pub async fn stage_block(
        &self,
        block: skein_chain::ProposedBlock,
    ) -> Result<Hashed<ConfirmedBlock>, WorkerError> {
        let mut chain = self.lock_chain(block.chain_id).await?;
        let outcome = chain.execute_block(&block, ExecutionMode::Proposal).await;
        chain.rollback();
        Ok(Hashed::new(ConfirmedBlock {
            block,
            outcome: outcome?,
        }))
    }
}
