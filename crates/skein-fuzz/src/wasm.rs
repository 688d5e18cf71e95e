//! Wasm modules as publishers upload them, put through the admission check validators run
//! before they execute anything of a module.

use std::sync::OnceLock;

use skein_execution::wasm::{Bytecode, WasmRuntime};

/// Checks the bytes as a module to run; a refusal is fine, a panic or a crash is not, and
/// neither is a module admitted that then fails to compile: admission, which validators
/// run on their way to a vote, must refuse all that cannot run.
pub fn admission(data: &[u8]) {
    static RUNTIME: OnceLock<WasmRuntime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| WasmRuntime::new().expect("a Wasm runtime"));
    let bytecode = Bytecode::new(data.to_vec());
    if runtime.admit(&bytecode).is_ok() {
        if let Err(error) = runtime.prepare(&bytecode) {
            panic!("an admitted module does not compile: {error}");
        }
    }
}
