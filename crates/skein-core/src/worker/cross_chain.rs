//! Handling cross-chain requests: bundles into inboxes exactly once, acknowledgements out of
//! outboxes, and re-sending what was never acknowledged.

use skein_base::{BlockHeight, ChainId};
use skein_chain::{check_cross_chain_update, MessageBundle};
use skein_storage::Storage;
use skein_views::{Batch, KeyValueStore, View};

use super::{Worker, WorkerError};
use crate::requests::{CrossChainRequest, Effects, Notification, NotificationReason};

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

    /// Puts bundles into the recipient's inbox once the update passes
    /// `skein_chain::check_cross_chain_update`, and acknowledges them.
    async fn receive_bundles(
        &self,
        sender: ChainId,
        recipient: ChainId,
        bundles: Vec<MessageBundle>,
    ) -> Result<Effects, WorkerError> {
        let latest_height = check_cross_chain_update(sender, &bundles)?;
        let mut heights: Vec<BlockHeight> = bundles.iter().map(|bundle| bundle.height).collect();
        heights.dedup();
        let mut chain = self.lock_chain(recipient).await?;
        let added = match chain
            .receive_bundles(recipient, sender, bundles, self.keys.is_none())
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
            self.storage.write(batch).await?;
        }
        Ok(requests)
    }

    /// The requests that re-send every unacknowledged bundle of the chains held in this
    /// process. The shards share one store, so any worker lists every chain with pending
    /// outboxes; `owner` names the worker that holds a chain (its state is cached there), or
    /// `None` when another process does.
    pub async fn unacknowledged_requests<'w>(
        &self,
        owner: impl Fn(&ChainId) -> Option<&'w Worker<S>>,
    ) -> Result<Vec<CrossChainRequest>, WorkerError>
    where
        S: 'w,
    {
        let mut requests = Vec::new();
        for chain_id in self.chains_with_pending_outboxes().await? {
            if let Some(worker) = owner(&chain_id) {
                requests.extend(worker.pending_cross_chain_requests(chain_id).await?);
            }
        }
        Ok(requests)
    }

    /// The chains of this store with unacknowledged bundles.
    pub async fn chains_with_pending_outboxes(&self) -> Result<Vec<ChainId>, WorkerError> {
        Ok(self.storage.chains_with_pending_outboxes().await?)
    }
}
