//! Where Skein keeps its data: the store backends and the layout of chains, certificates and
//! blobs inside a store.
//!
//! Backends: [`MemoryStore`] for tests and the simulator; [`LogStore`] (in memory, logged to
//! disk) for a node on one machine, the default; [`LsmStore`] (fjall) for a node whose data
//! outgrows memory; [`PostgresStore`] for a validator whose shards run as separate processes.
//!
//! Measured on the 2-core development machine (`skein net up`, then `skein benchmark
//! --chains 16 --transfers 10000`, validators' CPU per transfer): the LSM store costs about
//! 30% more validator CPU than keeping the data in memory, from its skiplist inserts; the
//! log store costs the memory store plus one `write` per batch.
//! [`AnyStore`] picks one at run time from a [`StorageUri`].

mod any;
mod layout;
mod log_store;
mod lsm;
mod postgres;
pub mod test_postgres;

pub use any::{AnyStore, StorageUri};
pub use layout::{Storage, StoredCertificate};
pub use log_store::LogStore;
pub use lsm::LsmStore;
pub use postgres::PostgresStore;
pub use skein_views::{KeyValueStore, MemoryStore, StoreError};

#[cfg(test)]
#[path = "unit_tests/backend_tests.rs"]
mod backend_tests;
