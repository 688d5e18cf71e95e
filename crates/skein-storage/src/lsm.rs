//! [`LsmStore`]: a persistent store in a local directory, on the fjall LSM tree, for data
//! larger than memory.
//!
//! Fjall is pure Rust (no C++ build), writes through a journal, and commits a write batch
//! atomically: after a crash, a batch is either fully visible or absent. Each batch is
//! flushed to the operating system before `write_batch` returns, so it survives a crash of
//! the process; with `sync` it is also forced to disk, surviving a power loss, at the cost of
//! an fsync (about 3 ms) per batch.

use std::{collections::BTreeMap, path::Path};

use skein_views::{Batch, KeyValueStore, KeyValues, StoreError, WriteOperation};

/// Keys above this size are refused: fjall limits keys to 64 KiB, and ours are far smaller.
const KEY_BYTES_MAX: usize = 1 << 15;

/// A store in a directory on local disk. Clones share the same database. One process at a
/// time may open a directory.
#[derive(Clone)]
pub struct LsmStore {
    database: fjall::Database,
    keyspace: fjall::Keyspace,
    sync: bool,
}

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

impl LsmStore {
    /// Opens (or creates) the store in `path`. With `sync`, every batch is forced to disk.
    pub fn open(path: &Path, sync: bool) -> Result<Self, StoreError> {
        let database = fjall::Database::builder(path)
            .open()
            .map_err(|error| backend(format!("cannot open {}: {error}", path.display())))?;
        let keyspace = database
            .keyspace("skein", fjall::KeyspaceCreateOptions::default)
            .map_err(backend)?;
        Ok(Self {
            database,
            keyspace,
            sync,
        })
    }

    fn scan(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        let mut entries = Vec::new();
        for guard in self.keyspace.prefix(prefix) {
            let (key, value) = guard.into_inner().map_err(backend)?;
            entries.push((key[prefix.len()..].to_vec(), value.to_vec()));
        }
        Ok(entries)
    }

    fn scan_keys(&self, prefix: &[u8], limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = Vec::new();
        for guard in self.keyspace.prefix(prefix).take(limit) {
            let key = guard.key().map_err(backend)?;
            keys.push(key[prefix.len()..].to_vec());
        }
        Ok(keys)
    }
}

impl KeyValueStore for LsmStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.keyspace.get(key).map_err(backend)?;
        Ok(value.map(|slice| slice.to_vec()))
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter()
            .map(|key| {
                let value = self.keyspace.get(key).map_err(backend)?;
                Ok(value.map(|slice| slice.to_vec()))
            })
            .collect()
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        self.scan(prefix)
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.scan_keys(prefix, usize::MAX)
    }

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.scan_keys(prefix, limit)
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        // Resolve the batch into final per-key outcomes first: a prefix deletion must also
        // remove keys stored before the batch, which the LSM tree only knows by scanning.
        let mut outcome: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for operation in batch.operations {
            match operation {
                WriteOperation::Put { key, value } => {
                    if key.len() > KEY_BYTES_MAX {
                        return Err(StoreError::TooLarge {
                            what: "key",
                            size: key.len(),
                            limit: KEY_BYTES_MAX,
                        });
                    }
                    outcome.insert(key, Some(value));
                }
                WriteOperation::Delete { key } => {
                    outcome.insert(key, None);
                }
                WriteOperation::DeletePrefix { key_prefix } => {
                    for (key, value) in outcome.iter_mut() {
                        if key.starts_with(&key_prefix) {
                            *value = None;
                        }
                    }
                    for suffix in self.scan_keys(&key_prefix, usize::MAX)? {
                        let mut key = key_prefix.clone();
                        key.extend_from_slice(&suffix);
                        outcome.insert(key, None);
                    }
                }
            }
        }
        let mut write = self.database.batch();
        if self.sync {
            write = write.durability(Some(fjall::PersistMode::SyncData));
        }
        for (key, value) in outcome {
            match value {
                Some(value) => write.insert(&self.keyspace, key, value),
                None => write.remove(&self.keyspace, key),
            }
        }
        write.commit().map_err(backend)
    }
}
