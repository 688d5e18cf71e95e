//! The key-value store every view and every backend agrees on.

use std::future::Future;

/// Why a store operation failed. Backends map their own errors into this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, connection, corruption); the message says how.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// A key or value exceeds what the backend accepts.
    #[error("{what} of {size} bytes exceeds the backend limit of {limit}")]
    TooLarge {
        /// "key" or "value".
        what: &'static str,
        /// Its size.
        size: usize,
        /// The backend's limit.
        limit: usize,
    },
}

/// One write in a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WriteOperation {
    /// Sets a key.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
    /// Removes a key.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// Removes every key starting with a prefix.
    DeletePrefix {
        /// The prefix.
        key_prefix: Vec<u8>,
    },
}

/// Writes applied all together or not at all, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The writes, applied first to last.
    pub operations: Vec<WriteOperation>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Adds a write of `value` at `key`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.operations.push(WriteOperation::Put { key, value });
    }

    /// Adds a removal of `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.operations.push(WriteOperation::Delete { key });
    }

    /// Adds a removal of every key under `key_prefix`.
    pub fn delete_prefix(&mut self, key_prefix: Vec<u8>) {
        self.operations
            .push(WriteOperation::DeletePrefix { key_prefix });
    }

    /// Appends another batch's writes after this one's.
    pub fn extend(&mut self, other: Batch) {
        self.operations.extend(other.operations);
    }
}

/// Entries found by a prefix scan: (key without the prefix, value).
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// An ordered key-value store. Keys are compared as bytes; prefix scans return entries in
/// key order. [`KeyValueStore::write_batch`] is atomic: after a crash either all of a batch
/// is visible or none of it, which is how a block's effects are never half applied.
pub trait KeyValueStore: Clone + Send + Sync + 'static {
    /// The value at `key`, if any.
    fn read_value(
        &self,
        key: &[u8],
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The values at several keys, in the same order.
    fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> + Send;

    /// The entries whose keys start with `prefix`, in key order, with the prefix removed
    /// from each key.
    fn find_key_values_by_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Future<Output = Result<KeyValues, StoreError>> + Send;

    /// The keys that start with `prefix`, in order, with the prefix removed.
    fn find_keys_by_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send;

    /// The first `limit` keys that start with `prefix`, in order, with the prefix removed:
    /// a scan that stops there, for work that must stay bounded.
    fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send;

    /// Applies a batch atomically.
    fn write_batch(&self, batch: Batch) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The smallest key greater than every key starting with `prefix`, or `None` if no such key
/// exists (the prefix is all `0xff`). Backends use it to bound range scans.
pub fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if last < u8::MAX {
            bound.push(last + 1);
            return Some(bound);
        }
    }
    None
}
