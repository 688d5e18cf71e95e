//! [`ContractRuntime`] and [`ServiceRuntime`]: an application's view of its state, read
//! and written by its contract, only read by its service.

use serde::{de::DeserializeOwned, Serialize};
use skein_base::{CallContext, ChainId, SendMessageRequest};

/// How a message travels: whether it comes back if rejected, and whether it carries the
/// signer of the block (or message) that sent it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// A rejected tracked message returns to its sender, marked as bouncing
    /// ([`MessageInfo::is_bouncing`](crate::MessageInfo)), so what it carries is not lost.
    pub tracked: bool,
    /// The recipient sees the sender's authenticated signer as its own, and may act on that
    /// user's behalf (spend their tokens, say).
    pub authenticated: bool,
}

impl Delivery {
    /// Dropped if the recipient rejects it; no signer.
    pub const SIMPLE: Delivery = Delivery {
        tracked: false,
        authenticated: false,
    };

    /// Comes back if the recipient rejects it; no signer.
    pub const TRACKED: Delivery = Delivery {
        tracked: true,
        authenticated: false,
    };

    /// The same delivery, carrying the signer.
    pub const fn authenticated(self) -> Delivery {
        Delivery {
            authenticated: true,
            ..self
        }
    }
}

/// The application's state on the chain, as keys and values, and what the call runs for.
/// Built for Wasm it calls the host; elsewhere (in an application's unit tests) it is an
/// in-memory map and a context the test sets.
#[derive(Clone, Default)]
pub struct ContractRuntime {
    #[cfg(not(target_arch = "wasm32"))]
    values: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    #[cfg(not(target_arch = "wasm32"))]
    context: Option<CallContext>,
    #[cfg(not(target_arch = "wasm32"))]
    parameters: Vec<u8>,
    #[cfg(not(target_arch = "wasm32"))]
    sent: Vec<SendMessageRequest>,
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

    /// The same test runtime, for an application created with `parameters`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_parameters<T: Serialize>(self, parameters: &T) -> Self {
        Self {
            parameters: serde_json::to_vec(parameters).expect("parameters encode"),
            ..self
        }
    }

    /// The same test runtime, with the context its next calls run for.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn set_context(&mut self, context: CallContext) {
        self.context = Some(context);
    }

    /// The messages sent so far, in a unit test.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sent_messages(&self) -> &[SendMessageRequest] {
        &self.sent
    }

    /// The application's parameters, fixed when it was created, decoded from JSON (as
    /// `skein publish-and-create --json-parameters` takes them). Parameters that do not
    /// decode as `T` fail the call.
    pub fn parameters<T: DeserializeOwned>(&self) -> T {
        #[cfg(target_arch = "wasm32")]
        let bytes = crate::abi::host_parameters();
        #[cfg(not(target_arch = "wasm32"))]
        let bytes = self.parameters.clone();
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|error| panic!("the parameters do not decode: {error}"))
    }

    /// Sends `message` to this application on `destination` (which may be this chain),
    /// if the call succeeds. The application is registered there by its first message.
    pub fn send_message<M: Serialize>(
        &mut self,
        destination: ChainId,
        message: &M,
        delivery: Delivery,
    ) {
        let message = bcs::to_bytes(message)
            .unwrap_or_else(|error| panic!("a message does not encode: {error}"));
        let request = SendMessageRequest {
            destination,
            authenticated: delivery.authenticated,
            tracked: delivery.tracked,
            message,
        };
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_send_message(&request);
        #[cfg(not(target_arch = "wasm32"))]
        self.sent.push(request);
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

    /// The application's parameters, fixed when it was created.
    pub fn parameters<T: DeserializeOwned>(&self) -> T {
        self.0.parameters()
    }

    /// The chain the query runs on, and its latest block.
    pub fn context(&self) -> CallContext {
        self.0.context()
    }
}
