//! [`Hashed`]: a value with its hash, computed once.

use std::ops::Deref;

use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize, Serializer};
use skein_base::crypto::{BcsHashable, CryptoHash};

/// A value and its hash. The hash is computed when the value is wrapped or decoded, never
/// taken from the outside, so it always matches.
#[derive(Clone, Debug)]
pub struct Hashed<V> {
    value: V,
    hash: CryptoHash,
}

impl<V: BcsHashable> Hashed<V> {
    /// Hashes and wraps a value.
    pub fn new(value: V) -> Self {
        let hash = CryptoHash::new(&value);
        Self { value, hash }
    }
}

impl<V> Hashed<V> {
    /// The value's hash.
    pub fn hash(&self) -> CryptoHash {
        self.hash
    }

    /// The value.
    pub fn into_inner(self) -> V {
        self.value
    }
}

impl<V> Deref for Hashed<V> {
    type Target = V;

    fn deref(&self) -> &V {
        &self.value
    }
}

impl<V> PartialEq for Hashed<V> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl<V> Eq for Hashed<V> {}

impl<V: Serialize> Serialize for Hashed<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, V: BcsHashable + DeserializeOwned> Deserialize<'de> for Hashed<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Hashed::new(V::deserialize(deserializer)?))
    }
}
