//! The view types.

mod collection;
mod hashed;
mod log;
mod map;
mod queue;
mod register;

pub use collection::CollectionView;
pub use hashed::HashedView;
pub use log::LogView;
pub use map::{MapView, SetView};
pub use queue::QueueView;
pub use register::RegisterView;
