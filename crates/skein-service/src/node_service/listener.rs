//! Following the validators: their notifications go to the service's subscribers, and
//! the wallet's chains are kept up to date, their incoming messages accepted in new blocks
//! as they arrive (unless the service was told not to).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt;
use skein_base::ChainId;
use skein_core::Notification;
use skein_rpc::GrpcValidatorNode;
use tokio::{
    sync::{mpsc, Notify},
    task::JoinSet,
};

use super::node::Node;

/// How long to wait before subscribing to a validator again when it refused, or ended its
/// stream soon after accepting.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// A stream that lasted less than this ended too soon: wait before the next one.
const STREAM_LIFETIME_MIN: Duration = Duration::from_secs(5);

/// Notifications remembered to drop the copies other validators send of them.
const RECENT_NOTIFICATIONS_MAX: usize = 10_000;

/// What a validator's follower reports.
enum Heard {
    /// A new stream began: what happened while none was followed may have been missed.
    Subscribed,
    /// A notification.
    Notification(Notification),
}

/// Follows every validator's notifications at once, so a validator that stops, or keeps
/// its stream open and sends nothing (a hung machine), costs nothing: the others tell the
/// same news, and each piece of news is passed on once. Runs until the service stops.
pub(super) async fn follow(node: Arc<Node>) {
    let nodes: Vec<GrpcValidatorNode> = node
        .validator_addresses()
        .await
        .iter()
        .filter_map(|address| match GrpcValidatorNode::new(address) {
            Ok(validator) => Some(validator),
            Err(error) => {
                tracing::warn!(%address, %error, "cannot follow this validator");
                None
            }
        })
        .collect();
    if nodes.is_empty() {
        tracing::warn!("no validator to follow: notifications and inboxes wait");
        return;
    }
    let (sender, mut heard) = mpsc::channel(1_024);
    let mut followers = JoinSet::new();
    for validator in nodes {
        followers.spawn(follow_one(validator, sender.clone()));
    }
    drop(sender);
    let mut keepers = Keepers::new(node.clone());
    let mut recent = RecentNotifications::default();
    while let Some(news) = heard.recv().await {
        match news {
            Heard::Subscribed => {
                // Catch up with what happened while this validator was not followed (the
                // first time, while the service was not running).
                for chain_id in node.chains().await.0 {
                    keepers.signal(chain_id).await;
                }
            }
            Heard::Notification(notification) => {
                // Every copy wakes the chain's task (wake-ups merge): the first may come
                // before the others have what it announces. Subscribers hear it once.
                let chain_id = notification.chain_id;
                if recent.is_new(&notification) {
                    node.publish(notification);
                }
                keepers.signal(chain_id).await;
            }
        }
    }
}

/// Follows one validator's notifications, subscribing again whenever its stream ends,
/// until the listener is gone.
async fn follow_one(validator: GrpcValidatorNode, heard: mpsc::Sender<Heard>) {
    loop {
        // Every chain: subscribers may watch any chain, and the wallet gains chains.
        match validator.subscribe(Vec::new()).await {
            Ok(mut stream) => {
                tracing::info!(address = validator.address(), "following notifications");
                let since = Instant::now();
                if heard.send(Heard::Subscribed).await.is_err() {
                    return;
                }
                while let Some(Ok(notification)) = stream.next().await {
                    if heard.send(Heard::Notification(notification)).await.is_err() {
                        return;
                    }
                }
                tracing::info!(address = validator.address(), "lost notifications");
                if since.elapsed() < STREAM_LIFETIME_MIN {
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
            Err(error) => {
                tracing::debug!(address = validator.address(), %error, "no notifications");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        if heard.is_closed() {
            return;
        }
    }
}

/// The notifications passed on lately, oldest first, to recognise the copies that other
/// validators send.
#[derive(Default)]
struct RecentNotifications {
    order: VecDeque<Notification>,
    seen: HashSet<Notification>,
}

impl RecentNotifications {
    /// Whether `notification` was not passed on lately; remembers it.
    fn is_new(&mut self, notification: &Notification) -> bool {
        if !self.seen.insert(notification.clone()) {
            return false;
        }
        self.order.push_back(notification.clone());
        if self.order.len() > RECENT_NOTIFICATIONS_MAX {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }
}

/// One task per chain of the wallet, woken by its notifications. Signals that arrive while
/// it works wake it once more, not once each. The tasks end when the keepers are dropped.
struct Keepers {
    node: Arc<Node>,
    signals: HashMap<ChainId, Arc<Notify>>,
    tasks: JoinSet<()>,
}

impl Keepers {
    fn new(node: Arc<Node>) -> Self {
        Self {
            node,
            signals: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Something happened on `chain_id`: bring it up to date if it is the wallet's.
    async fn signal(&mut self, chain_id: ChainId) {
        if let Some(signal) = self.signals.get(&chain_id) {
            signal.notify_one();
            return;
        }
        if !self.node.owns(chain_id).await {
            return;
        }
        let signal = Arc::new(Notify::new());
        signal.notify_one();
        self.signals.insert(chain_id, signal.clone());
        self.tasks
            .spawn(keep_up(self.node.clone(), chain_id, signal));
    }
}

async fn keep_up(node: Arc<Node>, chain_id: ChainId, signal: Arc<Notify>) {
    loop {
        signal.notified().await;
        let chain = match node.chain_client(chain_id).await {
            Ok(chain) => chain,
            Err(error) => {
                tracing::debug!(%chain_id, %error, "no longer followed");
                continue;
            }
        };
        if let Err(error) = chain.synchronize().await {
            tracing::warn!(%chain_id, %error, "cannot synchronize");
            continue;
        }
        if !node.processes_inboxes() {
            continue;
        }
        match chain.process_inbox().await {
            Ok(blocks) if !blocks.is_empty() => {
                tracing::info!(%chain_id, blocks = blocks.len(), "accepted incoming messages")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%chain_id, %error, "cannot process the inbox"),
        }
    }
}

#[cfg(test)]
mod tests {
    use skein_base::{crypto::CryptoHash, BlockHeight};
    use skein_core::NotificationReason;

    use super::*;

    fn new_block(height: u64) -> Notification {
        Notification {
            chain_id: ChainId::root(0),
            reason: NotificationReason::NewBlock {
                height: BlockHeight(height),
                hash: CryptoHash::of_bytes(&height.to_le_bytes()),
            },
        }
    }

    #[test]
    fn test_copies_from_other_validators_pass_once() {
        let mut recent = RecentNotifications::default();
        assert!(recent.is_new(&new_block(1)));
        assert!(!recent.is_new(&new_block(1)), "a second validator's copy");
        assert!(recent.is_new(&new_block(2)));
    }

    #[test]
    fn test_recent_notifications_stay_bounded() {
        let mut recent = RecentNotifications::default();
        let count = u64::try_from(RECENT_NOTIFICATIONS_MAX).unwrap() + 10;
        for height in 0..count {
            assert!(recent.is_new(&new_block(height)));
        }
        assert_eq!(recent.order.len(), RECENT_NOTIFICATIONS_MAX);
        assert_eq!(recent.seen.len(), RECENT_NOTIFICATIONS_MAX);
        assert!(recent.is_new(&new_block(0)), "long forgotten");
        assert!(!recent.is_new(&new_block(count - 1)));
    }
}
