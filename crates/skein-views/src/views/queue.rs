//! [`QueueView`]: a first-in, first-out queue.

use std::collections::VecDeque;

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    context::{from_bytes, to_bytes},
    store::{Batch, KeyValueStore},
    View, ViewContext, ViewError,
};

const RANGE_TAG: u8 = 0;
const ENTRY_TAG: u8 = 1;

/// A queue: push at the back, remove from the front. Stored entries keep their index for
/// life (`base ++ [1] ++ index`), so removing from the front never moves data.
pub struct QueueView<S, T> {
    context: ViewContext<S>,
    /// Indices `[front, end)` of the stored entries.
    stored_front: u64,
    stored_end: u64,
    /// Stored entries removed from the front since the last save.
    front_deletions: u64,
    new_back_values: VecDeque<T>,
    cleared: bool,
}

fn entry_key<S: KeyValueStore>(context: &ViewContext<S>, index: u64) -> Vec<u8> {
    context.entry_key(ENTRY_TAG, index)
}

impl<S, T> QueueView<S, T>
where
    S: KeyValueStore,
    T: Clone + Serialize + DeserializeOwned + Send + Sync,
{
    /// Stored entries still in the queue: `[first, stored_end)`.
    fn stored_live(&self) -> (u64, u64) {
        if self.cleared {
            (self.stored_end, self.stored_end)
        } else {
            (self.stored_front + self.front_deletions, self.stored_end)
        }
    }

    /// The number of entries.
    pub fn count(&self) -> usize {
        let (first, end) = self.stored_live();
        usize::try_from(end - first).unwrap_or(usize::MAX) + self.new_back_values.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The first entry, if any.
    pub async fn front(&self) -> Result<Option<T>, ViewError> {
        let (first, end) = self.stored_live();
        if first < end {
            let key = entry_key(&self.context, first);
            return match self.context.store().read_value(&key).await? {
                Some(bytes) => Ok(Some(from_bytes(&key, &bytes)?)),
                None => Err(ViewError::Missing { key }),
            };
        }
        Ok(self.new_back_values.front().cloned())
    }

    /// Removes the first entry, if any.
    pub fn delete_front(&mut self) {
        let (first, end) = self.stored_live();
        if first < end {
            self.front_deletions += 1;
        } else {
            self.new_back_values.pop_front();
        }
    }

    /// Appends an entry at the back.
    pub fn push_back(&mut self, value: T) {
        self.new_back_values.push_back(value);
    }

    /// Every entry, front first.
    pub async fn elements(&self) -> Result<Vec<T>, ViewError> {
        self.read_front(usize::MAX).await
    }

    /// Up to `count` entries from the front.
    pub async fn read_front(&self, count: usize) -> Result<Vec<T>, ViewError> {
        let (first, end) = self.stored_live();
        let stored_wanted = (end - first).min(count as u64);
        let keys: Vec<Vec<u8>> = (first..first + stored_wanted)
            .map(|index| entry_key(&self.context, index))
            .collect();
        let mut values: Vec<T> = self.context.read_entries(keys).await?;
        let remaining = count.saturating_sub(values.len());
        values.extend(self.new_back_values.iter().take(remaining).cloned());
        Ok(values)
    }
}

impl<S, T> View<S> for QueueView<S, T>
where
    S: KeyValueStore,
    T: Clone + Serialize + DeserializeOwned + Send + Sync,
{
    const INIT_KEYS: usize = 1;

    fn pre_load(context: &ViewContext<S>) -> Vec<Vec<u8>> {
        vec![context.key(&[RANGE_TAG])]
    }

    fn post_load(context: ViewContext<S>, values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        let (stored_front, stored_end): (u64, u64) = match values.first() {
            Some(Some(bytes)) => from_bytes(&context.key(&[RANGE_TAG]), bytes)?,
            _ => (0, 0),
        };
        Ok(Self {
            context,
            stored_front,
            stored_end,
            front_deletions: 0,
            new_back_values: VecDeque::new(),
            cleared: false,
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.context.clone()
    }

    fn rollback(&mut self) {
        self.front_deletions = 0;
        self.new_back_values.clear();
        self.cleared = false;
    }

    fn has_pending_changes(&self) -> bool {
        self.cleared || self.front_deletions > 0 || !self.new_back_values.is_empty()
    }

    fn clear(&mut self) {
        self.cleared = true;
        self.front_deletions = 0;
        self.new_back_values.clear();
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        if !self.has_pending_changes() {
            return Ok(());
        }
        let (first, end) = self.stored_live();
        if self.cleared {
            batch.delete_prefix(self.context.base_key().to_vec());
        } else {
            for index in self.stored_front..first {
                batch.delete(entry_key(&self.context, index));
            }
        }
        for (offset, value) in self.new_back_values.iter().enumerate() {
            batch.put(
                entry_key(&self.context, end + offset as u64),
                to_bytes(value),
            );
        }
        let new_end = end + self.new_back_values.len() as u64;
        // An emptied queue keeps counting from where it was, so indices are never reused.
        batch.put(self.context.key(&[RANGE_TAG]), to_bytes(&(first, new_end)));
        Ok(())
    }

    fn post_save(&mut self) {
        let (first, end) = self.stored_live();
        self.stored_front = first;
        self.stored_end = end + self.new_back_values.len() as u64;
        self.front_deletions = 0;
        self.new_back_values.clear();
        self.cleared = false;
    }
}
