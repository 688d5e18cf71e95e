//! [`CollectionView`]: a map from keys to whole sub-views.

use std::{collections::BTreeMap, marker::PhantomData};

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    context::{from_bytes, key_bytes},
    store::{Batch, KeyValueStore},
    View, ViewContext, ViewError,
};

const INDEX_TAG: u8 = 0;
const ENTRY_TAG: u8 = 1;

enum Entry<V> {
    /// A sub-view in memory. `fresh` ones were made empty without reading the store (after
    /// a removal or a clear) and are dropped on rollback. `indexed` says whether the index
    /// already lists the key, so saving need not write it again.
    Loaded { view: V, fresh: bool, indexed: bool },
    /// Removed since the last save.
    Removed,
}

/// A map from keys to sub-views, each loaded on demand. The keys present are listed under
/// `base ++ [0] ++ bcs(key)`; the sub-view of a key lives under `base ++ [1] ++ bcs(key)`.
/// An entry exists once its sub-view has been saved with some change.
pub struct CollectionView<S, K, V> {
    context: ViewContext<S>,
    entries: BTreeMap<Vec<u8>, Entry<V>>,
    cleared: bool,
    _key: PhantomData<fn() -> K>,
}

impl<S, K, V> CollectionView<S, K, V>
where
    S: KeyValueStore,
    K: Serialize + DeserializeOwned + Send + Sync,
    V: View<S>,
{
    fn entry_context(&self, encoded: &[u8]) -> ViewContext<S> {
        let mut tag = Vec::with_capacity(1 + encoded.len());
        tag.push(ENTRY_TAG);
        tag.extend_from_slice(encoded);
        self.context.child(&tag)
    }

    fn index_key(&self, encoded: &[u8]) -> Vec<u8> {
        let mut suffix = Vec::with_capacity(1 + encoded.len());
        suffix.push(INDEX_TAG);
        suffix.extend_from_slice(encoded);
        self.context.key(&suffix)
    }

    fn fresh_view(&self, encoded: &[u8]) -> Result<V, ViewError> {
        let context = self.entry_context(encoded);
        let mut view = V::post_load(context, &vec![None; V::INIT_KEYS])?;
        // The store may still hold an older version of this entry: saving must erase it.
        view.clear();
        Ok(view)
    }

    /// The sub-view at `key`, loaded (or created empty) for reading and changing.
    pub async fn load_entry_mut(&mut self, key: &K) -> Result<&mut V, ViewError> {
        let encoded = key_bytes(key);
        let needs_load = match self.entries.get(&encoded) {
            Some(Entry::Loaded { .. }) => false,
            Some(Entry::Removed) => {
                let view = self.fresh_view(&encoded)?;
                self.entries.insert(
                    encoded.clone(),
                    Entry::Loaded {
                        view,
                        fresh: true,
                        indexed: false,
                    },
                );
                false
            }
            None => true,
        };
        if needs_load {
            let entry = if self.cleared {
                Entry::Loaded {
                    view: self.fresh_view(&encoded)?,
                    fresh: true,
                    indexed: false,
                }
            } else {
                // One multi-read: the index key and the sub-view's keys.
                let context = self.entry_context(&encoded);
                let mut keys = vec![self.index_key(&encoded)];
                keys.extend(V::pre_load(&context));
                let values = self.context.store().read_multi_values(&keys).await?;
                let indexed = values.first().is_some_and(Option::is_some);
                Entry::Loaded {
                    view: V::post_load(context, values.get(1..).unwrap_or_default())?,
                    fresh: false,
                    indexed,
                }
            };
            self.entries.insert(encoded.clone(), entry);
        }
        match self.entries.get_mut(&encoded) {
            Some(Entry::Loaded { view, .. }) => Ok(view),
            _ => unreachable!("the entry was loaded just above"),
        }
    }

    /// Removes the entry at `key` and everything in its sub-view.
    pub fn remove_entry(&mut self, key: &K) {
        self.entries.insert(key_bytes(key), Entry::Removed);
    }

    /// Whether an entry exists at `key` (saved, or changed since loading).
    pub async fn contains_key(&self, key: &K) -> Result<bool, ViewError> {
        let encoded = key_bytes(key);
        match self.entries.get(&encoded) {
            Some(Entry::Removed) => return Ok(false),
            Some(Entry::Loaded { view, .. }) if view.has_pending_changes() => return Ok(true),
            _ => {}
        }
        if self.cleared {
            return Ok(false);
        }
        Ok(self
            .context
            .store()
            .read_value(&self.index_key(&encoded))
            .await?
            .is_some())
    }

    /// The keys of every entry, in order.
    pub async fn indices(&self) -> Result<Vec<K>, ViewError> {
        let mut present: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
        if !self.cleared {
            let prefix = self.context.key(&[INDEX_TAG]);
            for encoded in self.context.store().find_keys_by_prefix(&prefix).await? {
                present.insert(encoded, ());
            }
        }
        for (encoded, entry) in &self.entries {
            match entry {
                Entry::Removed => {
                    present.remove(encoded);
                }
                Entry::Loaded { view, .. } if view.has_pending_changes() => {
                    present.insert(encoded.clone(), ());
                }
                Entry::Loaded { .. } => {}
            }
        }
        present
            .into_keys()
            .map(|encoded| from_bytes(&self.index_key(&encoded), &encoded))
            .collect()
    }
}

impl<S, K, V> View<S> for CollectionView<S, K, V>
where
    S: KeyValueStore,
    K: Serialize + DeserializeOwned + Send + Sync,
    V: View<S>,
{
    const INIT_KEYS: usize = 0;

    fn pre_load(_context: &ViewContext<S>) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn post_load(context: ViewContext<S>, _values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        Ok(Self {
            context,
            entries: BTreeMap::new(),
            cleared: false,
            _key: PhantomData,
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.context.clone()
    }

    fn rollback(&mut self) {
        self.cleared = false;
        self.entries.retain(|_, entry| match entry {
            Entry::Loaded { view, fresh, .. } => {
                view.rollback();
                !*fresh
            }
            Entry::Removed => false,
        });
    }

    fn has_pending_changes(&self) -> bool {
        self.cleared
            || self.entries.values().any(|entry| match entry {
                Entry::Loaded { view, .. } => view.has_pending_changes(),
                Entry::Removed => true,
            })
    }

    fn clear(&mut self) {
        self.cleared = true;
        self.entries.clear();
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        if self.cleared {
            batch.delete_prefix(self.context.base_key().to_vec());
        }
        for (encoded, entry) in &self.entries {
            match entry {
                Entry::Loaded { view, indexed, .. } => {
                    if view.has_pending_changes() {
                        if !indexed {
                            batch.put(self.index_key(encoded), Vec::new());
                        }
                        view.pre_save(batch)?;
                    }
                }
                Entry::Removed => {
                    if !self.cleared {
                        batch.delete(self.index_key(encoded));
                        batch.delete_prefix(self.entry_context(encoded).base_key().to_vec());
                    }
                }
            }
        }
        Ok(())
    }

    fn post_save(&mut self) {
        self.cleared = false;
        self.entries.retain(|_, entry| match entry {
            Entry::Loaded {
                view,
                fresh,
                indexed,
            } => {
                if view.has_pending_changes() {
                    *indexed = true;
                }
                view.post_save();
                *fresh = false;
                true
            }
            Entry::Removed => false,
        });
    }
}
