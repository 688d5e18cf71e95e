//! [`ExecutionRuntime`]: what a node needs to run applications — the Wasm engine and the
//! published code, loaded from the node's blobs.

use std::{collections::VecDeque, sync::Arc};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use skein_base::{BlobId, BytecodeId};

use crate::{
    wasm::{Bytecode, WasmError, WasmRuntime},
    ExecutionError,
};

/// Loaded modules kept: loading means reading a blob and hashing it.
const BYTECODES_CACHED_MAX: usize = 64;

/// Where a node keeps published blobs.
pub trait BlobSource: Send + Sync + 'static {
    /// The blob's bytes, if this node has it.
    fn read_blob(&self, id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, ExecutionError>>;
}

/// The Wasm engine (one per process, created on first use) and the node's blobs. Cheap to
/// clone.
#[derive(Clone)]
pub struct ExecutionRuntime {
    blobs: Arc<dyn BlobSource>,
    bytecodes: Arc<Mutex<VecDeque<(BlobId, Bytecode)>>>,
}

impl ExecutionRuntime {
    /// A runtime loading application code from `blobs`.
    pub fn new(blobs: Arc<dyn BlobSource>) -> Self {
        Self {
            blobs,
            bytecodes: Arc::default(),
        }
    }

    /// The process's Wasm engine, created the first time an application runs.
    pub fn wasm(&self) -> Result<&'static WasmRuntime, ExecutionError> {
        static WASM: std::sync::OnceLock<Result<WasmRuntime, WasmError>> =
            std::sync::OnceLock::new();
        WASM.get_or_init(WasmRuntime::new)
            .as_ref()
            .map_err(|error| ExecutionError::Storage(format!("the Wasm engine failed: {error}")))
    }

    /// The contract module of `bytecode_id`.
    pub async fn contract(&self, bytecode_id: &BytecodeId) -> Result<Bytecode, ExecutionError> {
        self.bytecode(bytecode_id.contract).await
    }

    /// The service module of `bytecode_id`.
    pub async fn service(&self, bytecode_id: &BytecodeId) -> Result<Bytecode, ExecutionError> {
        self.bytecode(bytecode_id.service).await
    }

    async fn bytecode(&self, id: BlobId) -> Result<Bytecode, ExecutionError> {
        if let Some(bytecode) = self.cached(&id) {
            return Ok(bytecode);
        }
        let bytes = self
            .blobs
            .read_blob(id)
            .await?
            .ok_or(ExecutionError::BlobNotFound(id))?;
        let bytecode = Bytecode::new(bytes);
        if bytecode.hash() != id.hash {
            return Err(ExecutionError::Storage(format!(
                "the stored blob {id:?} does not match its hash"
            )));
        }
        let mut cache = self.bytecodes.lock();
        cache.retain(|(key, _)| *key != id);
        cache.push_front((id, bytecode.clone()));
        cache.truncate(BYTECODES_CACHED_MAX);
        Ok(bytecode)
    }

    fn cached(&self, id: &BlobId) -> Option<Bytecode> {
        let cache = self.bytecodes.lock();
        cache
            .iter()
            .find(|(key, _)| key == id)
            .map(|(_, bytecode)| bytecode.clone())
    }
}
