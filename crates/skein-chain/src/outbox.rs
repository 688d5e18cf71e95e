//! [`OutboxStateView`]: the heights of a chain's blocks with messages for one recipient,
//! kept until the recipient acknowledges them.

use skein_base::BlockHeight;
use skein_views::{KeyValueStore, QueueView, RegisterView, View};

use crate::ChainError;

/// The outbox for one recipient.
#[derive(View)]
pub struct OutboxStateView<S> {
    /// Heights below this were scheduled already.
    next_height_to_schedule: RegisterView<S, BlockHeight>,
    /// Heights with messages the recipient has not acknowledged, in order.
    queue: QueueView<S, BlockHeight>,
}

impl<S: KeyValueStore> OutboxStateView<S> {
    /// Schedules the messages of the block at `height`. Returns `false` if that height was
    /// already scheduled.
    pub fn schedule(&mut self, height: BlockHeight) -> Result<bool, ChainError> {
        if height < *self.next_height_to_schedule.get() {
            return Ok(false);
        }
        self.queue.push_back(height);
        self.next_height_to_schedule.set(height.try_add_one()?);
        Ok(true)
    }

    /// Forgets every height up to `height`, which the recipient acknowledged.
    pub async fn mark_received(&mut self, height: BlockHeight) -> Result<(), ChainError> {
        while let Some(front) = self.queue.front().await? {
            if front > height {
                break;
            }
            self.queue.delete_front();
        }
        Ok(())
    }

    /// The unacknowledged heights, first to last.
    pub async fn pending_heights(&self, count: usize) -> Result<Vec<BlockHeight>, ChainError> {
        Ok(self.queue.read_front(count).await?)
    }

    /// Whether every scheduled height was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
