//! [`ViewContext`]: where a view lives — a store and a key prefix.

use serde::{de::DeserializeOwned, Serialize};

use crate::{store::KeyValueStore, ViewError};

/// A store and the prefix under which one view keeps its keys. Child views get the parent's
/// prefix plus a tag, and no tag is a prefix of another, so views never share a key.
#[derive(Clone, Debug)]
pub struct ViewContext<S> {
    store: S,
    base_key: Vec<u8>,
}

impl<S: KeyValueStore> ViewContext<S> {
    /// A context at `base_key` in `store`.
    pub fn new(store: S, base_key: Vec<u8>) -> Self {
        Self { store, base_key }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The prefix of every key of this view.
    pub fn base_key(&self) -> &[u8] {
        &self.base_key
    }

    /// The context of a child view, at this prefix plus `tag`.
    pub fn child(&self, tag: &[u8]) -> Self {
        Self {
            store: self.store.clone(),
            base_key: self.key(tag),
        }
    }

    /// The full key of `suffix` inside this view.
    pub fn key(&self, suffix: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.base_key.len() + suffix.len());
        key.extend_from_slice(&self.base_key);
        key.extend_from_slice(suffix);
        key
    }

    /// The key of entry `index` of a list stored under `tag`: `tag ++ index (big endian)`,
    /// so entries sort by index and a range of entries is a range of keys.
    pub(crate) fn entry_key(&self, tag: u8, index: u64) -> Vec<u8> {
        let mut suffix = [0u8; 9];
        suffix[0] = tag;
        suffix[1..].copy_from_slice(&index.to_be_bytes());
        self.key(&suffix)
    }

    /// Reads and decodes values the view's own bookkeeping says exist, in one multi-read.
    pub(crate) async fn read_entries<T: DeserializeOwned>(
        &self,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<T>, ViewError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values = self.store.read_multi_values(&keys).await?;
        keys.into_iter()
            .zip(values)
            .map(|(key, value)| match value {
                Some(bytes) => from_bytes(&key, &bytes),
                None => Err(ViewError::Missing { key }),
            })
            .collect()
    }

    /// The parent context, removing the last `tag_len` bytes (the inverse of [`Self::child`]).
    pub fn parent(&self, tag_len: usize) -> Self {
        let keep = self.base_key.len().saturating_sub(tag_len);
        Self {
            store: self.store.clone(),
            base_key: self.base_key[..keep].to_vec(),
        }
    }
}

/// Encodes a value stored by a view.
pub(crate) fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    skein_base::encoding::encode(value)
}

/// Decodes a value read back by a view. The store holds only what views wrote, so a failure
/// means corruption or a format change, reported with the key.
pub(crate) fn from_bytes<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, ViewError> {
    bcs::from_bytes(bytes).map_err(|error| ViewError::Corrupted {
        key: key.to_vec(),
        reason: error.to_string(),
    })
}

/// Encodes a map key so that the encodings of distinct keys are never prefixes of each
/// other (BCS is a prefix-free code for the types we use as keys).
pub(crate) fn key_bytes<K: Serialize + ?Sized>(key: &K) -> Vec<u8> {
    skein_base::encoding::encode(key)
}
