//! The view types.

mod collection;
mod hashed;
mod key_value;
mod log;
mod map;
mod queue;
mod register;

pub use collection::CollectionView;
pub use hashed::HashedView;
pub use key_value::KeyValueView;
pub use log::LogView;
pub use map::{MapView, SetView};
pub use queue::QueueView;
pub use register::RegisterView;
