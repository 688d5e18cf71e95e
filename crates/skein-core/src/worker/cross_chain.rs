//! Handling cross-chain requests: bundles into inboxes exactly once, acknowledgements out of
//! outboxes, and re-sending what was never acknowledged.

use skein_base::{limits, BlockHeight, ChainId};
use skein_chain::MessageBundle;
use skein_storage::Storage;
use skein_views::{Batch, KeyValueStore, View};

use super::{Worker, WorkerError};
use crate::requests::{CrossChainRequest, Effects, Notification, NotificationReason};

/// Bundles one request may carry: a request holds whole heights, so it may exceed the
/// per-request target by up to one block's transactions.
const BUNDLES_PER_REQUEST_HARD_MAX: usize = limits::BUNDLES_PER_CROSS_CHAIN_REQUEST_MAX
    + limits::OPERATIONS_PER_BLOCK_MAX
    + limits::INCOMING_BUNDLES_PER_BLOCK_MAX;

impl<S: KeyValueStore> Worker<S> {
    /// Handles a request from another shard (or this one). Delivering the same request
    /// twice, or an older one after a newer one, adds nothing twice.
    pub async fn handle_cross_chain_request(
        &self,
        request: CrossChainRequest,
    ) -> Result<Effects, WorkerError> {
        match request {
            CrossChainRequest::UpdateRecipient {
                sender,
                recipient,
                bundles,
            } => self.receive_bundles(sender, recipient, bundles).await,
            CrossChainRequest::ConfirmUpdatedRecipient {
                sender,
                recipient,
                latest_height,
            } => {
                self.confirm_updated_recipient(sender, recipient, latest_height)
                    .await?;
                Ok(Effects::default())
            }
        }
    }

    async fn receive_bundles(
        &self,
        sender: ChainId,
        recipient: ChainId,
        bundles: Vec<MessageBundle>,
    ) -> Result<Effects, WorkerError> {
        let Some(last) = bundles.last() else {
            return Err(WorkerError::InvalidRequest(
                "a cross-chain update without bundles".into(),
            ));
        };
        let latest_height = last.height;
        if bundles.len() > BUNDLES_PER_REQUEST_HARD_MAX {
            return Err(WorkerError::InvalidRequest(format!(
                "{} bundles in one cross-chain update, above the limit of {BUNDLES_PER_REQUEST_HARD_MAX}",
                bundles.len()
            )));
        }
        if bundles
            .windows(2)
            .any(|pair| pair[0].cursor() >= pair[1].cursor())
        {
            return Err(WorkerError::InvalidRequest(
                "cross-chain bundles out of order".into(),
            ));
        }
        let mut heights: Vec<BlockHeight> = bundles.iter().map(|bundle| bundle.height).collect();
        heights.dedup();
        let mut chain = self.lock_chain(recipient).await?;
        let added = match chain
            .receive_bundles(recipient, sender, bundles, self.key.is_none())
            .await
        {
            Ok(added) => added,
            Err(error) => {
                chain.rollback();
                return Err(error.into());
            }
        };
        let mut effects = Effects::default();
        if added > 0 {
            self.save(&mut chain, Batch::new()).await?;
            effects
                .notifications
                .extend(heights.into_iter().map(|height| Notification {
                    chain_id: recipient,
                    reason: NotificationReason::NewIncomingBundle {
                        origin: sender,
                        height,
                    },
                }));
        }
        effects
            .cross_chain_requests
            .push(CrossChainRequest::ConfirmUpdatedRecipient {
                sender,
                recipient,
                latest_height,
            });
        Ok(effects)
    }

    async fn confirm_updated_recipient(
        &self,
        sender: ChainId,
        recipient: ChainId,
        latest_height: BlockHeight,
    ) -> Result<(), WorkerError> {
        let mut chain = self.lock_chain(sender).await?;
        let outbox = chain.outbox(&recipient).await?;
        if outbox.is_empty() {
            return Ok(());
        }
        // An emptied outbox stays (two keys): removing it would cost a prefix deletion on
        // every acknowledgement. The chain's pending-outbox mark is cleared lazily, by
        // `pending_cross_chain_requests` when it finds nothing to send.
        if let Err(error) = outbox.mark_received(latest_height).await {
            chain.rollback();
            return Err(error.into());
        }
        self.save(&mut chain, Batch::new()).await
    }

    /// The requests that re-send every unacknowledged bundle of a chain: after a restart, or
    /// when acknowledgements are late. A chain found with nothing left to send loses its
    /// pending-outbox mark.
    pub async fn pending_cross_chain_requests(
        &self,
        chain_id: ChainId,
    ) -> Result<Vec<CrossChainRequest>, WorkerError> {
        let mut chain = self.lock_chain(chain_id).await?;
        let mut requests = Vec::new();
        for recipient in chain.outbox_recipients().await? {
            if let Some(request) = self
                .update_recipient_request(&mut chain, chain_id, recipient, None)
                .await?
            {
                requests.push(request);
            }
        }
        if requests.is_empty() {
            self.marked_pending.lock().remove(&chain_id);
            let mut batch = Batch::new();
            Storage::<S>::mark_pending_outboxes(&mut batch, &chain_id, false);
            self.storage
                .store()
                .write_batch(batch)
                .await
                .map_err(|error| WorkerError::Storage(error.to_string()))?;
        }
        Ok(requests)
    }

    /// The chains of this store with unacknowledged bundles.
    pub async fn chains_with_pending_outboxes(&self) -> Result<Vec<ChainId>, WorkerError> {
        Ok(self.storage.chains_with_pending_outboxes().await?)
    }
}
