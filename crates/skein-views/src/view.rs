//! The [`View`] trait: load, change in memory, save atomically or roll back.

use std::future::Future;

use crate::{
    context::ViewContext,
    store::{Batch, KeyValueStore},
    ViewError,
};

/// A typed piece of state stored under one key prefix.
///
/// A view is loaded once, changed in memory, and saved by writing its changes into a
/// [`Batch`] ([`View::pre_save`]) that the caller commits atomically, after which
/// [`View::post_save`] marks the changes as stored. Until then, [`View::rollback`] returns the
/// view to its stored state. Loading is split in two ([`View::pre_load`] names the keys,
/// [`View::post_load`] takes their values) so that a whole tree of views loads with one
/// multi-read.
pub trait View<S: KeyValueStore>: Sized + Send + Sync {
    /// How many keys [`View::pre_load`] returns.
    const INIT_KEYS: usize;

    /// The keys whose values [`View::post_load`] needs.
    fn pre_load(context: &ViewContext<S>) -> Vec<Vec<u8>>;

    /// Builds the view from the values of the keys of [`View::pre_load`], in order.
    fn post_load(context: ViewContext<S>, values: &[Option<Vec<u8>>]) -> Result<Self, ViewError>;

    /// The view's context.
    fn context(&self) -> ViewContext<S>;

    /// Forgets every change made since loading or the last save.
    fn rollback(&mut self);

    /// Whether anything changed since loading or the last save.
    fn has_pending_changes(&self) -> bool;

    /// Empties the view (in memory; saving makes it durable).
    fn clear(&mut self);

    /// Writes the pending changes into `batch`, without marking them stored. Deterministic:
    /// the same changes give the same batch, which is what makes state hashes agree.
    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError>;

    /// Marks the changes written by [`View::pre_save`] as stored. Call only once the batch is
    /// committed.
    fn post_save(&mut self);

    /// Loads the view with one multi-read.
    fn load(context: ViewContext<S>) -> impl Future<Output = Result<Self, ViewError>> + Send {
        async move {
            let keys = Self::pre_load(&context);
            let values = if keys.is_empty() {
                Vec::new()
            } else {
                context.store().read_multi_values(&keys).await?
            };
            Self::post_load(context, &values)
        }
    }

    /// Commits the pending changes as one atomic batch. On error nothing is written and the
    /// changes stay pending.
    fn save(&mut self) -> impl Future<Output = Result<(), ViewError>> + Send {
        async move {
            let mut batch = Batch::new();
            self.pre_save(&mut batch)?;
            if !batch.is_empty() {
                self.context().store().write_batch(batch).await?;
            }
            self.post_save();
            Ok(())
        }
    }
}
