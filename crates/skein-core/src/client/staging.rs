//! Staging a block: executing it on the client's local node before it is signed, and
//! refusing there what validators would refuse for good. Once signed, a block is proposed
//! again and again until it is certified, so it must fit every limit they check.

use skein_base::limits;
use skein_chain::{ChainError, ConfirmedBlock, Hashed, ProposedBlock};
use skein_views::KeyValueStore;

use super::Client;
use crate::worker::WorkerError;

impl<S: KeyValueStore> Client<S> {
    /// Executes a block on the local node, as [`Worker::stage_block`](crate::Worker) does,
    /// fetching the application code it needs. A block validators would refuse as too large,
    /// or whose certificate would be too large to hand them, is refused here, before it is
    /// ever signed: once signed, it could never pass.
    pub(crate) async fn stage_block(
        &self,
        block: ProposedBlock,
    ) -> Result<Hashed<ConfirmedBlock>, WorkerError> {
        let size = skein_base::encoding::encoded_len(&block);
        if size > limits::BLOCK_BYTES_MAX {
            return Err(ChainError::BlockTooLarge {
                size,
                limit: limits::BLOCK_BYTES_MAX,
            }
            .into());
        }
        let value = self
            .with_blobs(|| self.local.stage_block(block.clone()))
            .await?;
        let size = skein_base::encoding::encoded_len(&*value);
        if size > limits::CERTIFIED_BLOCK_BYTES_MAX {
            return Err(ChainError::BlockTooLarge {
                size,
                limit: limits::CERTIFIED_BLOCK_BYTES_MAX,
            }
            .into());
        }
        Ok(value)
    }
}
