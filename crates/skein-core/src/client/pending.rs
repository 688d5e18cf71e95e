//! Operations on chains with rounds, recorded until they are confirmed.
//!
//! On a shared chain a block the client proposed can be confirmed after the client gave up
//! on it — another owner may re-propose it once it is locked. So the operations are recorded
//! durably with the height they were first proposed at; until a block signed by this owner
//! with exactly those operations is found at or above that height, they are pending, and
//! the next request on the chain completes them first. They run at most once, and are
//! dropped only if they can no longer execute.

use serde::{Deserialize, Serialize};
use skein_base::BlockHeight;
use skein_chain::ConfirmedBlockCertificate;
use skein_execution::Operation;
use skein_views::{KeyValueStore, RegisterView, View, ViewContext};

use super::{ChainClient, ClientError};
use crate::worker::WorkerError;

/// Heights a request tries on a shared chain before giving up, when other owners' blocks
/// keep taking them.
const HEIGHTS_PER_REQUEST_MAX: usize = 16;

/// Operations this client proposed and has not seen confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PendingOperations {
    /// The operations, in one block.
    operations: Vec<Operation>,
    /// The height of the first block proposed with them.
    since: BlockHeight,
}

impl<S: KeyValueStore> ChainClient<S> {
    /// Runs `operations` in a block confirmed through the rounds, at the first height where
    /// no other owner's block wins.
    pub(super) async fn run_in_rounds(
        &self,
        operations: Vec<Operation>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let since = self.chain_info().await?.next_block_height;
        let pending = PendingOperations { operations, since };
        self.write_pending(Some(&pending)).await?;
        self.complete(pending).await
    }

    /// Completes operations left pending by an earlier request, if any. Operations that can
    /// no longer execute are dropped, with a warning.
    pub(super) async fn finish_pending_operations(
        &self,
    ) -> Result<Option<ConfirmedBlockCertificate>, ClientError> {
        let Some(pending) = self.load_pending().await? else {
            return Ok(None);
        };
        match self.complete(pending).await {
            Ok(certificate) => Ok(Some(certificate)),
            Err(ClientError::Local(error)) => {
                tracing::warn!(chain_id = %self.chain_id, %error, "dropped pending operations that no longer execute");
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Gets the pending operations confirmed (or finds them confirmed already) and clears
    /// the record; leaves it if the validators could not be brought to agree.
    async fn complete(
        &self,
        pending: PendingOperations,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let result = self.confirm_pending(&pending).await;
        if matches!(result, Ok(_) | Err(ClientError::Local(_))) {
            self.write_pending(None).await?;
        }
        result
    }

    async fn confirm_pending(
        &self,
        pending: &PendingOperations,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let mut height = pending.since;
        for _ in 0..HEIGHTS_PER_REQUEST_MAX {
            if let Some(certificate) = self.find_confirmed(pending).await? {
                return Ok(certificate);
            }
            let block = self
                .new_block(Vec::new(), pending.operations.clone())
                .await?;
            height = block.height;
            let value = self.client.stage_block(block).await?;
            if let Some(certificate) = self.certify_staged(value, false).await? {
                return Ok(certificate);
            }
        }
        Err(ClientError::NoProgress {
            chain_id: self.chain_id,
            height,
            rounds: HEIGHTS_PER_REQUEST_MAX,
        })
    }

    /// A block of the local node's chain, from `pending.since` on, that this owner signed
    /// with exactly the pending operations.
    async fn find_confirmed(
        &self,
        pending: &PendingOperations,
    ) -> Result<Option<ConfirmedBlockCertificate>, ClientError> {
        let next = self.chain_info().await?.next_block_height;
        let certificates = self
            .client
            .local
            .certificates_in_range(self.chain_id, pending.since, next)
            .await?;
        let owner = Some(self.owner());
        Ok(certificates
            .into_iter()
            .find(|certificate| {
                let block = &certificate.value.block;
                // The block may have migrated the chain first (see `new_block`).
                let operations = match block.operations.split_first() {
                    Some((first, rest)) if first.migrates_to().is_some() => {
                        block.operations == pending.operations || rest == pending.operations
                    }
                    _ => block.operations == pending.operations,
                };
                block.authenticated_signer == owner && operations
            })
            .map(|certificate| certificate.trusted_from_own_storage()))
    }

    /// Whether operations wait to be confirmed.
    pub(super) async fn has_pending_operations(&self) -> Result<bool, ClientError> {
        Ok(self.load_pending().await?.is_some())
    }

    fn pending_context(&self) -> ViewContext<S> {
        let mut name = b"pending-operations/".to_vec();
        name.extend_from_slice(self.chain_id.0.as_bytes());
        self.client.local.storage().record_context(&name)
    }

    async fn load_pending(&self) -> Result<Option<PendingOperations>, ClientError> {
        let record: RegisterView<S, Option<PendingOperations>> =
            RegisterView::load(self.pending_context())
                .await
                .map_err(|error| WorkerError::Storage(error.to_string()))?;
        Ok(record.get().clone())
    }

    /// Writes the record straight to the store, in the encoding of its register.
    async fn write_pending(&self, pending: Option<&PendingOperations>) -> Result<(), ClientError> {
        self.write_record(self.pending_context(), &pending).await
    }
}
