//! [`WasmError`]: why a call into an application failed.

use serde::{Deserialize, Serialize};

/// Why a call into an application's Wasm failed. Nothing it staged is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum WasmError {
    /// The bytecode is not a valid Wasm module, or uses a feature Skein disables.
    #[error("invalid Wasm module: {0}")]
    InvalidModule(String),
    /// The bytecode is larger than a blob may be.
    #[error("the bytecode has {size} bytes, above the limit of {limit}")]
    BytecodeTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The module imports something the host does not offer.
    #[error("the module imports {module}::{name}, which the host does not offer")]
    MissingImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// The module lacks an export the convention requires.
    #[error("the module does not export `{0}`")]
    MissingExport(String),
    /// The fuel ran out.
    #[error("the application ran out of fuel ({limit} units)")]
    OutOfFuel {
        /// The fuel it had.
        limit: u64,
    },
    /// The application's calls nested deeper than the stack allows, counted alike on
    /// every validator (`stack_meter`).
    #[error("the application's calls ran out of stack ({limit} units)")]
    StackExhausted {
        /// The stack it had, in units of about 8 bytes.
        limit: u32,
    },
    /// The application grew its memory past the limit.
    #[error("the application asked for {requested} bytes of memory, above the limit of {limit}")]
    MemoryLimit {
        /// What it asked for.
        requested: usize,
        /// The limit.
        limit: usize,
    },
    /// The application failed on purpose, with its message.
    #[error("the application aborted: {0}")]
    Aborted(String),
    /// The Wasm code trapped (unreachable, out-of-bounds access, division by zero…).
    #[error("the application trapped: {0}")]
    Trap(String),
    /// The application broke the calling convention: bad pointers, no result, two
    /// results, data that does not decode.
    #[error("the application broke the calling convention: {0}")]
    Convention(String),
    /// The host could not serve a request (its storage failed): not the application's
    /// fault.
    #[error("the host failed: {0}")]
    Host(String),
}
