//! [`ExecutionRuntime`]: what a node needs to run blocks beyond the chain's own state — the
//! Wasm engine, the published code (loaded from the node's blobs) and the committees the
//! admin chain created.

use std::{collections::VecDeque, sync::Arc};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use skein_base::{limits, BlobId, BytecodeId, Committee, Epoch};

use crate::{
    wasm::{Bytecode, WasmError, WasmRuntime},
    ExecutionError,
};

/// Bytes of loaded modules kept (loading means reading a blob and hashing it): room for
/// the modules of well over a hundred applications of the largest size.
const BYTECODE_BYTES_CACHED_MAX: usize = 256 << 20;

/// What a node keeps for every chain to use: published blobs, and the committee of each
/// epoch the admin chain created.
pub trait PublishedData: Send + Sync + 'static {
    /// The blob's bytes, if this node has it.
    fn read_blob(&self, id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, ExecutionError>>;

    /// The committee of `epoch`, if this node has committed the admin chain's block that
    /// created it.
    fn read_committee(
        &self,
        epoch: Epoch,
    ) -> BoxFuture<'_, Result<Option<Committee>, ExecutionError>>;
}

/// The Wasm engine (one per process, created on first use) and the node's blobs. Cheap to
/// clone.
#[derive(Clone)]
pub struct ExecutionRuntime {
    blobs: Arc<dyn PublishedData>,
    bytecodes: Arc<Mutex<VecDeque<(BlobId, Bytecode)>>>,
}

impl ExecutionRuntime {
    /// A runtime loading application code from `blobs`.
    pub fn new(blobs: Arc<dyn PublishedData>) -> Self {
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

    /// The committee the admin chain created for `epoch`: refused, as this node's gap and
    /// not the block's fault, while the node has not committed that admin block.
    pub async fn committee(&self, epoch: Epoch) -> Result<Committee, ExecutionError> {
        self.blobs
            .read_committee(epoch)
            .await?
            .ok_or(ExecutionError::CommitteeNotPublished(epoch))
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
        let mut kept = 0;
        cache.retain(|(_, bytecode)| {
            kept += bytecode.bytes().len();
            kept <= BYTECODE_BYTES_CACHED_MAX
        });
        Ok(bytecode)
    }

    /// Admits the modules of a publication, paid from the block's `fuel`: each must be a
    /// module Skein can run ([`WasmRuntime::admit`], no compiling on the way to a vote), or
    /// the publication is refused, so that no chain registers code that cannot run. Both
    /// then start compiling in the background, ready for their first calls.
    pub fn admit_publication(
        &self,
        contract: &[u8],
        service: &[u8],
        fuel: &mut u64,
    ) -> Result<(), ExecutionError> {
        let bytes = (contract.len() + service.len()) as u64;
        let cost = bytes.saturating_mul(limits::PUBLICATION_FUEL_PER_BYTE);
        *fuel = fuel.checked_sub(cost).ok_or_else(|| {
            ExecutionError::LimitExceeded(format!(
                "publishing {bytes} bytes of modules costs {cost} fuel, the block has {fuel} left"
            ))
        })?;
        let wasm = self.wasm()?;
        let modules = [
            ("contract", Bytecode::new(contract.to_vec())),
            ("service", Bytecode::new(service.to_vec())),
        ];
        for (part, bytecode) in &modules {
            wasm.admit(bytecode).map_err(|error| {
                ExecutionError::InvalidBytecode(format!("the {part} module cannot run: {error}"))
            })?;
        }
        for (_, bytecode) in &modules {
            wasm.warm(bytecode);
        }
        Ok(())
    }

    fn cached(&self, id: &BlobId) -> Option<Bytecode> {
        let cache = self.bytecodes.lock();
        cache
            .iter()
            .find(|(key, _)| key == id)
            .map(|(_, bytecode)| bytecode.clone())
    }
}
