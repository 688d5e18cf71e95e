//! [`MemoryStore`]: the store of tests and of the simulator.

use std::{
    collections::BTreeMap,
    ops::Bound,
    sync::{Arc, RwLock},
};

use crate::store::{
    prefix_upper_bound, Batch, KeyValueStore, KeyValues, StoreError, WriteOperation,
};

/// A store in a shared in-memory ordered map. Clones share the same data, so a simulated
/// validator can "crash" (drop everything but the store) and restart from what it saved.
#[derive(Clone, Default)]
pub struct MemoryStore {
    entries: Arc<RwLock<BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of keys stored, for tests.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Calls `visit` on every entry, in key order, under the read lock: for taking a
    /// snapshot of the whole store.
    pub fn for_each_entry(&self, mut visit: impl FnMut(&[u8], &[u8])) {
        for (key, value) in self.read().iter() {
            visit(key, value);
        }
    }

    /// Applies a batch at once (the same as `write_batch`, without the future).
    pub fn apply(&self, batch: Batch) {
        let mut map = self
            .entries
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        for operation in batch.operations {
            match operation {
                WriteOperation::Put { key, value } => {
                    map.insert(key, value);
                }
                WriteOperation::Delete { key } => {
                    map.remove(&key);
                }
                WriteOperation::DeletePrefix { key_prefix } => {
                    let doomed: Vec<Vec<u8>> = Self::range(&map, &key_prefix)
                        .map(|(key, _)| key.clone())
                        .collect();
                    for key in doomed {
                        map.remove(&key);
                    }
                }
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // Nothing that can panic runs while the lock is held, so a poisoned lock still
        // guards consistent data.
        self.entries
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn range<'a>(
        map: &'a BTreeMap<Vec<u8>, Vec<u8>>,
        prefix: &[u8],
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)> {
        let upper = match prefix_upper_bound(prefix) {
            Some(bound) => Bound::Excluded(bound),
            None => Bound::Unbounded,
        };
        map.range((Bound::Included(prefix.to_vec()), upper))
    }
}

impl KeyValueStore for MemoryStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().get(key).cloned())
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let map = self.read();
        Ok(keys.iter().map(|key| map.get(key).cloned()).collect())
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        let map = self.read();
        Ok(Self::range(&map, prefix)
            .map(|(key, value)| (key[prefix.len()..].to_vec(), value.clone()))
            .collect())
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.find_keys_by_prefix_up_to(prefix, usize::MAX).await
    }

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let map = self.read();
        Ok(Self::range(&map, prefix)
            .take(limit)
            .map(|(key, _)| key[prefix.len()..].to_vec())
            .collect())
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        self.apply(batch);
        Ok(())
    }
}
