//! [`Delivery`]: what a validator does with the [`Effects`] of a request, the same wherever
//! its shards run. Notifications go to subscribers; each cross-chain request goes to the
//! [`Inlet`] of the shard that owns its target chain, which either handles it at once (a
//! worker in this process: what that produces is delivered in turn) or sends it on (a
//! queue to a shard process, the simulator's channel) and is done with it.

use std::collections::VecDeque;

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use crate::{
    requests::{CrossChainRequest, Effects, Notification},
    shards::Shards,
};

/// Cross-chain requests taken per delivery at most: bounds the work one call does. What is
/// left stays unacknowledged in the senders' outboxes and is re-sent by the retry.
const CROSS_CHAIN_DELIVERIES_MAX: usize = 100_000;

/// Where the cross-chain requests for one shard go in.
pub trait Inlet: Send + Sync {
    /// Takes `request`, and returns the effects of handling it if it was handled now; a
    /// request sent on returns none. A failure is logged here: the request stays
    /// unacknowledged, and the retry re-sends it.
    fn take(&self, request: CrossChainRequest) -> BoxFuture<'_, Effects>;
}

/// A validator's shards as places requests go in, and its subscribers.
pub struct Delivery<T> {
    inlets: Shards<T>,
    notifications: broadcast::Sender<Notification>,
}

impl<T: Inlet> Delivery<T> {
    /// Delivers to `inlets`, keeping up to `backlog` notifications for slow subscribers.
    pub fn new(inlets: Shards<T>, backlog: usize) -> Self {
        let (notifications, _) = broadcast::channel(backlog);
        Self {
            inlets,
            notifications,
        }
    }

    /// The shards, for routing other requests to them.
    pub fn shards(&self) -> &Shards<T> {
        &self.inlets
    }

    /// A new receiver of the notifications published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.notifications.subscribe()
    }

    /// Publishes `effects`' notifications and hands each cross-chain request to its
    /// shard's inlet, then does the same with whatever those produce, until nothing is
    /// left (or [`CROSS_CHAIN_DELIVERIES_MAX`] requests were taken).
    pub async fn deliver(&self, effects: Effects) {
        self.publish(effects.notifications);
        let mut queue = VecDeque::from(effects.cross_chain_requests);
        let mut taken = 0;
        while let Some(request) = queue.pop_front() {
            taken += 1;
            if taken > CROSS_CHAIN_DELIVERIES_MAX {
                tracing::warn!(
                    "cross-chain delivery stopped after {CROSS_CHAIN_DELIVERIES_MAX} requests; the rest will be retried"
                );
                break;
            }
            let inlet = self.inlets.owner(&request.target_chain());
            let produced = inlet.take(request).await;
            self.publish(produced.notifications);
            queue.extend(produced.cross_chain_requests);
        }
    }

    fn publish(&self, notifications: Vec<Notification>) {
        for notification in notifications {
            // No subscriber is not an error.
            let _ = self.notifications.send(notification);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::{future::BoxFuture, FutureExt};
    use parking_lot::Mutex;
    use skein_base::{crypto::CryptoHash, BlockHeight, ChainId};

    use super::{Delivery, Inlet};
    use crate::{
        requests::{CrossChainRequest, Effects, Notification, NotificationReason},
        shards::{shard_of, Shards},
    };

    fn chain(seed: u8) -> ChainId {
        ChainId(CryptoHash::of_bytes(&[seed]))
    }

    /// A request the shard owning `target` handles.
    fn request_for(target: ChainId, other: ChainId) -> CrossChainRequest {
        CrossChainRequest::ConfirmUpdatedRecipient {
            sender: target,
            recipient: other,
            latest_height: BlockHeight(0),
        }
    }

    /// Records what it took; with `produces = (from, to)`, the first request it takes
    /// produces a request for `to` and a notification about `to`.
    struct Recorder {
        taken: Mutex<Vec<CrossChainRequest>>,
        produces: Option<(ChainId, ChainId)>,
    }

    impl Inlet for Recorder {
        fn take(&self, request: CrossChainRequest) -> BoxFuture<'_, Effects> {
            let mut taken = self.taken.lock();
            let first = taken.is_empty();
            taken.push(request.clone());
            let mut effects = Effects::default();
            if let (true, Some((from, to))) = (first, self.produces) {
                effects.cross_chain_requests.push(request_for(to, from));
                effects.notifications.push(Notification {
                    chain_id: to,
                    reason: NotificationReason::NewIncomingBundle {
                        origin: from,
                        height: BlockHeight(0),
                    },
                });
            }
            async move { effects }.boxed()
        }
    }

    #[tokio::test]
    async fn test_each_request_goes_to_its_owner_and_what_it_produces_is_delivered_too() {
        // Two chains on different shards of two.
        let first = chain(0);
        let second = (1..=255)
            .map(chain)
            .find(|id| shard_of(id, 2) != shard_of(&first, 2))
            .expect("some chain lives on the other shard");
        let recorders: Vec<Recorder> = (0..2)
            .map(|index| Recorder {
                taken: Mutex::default(),
                // The shard owning `first` answers with a request for `second`.
                produces: (index == shard_of(&first, 2)).then_some((first, second)),
            })
            .collect();
        let delivery = Delivery::new(Shards::new(recorders), 16);
        let mut subscriber = delivery.subscribe();

        delivery
            .deliver(Effects {
                cross_chain_requests: vec![request_for(first, second)],
                notifications: Vec::new(),
            })
            .await;

        let owner_of_first = &delivery.shards().owner(&first).taken;
        let owner_of_second = &delivery.shards().owner(&second).taken;
        assert_eq!(*owner_of_first.lock(), vec![request_for(first, second)]);
        assert_eq!(*owner_of_second.lock(), vec![request_for(second, first)]);
        let notification = subscriber.try_recv().expect("the produced notification");
        assert_eq!(notification.chain_id, second);
        assert!(subscriber.try_recv().is_err());
    }
}
