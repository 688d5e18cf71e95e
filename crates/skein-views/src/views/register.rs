//! [`RegisterView`]: one value.

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    context::{from_bytes, to_bytes},
    store::{Batch, KeyValueStore},
    View, ViewContext, ViewError,
};

/// A single value, stored at the view's base key; `T::default()` until first set.
pub struct RegisterView<S, T> {
    context: ViewContext<S>,
    stored: T,
    update: Option<Box<T>>,
}

impl<S, T> RegisterView<S, T>
where
    S: KeyValueStore,
    T: Clone + Default + Serialize + DeserializeOwned + Send + Sync,
{
    /// The current value, including unsaved changes.
    pub fn get(&self) -> &T {
        match &self.update {
            Some(value) => value,
            None => &self.stored,
        }
    }

    /// The value for changing in place.
    pub fn get_mut(&mut self) -> &mut T {
        let stored = &self.stored;
        self.update.get_or_insert_with(|| Box::new(stored.clone()))
    }

    /// Replaces the value.
    pub fn set(&mut self, value: T) {
        self.update = Some(Box::new(value));
    }
}

impl<S, T> View<S> for RegisterView<S, T>
where
    S: KeyValueStore,
    T: Clone + Default + Serialize + DeserializeOwned + Send + Sync,
{
    const INIT_KEYS: usize = 1;

    fn pre_load(context: &ViewContext<S>) -> Vec<Vec<u8>> {
        vec![context.base_key().to_vec()]
    }

    fn post_load(context: ViewContext<S>, values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        let stored = match values.first() {
            Some(Some(bytes)) => from_bytes(context.base_key(), bytes)?,
            _ => T::default(),
        };
        Ok(Self {
            context,
            stored,
            update: None,
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.context.clone()
    }

    fn rollback(&mut self) {
        self.update = None;
    }

    fn has_pending_changes(&self) -> bool {
        self.update.is_some()
    }

    fn clear(&mut self) {
        self.update = Some(Box::default());
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        if let Some(value) = &self.update {
            batch.put(self.context.base_key().to_vec(), to_bytes(value.as_ref()));
        }
        Ok(())
    }

    fn post_save(&mut self) {
        if let Some(value) = self.update.take() {
            self.stored = *value;
        }
    }
}
