//! [`MapView`] and [`SetView`]: keyed values and keyed presence.

use std::{collections::BTreeMap, marker::PhantomData};

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    context::{from_bytes, key_bytes, to_bytes},
    store::{Batch, KeyValueStore},
    View, ViewContext, ViewError,
};

/// A map stored one entry per key (`base ++ bcs(key)`), loaded entry by entry on demand.
/// Iteration is in the order of the encoded keys, the same on every machine.
pub struct MapView<S, K, V> {
    context: ViewContext<S>,
    /// Unsaved changes by encoded key: `None` removes the entry.
    updates: BTreeMap<Vec<u8>, Option<V>>,
    cleared: bool,
    _key: PhantomData<fn() -> K>,
}

impl<S, K, V> MapView<S, K, V>
where
    S: KeyValueStore,
    K: Serialize + DeserializeOwned + Send + Sync,
    V: Clone + Serialize + DeserializeOwned + Send + Sync,
{
    /// The value at `key`, including unsaved changes.
    pub async fn get(&self, key: &K) -> Result<Option<V>, ViewError> {
        let encoded = key_bytes(key);
        if let Some(update) = self.updates.get(&encoded) {
            return Ok(update.clone());
        }
        if self.cleared {
            return Ok(None);
        }
        let full_key = self.context.key(&encoded);
        match self.context.store().read_value(&full_key).await? {
            Some(bytes) => Ok(Some(from_bytes(&full_key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// The value at `key` for changing in place; `None` if absent.
    pub async fn get_mut(&mut self, key: &K) -> Result<Option<&mut V>, ViewError> {
        let encoded = key_bytes(key);
        if !self.updates.contains_key(&encoded) {
            let value = self.get(key).await?;
            match value {
                Some(value) => {
                    self.updates.insert(encoded.clone(), Some(value));
                }
                None => return Ok(None),
            }
        }
        Ok(self
            .updates
            .get_mut(&encoded)
            .and_then(|update| update.as_mut()))
    }

    /// Sets the value at `key`.
    pub fn insert(&mut self, key: &K, value: V) {
        self.updates.insert(key_bytes(key), Some(value));
    }

    /// Removes the entry at `key`, if any.
    pub fn remove(&mut self, key: &K) {
        self.updates.insert(key_bytes(key), None);
    }

    /// Whether `key` has a value.
    pub async fn contains_key(&self, key: &K) -> Result<bool, ViewError> {
        Ok(self.get(key).await?.is_some())
    }

    /// Every entry, in key order, including unsaved changes.
    pub async fn key_values(&self) -> Result<Vec<(K, V)>, ViewError> {
        let mut merged: BTreeMap<Vec<u8>, V> = BTreeMap::new();
        if !self.cleared {
            let stored = self
                .context
                .store()
                .find_key_values_by_prefix(self.context.base_key())
                .await?;
            for (encoded, bytes) in stored {
                let value = from_bytes(&self.context.key(&encoded), &bytes)?;
                merged.insert(encoded, value);
            }
        }
        for (encoded, update) in &self.updates {
            match update {
                Some(value) => merged.insert(encoded.clone(), value.clone()),
                None => merged.remove(encoded),
            };
        }
        merged
            .into_iter()
            .map(|(encoded, value)| {
                let key = from_bytes(&self.context.key(&encoded), &encoded)?;
                Ok((key, value))
            })
            .collect()
    }

    /// Every key, in order, including unsaved changes.
    pub async fn indices(&self) -> Result<Vec<K>, ViewError> {
        Ok(self
            .key_values()
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }
}

impl<S, K, V> View<S> for MapView<S, K, V>
where
    S: KeyValueStore,
    K: Serialize + DeserializeOwned + Send + Sync,
    V: Clone + Serialize + DeserializeOwned + Send + Sync,
{
    const INIT_KEYS: usize = 0;

    fn pre_load(_context: &ViewContext<S>) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn post_load(context: ViewContext<S>, _values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        Ok(Self {
            context,
            updates: BTreeMap::new(),
            cleared: false,
            _key: PhantomData,
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
        for (encoded, update) in &self.updates {
            let key = self.context.key(encoded);
            match update {
                Some(value) => batch.put(key, to_bytes(value)),
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

/// A set of keys: a [`MapView`] whose values carry nothing.
pub struct SetView<S, K> {
    map: MapView<S, K, ()>,
}

impl<S, K> SetView<S, K>
where
    S: KeyValueStore,
    K: Serialize + DeserializeOwned + Send + Sync,
{
    /// Adds `key`.
    pub fn insert(&mut self, key: &K) {
        self.map.insert(key, ());
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }

    /// Whether `key` is present.
    pub async fn contains(&self, key: &K) -> Result<bool, ViewError> {
        self.map.contains_key(key).await
    }

    /// Every key, in order.
    pub async fn indices(&self) -> Result<Vec<K>, ViewError> {
        self.map.indices().await
    }
}

impl<S, K> View<S> for SetView<S, K>
where
    S: KeyValueStore,
    K: Serialize + DeserializeOwned + Send + Sync,
{
    const INIT_KEYS: usize = 0;

    fn pre_load(context: &ViewContext<S>) -> Vec<Vec<u8>> {
        MapView::<S, K, ()>::pre_load(context)
    }

    fn post_load(context: ViewContext<S>, values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        Ok(Self {
            map: MapView::post_load(context, values)?,
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.map.context()
    }

    fn rollback(&mut self) {
        self.map.rollback();
    }

    fn has_pending_changes(&self) -> bool {
        self.map.has_pending_changes()
    }

    fn clear(&mut self) {
        self.map.clear();
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        self.map.pre_save(batch)
    }

    fn post_save(&mut self) {
        self.map.post_save();
    }
}
