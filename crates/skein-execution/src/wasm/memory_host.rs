//! [`MemoryHost`]: an application's state in a map, for its tests and benchmarks.

use std::{collections::BTreeMap, sync::Arc};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use skein_base::SendMessageRequest;

use super::{Host, HostError};

/// A [`Host`] over an in-memory map. Clones share the map and the sent messages, so a test
/// keeps one to look at them while the runtime holds another. Writes apply at once (there
/// is no block to roll back).
#[derive(Clone, Default)]
pub struct MemoryHost {
    values: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>,
    sent: Arc<Mutex<Vec<SendMessageRequest>>>,
    context: Vec<u8>,
    parameters: Vec<u8>,
}

impl MemoryHost {
    /// A host whose `context` call returns `context`.
    pub fn with_context(context: Vec<u8>) -> Self {
        Self {
            context,
            ..Self::default()
        }
    }

    /// The same host, with `parameters` as the application's parameters.
    pub fn with_parameters(self, parameters: Vec<u8>) -> Self {
        Self { parameters, ..self }
    }

    /// The messages sent so far.
    pub fn sent_messages(&self) -> Vec<SendMessageRequest> {
        self.sent.lock().clone()
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.values.lock().get(key).cloned()
    }

    /// How many keys the state holds.
    pub fn len(&self) -> usize {
        self.values.lock().len()
    }

    /// Whether the state is empty.
    pub fn is_empty(&self) -> bool {
        self.values.lock().is_empty()
    }
}

impl Host for MemoryHost {
    fn read(&mut self, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>, HostError>> {
        Box::pin(async move { Ok(self.get(&key)) })
    }

    fn find_keys(&mut self, prefix: Vec<u8>) -> BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>> {
        Box::pin(async move {
            Ok(self
                .values
                .lock()
                .range(prefix.clone()..)
                .map_while(|(key, _)| key.strip_prefix(prefix.as_slice()).map(<[u8]>::to_vec))
                .collect())
        })
    }

    fn write(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), HostError> {
        self.values.lock().insert(key, value);
        Ok(())
    }

    fn remove(&mut self, key: Vec<u8>) -> Result<(), HostError> {
        self.values.lock().remove(&key);
        Ok(())
    }

    fn context(&self) -> Vec<u8> {
        self.context.clone()
    }

    fn parameters(&self) -> Vec<u8> {
        self.parameters.clone()
    }

    fn send_message(&mut self, request: SendMessageRequest) -> Result<(), HostError> {
        self.sent.lock().push(request);
        Ok(())
    }
}
