//! [`Storage`]: where chain states, certificates and blobs live in a store.
//!
//! ```text
//! key                                   value
//! [0] ++ chain id (32 bytes) ++ …       the chain's views (see skein-chain)
//! [1] ++ certificate hash (32 bytes)    a certificate, BCS
//! [2] ++ bcs(BlobId)                    a blob's bytes
//! [3] ++ name ++ …                      node-local records (client records)
//! [4] ++ chain id                       present while the chain has unacknowledged messages
//! ```
//!
//! Certificates and chain states are written in the same batch, so a chain never refers to
//! a certificate that is not stored.

use serde::{de::DeserializeOwned, Serialize};
use skein_base::{crypto::CryptoHash, encoding, BlobId, ChainId};
use skein_views::{Batch, KeyValueStore, ViewContext, ViewError};

const CHAIN_PREFIX: u8 = 0;
const CERTIFICATE_PREFIX: u8 = 1;
const BLOB_PREFIX: u8 = 2;
const RECORD_PREFIX: u8 = 3;
const PENDING_OUTBOX_PREFIX: u8 = 4;

/// A store seen as chains, certificates, blobs and local records.
#[derive(Clone)]
pub struct Storage<S> {
    store: S,
}

fn certificate_key(hash: &CryptoHash) -> Vec<u8> {
    let mut key = Vec::with_capacity(33);
    key.push(CERTIFICATE_PREFIX);
    key.extend_from_slice(hash.as_bytes());
    key
}

fn blob_key(id: &BlobId) -> Vec<u8> {
    let mut key = vec![BLOB_PREFIX];
    key.extend(encoding::encode(id));
    key
}

fn decode<T: DeserializeOwned>(key: Vec<u8>, bytes: &[u8]) -> Result<T, ViewError> {
    bcs::from_bytes(bytes).map_err(|error| ViewError::Corrupted {
        key,
        reason: error.to_string(),
    })
}

impl<S: KeyValueStore> Storage<S> {
    /// Wraps a store.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Where a chain's views live.
    pub fn chain_context(&self, chain_id: &ChainId) -> ViewContext<S> {
        let mut base_key = Vec::with_capacity(33);
        base_key.push(CHAIN_PREFIX);
        base_key.extend_from_slice(chain_id.0.as_bytes());
        ViewContext::new(self.store.clone(), base_key)
    }

    /// The certificate with this hash, decoded as `C`.
    pub async fn read_certificate<C: DeserializeOwned>(
        &self,
        hash: &CryptoHash,
    ) -> Result<Option<C>, ViewError> {
        let key = certificate_key(hash);
        match self.store.read_value(&key).await? {
            Some(bytes) => Ok(Some(decode(key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Several certificates, in the order of `hashes`.
    pub async fn read_certificates<C: DeserializeOwned>(
        &self,
        hashes: &[CryptoHash],
    ) -> Result<Vec<Option<C>>, ViewError> {
        let keys: Vec<Vec<u8>> = hashes.iter().map(certificate_key).collect();
        let values = self.store.read_multi_values(&keys).await?;
        keys.into_iter()
            .zip(values)
            .map(|(key, value)| value.map(|bytes| decode(key, &bytes)).transpose())
            .collect()
    }

    /// Adds a certificate to a batch, to be written with the chain state it extends.
    pub fn write_certificate<C: Serialize>(batch: &mut Batch, hash: &CryptoHash, certificate: &C) {
        batch.put(certificate_key(hash), encoding::encode(certificate));
    }

    /// The blob with this id.
    pub async fn read_blob(&self, id: &BlobId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(self.store.read_value(&blob_key(id)).await?)
    }

    /// Adds a blob to a batch.
    pub fn write_blob(batch: &mut Batch, id: &BlobId, bytes: Vec<u8>) {
        batch.put(blob_key(id), bytes);
    }

    /// Adds to a batch whether `chain_id` has messages its recipients have not
    /// acknowledged, so that a restarted node knows which chains to resend from.
    pub fn mark_pending_outboxes(batch: &mut Batch, chain_id: &ChainId, pending: bool) {
        let mut key = Vec::with_capacity(33);
        key.push(PENDING_OUTBOX_PREFIX);
        key.extend_from_slice(chain_id.0.as_bytes());
        if pending {
            batch.put(key, Vec::new());
        } else {
            batch.delete(key);
        }
    }

    /// The chains marked by [`Storage::mark_pending_outboxes`].
    pub async fn chains_with_pending_outboxes(&self) -> Result<Vec<ChainId>, ViewError> {
        let suffixes = self
            .store
            .find_keys_by_prefix(&[PENDING_OUTBOX_PREFIX])
            .await?;
        suffixes
            .into_iter()
            .map(|suffix| {
                let bytes: [u8; 32] =
                    suffix
                        .as_slice()
                        .try_into()
                        .map_err(|_| ViewError::Corrupted {
                            key: suffix.clone(),
                            reason: "a pending-outbox key is not a chain id".into(),
                        })?;
                Ok(ChainId(CryptoHash::from_bytes(bytes)))
            })
            .collect()
    }

    /// Where a node-local record named `name` lives (an outbox index, a client's signing
    /// record). Names must not be prefixes of each other.
    pub fn record_context(&self, name: &[u8]) -> ViewContext<S> {
        let mut base_key = vec![RECORD_PREFIX];
        base_key.extend_from_slice(name);
        ViewContext::new(self.store.clone(), base_key)
    }
}
