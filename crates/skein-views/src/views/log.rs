//! [`LogView`]: an append-only list.

use std::ops::Range;

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    context::{from_bytes, to_bytes},
    store::{Batch, KeyValueStore},
    View, ViewContext, ViewError,
};

const COUNT_TAG: u8 = 0;
const ENTRY_TAG: u8 = 1;

/// A list that only grows, read by index. Entries live at `base ++ [1] ++ index (big
/// endian)`, so a range of entries is a contiguous range of keys.
pub struct LogView<S, T> {
    context: ViewContext<S>,
    stored_count: u64,
    new_values: Vec<T>,
    cleared: bool,
}

fn entry_key<S: KeyValueStore>(context: &ViewContext<S>, index: u64) -> Vec<u8> {
    context.entry_key(ENTRY_TAG, index)
}

impl<S, T> LogView<S, T>
where
    S: KeyValueStore,
    T: Clone + Serialize + DeserializeOwned + Send + Sync,
{
    fn base_count(&self) -> u64 {
        if self.cleared {
            0
        } else {
            self.stored_count
        }
    }

    /// The number of entries, including unsaved ones.
    pub fn count(&self) -> u64 {
        self.base_count() + self.new_values.len() as u64
    }

    /// Appends an entry.
    pub fn push(&mut self, value: T) {
        self.new_values.push(value);
    }

    /// The entry at `index`, if the log is that long.
    pub async fn get(&self, index: u64) -> Result<Option<T>, ViewError> {
        let base = self.base_count();
        if index >= base {
            let offset = usize::try_from(index - base).unwrap_or(usize::MAX);
            return Ok(self.new_values.get(offset).cloned());
        }
        let key = entry_key(&self.context, index);
        match self.context.store().read_value(&key).await? {
            Some(bytes) => Ok(Some(from_bytes(&key, &bytes)?)),
            None => Err(ViewError::Missing { key }),
        }
    }

    /// The entries in `range`, cut at the end of the log.
    pub async fn read(&self, range: Range<u64>) -> Result<Vec<T>, ViewError> {
        let end = range.end.min(self.count());
        let start = range.start.min(end);
        let base = self.base_count();
        let stored_end = end.min(base);
        let keys: Vec<Vec<u8>> = (start..stored_end.max(start))
            .map(|index| entry_key(&self.context, index))
            .collect();
        let mut values: Vec<T> = self.context.read_entries(keys).await?;
        for index in start.max(base)..end {
            let offset = usize::try_from(index - base).expect("within the new values");
            values.push(self.new_values[offset].clone());
        }
        Ok(values)
    }
}

impl<S, T> View<S> for LogView<S, T>
where
    S: KeyValueStore,
    T: Clone + Serialize + DeserializeOwned + Send + Sync,
{
    const INIT_KEYS: usize = 1;

    fn pre_load(context: &ViewContext<S>) -> Vec<Vec<u8>> {
        vec![context.key(&[COUNT_TAG])]
    }

    fn post_load(context: ViewContext<S>, values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        let stored_count = match values.first() {
            Some(Some(bytes)) => from_bytes(&context.key(&[COUNT_TAG]), bytes)?,
            _ => 0,
        };
        Ok(Self {
            context,
            stored_count,
            new_values: Vec::new(),
            cleared: false,
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.context.clone()
    }

    fn rollback(&mut self) {
        self.new_values.clear();
        self.cleared = false;
    }

    fn has_pending_changes(&self) -> bool {
        self.cleared || !self.new_values.is_empty()
    }

    fn clear(&mut self) {
        self.cleared = true;
        self.new_values.clear();
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        if self.cleared {
            batch.delete_prefix(self.context.base_key().to_vec());
        }
        let base = self.base_count();
        for (offset, value) in self.new_values.iter().enumerate() {
            batch.put(
                entry_key(&self.context, base + offset as u64),
                to_bytes(value),
            );
        }
        if self.has_pending_changes() {
            batch.put(self.context.key(&[COUNT_TAG]), to_bytes(&self.count()));
        }
        Ok(())
    }

    fn post_save(&mut self) {
        self.stored_count = self.count();
        self.new_values.clear();
        self.cleared = false;
    }
}
