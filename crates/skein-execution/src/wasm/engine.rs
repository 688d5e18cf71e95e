//! [`WasmRuntime`]: one wasmtime engine, its compiled modules, and calls into them.

use std::{collections::VecDeque, sync::Arc};

use parking_lot::Mutex;
use skein_base::{crypto::CryptoHash, limits};
use wasmtime::{
    Config, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};

use super::{
    host::{self, Host, HostError},
    Bytecode, WasmError,
};

/// Instances alive at once: calls nest (an application calling another), and several
/// chains execute at once.
const INSTANCES_MAX: u32 = 128;

/// Compiled modules kept; compiling is the cost that must not recur per call.
const MODULES_CACHED_MAX: usize = 64;

/// Fuel a call burns between two yields to its executor.
const FUEL_BETWEEN_YIELDS: u64 = 10_000_000;

/// Memory of a pooled slot kept mapped between instances (cleared with memset rather
/// than returned to the kernel): an application built with the SDK runs in its first few
/// hundred KiB, and unmapping them after every call cost more than clearing them
/// (`bench_wasm`: 20.4 µs per counter operation with 64 KiB kept, 13.7 µs with 1 MiB).
const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// Table elements a module may have (function pointers).
const TABLE_ELEMENTS_MAX: usize = 100_000;

/// The functions of the convention an application may implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// Sets the application's state up on the chain that creates it.
    Instantiate,
    /// Runs an operation of a block.
    ExecuteOperation,
    /// Runs a message from another chain.
    ExecuteMessage,
    /// Serves a synchronous call from another application on the same chain.
    HandleCall,
    /// Serves a call into a session the application handed out.
    HandleSessionCall,
    /// Answers a read-only query (services).
    HandleQuery,
    /// Turns an operation written in JSON into the bytes the contract reads (services
    /// that declare their contract's operation type).
    EncodeOperation,
}

impl Entry {
    /// The name the module exports it under.
    pub fn export_name(self) -> &'static str {
        match self {
            Entry::Instantiate => "skein_instantiate",
            Entry::ExecuteOperation => "skein_execute_operation",
            Entry::ExecuteMessage => "skein_execute_message",
            Entry::HandleCall => "skein_handle_call",
            Entry::HandleSessionCall => "skein_handle_session_call",
            Entry::HandleQuery => "skein_handle_query",
            Entry::EncodeOperation => "skein_encode_operation",
        }
    }
}

/// What a call did: its result, the fuel it burnt, and the host back (with the writes it
/// staged, to apply only if the result is `Ok`).
pub struct CallOutcome {
    /// The bytes the application output, or why it failed.
    pub result: Result<Vec<u8>, WasmError>,
    /// Fuel consumed, also when the call failed.
    pub fuel_used: u64,
    /// The host the call ran against.
    pub host: Box<dyn Host>,
}

/// Compiles, caches and runs applications' modules. One per process: cheap to share.
#[derive(Clone)]
pub struct WasmRuntime {
    engine: Engine,
    linker: Arc<Linker<GuestState>>,
    modules: Arc<Mutex<ModuleCache>>,
}

/// The most recently used compiled modules, each ready to instantiate.
#[derive(Default)]
struct ModuleCache {
    modules: VecDeque<(CryptoHash, InstancePre<GuestState>)>,
}

impl ModuleCache {
    fn get(&mut self, hash: &CryptoHash) -> Option<InstancePre<GuestState>> {
        let position = self.modules.iter().position(|(key, _)| key == hash)?;
        let entry = self.modules.remove(position)?;
        let module = entry.1.clone();
        self.modules.push_front(entry);
        Some(module)
    }

    fn insert(&mut self, hash: CryptoHash, module: InstancePre<GuestState>) {
        self.modules.retain(|(key, _)| *key != hash);
        self.modules.push_front((hash, module));
        self.modules.truncate(MODULES_CACHED_MAX);
    }
}

impl WasmRuntime {
    /// A runtime with deterministic fuel, pooled instances and Skein's host functions.
    pub fn new() -> Result<Self, WasmError> {
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_core_instances(INSTANCES_MAX)
            .total_memories(INSTANCES_MAX)
            .total_tables(INSTANCES_MAX)
            .table_elements(TABLE_ELEMENTS_MAX)
            .max_memory_size(limits::WASM_MEMORY_BYTES_MAX)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .wasm_relaxed_simd(false)
            // Bounds checks in the code instead of guard pages: a pooled memory then keeps
            // its pages accessible from one instance to the next, where guard pages would
            // cost two `mprotect` calls per call that grows memory, each interrupting
            // every core running this process to flush its TLB. (Wasmtime resets a freed
            // slot's whole accessible range, so nothing leaks between instances.) The
            // price: wasmtime drops its Spectre mitigation for heap accesses in this mode;
            // guests have no clock to time a speculative read with.
            .signals_based_traps(false)
            .memory_guard_size(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config).map_err(|error| WasmError::Host(error.to_string()))?;
        let mut linker = Linker::new(&engine);
        host::define(&mut linker).map_err(|error| WasmError::Host(error.to_string()))?;
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            modules: Arc::default(),
        })
    }

    /// Checks that `bytecode` is a module Skein can run (valid, importing only host
    /// functions, exporting a memory and `skein_alloc` of the right kinds, starting within
    /// the memory and table limits) and compiles it into the cache. Compiling takes
    /// milliseconds: callers on an async executor should run it where blocking is fine.
    pub fn prepare(&self, bytecode: &Bytecode) -> Result<(), WasmError> {
        self.module(bytecode).map(|_| ())
    }

    /// Calls `entry` of the module `bytecode` with `input`, against `host`, with at most
    /// `fuel` units of fuel.
    pub async fn call(
        &self,
        bytecode: &Bytecode,
        entry: Entry,
        input: &[u8],
        host: Box<dyn Host>,
        fuel: u64,
    ) -> CallOutcome {
        let module = match self.module(bytecode) {
            Ok(module) => module,
            Err(error) => {
                return CallOutcome {
                    result: Err(error),
                    fuel_used: 0,
                    host,
                }
            }
        };
        let mut store = Store::new(&self.engine, GuestState::new(host));
        store.limiter(|state| &mut state.limiter);
        let result = run(&mut store, &module, entry, input, fuel).await;
        let remaining = store.get_fuel().unwrap_or(0);
        let result = result.map_err(|error| store.data().classify(error, fuel));
        let state = store.into_data();
        let result = result.and_then(|()| {
            state.output.ok_or_else(|| {
                WasmError::Convention(format!("`{}` set no output", entry.export_name()))
            })
        });
        CallOutcome {
            result,
            fuel_used: fuel.saturating_sub(remaining),
            host: state.host,
        }
    }

    /// Asks the service module `bytecode` a query, against a host it may only read, with
    /// at most `fuel` units of fuel: a service that writes fails.
    pub async fn query(
        &self,
        bytecode: &Bytecode,
        query: &[u8],
        host: Box<dyn Host>,
        fuel: u64,
    ) -> CallOutcome {
        self.call_service(bytecode, Entry::HandleQuery, query, host, fuel)
            .await
    }

    /// Calls a service's `entry` against a host it may only read.
    pub async fn call_service(
        &self,
        bytecode: &Bytecode,
        entry: Entry,
        input: &[u8],
        host: Box<dyn Host>,
        fuel: u64,
    ) -> CallOutcome {
        self.call(bytecode, entry, input, Box::new(ReadOnly(host)), fuel)
            .await
    }

    /// The module of `bytecode`, compiled and linked, from the cache if it is there.
    fn module(&self, bytecode: &Bytecode) -> Result<InstancePre<GuestState>, WasmError> {
        let hash = bytecode.hash();
        if let Some(module) = self.modules.lock().get(&hash) {
            return Ok(module);
        }
        let bytes = bytecode.bytes();
        if bytes.len() > limits::BYTECODE_BYTES_MAX {
            return Err(WasmError::BytecodeTooLarge {
                size: bytes.len(),
                limit: limits::BYTECODE_BYTES_MAX,
            });
        }
        let module = Module::new(&self.engine, bytes)
            .map_err(|error| WasmError::InvalidModule(format!("{error:#}")))?;
        for import in module.imports() {
            let offered = import.module() == "skein" && host::FUNCTIONS.contains(&import.name());
            if !offered {
                return Err(WasmError::MissingImport {
                    module: import.module().to_string(),
                    name: import.name().to_string(),
                });
            }
        }
        check_exports(&module)?;
        let module = self
            .linker
            .instantiate_pre(&module)
            .map_err(|error| WasmError::InvalidModule(format!("{error:#}")))?;
        self.modules.lock().insert(hash, module.clone());
        Ok(module)
    }
}

/// Checks what the convention requires of a module's exports, and that its memory and
/// tables start within the limits, so that a module that cannot run is refused when it is
/// prepared rather than failing each call.
fn check_exports(module: &Module) -> Result<(), WasmError> {
    match module.get_export("memory") {
        Some(ExternType::Memory(memory)) => {
            let minimum = memory.minimum().saturating_mul(WASM_PAGE_BYTES);
            if minimum > limits::WASM_MEMORY_BYTES_MAX as u64 {
                return Err(WasmError::InvalidModule(format!(
                    "the memory starts at {minimum} bytes, above the limit of {}",
                    limits::WASM_MEMORY_BYTES_MAX
                )));
            }
        }
        Some(_) => return Err(WasmError::InvalidModule("`memory` is not a memory".into())),
        None => return Err(WasmError::MissingExport("memory".into())),
    }
    match module.get_export("skein_alloc") {
        Some(ExternType::Func(function))
            if function
                .params()
                .map(|ty| ty.to_string())
                .eq(["i32".to_string()])
                && function
                    .results()
                    .map(|ty| ty.to_string())
                    .eq(["i32".to_string()]) => {}
        Some(_) => {
            return Err(WasmError::InvalidModule(
                "`skein_alloc` must take an i32 and return an i32".into(),
            ))
        }
        None => return Err(WasmError::MissingExport("skein_alloc".into())),
    }
    for export in module.exports() {
        if let ExternType::Table(table) = export.ty() {
            if table.minimum() > TABLE_ELEMENTS_MAX as u64 {
                return Err(WasmError::InvalidModule(format!(
                    "table `{}` starts above {TABLE_ELEMENTS_MAX} elements",
                    export.name()
                )));
            }
        }
    }
    Ok(())
}

/// Bytes in a Wasm page.
const WASM_PAGE_BYTES: u64 = 65_536;

/// Instantiates the module, hands it the input and calls the entry.
async fn run(
    store: &mut Store<GuestState>,
    module: &InstancePre<GuestState>,
    entry: Entry,
    input: &[u8],
    fuel: u64,
) -> wasmtime::Result<()> {
    store.set_fuel(fuel)?;
    // A long call yields now and then, so that it does not hold its executor.
    store.fuel_async_yield_interval(Some(FUEL_BETWEEN_YIELDS))?;
    let instance = module.instantiate_async(&mut *store).await?;
    let Some(function) = instance.get_func(&mut *store, entry.export_name()) else {
        store.data_mut().missing_export = Some(entry.export_name());
        return Err(wasmtime::Error::msg("missing entry point"));
    };
    let function = function.typed::<(i32, i32), ()>(&*store).map_err(|error| {
        store.data_mut().convention(&format!(
            "`{}` has the wrong signature: {error}",
            entry.export_name()
        ))
    })?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut *store, "skein_alloc")
        .map_err(|error| {
            store
                .data_mut()
                .convention(&format!("`skein_alloc`: {error}"))
        })?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| store.data_mut().convention("no `memory` export"))?;
    store.data_mut().memory = Some(memory);
    let length = i32::try_from(input.len()).map_err(|_| {
        store
            .data_mut()
            .convention("an input too large for the guest")
    })?;
    let pointer = alloc.call_async(&mut *store, length).await?;
    let start = usize::try_from(pointer).map_err(|_| {
        store
            .data_mut()
            .convention("`skein_alloc` returned a negative address")
    })?;
    memory.write(&mut *store, start, input).map_err(|_| {
        store
            .data_mut()
            .convention("`skein_alloc` returned a buffer outside memory")
    })?;
    function.call_async(&mut *store, (pointer, length)).await
}

/// What a store holds while a call runs.
pub(super) struct GuestState {
    pub(super) host: Box<dyn Host>,
    pub(super) limiter: MemoryLimiter,
    /// The result announced by a host function, for `take`.
    pub(super) announced: Option<Vec<u8>>,
    /// The guest's memory, once instantiated: host calls need it every time.
    pub(super) memory: Option<wasmtime::Memory>,
    /// What the application output.
    pub(super) output: Option<Vec<u8>>,
    /// Why the application aborted, if it did.
    pub(super) aborted: Option<String>,
    /// How it broke the convention, if it did.
    convention_broken: Option<String>,
    /// Why the host failed, if it did.
    host_error: Option<HostError>,
    /// The entry point the module lacks, if it does.
    missing_export: Option<&'static str>,
}

impl GuestState {
    fn new(host: Box<dyn Host>) -> Self {
        Self {
            host,
            limiter: MemoryLimiter::default(),
            announced: None,
            memory: None,
            output: None,
            aborted: None,
            convention_broken: None,
            host_error: None,
            missing_export: None,
        }
    }

    /// Records a breach of the convention, as the error that stops the call.
    pub(super) fn convention(&mut self, what: &str) -> wasmtime::Error {
        self.convention_broken
            .get_or_insert_with(|| what.to_string());
        wasmtime::Error::msg(what.to_string())
    }

    /// Records a host failure, as the error that stops the call.
    pub(super) fn host_failed(&mut self, error: HostError) -> wasmtime::Error {
        let message = error.to_string();
        self.host_error.get_or_insert(error);
        wasmtime::Error::msg(message)
    }

    /// Why the call failed, from what was recorded while it ran and the error it ended with.
    fn classify(&self, error: wasmtime::Error, fuel: u64) -> WasmError {
        if let Some(error) = &self.host_error {
            return match error {
                HostError::Refused(message) => WasmError::Aborted(message.clone()),
                HostError::Storage(message) => WasmError::Host(message.clone()),
            };
        }
        if let Some((requested, limit)) = self.limiter.exceeded {
            return WasmError::MemoryLimit { requested, limit };
        }
        if let Some(message) = &self.aborted {
            return WasmError::Aborted(message.clone());
        }
        if let Some(message) = &self.convention_broken {
            return WasmError::Convention(message.clone());
        }
        if let Some(name) = self.missing_export {
            return WasmError::MissingExport(name.to_string());
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => WasmError::OutOfFuel { limit: fuel },
            Some(trap) => WasmError::Trap(trap.to_string()),
            // Not the guest's doing (no trap, nothing recorded): this node could not run
            // the call, say for want of a free instance slot. Another node may.
            None => WasmError::Host(format!("{error:#}")),
        }
    }
}

/// Fails memory growth past [`limits::WASM_MEMORY_BYTES_MAX`], remembering it, so the call
/// fails with [`WasmError::MemoryLimit`] rather than a guest allocation failure.
#[derive(Default)]
pub(super) struct MemoryLimiter {
    exceeded: Option<(usize, usize)>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > limits::WASM_MEMORY_BYTES_MAX {
            self.exceeded = Some((desired, limits::WASM_MEMORY_BYTES_MAX));
            return Err(wasmtime::Error::msg("memory limit"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }
}

/// A host that refuses writes: what a service runs against.
struct ReadOnly(Box<dyn Host>);

impl Host for ReadOnly {
    fn read(
        &mut self,
        key: Vec<u8>,
    ) -> futures::future::BoxFuture<'_, Result<Option<Vec<u8>>, HostError>> {
        self.0.read(key)
    }

    fn find_keys(
        &mut self,
        prefix: Vec<u8>,
    ) -> futures::future::BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>> {
        self.0.find_keys(prefix)
    }

    fn write(&mut self, _key: Vec<u8>, _value: Vec<u8>) -> Result<(), HostError> {
        Err(HostError::Refused(
            "a service cannot change the application's state".into(),
        ))
    }

    fn remove(&mut self, _key: Vec<u8>) -> Result<(), HostError> {
        Err(HostError::Refused(
            "a service cannot change the application's state".into(),
        ))
    }

    fn context(&self) -> Vec<u8> {
        self.0.context()
    }

    fn parameters(&self) -> Vec<u8> {
        self.0.parameters()
    }

    fn send_message(&mut self, _request: skein_base::SendMessageRequest) -> Result<(), HostError> {
        Err(HostError::Refused("a service cannot send messages".into()))
    }
}
