//! [`AnyStore`]: one store type for binaries that choose the backend at run time.

use std::{fmt, path::PathBuf, str::FromStr};

use skein_views::{Batch, KeyValueStore, KeyValues, MemoryStore, StoreError};

use crate::{log_store::LogStore, lsm::LsmStore, postgres::PostgresStore};

/// Where a node keeps its data, as written on a command line or in a config file:
/// `memory`; `embedded:PATH`, in memory and logged to a directory; `lsm:PATH`, an LSM tree
/// for data larger than memory; or a `postgres://` URL (add `?table=NAME` to pick the table;
/// the default is `skein`). Local stores force every batch to disk before acknowledging it,
/// so a validator never votes on something a power loss could take back; `?nosync` trades
/// that for speed where losing the last writes is acceptable (tests, throwaway networks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageUri {
    /// Nothing survives the process.
    Memory,
    /// In memory, logged to a directory on local disk.
    Embedded {
        /// The directory.
        path: PathBuf,
        /// Whether every batch is forced to disk.
        sync: bool,
    },
    /// An LSM tree in a directory on local disk.
    Lsm {
        /// The directory.
        path: PathBuf,
        /// Whether every batch is forced to disk.
        sync: bool,
    },
    /// A table in a PostgreSQL database, shared by several processes.
    Postgres {
        /// The connection URL, without the table parameter.
        url: String,
        /// The table.
        table: String,
    },
}

/// The table of a Postgres store when the URI names none.
const DEFAULT_TABLE: &str = "skein";

fn parse_postgres(text: &str) -> Result<StorageUri, String> {
    let (base, query) = match text.split_once('?') {
        Some((base, query)) => (base, query),
        None => (text, ""),
    };
    let mut table = DEFAULT_TABLE.to_string();
    let mut kept = Vec::new();
    for parameter in query.split('&').filter(|parameter| !parameter.is_empty()) {
        match parameter.strip_prefix("table=") {
            Some(name) => table = name.to_string(),
            None => kept.push(parameter),
        }
    }
    if !crate::postgres::is_valid_table_name(&table) {
        return Err(format!(
            "invalid table name {table:?}: use lowercase letters, digits and underscores"
        ));
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(StorageUri::Postgres { url, table })
}

impl FromStr for StorageUri {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "memory" {
            return Ok(StorageUri::Memory);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return parse_postgres(text);
        }
        for (scheme, lsm) in [("embedded:", false), ("lsm:", true)] {
            let Some(rest) = text.strip_prefix(scheme) else {
                continue;
            };
            let (path, sync) = if let Some(path) = rest.strip_suffix("?nosync") {
                (path, false)
            } else {
                (rest.strip_suffix("?sync").unwrap_or(rest), true)
            };
            if path.is_empty() {
                return Err(format!("{scheme} storage needs a path: {scheme}PATH"));
            }
            let path = PathBuf::from(path);
            return Ok(if lsm {
                StorageUri::Lsm { path, sync }
            } else {
                StorageUri::Embedded { path, sync }
            });
        }
        Err(format!(
            "unknown storage {text:?}: expected `memory`, `embedded:PATH`, `lsm:PATH` or `postgres://…`"
        ))
    }
}

impl fmt::Display for StorageUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageUri::Memory => write!(formatter, "memory"),
            StorageUri::Embedded { path, sync } | StorageUri::Lsm { path, sync } => {
                let scheme = if matches!(self, StorageUri::Lsm { .. }) {
                    "lsm"
                } else {
                    "embedded"
                };
                write!(formatter, "{scheme}:{}", path.display())?;
                if !*sync {
                    write!(formatter, "?nosync")?;
                }
                Ok(())
            }
            StorageUri::Postgres { url, table } => {
                let separator = if url.contains('?') { '&' } else { '?' };
                write!(formatter, "{url}{separator}table={table}")
            }
        }
    }
}

/// A store of any backend.
#[derive(Clone)]
pub enum AnyStore {
    /// In memory.
    Memory(MemoryStore),
    /// In memory, logged to local disk.
    Embedded(LogStore),
    /// In an LSM tree on local disk.
    Lsm(LsmStore),
    /// In PostgreSQL.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens the store a URI names.
    pub async fn open(uri: &StorageUri) -> Result<Self, StoreError> {
        match uri {
            StorageUri::Memory => Ok(AnyStore::Memory(MemoryStore::new())),
            StorageUri::Embedded { path, sync } => {
                Ok(AnyStore::Embedded(LogStore::open(path, *sync)?))
            }
            StorageUri::Lsm { path, sync } => Ok(AnyStore::Lsm(LsmStore::open(path, *sync)?)),
            StorageUri::Postgres { url, table } => Ok(AnyStore::Postgres(
                PostgresStore::connect(url, table).await?,
            )),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call,
            AnyStore::Embedded($store) => $call,
            AnyStore::Lsm($store) => $call,
            AnyStore::Postgres($store) => $call,
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

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        dispatch!(self, store => store.find_keys_by_prefix_up_to(prefix, limit).await)
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        dispatch!(self, store => store.write_batch(batch).await)
    }
}
