//! Application code for the client's local node: a block that runs an application needs
//! its modules, published on whatever chain; the local node fetches those it lacks from the
//! validators (checking each against its hash) instead of failing the block.

use std::future::Future;

use skein_base::{crypto::CryptoHash, BlobId};
use skein_chain::ChainError;
use skein_execution::ExecutionError;
use skein_storage::Storage;
use skein_views::{Batch, KeyValueStore};

use super::Client;
use crate::worker::WorkerError;

/// Blobs fetched for one request before giving up: a block uses a handful of applications.
const BLOB_FETCHES_MAX: usize = 32;

impl<S: KeyValueStore> Client<S> {
    /// Runs `request` on the local node; each time it lacks a blob, fetches the blob from a
    /// validator and runs it again.
    pub(crate) async fn with_blobs<T, F, Fut>(&self, mut request: F) -> Result<T, WorkerError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, WorkerError>>,
    {
        for _ in 0..BLOB_FETCHES_MAX {
            match request().await {
                Err(error) => match missing_blob(&error) {
                    Some(blob_id) if self.fetch_blob(blob_id).await? => continue,
                    _ => return Err(error),
                },
                result => return result,
            }
        }
        request().await
    }

    /// Fetches a blob from the first validator that has it, into the local node's store.
    /// Returns whether one had it.
    async fn fetch_blob(&self, blob_id: BlobId) -> Result<bool, WorkerError> {
        for validator in &self.validators_by_preference() {
            let download = self.ask(validator, validator.node.download_blob(blob_id));
            let Ok(Some(bytes)) = download.await else {
                continue;
            };
            if CryptoHash::of_bytes(&bytes) != blob_id.hash {
                tracing::warn!(?blob_id, validator = ?validator.public_key, "a validator sent a blob that does not match its id");
                continue;
            }
            let mut batch = Batch::new();
            Storage::<S>::write_blob(&mut batch, &blob_id, bytes);
            self.local.storage().write(batch).await?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// The blob a request failed for lack of, if that is why it failed.
fn missing_blob(error: &WorkerError) -> Option<BlobId> {
    match error {
        WorkerError::Chain(ChainError::Execution {
            error: ExecutionError::BlobNotFound(blob_id),
            ..
        }) => Some(*blob_id),
        _ => None,
    }
}
