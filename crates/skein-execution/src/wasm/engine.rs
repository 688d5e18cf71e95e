//! [`WasmRuntime`]: one wasmtime engine, its compiled modules, and calls into them.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use futures::channel::oneshot;
use parking_lot::Mutex;
use skein_base::limits;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig,
    ResourceLimiter, Store, Trap,
};

use super::{
    admission,
    host::{self, Host, HostError},
    module_cache::{Compiled, ModuleCache, Verdict},
    stack_meter, Bytecode, WasmError,
};

/// Instances alive at once: calls nest (an application calling another), and several
/// chains execute at once.
const INSTANCES_MAX: u32 = 128;

/// Native stack a guest's calls may use before wasmtime traps them. Never reached:
/// `stack_meter` counts the stack in units of the module's own and fails the call at
/// [`limits::WASM_STACK_UNITS_MAX`] (a nominal 512 KiB at 8 bytes a unit), and this is
/// room for 64 bytes a unit, where the widest frames measured (fifty 64-bit arguments
/// passed on through the thunk) take under 12 on x86-64: endless recursion of every shape
/// in `test_endless_recursion_of_any_frame_runs_out_of_counted_stack_first` still fails
/// as counted with 768 KiB here, and fails as wasmtime's overflow with 640 KiB.
const WASM_STACK_BYTES: usize = 4 << 20;

/// Each call's stack: the guest's, and room beyond it for the host functions it calls.
const CALL_STACK_BYTES: usize = WASM_STACK_BYTES + (1536 << 10);

/// Fuel a call burns between two yields to its executor.
const FUEL_BETWEEN_YIELDS: u64 = 10_000_000;

/// Memory of a pooled slot kept mapped between instances (cleared with memset rather
/// than returned to the kernel): an application built with the SDK runs in its first few
/// hundred KiB, and unmapping them after every call cost more than clearing them
/// (`bench_wasm`: 20.4 µs per counter operation with 64 KiB kept, 13.7 µs with 1 MiB).
const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// Compilations started ahead of need (when a module is published) at once: more wait for
/// their first call, so that publications cannot keep a node's cores compiling.
const WARMING_MAX: usize = 2;

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
    compilations: Arc<AtomicU64>,
}

impl WasmRuntime {
    /// A runtime with deterministic fuel, pooled instances and Skein's host functions.
    pub fn new() -> Result<Self, WasmError> {
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_core_instances(INSTANCES_MAX)
            .total_stacks(INSTANCES_MAX)
            .total_memories(INSTANCES_MAX)
            .total_tables(INSTANCES_MAX)
            .table_elements(limits::WASM_TABLE_ELEMENTS_MAX as usize)
            .max_memory_size(limits::WASM_MEMORY_BYTES_MAX)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .wasm_relaxed_simd(false)
            .max_wasm_stack(WASM_STACK_BYTES)
            .async_stack_size(CALL_STACK_BYTES)
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
        baseline_target(&mut config)?;
        let engine = Engine::new(&config).map_err(|error| WasmError::Host(error.to_string()))?;
        let mut linker = Linker::new(&engine);
        host::define(&mut linker).map_err(|error| WasmError::Host(error.to_string()))?;
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            modules: Arc::default(),
            compilations: Arc::default(),
        })
    }

    /// Checks, without compiling it, that `bytecode` is a module Skein can run (valid,
    /// importing only host functions, exporting a memory and `skein_alloc` of the right
    /// kinds, starting within the memory and table limits): what validators check of every
    /// publication. A refusal is remembered: the module is never checked or compiled again.
    pub fn admit(&self, bytecode: &Bytecode) -> Result<(), WasmError> {
        if let Some(verdict) = self.modules.lock().verdict(&bytecode.hash()) {
            return verdict.map(|_| ());
        }
        admission::admit(&self.engine, bytecode.bytes())
            .map(|_| ())
            .inspect_err(|error| self.modules.lock().refuse(bytecode.hash(), error.clone()))
    }

    /// Admits and compiles `bytecode` into the cache, on the calling thread (milliseconds
    /// of a core per MiB: not for an async executor's threads).
    pub fn prepare(&self, bytecode: &Bytecode) -> Result<(), WasmError> {
        if let Some(verdict) = self.modules.lock().verdict(&bytecode.hash()) {
            return verdict.map(|_| ());
        }
        let verdict = self.compile(bytecode.bytes());
        let result = verdict.as_ref().map(|_| ()).map_err(Clone::clone);
        self.modules.lock().finish(bytecode.hash(), verdict);
        result
    }

    /// Starts compiling `bytecode` on a thread of its own, if it is not compiled, refused
    /// or being compiled, and if fewer than [`WARMING_MAX`] compilations are under way:
    /// its first call then finds it ready.
    pub fn warm(&self, bytecode: &Bytecode) {
        let mut modules = self.modules.lock();
        if modules.compiling() >= WARMING_MAX || modules.verdict(&bytecode.hash()).is_some() {
            return;
        }
        if modules.await_compilation(bytecode.hash(), None) {
            drop(modules);
            self.compile_in_background(bytecode.clone());
        }
    }

    /// Modules this runtime has compiled since it started, for tests and metrics: each
    /// module once, unless the cache evicted it.
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
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
        let module = match self.module(bytecode).await {
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
        let result = result.map_err(|error| {
            if counted_stack_ran_out(&mut store) {
                return WasmError::StackExhausted {
                    limit: limits::WASM_STACK_UNITS_MAX,
                };
            }
            store.data().classify(error, fuel)
        });
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

    /// The module of `bytecode`, compiled and linked: from the cache, or compiled on a
    /// thread of its own (never on the caller's executor), once however many calls wait.
    async fn module(&self, bytecode: &Bytecode) -> Verdict {
        let (sender, receiver) = oneshot::channel();
        {
            let mut modules = self.modules.lock();
            if let Some(verdict) = modules.verdict(&bytecode.hash()) {
                return verdict;
            }
            if modules.await_compilation(bytecode.hash(), Some(sender)) {
                drop(modules);
                self.compile_in_background(bytecode.clone());
            }
        }
        receiver
            .await
            .unwrap_or_else(|_| Err(WasmError::Host("the compilation was abandoned".into())))
    }

    /// Compiles `bytecode` on a new thread and records the verdict in the cache, which
    /// hands it to whoever waits.
    fn compile_in_background(&self, bytecode: Bytecode) {
        let runtime = self.clone();
        let hash = bytecode.hash();
        let spawned = std::thread::Builder::new()
            .name("skein-wasm-compile".into())
            .spawn(move || {
                let verdict = runtime.compile(bytecode.bytes());
                runtime.modules.lock().finish(bytecode.hash(), verdict);
            });
        if let Err(error) = spawned {
            let verdict = Err(WasmError::Host(format!(
                "cannot start a compilation: {error}"
            )));
            self.modules.lock().finish(hash, verdict);
        }
    }

    /// Admits, compiles and links `bytes`.
    fn compile(&self, bytes: &[u8]) -> Verdict {
        let admitted = admission::admit(&self.engine, bytes)?;
        self.compilations.fetch_add(1, Ordering::Relaxed);
        let metered = stack_meter::instrument(bytes)?;
        let module = Module::new(&self.engine, &metered)
            .map_err(|error| WasmError::InvalidModule(format!("{error:#}")))?;
        let image = module.image_range();
        let size = (image.end as usize).saturating_sub(image.start as usize);
        let module = self
            .linker
            .instantiate_pre(&module)
            .map_err(|error| WasmError::InvalidModule(format!("{error:#}")))?;
        Ok(Arc::new(Compiled {
            module,
            admitted,
            size,
        }))
    }
}

/// The target triple and CPU features code is compiled for, the same on every machine of
/// an architecture rather than inferred from this one's CPU: with the code alike, so are
/// its stack frames, and so the depth of recursion at which a guest overflows its stack
/// (and fails, on every validator) does not depend on which CPU a validator runs on. On
/// x86-64 the baseline is x86-64-v2 (SSE4.2 and POPCNT, every server CPU since 2009),
/// which wasmtime checks this CPU has; elsewhere, what the architecture guarantees.
/// (Validators of different architectures may still differ, as may those of different
/// wasmtime versions; a protocol-level call-depth limit would close that.)
fn baseline_target(config: &mut Config) -> Result<(), WasmError> {
    let (triple, features): (&str, &[&str]) = match (std::env::consts::ARCH, std::env::consts::OS) {
        ("x86_64", "linux") => (
            "x86_64-unknown-linux-gnu",
            &[
                "has_sse3",
                "has_ssse3",
                "has_sse41",
                "has_sse42",
                "has_popcnt",
            ],
        ),
        ("x86_64", "macos") => (
            "x86_64-apple-darwin",
            &[
                "has_sse3",
                "has_ssse3",
                "has_sse41",
                "has_sse42",
                "has_popcnt",
            ],
        ),
        ("aarch64", "linux") => ("aarch64-unknown-linux-gnu", &[]),
        ("aarch64", "macos") => ("aarch64-apple-darwin", &[]),
        // Another platform: wasmtime's own inference, documented as not fixed.
        _ => return Ok(()),
    };
    config
        .target(triple)
        .map_err(|error| WasmError::Host(format!("the target {triple}: {error:#}")))?;
    for feature in features {
        // SAFETY: these are CPU-feature flags, which wasmtime checks the host has when it
        // builds the engine (refusing to build it otherwise); they change no invariant.
        unsafe {
            config.cranelift_flag_enable(feature);
        }
    }
    Ok(())
}

/// Instantiates the module, hands it the input and calls the entry.
async fn run(
    store: &mut Store<GuestState>,
    compiled: &Compiled,
    entry: Entry,
    input: &[u8],
    fuel: u64,
) -> wasmtime::Result<()> {
    // Instantiating (copying data segments in) is paid before the guest runs.
    let instantiation = compiled.admitted.instantiation_fuel;
    store.set_fuel(fuel.saturating_sub(instantiation))?;
    if fuel < instantiation {
        return Err(Trap::OutOfFuel.into());
    }
    // A long call yields now and then, so that it does not hold its executor.
    store.fuel_async_yield_interval(Some(FUEL_BETWEEN_YIELDS))?;
    let instance = compiled.module.instantiate_async(&mut *store).await?;
    store.data_mut().stack_units = instance.get_global(&mut *store, stack_meter::DEPTH_EXPORT);
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

/// Whether a failed call trapped on `stack_meter`'s counter: only its thunks take the
/// counter past the limit, and they trap at once when they do.
fn counted_stack_ran_out(store: &mut Store<GuestState>) -> bool {
    let Some(units) = store.data().stack_units else {
        return false;
    };
    units.get(&mut *store).i32().is_some_and(|units| {
        u32::try_from(units).is_ok_and(|units| units > limits::WASM_STACK_UNITS_MAX)
    })
}

/// What a store holds while a call runs.
pub(super) struct GuestState {
    pub(super) host: Box<dyn Host>,
    pub(super) limiter: MemoryLimiter,
    /// The result announced by a host function, for `take`.
    pub(super) announced: Option<Vec<u8>>,
    /// The guest's memory, once instantiated: host calls need it every time.
    pub(super) memory: Option<wasmtime::Memory>,
    /// The guest's stack counter (`stack_meter`), once instantiated.
    stack_units: Option<wasmtime::Global>,
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
            stack_units: None,
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
        Ok(desired <= limits::WASM_TABLE_ELEMENTS_MAX as usize)
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
