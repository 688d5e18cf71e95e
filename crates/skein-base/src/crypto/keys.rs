//! Ed25519 keys and signatures.

use std::{cmp::Ordering, fmt, hash::Hash, str::FromStr};

use ed25519_dalek::{Signer, Verifier};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

use super::{hash::BcsHashable, hex_serde, tagged_bytes};

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The bytes are not a point on the curve, or the point has small order.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// The signature does not verify for this key and value.
    #[error("signature of {signer} does not verify for a value of type {type_tag}")]
    InvalidSignature {
        /// Who was supposed to have signed (the key in hex).
        signer: String,
        /// What kind of value was signed.
        type_tag: &'static str,
    },
    /// A batch held a signature that does not verify; the check does not say which one.
    #[error("a batch of {count} signatures on a value of type {type_tag} does not verify")]
    InvalidBatch {
        /// How many signatures the batch held.
        count: usize,
        /// What kind of value was signed.
        type_tag: &'static str,
    },
}

/// A type whose values may be signed. The tag is part of the signed bytes, so a signature on
/// one type can never pass for a signature on another.
pub trait BcsSignable: Serialize {
    /// Identifies the type inside the signed bytes.
    const TYPE_TAG: &'static str;
}

/// An Ed25519 signing key. Never serialised by accident: it has no `Debug` with its bytes and
/// is written out only through [`SecretKey::to_hex`].
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// A key derived from a number. Deterministic and public: for tests and the simulator only.
    pub fn from_test_seed(seed: u64) -> Self {
        let digest = super::CryptoHash::of_bytes(&seed.to_le_bytes());
        Self(ed25519_dalek::SigningKey::from_bytes(digest.as_bytes()))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The 32 secret bytes in hex, for the wallet file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Reads a key written by [`SecretKey::to_hex`].
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex_serde::decode_hex::<32>(text)?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&bytes)))
    }

    /// A copy of the key; explicit so that keys are not copied casually.
    pub fn copy(&self) -> Self {
        Self(self.0.clone())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SecretKey(for {})", self.public())
    }
}

impl Serialize for SecretKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex_serde::serialize(&self.0.to_bytes(), serializer)
    }
}

impl<'de> Deserialize<'de> for SecretKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: [u8; 32] = hex_serde::deserialize(deserializer)?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&bytes)))
    }
}

/// An Ed25519 public key. Decoding checks that the bytes are a valid point of large order, so
/// a `PublicKey` in hand can always be used to verify.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Checks and wraps 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|error| CryptoError::InvalidPublicKey(error.to_string()))?;
        if key.is_weak() {
            return Err(CryptoError::InvalidPublicKey("small-order point".into()));
        }
        Ok(Self(key))
    }

    /// The compressed point.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl BcsHashable for PublicKey {
    const TYPE_TAG: &'static str = "PublicKey";
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex_serde::serialize(self.as_bytes(), serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: [u8; 32] = hex_serde::deserialize(deserializer)?;
        Self::from_bytes(&bytes).map_err(D::Error::custom)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}…", &hex::encode(&self.as_bytes()[..4]))
    }
}

impl FromStr for PublicKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = hex_serde::decode_hex::<32>(text)?;
        Self::from_bytes(&bytes).map_err(|error| error.to_string())
    }
}

/// An Ed25519 signature on a [`BcsSignable`] value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Signs a value's tagged encoding.
    pub fn new<T: BcsSignable + ?Sized>(value: &T, secret: &SecretKey) -> Self {
        Self(secret.0.sign(&tagged_bytes(T::TYPE_TAG, value)))
    }

    /// Checks one signature.
    pub fn check<T: BcsSignable + ?Sized>(
        &self,
        value: &T,
        signer: &PublicKey,
    ) -> Result<(), CryptoError> {
        signer
            .0
            .verify(&tagged_bytes(T::TYPE_TAG, value), &self.0)
            .map_err(|_| CryptoError::InvalidSignature {
                signer: signer.to_string(),
                type_tag: T::TYPE_TAG,
            })
    }

    /// Checks many signatures on one value at about 40% of the cost of checking them one by
    /// one. On failure, falls back to single checks to name the first bad signer.
    pub fn check_batch<'a, T: BcsSignable + ?Sized>(
        value: &T,
        signatures: impl IntoIterator<Item = (&'a PublicKey, &'a Signature)>,
    ) -> Result<(), CryptoError> {
        let bytes = tagged_bytes(T::TYPE_TAG, value);
        let (keys, signatures): (Vec<_>, Vec<_>) = signatures
            .into_iter()
            .map(|(key, signature)| (key.0, signature.0))
            .unzip();
        let messages = vec![bytes.as_slice(); signatures.len()];
        if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
            return Ok(());
        }
        for (key, signature) in keys.iter().zip(&signatures) {
            if key.verify(&bytes, signature).is_err() {
                return Err(CryptoError::InvalidSignature {
                    signer: PublicKey(*key).to_string(),
                    type_tag: T::TYPE_TAG,
                });
            }
        }
        Err(CryptoError::InvalidBatch {
            count: signatures.len(),
            type_tag: T::TYPE_TAG,
        })
    }

    /// The 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.0.to_bytes();
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(bytes))
        } else {
            // serde implements arrays only up to 32 elements: write two halves.
            let (first, second) = bytes.split_at(32);
            let first: &[u8; 32] = first.try_into().expect("64 bytes split in halves");
            let second: &[u8; 32] = second.try_into().expect("64 bytes split in halves");
            (first, second).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: [u8; 64] = if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            hex_serde::decode_hex(&text).map_err(D::Error::custom)?
        } else {
            let (first, second) = <([u8; 32], [u8; 32])>::deserialize(deserializer)?;
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&first);
            bytes[32..].copy_from_slice(&second);
            bytes
        };
        Ok(Self(ed25519_dalek::Signature::from_bytes(&bytes)))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Signature({}…)",
            &hex::encode(&self.0.to_bytes()[..4])
        )
    }
}
