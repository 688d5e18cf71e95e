//! [`Bytecode`]: a module's bytes with their hash, computed once.

use std::sync::Arc;

use skein_base::crypto::CryptoHash;

/// An application's module: its bytes, shared, and their hash, which names the compiled
/// module in the runtime's cache. Hashing a module costs more than running a call, so it
/// is done once, when the bytes are loaded.
#[derive(Clone, Debug)]
pub struct Bytecode {
    hash: CryptoHash,
    bytes: Arc<[u8]>,
}

impl Bytecode {
    /// The module `bytes`, hashed.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        Self {
            hash: CryptoHash::of_bytes(&bytes),
            bytes,
        }
    }

    /// The hash of the bytes.
    pub fn hash(&self) -> CryptoHash {
        self.hash
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}
