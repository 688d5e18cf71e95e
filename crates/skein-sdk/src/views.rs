//! The node's own view types (`skein-views`: registers, maps, logs, queues, collections,
//! and `#[derive(View)]` structs of them) over the application's state: [`HostStore`] is
//! the application's key-value state as a store. Load a view with
//! [`ContractRuntime::load_view`](crate::ContractRuntime::load_view), change it, save it
//! with [`ContractRuntime::save_view`](crate::ContractRuntime::save_view); a service loads
//! views the same way, read only. (The derive names the `skein_views` crate: add it to the
//! application's dependencies.)

use std::{
    future::Future,
    task::{Context, Poll, Waker},
};

use skein_views::{Batch, KeyValueStore, KeyValues, StoreError, WriteOperation};

/// The application's state, as the store views live in. In Wasm every access is a host
/// call; natively (in unit tests) it is a map shared by the runtime's clones.
#[derive(Clone, Default)]
pub struct HostStore {
    #[cfg(not(target_arch = "wasm32"))]
    values: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl HostStore {
    #[cfg(not(target_arch = "wasm32"))]
    fn values(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
        self.values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The bytes under `key`.
    pub fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        #[cfg(target_arch = "wasm32")]
        return crate::abi::host_read(key);
        #[cfg(not(target_arch = "wasm32"))]
        return self.values().get(key).cloned();
    }

    /// The keys starting with `prefix`, in order, without the prefix.
    pub fn find_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        #[cfg(target_arch = "wasm32")]
        return crate::abi::host_find_keys(prefix);
        #[cfg(not(target_arch = "wasm32"))]
        return self
            .values()
            .range(prefix.to_vec()..)
            .map_while(|(key, _)| key.strip_prefix(prefix).map(<[u8]>::to_vec))
            .collect();
    }

    /// Stores `value` under `key`.
    pub fn write(&self, key: &[u8], value: &[u8]) {
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_write(key, value);
        #[cfg(not(target_arch = "wasm32"))]
        self.values().insert(key.to_vec(), value.to_vec());
    }

    /// Removes `key`.
    pub fn remove(&self, key: &[u8]) {
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_remove(key);
        #[cfg(not(target_arch = "wasm32"))]
        self.values().remove(key);
    }
}

impl KeyValueStore for HostStore {
    fn read_value(
        &self,
        key: &[u8],
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        std::future::ready(Ok(self.read(key)))
    }

    fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> + Send {
        std::future::ready(Ok(keys.iter().map(|key| self.read(key)).collect()))
    }

    fn find_key_values_by_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Future<Output = Result<KeyValues, StoreError>> + Send {
        let entries = self
            .find_keys(prefix)
            .into_iter()
            .filter_map(|suffix| {
                let value = self.read(&[prefix, &suffix].concat())?;
                Some((suffix, value))
            })
            .collect();
        std::future::ready(Ok(entries))
    }

    fn find_keys_by_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send {
        std::future::ready(Ok(self.find_keys(prefix)))
    }

    fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send {
        // The host lists a prefix whole, or refuses past its limit.
        let mut keys = self.find_keys(prefix);
        keys.truncate(limit);
        std::future::ready(Ok(keys))
    }

    fn write_batch(&self, batch: Batch) -> impl Future<Output = Result<(), StoreError>> + Send {
        for operation in batch.operations {
            match operation {
                WriteOperation::Put { key, value } => self.write(&key, &value),
                WriteOperation::Delete { key } => self.remove(&key),
                WriteOperation::DeletePrefix { key_prefix } => {
                    for suffix in self.find_keys(&key_prefix) {
                        self.remove(&[key_prefix.as_slice(), &suffix].concat());
                    }
                }
            }
        }
        std::future::ready(Ok(()))
    }
}

/// The output of a view operation on the [`HostStore`] (`view.key_values()`, say), whose
/// every access completes at once: polled once, never waited on.
pub fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the host store answers at once"),
    }
}
