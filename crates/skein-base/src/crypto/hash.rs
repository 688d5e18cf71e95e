//! [`CryptoHash`]: Keccak-256 over type-tagged BCS.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

use super::{hex_serde, tagged_bytes};

/// A 32-byte Keccak-256 digest. Keccak rather than SHA3 so that EVM light clients can check
/// certificates without a new precompile.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CryptoHash(#[serde(with = "hex_serde")] [u8; 32]);

/// A type whose values may be hashed. The tag is part of every hash of the type, so pick a
/// new one for every type and never change it.
pub trait BcsHashable: Serialize {
    /// Identifies the type inside the hashed bytes.
    const TYPE_TAG: &'static str;
}

impl CryptoHash {
    /// Hashes a value as its type tag followed by its BCS encoding.
    pub fn new<T: BcsHashable + ?Sized>(value: &T) -> Self {
        Self::of_bytes(&tagged_bytes(T::TYPE_TAG, value))
    }

    /// Keccak-256 of raw bytes. Prefer [`CryptoHash::new`], which cannot confuse types.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(Keccak256::digest(bytes).into())
    }

    /// Wraps a digest computed elsewhere.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first eight bytes as a number: a well-spread value for sharding and leader draws.
    pub fn prefix_u64(&self) -> u64 {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(prefix)
    }
}

impl fmt::Display for CryptoHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CryptoHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits are enough to tell hashes apart in logs.
        write!(formatter, "{}…", &hex::encode(&self.0[..4]))
    }
}

impl FromStr for CryptoHash {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        hex_serde::decode_hex(text).map(Self)
    }
}
