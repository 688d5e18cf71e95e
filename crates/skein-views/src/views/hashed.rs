//! [`HashedView`]: a view with a state hash that costs only the size of each change.

use std::ops::{Deref, DerefMut};

use serde::Serialize;
use skein_base::crypto::{BcsHashable, CryptoHash};

use crate::{
    context::{from_bytes, to_bytes},
    store::{Batch, KeyValueStore, WriteOperation},
    View, ViewContext, ViewError,
};

const HASH_TAG: u8 = 0;
const INNER_TAG: u8 = 1;

/// What is hashed at each save: the previous hash and the writes, with keys relative to the
/// view, so the hash does not depend on where the view is stored.
#[derive(Serialize)]
struct StateTransition<'a> {
    previous: Option<CryptoHash>,
    writes: &'a [WriteOperation],
}

impl BcsHashable for StateTransition<'_> {
    const TYPE_TAG: &'static str = "StateTransition";
}

/// Wraps a view with a hash of its whole history of saves: each save hashes the previous
/// hash together with the batch of writes. Two copies that went through the same changes
/// have the same hash, and computing it never reads the whole state. Views write their
/// batches deterministically, so every validator computes the same hash.
pub struct HashedView<S, V> {
    context: ViewContext<S>,
    inner: V,
    stored_hash: Option<CryptoHash>,
    /// The hash `pre_save` wrote, for `post_save` to adopt without computing it again.
    saving_hash: std::sync::Mutex<Option<CryptoHash>>,
}

impl<S: KeyValueStore, V: View<S>> HashedView<S, V> {
    /// The hash of the state as it would be saved now, unsaved changes included.
    pub fn hash(&self) -> Result<CryptoHash, ViewError> {
        let mut batch = Batch::new();
        self.inner.pre_save(&mut batch)?;
        Ok(self.next_hash(&batch))
    }

    fn next_hash(&self, batch: &Batch) -> CryptoHash {
        if batch.is_empty() {
            if let Some(hash) = self.stored_hash {
                return hash;
            }
        }
        let prefix_len = self.inner.context().base_key().len();
        let writes: Vec<WriteOperation> = batch
            .operations
            .iter()
            .map(|operation| relative(operation, prefix_len))
            .collect();
        CryptoHash::new(&StateTransition {
            previous: self.stored_hash,
            writes: &writes,
        })
    }
}

fn relative(operation: &WriteOperation, prefix_len: usize) -> WriteOperation {
    let strip = |key: &[u8]| key.get(prefix_len..).unwrap_or_default().to_vec();
    match operation {
        WriteOperation::Put { key, value } => WriteOperation::Put {
            key: strip(key),
            value: value.clone(),
        },
        WriteOperation::Delete { key } => WriteOperation::Delete { key: strip(key) },
        WriteOperation::DeletePrefix { key_prefix } => WriteOperation::DeletePrefix {
            key_prefix: strip(key_prefix),
        },
    }
}

impl<S, V> Deref for HashedView<S, V> {
    type Target = V;

    fn deref(&self) -> &V {
        &self.inner
    }
}

impl<S, V> DerefMut for HashedView<S, V> {
    fn deref_mut(&mut self) -> &mut V {
        &mut self.inner
    }
}

impl<S: KeyValueStore, V: View<S>> View<S> for HashedView<S, V> {
    const INIT_KEYS: usize = 1 + V::INIT_KEYS;

    fn pre_load(context: &ViewContext<S>) -> Vec<Vec<u8>> {
        let mut keys = vec![context.key(&[HASH_TAG])];
        keys.extend(V::pre_load(&context.child(&[INNER_TAG])));
        keys
    }

    fn post_load(context: ViewContext<S>, values: &[Option<Vec<u8>>]) -> Result<Self, ViewError> {
        let stored_hash = match values.first() {
            Some(Some(bytes)) => Some(from_bytes(&context.key(&[HASH_TAG]), bytes)?),
            _ => None,
        };
        let inner = V::post_load(
            context.child(&[INNER_TAG]),
            values.get(1..).unwrap_or_default(),
        )?;
        Ok(Self {
            context,
            inner,
            stored_hash,
            saving_hash: std::sync::Mutex::new(None),
        })
    }

    fn context(&self) -> ViewContext<S> {
        self.context.clone()
    }

    fn rollback(&mut self) {
        self.inner.rollback();
        *self
            .saving_hash
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
    }

    fn has_pending_changes(&self) -> bool {
        self.inner.has_pending_changes()
    }

    fn clear(&mut self) {
        self.inner.clear();
    }

    fn pre_save(&self, batch: &mut Batch) -> Result<(), ViewError> {
        let mut inner_batch = Batch::new();
        self.inner.pre_save(&mut inner_batch)?;
        if inner_batch.is_empty() {
            return Ok(());
        }
        let hash = self.next_hash(&inner_batch);
        batch.extend(inner_batch);
        batch.put(self.context.key(&[HASH_TAG]), to_bytes(&hash));
        *self
            .saving_hash
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(hash);
        Ok(())
    }

    fn post_save(&mut self) {
        let saved = self
            .saving_hash
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        if self.inner.has_pending_changes() {
            self.stored_hash = match saved {
                Some(hash) => Some(hash),
                None => Some(self.hash().expect("the changes encode")),
            };
        }
        self.inner.post_save();
    }
}
