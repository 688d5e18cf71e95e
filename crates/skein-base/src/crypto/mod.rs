//! Hashes and signatures.
//!
//! Everything that is hashed or signed is first encoded as BCS and prefixed with a type tag,
//! so two values of different types can never share a hash or a signature. The tag is a
//! constant chosen per type (see [`BcsHashable`] and [`BcsSignable`]): renaming a Rust type
//! never changes its hashes.

mod hash;
pub(crate) mod hex_serde;
mod keys;

pub use hash::{BcsHashable, CryptoHash};
pub use keys::{BcsSignable, CryptoError, PublicKey, SecretKey, Signature};

/// Writes the bytes that are hashed or signed for a value: its type tag, then its BCS
/// encoding. The tag is itself BCS-encoded (length first), so no tag is a prefix of another.
pub(crate) fn tagged_bytes<T: serde::Serialize + ?Sized>(tag: &str, value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64);
    bcs::serialize_into(&mut bytes, tag).expect("a string always encodes");
    bcs::serialize_into(&mut bytes, value).expect(
        "hashed and signed types have no maps with non-canonical keys and stay within BCS depth",
    );
    bytes
}
