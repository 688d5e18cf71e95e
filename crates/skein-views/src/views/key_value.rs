//! [`KeyValueView`]: raw keys and values, with prefix scans, for applications' state.

use std::collections::BTreeMap;

use crate::{
    store::{Batch, KeyValueStore},
    View, ViewContext, ViewError,
};

/// Bytes under byte keys, stored as they are (`base ++ key`), so that the keys starting
/// with a prefix are a range of the store and can be listed in order. Applications keep
/// their state in one: the keys and values are theirs to encode.
pub struct KeyValueView<S> {
    context: ViewContext<S>,
    /// Unsaved changes: `None` removes the key.
    updates: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    cleared: bool,
}

impl<S: KeyValueStore> KeyValueView<S> {
    /// The value at `key`, including unsaved changes.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ViewError> {
        if let Some(update) = self.updates.get(key) {
            return Ok(update.clone());
        }
        if self.cleared {
            return Ok(None);
        }
        Ok(self
            .context
            .store()
            .read_value(&self.context.key(key))
            .await?)
    }

    /// Sets the value at `key`.
    pub fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.updates.insert(key, Some(value));
    }

    /// Removes `key`, if present.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.updates.insert(key, None);
    }

    /// The first `limit` keys starting with `prefix`, in order, without the prefix,
    /// including unsaved changes. The store is scanned no further than needed.
    pub async fn find_keys_by_prefix(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, ViewError> {
        let pending: Vec<(&[u8], bool)> = self
            .updates
            .range(prefix.to_vec()..)
            .map_while(|(key, update)| Some((key.strip_prefix(prefix)?, update.is_some())))
            .collect();
        let mut keys = std::collections::BTreeSet::new();
        if !self.cleared {
            // Every stored key past those scanned sorts after them: enough are scanned if,
            // with the pending removals taken out, `limit` remain.
            let removals = pending.iter().filter(|(_, kept)| !kept).count();
            let stored = self
                .context
                .store()
                .find_keys_by_prefix_up_to(
                    &self.context.key(prefix),
                    limit.saturating_add(removals),
                )
                .await?;
            keys.extend(stored);
        }
        for (suffix, kept) in pending {
            if kept {
                keys.insert(suffix.to_vec());
            } else {
                keys.remove(suffix);
            }
        }
        Ok(keys.into_iter().take(limit).collect())
    }
}

impl<S: KeyValueStore> View<S> for KeyValueView<S> {
    const INIT_KEYS: usize = 0;

    fn pre_load(_context: &ViewContext<S>) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn post_load(context: ViewContext<S>, _values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        Ok(Self {
            context,
            updates: BTreeMap::new(),
            cleared: false,
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.context.clone()
    }

    fn rollback(&mut self) {
        self.updates.clear();
        self.cleared = false;
    }

    fn has_pending_changes(&self) -> bool {
        self.cleared || !self.updates.is_empty()
    }

    fn clear(&mut self) {
        self.cleared = true;
        self.updates.clear();
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        if self.cleared {
            batch.delete_prefix(self.context.base_key().to_vec());
        }
        for (key, update) in &self.updates {
            let key = self.context.key(key);
            match update {
                Some(value) => batch.put(key, value.clone()),
                None if !self.cleared => batch.delete(key),
                None => {}
            }
        }
        Ok(())
    }

    fn post_save(&mut self) {
        self.updates.clear();
        self.cleared = false;
    }
}
