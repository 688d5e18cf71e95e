//! [`CrossChainQueue`]: what one shard has to tell one peer shard, sent in order, each
//! request retried until the peer takes it.
//!
//! The queue holds at most one request per sending chain, receiving chain and kind: a
//! newer `UpdateRecipient` carries every bundle not yet acknowledged, from the oldest, so
//! it replaces the one waiting; a newer `ConfirmUpdatedRecipient` confirms at least as
//! much. So a peer that is down, hung or slow costs memory in proportion to the chains
//! that talk to it, not to the messages they send, and nothing is ever dropped: however
//! long the peer takes, its queue ends up holding what it needs, once.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use skein_base::ChainId;
use skein_core::{CrossChainRequest, NodeError};
use tokio::sync::Notify;

/// The first and the longest pause between attempts to reach a peer.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How long one attempt may take: a peer that hangs (its machine stopped, not its socket
/// closed) is tried again rather than waited on forever.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one request to the peer.
pub type SendToPeer =
    Arc<dyn Fn(CrossChainRequest) -> BoxFuture<'static, Result<(), NodeError>> + Send + Sync>;

/// Which requests replace each other.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Update { sender: ChainId, recipient: ChainId },
    Confirm { sender: ChainId, recipient: ChainId },
}

impl Key {
    fn of(request: &CrossChainRequest) -> Self {
        match request {
            CrossChainRequest::UpdateRecipient {
                sender, recipient, ..
            } => Key::Update {
                sender: *sender,
                recipient: *recipient,
            },
            CrossChainRequest::ConfirmUpdatedRecipient {
                sender, recipient, ..
            } => Key::Confirm {
                sender: *sender,
                recipient: *recipient,
            },
        }
    }
}

/// The requests waiting, in the order their keys first came.
#[derive(Default)]
struct Waiting {
    order: VecDeque<Key>,
    requests: HashMap<Key, CrossChainRequest>,
}

impl Waiting {
    fn push(&mut self, request: CrossChainRequest) {
        let key = Key::of(&request);
        match self.requests.get_mut(&key) {
            Some(waiting) => {
                if supersedes(&request, waiting) {
                    *waiting = request;
                }
            }
            None => {
                self.order.push_back(key);
                self.requests.insert(key, request);
            }
        }
    }

    fn pop(&mut self) -> Option<CrossChainRequest> {
        let key = self.order.pop_front()?;
        self.requests.remove(&key)
    }
}

/// Whether `newer` says at least what `older` (of the same key) says.
fn supersedes(newer: &CrossChainRequest, older: &CrossChainRequest) -> bool {
    match (newer, older) {
        (
            CrossChainRequest::ConfirmUpdatedRecipient {
                latest_height: newer,
                ..
            },
            CrossChainRequest::ConfirmUpdatedRecipient {
                latest_height: older,
                ..
            },
        ) => newer >= older,
        // Updates are built from the sender's outbox when sent: the newer one is as
        // complete as the sender now knows.
        _ => true,
    }
}

struct Shared {
    waiting: Mutex<Waiting>,
    wake: Notify,
}

/// The queue of requests for one peer shard, with the task that sends them.
pub struct CrossChainQueue {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl CrossChainQueue {
    /// Starts the queue's task, which sends with `send`.
    pub fn spawn(send: SendToPeer) -> Self {
        let shared = Arc::new(Shared {
            waiting: Mutex::new(Waiting::default()),
            wake: Notify::new(),
        });
        let task = tokio::spawn(run(shared.clone(), send));
        Self { shared, task }
    }

    /// Queues a request, replacing the one of the same chains and kind still waiting.
    pub fn push(&self, request: CrossChainRequest) {
        self.shared.waiting.lock().push(request);
        self.shared.wake.notify_one();
    }

    /// How many requests wait (one per chains and kind at most).
    pub fn len(&self) -> usize {
        self.shared.waiting.lock().requests.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for CrossChainQueue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(shared: Arc<Shared>, send: SendToPeer) {
    loop {
        let next = shared.waiting.lock().pop();
        let Some(request) = next else {
            shared.wake.notified().await;
            continue;
        };
        let mut pause = BACKOFF_FIRST;
        loop {
            let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, send(request.clone())).await;
            match outcome {
                Ok(Ok(())) => break,
                // A refusal will not change with retries; the periodic re-sending covers
                // requests that failed for a reason that passes.
                Ok(Err(error @ (NodeError::InvalidRequest(_) | NodeError::Chain(_)))) => {
                    tracing::warn!(%error, "a peer refused a cross-chain request");
                    break;
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "cross-chain request not delivered; retrying");
                }
                Err(_) => tracing::debug!("a peer did not answer a cross-chain request; retrying"),
            }
            // A newer request of the same chains, queued meanwhile, replaces this one.
            if shared
                .waiting
                .lock()
                .requests
                .contains_key(&Key::of(&request))
            {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(BACKOFF_MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use futures::FutureExt;
    use skein_base::BlockHeight;

    use super::*;

    fn confirm(sender: u32, recipient: u32, height: u64) -> CrossChainRequest {
        CrossChainRequest::ConfirmUpdatedRecipient {
            sender: ChainId::root(sender),
            recipient: ChainId::root(recipient),
            latest_height: BlockHeight(height),
        }
    }

    fn update(sender: u32, recipient: u32) -> CrossChainRequest {
        CrossChainRequest::UpdateRecipient {
            sender: ChainId::root(sender),
            recipient: ChainId::root(recipient),
            bundles: Vec::new(),
        }
    }

    /// A peer that answers nothing until `open`, then records what it is sent.
    fn peer(open: Arc<AtomicBool>, received: Arc<Mutex<Vec<CrossChainRequest>>>) -> SendToPeer {
        Arc::new(move |request| {
            let (open, received) = (open.clone(), received.clone());
            async move {
                if !open.load(Ordering::SeqCst) {
                    return Err(NodeError::Unreachable("down".into()));
                }
                received.lock().push(request);
                Ok(())
            }
            .boxed()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn test_a_peer_down_for_a_flood_gets_each_chains_latest_once_and_nothing_is_dropped() {
        let open = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let queue = CrossChainQueue::spawn(peer(open.clone(), received.clone()));
        // Far more than any bounded queue of requests would hold: 50 senders confirm 400
        // heights each to one recipient, and update it 400 times.
        for height in 0..400 {
            for sender in 0..50 {
                queue.push(confirm(sender, 99, height));
                queue.push(update(sender, 99));
            }
            tokio::task::yield_now().await;
        }
        assert!(queue.len() <= 101, "{} requests wait", queue.len());
        // An older confirmation queued late does not take back a newer one.
        queue.push(confirm(0, 99, 3));
        open.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(queue.is_empty());
        let received = received.lock();
        for sender in 0..50 {
            let confirmations: Vec<_> = received
                .iter()
                .filter(|request| Key::of(request) == Key::of(&confirm(sender, 99, 0)))
                .collect();
            assert_eq!(
                confirmations.last(),
                Some(&&confirm(sender, 99, 399)),
                "sender {sender}: the latest confirmation arrives"
            );
            assert!(
                received
                    .iter()
                    .any(|request| *request == update(sender, 99)),
                "sender {sender}: its update arrives"
            );
        }
        assert!(
            received.len() <= 2 * 50 + 2,
            "{} requests sent for 100 chains' news",
            received.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn test_a_hung_peer_is_tried_again_not_waited_on() {
        let attempts = Arc::new(Mutex::new(0));
        let counted = attempts.clone();
        let send: SendToPeer = Arc::new(move |_| {
            let attempts = counted.clone();
            async move {
                let attempt = {
                    let mut attempts = attempts.lock();
                    *attempts += 1;
                    *attempts
                };
                if attempt == 1 {
                    // The first attempt never gets an answer.
                    futures::future::pending::<()>().await;
                }
                Ok(())
            }
            .boxed()
        });
        let queue = CrossChainQueue::spawn(send);
        queue.push(update(1, 2));
        tokio::time::sleep(ATTEMPT_TIMEOUT + BACKOFF_MAX).await;
        assert_eq!(*attempts.lock(), 2);
        assert!(queue.is_empty());
    }
}
