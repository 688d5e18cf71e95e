//! Following the validators: their notifications go to the service's subscribers, and
//! the wallet's chains are kept up to date, their incoming messages accepted in new blocks
//! as they arrive (unless the service was told not to).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt;
use skein_base::ChainId;
use skein_rpc::GrpcValidatorNode;
use tokio::{sync::Notify, task::JoinSet};

use super::node::Node;

/// How long to wait before following the next validator when the last one refused, or
/// ended its stream soon after accepting.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// A stream that lasted less than this ended too soon: wait before the next one.
const STREAM_LIFETIME_MIN: Duration = Duration::from_secs(5);

/// Follows one validator's notifications at a time, the next one when it goes away;
/// runs until the service stops.
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
    let mut keepers = Keepers::new(node.clone());
    let mut index = 0;
    loop {
        let validator = &nodes[index % nodes.len()];
        // Every chain: subscribers may watch any chain, and the wallet gains chains.
        match validator.subscribe(Vec::new()).await {
            Ok(mut stream) => {
                tracing::info!(address = validator.address(), "following notifications");
                let since = Instant::now();
                // Catch up with what happened while no validator was followed (the first
                // time, while the service was not running).
                for chain_id in node.chains().await.0 {
                    keepers.signal(chain_id).await;
                }
                while let Some(Ok(notification)) = stream.next().await {
                    let chain_id = notification.chain_id;
                    node.publish(notification);
                    keepers.signal(chain_id).await;
                }
                tracing::info!(
                    address = validator.address(),
                    "lost notifications; next validator"
                );
                if since.elapsed() < STREAM_LIFETIME_MIN {
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
            Err(error) => {
                tracing::debug!(address = validator.address(), %error, "no notifications");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        index += 1;
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
