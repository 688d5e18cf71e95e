//! Where Skein keeps its data: the store backends and the layout of chains, certificates and
//! blobs inside a store.
//!
//! Backends: [`MemoryStore`] for tests and the simulator, [`EmbeddedStore`] for a node on one
//! machine, [`PostgresStore`] for a validator whose shards run as separate processes.
//! [`AnyStore`] picks one at run time from a [`StorageUri`].

mod any;
mod embedded;
mod layout;
mod postgres;
pub mod test_postgres;

pub use any::{AnyStore, StorageUri};
pub use embedded::EmbeddedStore;
pub use postgres::PostgresStore;
pub use layout::Storage;
pub use skein_views::{KeyValueStore, MemoryStore, StoreError};

#[cfg(test)]
#[path = "unit_tests/backend_tests.rs"]
mod backend_tests;
