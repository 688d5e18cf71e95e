//! The Wasm runtime: applications' contracts and services run as wasmtime modules, metered
//! with fuel that every validator counts alike.
//!
//! # The calling convention
//!
//! Skein's own, on core Wasm (no component model), so that a guest needs nothing but a
//! linear memory and a handful of functions. A module exports:
//!
//! - `memory`;
//! - `skein_alloc(len: i32) -> i32`: a buffer of `len` bytes the host may write into;
//! - one function per [`Entry`] it implements, `(input_ptr: i32, input_len: i32) -> ()`.
//!
//! It may import, from module `skein`, only the [host functions](Host) below; anything else
//! fails the module before it runs ([`WasmError::MissingImport`]).
//!
//! | import | does |
//! |---|---|
//! | `output(ptr, len)` | sets the call's result (at most once) |
//! | `abort(ptr, len)` | fails the call with the UTF-8 message at `ptr` |
//! | `read(key_ptr, key_len) -> i32` | looks a key of the application's state up: the value's length, or -1 |
//! | `find_keys(prefix_ptr, prefix_len) -> i32` | the keys under a prefix, BCS-encoded: their length |
//! | `write(key_ptr, key_len, value_ptr, value_len)` | stages a write |
//! | `remove(key_ptr, key_len)` | stages a removal |
//! | `context() -> i32` | the call's context (chain, height, signer…), BCS-encoded: its length |
//! | `parameters() -> i32` | the application's parameters: their length |
//! | `send_message(ptr, len)` | sends a BCS-encoded `SendMessageRequest` if the call succeeds |
//! | `channel(ptr, len)` | subscribes, unsubscribes or publishes (a BCS `ChannelRequest`) if the call succeeds |
//! | `transfer(ptr, len)` | sends native tokens from the application's account (a BCS `TransferRequest`) |
//! | `open_chain(ptr, len) -> i32` | opens a chain funded from the application's account (a BCS `OpenChainRequest`) if the call succeeds; the new chain's id (32 bytes): its length |
//! | `call_application(ptr, len) -> i32` | calls another application (a BCS `CallRequest`); its `CallResult`'s length |
//! | `call_session(ptr, len) -> i32` | calls into a session the application owns (a BCS `SessionCallRequest`); its `CallResult`'s length |
//! | `take(dest_ptr)` | copies the last result that was announced by its length to `dest_ptr` |
//!
//! Every host call costs [`HOST_CALL_FUEL`] plus one unit per byte it moves, so a guest
//! cannot do unbounded work outside its metered code. A call to another application costs
//! [`APPLICATION_CALL_FUEL`] more and runs with the caller's remaining fuel; what it burns
//! is taken from the caller. Opening a chain costs [`OPEN_CHAIN_FUEL`] more: every
//! validator keeps the new chain for good. Each instantiation costs
//! [`INSTANTIATION_FUEL`] plus a unit per byte of data segments and per table element the
//! module initialises; `memory.copy`, `memory.fill` and their kin one unit per byte.
//!
//! # Admission and compilation
//!
//! A module is checked when it is published, from its bytes and without compiling it
//! ([`WasmRuntime::admit`]): a module that could not run is refused then, remembered, and
//! never looked at again. Compiling happens once per module and process, on a thread of
//! its own: started when the module is published ([`WasmRuntime::warm`]), or by its first
//! call, which waits for it; compiled modules stay cached up to a budget in bytes, not a
//! count, so that many applications in use do not compile again on every block.
//!
//! # Determinism
//!
//! Fuel is one unit per Wasm instruction (as wasmtime counts it) and is the same on every
//! validator; NaNs are canonicalised; threads and relaxed SIMD are off. A call that runs out
//! of fuel, grows memory past [`limits::WASM_MEMORY_BYTES_MAX`](skein_base::limits), traps
//! or breaks the convention fails with a [`WasmError`] and changes nothing: staged writes
//! are only applied by the caller when the call succeeds.

mod admission;
mod bytecode;
mod engine;
mod error;
mod host;
mod memory_host;
mod module_cache;
mod stack_meter;

pub use bytecode::Bytecode;
pub use engine::{CallOutcome, Entry, WasmRuntime};
pub use error::WasmError;
pub use host::{Host, HostError};
pub use memory_host::MemoryHost;

#[cfg(test)]
#[path = "../unit_tests/wasm_tests.rs"]
mod wasm_tests;
