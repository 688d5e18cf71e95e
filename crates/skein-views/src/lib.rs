//! Typed state over an ordered key-value store.
//!
//! A *view* is a typed piece of state kept under a key prefix: a [`RegisterView`] (one
//! value), [`LogView`] (append-only list), [`QueueView`] (FIFO), [`MapView`] and [`SetView`]
//! (keyed entries), [`CollectionView`] (keyed sub-views). A struct whose fields are views
//! becomes a view with `#[derive(View)]`. Views are loaded lazily, changed in memory, then
//! saved as one atomic [`Batch`] or rolled back. [`HashedView`] adds a state hash that every
//! replica computes alike.
//!
//! ```
//! use skein_views::{MemoryStore, RegisterView, MapView, View, ViewContext};
//!
//! #[derive(skein_views::View)]
//! struct Account<S> {
//!     balance: RegisterView<S, u64>,
//!     notes: MapView<S, String, String>,
//! }
//!
//! # futures::executor::block_on(async {
//! let store = MemoryStore::new();
//! let mut account = Account::load(ViewContext::new(store.clone(), vec![7])).await?;
//! account.balance.set(10);
//! account.notes.insert(&"memo".to_string(), "rent".to_string());
//! account.save().await?;
//!
//! let account = Account::load(ViewContext::new(store, vec![7])).await?;
//! assert_eq!(*account.balance.get(), 10);
//! # Ok::<(), skein_views::ViewError>(())
//! # }).unwrap();
//! ```

extern crate self as skein_views;

mod context;
mod memory;
mod store;
mod view;
mod views;

pub use context::ViewContext;
pub use memory::MemoryStore;
pub use skein_views_derive::View;
pub use store::{prefix_upper_bound, Batch, KeyValueStore, KeyValues, StoreError, WriteOperation};
pub use view::View;
pub use views::{
    CollectionView, HashedView, KeyValueView, LogView, MapView, QueueView, RegisterView, SetView,
};

/// Why a view operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value does not decode: the store was corrupted or written by another format.
    #[error("corrupted value at key {key:02x?}: {reason}")]
    Corrupted {
        /// The key.
        key: Vec<u8>,
        /// What the decoder found.
        reason: String,
    },
    /// A key the view's own bookkeeping says exists is absent.
    #[error("missing value at key {key:02x?}")]
    Missing {
        /// The key.
        key: Vec<u8>,
    },
}

#[cfg(test)]
#[path = "unit_tests/views_tests.rs"]
mod views_tests;
