//! [`Storage`]: where chain states, certificates and blobs live in a store.
//!
//! ```text
//! key                                   value
//! [0] ++ chain id (32 bytes) ++ …       the chain's views (see skein-chain)
//! [1] ++ certificate hash (32 bytes)    a certificate, BCS
//! [2] ++ bcs(BlobId)                    a blob's bytes
//! [3] ++ name ++ …                      node-local records (client records)
//! [4] ++ chain id                       present while the chain has unacknowledged messages
//! [5] ++ epoch (4 bytes, big-endian)    the committee the admin chain created for it, BCS
//! [6] ++ epoch (4 bytes, big-endian)    when the admin chain revoked it (block time), BCS
//! ```
//!
//! Certificates and chain states are written in the same batch, so a chain never refers to
//! a certificate that is not stored.

use serde::{de::DeserializeOwned, Serialize};
use skein_base::{crypto::CryptoHash, encoding, BlobId, ChainId, Committee, Epoch, Timestamp};
use skein_views::{Batch, KeyValueStore, ViewContext, ViewError};

const CHAIN_PREFIX: u8 = 0;
const CERTIFICATE_PREFIX: u8 = 1;
const BLOB_PREFIX: u8 = 2;
const RECORD_PREFIX: u8 = 3;
const PENDING_OUTBOX_PREFIX: u8 = 4;
const COMMITTEE_PREFIX: u8 = 5;
const REVOCATION_PREFIX: u8 = 6;

/// A certificate as it is stored: under the hash of the value it certifies, which a read
/// checks against the key, so a damaged or misplaced record is an error and not a
/// certificate for something else.
pub trait StoredCertificate: Serialize + DeserializeOwned {
    /// The hash of the certified value (computed from the value, never stored).
    fn value_hash(&self) -> CryptoHash;
}

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

fn epoch_key(prefix: u8, epoch: Epoch) -> Vec<u8> {
    let mut key = vec![prefix];
    key.extend_from_slice(&epoch.0.to_be_bytes());
    key
}

fn decode<T: DeserializeOwned>(key: Vec<u8>, bytes: &[u8]) -> Result<T, ViewError> {
    bcs::from_bytes(bytes).map_err(|error| ViewError::Corrupted {
        key,
        reason: error.to_string(),
    })
}

/// A stored certificate, which must certify the value its key names.
fn decode_certificate<C: StoredCertificate>(
    key: Vec<u8>,
    bytes: &[u8],
    hash: &CryptoHash,
) -> Result<C, ViewError> {
    let certificate: C = decode(key.clone(), bytes)?;
    if certificate.value_hash() != *hash {
        return Err(ViewError::Corrupted {
            key,
            reason: format!(
                "the certificate stored for {hash} certifies {}",
                certificate.value_hash()
            ),
        });
    }
    Ok(certificate)
}

impl<S: KeyValueStore> Storage<S> {
    /// Wraps a store.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// Writes a batch built by the writers below and the chain views, atomically: the one
    /// way anything is written.
    pub async fn write(&self, batch: Batch) -> Result<(), ViewError> {
        Ok(self.store.write_batch(batch).await?)
    }

    /// Where a chain's views live.
    pub fn chain_context(&self, chain_id: &ChainId) -> ViewContext<S> {
        let mut base_key = Vec::with_capacity(33);
        base_key.push(CHAIN_PREFIX);
        base_key.extend_from_slice(chain_id.0.as_bytes());
        ViewContext::new(self.store.clone(), base_key)
    }

    /// The certificate of the value with this hash.
    pub async fn read_certificate<C: StoredCertificate>(
        &self,
        hash: &CryptoHash,
    ) -> Result<Option<C>, ViewError> {
        let key = certificate_key(hash);
        match self.store.read_value(&key).await? {
            Some(bytes) => Ok(Some(decode_certificate(key, &bytes, hash)?)),
            None => Ok(None),
        }
    }

    /// Several certificates, in the order of `hashes`.
    pub async fn read_certificates<C: StoredCertificate>(
        &self,
        hashes: &[CryptoHash],
    ) -> Result<Vec<Option<C>>, ViewError> {
        let keys: Vec<Vec<u8>> = hashes.iter().map(certificate_key).collect();
        let values = self.store.read_multi_values(&keys).await?;
        keys.into_iter()
            .zip(values)
            .zip(hashes)
            .map(|((key, value), hash)| {
                value
                    .map(|bytes| decode_certificate(key, &bytes, hash))
                    .transpose()
            })
            .collect()
    }

    /// Adds a certificate to a batch, to be written with the chain state it extends.
    pub fn write_certificate<C: StoredCertificate>(batch: &mut Batch, certificate: &C) {
        batch.put(
            certificate_key(&certificate.value_hash()),
            encoding::encode(certificate),
        );
    }

    /// The blob with this id.
    pub async fn read_blob(&self, id: &BlobId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(self.store.read_value(&blob_key(id)).await?)
    }

    /// Adds a blob to a batch.
    pub fn write_blob(batch: &mut Batch, id: &BlobId, bytes: Vec<u8>) {
        batch.put(blob_key(id), bytes);
    }

    /// The committee the admin chain created for `epoch`, if this node committed that
    /// block. Written once and never changed, so a reader may keep it.
    pub async fn read_committee(&self, epoch: Epoch) -> Result<Option<Committee>, ViewError> {
        let key = epoch_key(COMMITTEE_PREFIX, epoch);
        match self.store.read_value(&key).await? {
            Some(bytes) => Ok(Some(decode(key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Adds the committee of `epoch` to a batch, with the admin chain's block that
    /// created it (or its genesis).
    pub fn write_committee(batch: &mut Batch, epoch: Epoch, committee: &Committee) {
        batch.put(
            epoch_key(COMMITTEE_PREFIX, epoch),
            encoding::encode(committee),
        );
    }

    /// When the admin chain revoked `epoch`, if it did and this node committed that block.
    pub async fn read_revocation(&self, epoch: Epoch) -> Result<Option<Timestamp>, ViewError> {
        let key = epoch_key(REVOCATION_PREFIX, epoch);
        match self.store.read_value(&key).await? {
            Some(bytes) => Ok(Some(decode(key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Adds the revocation of `epoch` at `time` to a batch, with the block that revoked it.
    pub fn write_revocation(batch: &mut Batch, epoch: Epoch, time: Timestamp) {
        batch.put(epoch_key(REVOCATION_PREFIX, epoch), encoding::encode(&time));
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

    /// Writes a node-local record at `context` (from [`Storage::record_context`]) in the
    /// encoding of a register there, without reading the previous value first.
    pub async fn write_record<T: Serialize>(
        &self,
        context: &ViewContext<S>,
        value: &T,
    ) -> Result<(), ViewError> {
        let mut batch = Batch::new();
        batch.put(context.base_key().to_vec(), encoding::encode(value));
        self.write(batch).await
    }

    /// Where a node-local record named `name` lives (an outbox index, a client's signing
    /// record). Names must not be prefixes of each other.
    pub fn record_context(&self, name: &[u8]) -> ViewContext<S> {
        let mut base_key = vec![RECORD_PREFIX];
        base_key.extend_from_slice(name);
        ViewContext::new(self.store.clone(), base_key)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use skein_base::crypto::CryptoHash;
    use skein_views::{Batch, KeyValueStore, MemoryStore, ViewError};

    use super::{certificate_key, Storage, StoredCertificate};

    /// A certificate of some bytes.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Signed(Vec<u8>);

    impl StoredCertificate for Signed {
        fn value_hash(&self) -> CryptoHash {
            CryptoHash::of_bytes(&self.0)
        }
    }

    /// A certificate is found under its value's hash; one moved under another key (a
    /// damaged store, a bad restore) is refused as corrupted, not returned for that key.
    #[tokio::test]
    async fn test_a_certificate_is_read_only_under_its_own_hash() {
        let storage = Storage::new(MemoryStore::new());
        let (first, second) = (Signed(b"first".to_vec()), Signed(b"second".to_vec()));
        let mut batch = Batch::new();
        Storage::<MemoryStore>::write_certificate(&mut batch, &first);
        storage.write(batch).await.unwrap();
        let found: Option<Signed> = storage.read_certificate(&first.value_hash()).await.unwrap();
        assert_eq!(found, Some(Signed(b"first".to_vec())));

        let misplaced = certificate_key(&second.value_hash());
        let bytes = storage
            .store
            .read_value(&certificate_key(&first.value_hash()))
            .await
            .unwrap()
            .unwrap();
        let mut batch = Batch::new();
        batch.put(misplaced.clone(), bytes);
        storage.write(batch).await.unwrap();
        let read = storage
            .read_certificate::<Signed>(&second.value_hash())
            .await;
        assert!(
            matches!(&read, Err(ViewError::Corrupted { key, .. }) if *key == misplaced),
            "{read:?}"
        );
        let listed = storage
            .read_certificates::<Signed>(&[first.value_hash(), second.value_hash()])
            .await;
        assert!(
            matches!(listed, Err(ViewError::Corrupted { .. })),
            "{listed:?}"
        );
    }
}
