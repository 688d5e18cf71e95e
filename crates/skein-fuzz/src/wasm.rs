//! Wasm modules as publishers upload them, put through the admission check validators run
//! before they execute anything of a module.

use std::sync::OnceLock;

use skein_execution::wasm::{Bytecode, WasmRuntime};

/// Checks the bytes as a module to run; a refusal is fine, a panic or a crash is not.
pub fn admission(data: &[u8]) {
    static RUNTIME: OnceLock<WasmRuntime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| WasmRuntime::new().expect("a Wasm runtime"));
    let _ = runtime.prepare(&Bytecode::new(data.to_vec()));
}
