//! [`AnyStore`]: one store type for binaries that choose the backend at run time.

use std::{fmt, path::PathBuf, str::FromStr};

use skein_views::{Batch, KeyValueStore, KeyValues, MemoryStore, StoreError};

use crate::embedded::EmbeddedStore;

/// Where a node keeps its data, as written on a command line or in a config file:
/// `memory` or `embedded:PATH` (add `?sync` to force every batch to disk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageUri {
    /// Nothing survives the process.
    Memory,
    /// A directory on local disk.
    Embedded {
        /// The directory.
        path: PathBuf,
        /// Whether every batch is forced to disk.
        sync: bool,
    },
}

impl FromStr for StorageUri {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "memory" {
            return Ok(StorageUri::Memory);
        }
        if let Some(rest) = text.strip_prefix("embedded:") {
            let (path, sync) = match rest.strip_suffix("?sync") {
                Some(path) => (path, true),
                None => (rest, false),
            };
            if path.is_empty() {
                return Err("embedded storage needs a path: embedded:PATH".into());
            }
            return Ok(StorageUri::Embedded {
                path: PathBuf::from(path),
                sync,
            });
        }
        Err(format!(
            "unknown storage {text:?}: expected `memory` or `embedded:PATH`"
        ))
    }
}

impl fmt::Display for StorageUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageUri::Memory => write!(formatter, "memory"),
            StorageUri::Embedded { path, sync } => {
                write!(formatter, "embedded:{}", path.display())?;
                if *sync {
                    write!(formatter, "?sync")?;
                }
                Ok(())
            }
        }
    }
}

/// A store of any backend.
#[derive(Clone)]
pub enum AnyStore {
    /// In memory.
    Memory(MemoryStore),
    /// On local disk.
    Embedded(EmbeddedStore),
}

impl AnyStore {
    /// Opens the store a URI names.
    pub fn open(uri: &StorageUri) -> Result<Self, StoreError> {
        match uri {
            StorageUri::Memory => Ok(AnyStore::Memory(MemoryStore::new())),
            StorageUri::Embedded { path, sync } => {
                Ok(AnyStore::Embedded(EmbeddedStore::open(path, *sync)?))
            }
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call,
            AnyStore::Embedded($store) => $call,
        }
    };
}

impl KeyValueStore for AnyStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self, store => store.read_value(key).await)
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        dispatch!(self, store => store.read_multi_values(keys).await)
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        dispatch!(self, store => store.find_key_values_by_prefix(prefix).await)
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        dispatch!(self, store => store.find_keys_by_prefix(prefix).await)
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        dispatch!(self, store => store.write_batch(batch).await)
    }
}
