//! [`ContractRuntime`] and [`ServiceRuntime`]: an application's view of its state, read
//! and written by its contract, only read by its service.

use serde::{de::DeserializeOwned, Serialize};
use skein_base::CallContext;

/// The application's state on the chain, as keys and values, and what the call runs for.
/// Built for Wasm it calls the host; elsewhere (in an application's unit tests) it is an
/// in-memory map and a context the test sets.
#[derive(Clone, Default)]
pub struct ContractRuntime {
    #[cfg(not(target_arch = "wasm32"))]
    values: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    #[cfg(not(target_arch = "wasm32"))]
    context: Option<CallContext>,
}

impl ContractRuntime {
    /// What the application's service sees of this state: in unit tests, a query after
    /// operations.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn service_runtime(&self) -> ServiceRuntime {
        ServiceRuntime(self.clone())
    }

    /// A runtime for unit tests whose calls run for `context`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_context(context: CallContext) -> Self {
        Self {
            context: Some(context),
            ..Self::default()
        }
    }

    /// The chain, block and signer the call runs for.
    pub fn context(&self) -> CallContext {
        #[cfg(target_arch = "wasm32")]
        return crate::abi::host_context();
        #[cfg(not(target_arch = "wasm32"))]
        return self
            .context
            .clone()
            .unwrap_or_else(|| panic!("this test runtime has no context: use `with_context`"));
    }

    /// The value under `key`, decoded; `None` if there is none. A value that does not
    /// decode as `T` fails the call.
    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        let bytes = self.read(key)?;
        match bcs::from_bytes(&bytes) {
            Ok(value) => Some(value),
            Err(error) => panic!("the value under {key:?} does not decode: {error}"),
        }
    }

    /// Stores `value` under `key`.
    pub fn set<T: Serialize>(&mut self, key: &[u8], value: &T) {
        match bcs::to_bytes(value) {
            Ok(bytes) => self.write(key, &bytes),
            Err(error) => panic!("a value for {key:?} does not encode: {error}"),
        }
    }

    /// The raw bytes under `key`.
    pub fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        #[cfg(target_arch = "wasm32")]
        return crate::abi::host_read(key);
        #[cfg(not(target_arch = "wasm32"))]
        return self.values.get(key).cloned();
    }

    /// Stores raw bytes under `key`.
    pub fn write(&mut self, key: &[u8], value: &[u8]) {
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_write(key, value);
        #[cfg(not(target_arch = "wasm32"))]
        self.values.insert(key.to_vec(), value.to_vec());
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &[u8]) {
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_remove(key);
        #[cfg(not(target_arch = "wasm32"))]
        self.values.remove(key);
    }

    /// The keys that start with `prefix`, in order, without the prefix.
    pub fn find_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        #[cfg(target_arch = "wasm32")]
        return crate::abi::host_find_keys(prefix);
        #[cfg(not(target_arch = "wasm32"))]
        return self
            .values
            .range(prefix.to_vec()..)
            .map_while(|(key, _)| key.strip_prefix(prefix).map(<[u8]>::to_vec))
            .collect();
    }
}

/// The application's state as its service sees it: read only. (The host refuses writes
/// from a service too.)
#[derive(Default)]
pub struct ServiceRuntime(ContractRuntime);

impl ServiceRuntime {
    /// The value under `key`, decoded; `None` if there is none.
    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        self.0.get(key)
    }

    /// The raw bytes under `key`.
    pub fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.read(key)
    }

    /// The keys that start with `prefix`, in order, without the prefix.
    pub fn find_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        self.0.find_keys(prefix)
    }

    /// The chain the query runs on, and its latest block.
    pub fn context(&self) -> CallContext {
        self.0.context()
    }
}
