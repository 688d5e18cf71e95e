//! [`PublicChainProposer`]: a validator's turns on public chains.
//!
//! On a public chain no user proposes: validators take turns, one per round, drawn by
//! stake (§11), and users reach the chain only through messages. Each validator runs a
//! proposer beside its workers. Its own validator tells it which chains received
//! messages; for the public ones, while messages wait:
//!
//! - when this validator leads the chain's current round, it proposes a block receiving
//!   them (re-proposing a locked block instead, if there is one) and takes it through both
//!   phases, as any proposer does, with a [`Client`] of its own;
//! - when another validator leads and the round's deadline has passed — and a whole
//!   round's duration since this proposer first saw the messages, so that the leader of a
//!   chain that was idle gets its turn — it gathers a timeout certificate, so that the next
//!   leader takes over from a silent one;
//! - otherwise it waits for the deadline, or for news of the chain.
//!
//! It never sits out another validator's round inside a request: whose turn it is, it
//! reads from its own validator again after every step.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::Arc,
};

use futures::future::{select, Either};
use skein_base::{BlockHeight, ChainId, Round, TimeDelta, Timestamp};
use skein_chain::Leader;
use skein_views::KeyValueStore;
use tokio::sync::{broadcast, Notify};

use crate::{
    client::{rounds::TIMEOUT_SLACK, ChainClient, Client, ValidatorEntry},
    node::{NodeError, ValidatorNode},
    requests::{ChainInfo, ChainInfoQuery, Notification, NotificationReason},
    worker::ValidatorKeys,
};

/// Timing of a proposer.
#[derive(Clone, Copy, Debug)]
pub struct ProposerConfig {
    /// How often the public chains seen so far are looked at again, in case a notification
    /// was missed (they are hints).
    pub recheck_interval: TimeDelta,
    /// How long to wait after a failed step before trying again.
    pub retry_delay: TimeDelta,
}

impl Default for ProposerConfig {
    fn default() -> Self {
        Self {
            recheck_interval: TimeDelta::from_secs(5),
            retry_delay: TimeDelta::from_millis(200),
        }
    }
}

/// Unanswered questions in a row to its own validator before a proposer stops driving a
/// chain (the validator is down; the periodic recheck starts again).
const OWN_QUERY_FAILURES_MAX: u32 = 5;

/// Chains remembered as not public, at most; forgotten all at once beyond.
const PRIVATE_CHAINS_REMEMBERED_MAX: usize = 100_000;

/// Proposes on the public chains of one validator, in its turns.
pub struct PublicChainProposer<S> {
    client: Arc<Client<S>>,
    keys: ValidatorKeys,
    own: Arc<dyn ValidatorNode>,
    config: ProposerConfig,
    state: parking_lot::Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Chains known not to be public, until their next block (which may change that).
    private: HashSet<ChainId>,
    /// The public chains seen so far.
    public: BTreeSet<ChainId>,
    /// The chains being driven, each with a bell rung when something happens there.
    driving: HashMap<ChainId, Arc<Notify>>,
}

impl<S: KeyValueStore> PublicChainProposer<S> {
    /// A proposer signing with the validator's `keys` (a [`SecretKey`](skein_base::crypto::SecretKey) for a validator
    /// that never rotated its key), learning about chains from `own` (the validator itself)
    /// and proposing to every validator through `client`.
    pub fn new(
        client: Arc<Client<S>>,
        keys: impl Into<ValidatorKeys>,
        own: Arc<dyn ValidatorNode>,
        config: ProposerConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            client,
            keys: keys.into(),
            own,
            config,
            state: parking_lot::Mutex::default(),
        })
    }

    /// Follows the validator's notifications until they end (the validator stopped),
    /// driving each public chain that has messages waiting.
    pub async fn run(self: Arc<Self>, mut notifications: broadcast::Receiver<Notification>) {
        let clock = self.client.clock().clone();
        self.follow_admin_chain().await;
        // One timer at a time, renewed only when it fires.
        let mut tick = clock.sleep(self.config.recheck_interval);
        loop {
            let heard = Box::pin(notifications.recv());
            match select(heard, &mut tick).await {
                Either::Left((Ok(notification), _)) => self.hear(notification).await,
                Either::Left((Err(broadcast::error::RecvError::Closed), _)) => return,
                Either::Left((Err(broadcast::error::RecvError::Lagged(_)), _)) => {
                    self.recheck().await
                }
                Either::Right(_) => {
                    tick = clock.sleep(self.config.recheck_interval);
                    self.recheck().await;
                }
            }
        }
    }

    /// The public chains this proposer has seen.
    pub fn public_chains(&self) -> Vec<ChainId> {
        self.state.lock().public.iter().copied().collect()
    }

    /// Learns the committees the admin chain created, so that the public chains this
    /// proposer takes turns on migrate to the newest.
    async fn follow_admin_chain(&self) {
        if let Err(error) = self.client.follow_admin_chain().await {
            tracing::debug!(%error, "could not follow the admin chain");
        }
    }

    async fn hear(self: &Arc<Self>, notification: Notification) {
        let chain_id = notification.chain_id;
        match notification.reason {
            NotificationReason::NewIncomingBundle { .. } => self.consider(chain_id).await,
            NotificationReason::NewBlock { .. } if chain_id == self.client.admin_chain() => {
                self.follow_admin_chain().await
            }
            NotificationReason::NewBlock { .. } => {
                // A block may have made the chain public, with messages already waiting.
                let was_private = {
                    let mut state = self.state.lock();
                    if let Some(bell) = state.driving.get(&chain_id) {
                        bell.notify_one();
                    }
                    state.private.remove(&chain_id)
                };
                if was_private {
                    self.consider(chain_id).await;
                }
            }
        }
    }

    /// Looks at every public chain seen so far again.
    async fn recheck(self: &Arc<Self>) {
        let chains: Vec<ChainId> = self.state.lock().public.iter().copied().collect();
        for chain_id in chains {
            self.consider(chain_id).await;
        }
    }

    /// Starts driving `chain_id` if it is public and not driven yet.
    async fn consider(self: &Arc<Self>, chain_id: ChainId) {
        {
            let state = self.state.lock();
            if state.private.contains(&chain_id) {
                return;
            }
            if let Some(bell) = state.driving.get(&chain_id) {
                bell.notify_one();
                return;
            }
        }
        let Ok(info) = self
            .client
            .with_timeout(
                self.own
                    .handle_chain_info_query(ChainInfoQuery::new(chain_id)),
            )
            .await
        else {
            return;
        };
        let bell = Arc::new(Notify::new());
        {
            let mut state = self.state.lock();
            if !info.ownership.validators_propose {
                if state.private.len() >= PRIVATE_CHAINS_REMEMBERED_MAX {
                    state.private.clear();
                }
                state.private.insert(chain_id);
                return;
            }
            state.public.insert(chain_id);
            if state.driving.contains_key(&chain_id) {
                return;
            }
            state.driving.insert(chain_id, bell.clone());
        }
        let this = self.clone();
        self.client
            .spawn(async move { this.drive(chain_id, bell).await });
    }

    /// Takes turns on `chain_id` for as long as messages wait there.
    async fn drive(self: Arc<Self>, chain_id: ChainId, bell: Arc<Notify>) {
        let mut failures = 0;
        // The height and round last looked at, and when this proposer first saw them with
        // messages waiting: a round is timed out only after a whole round's duration from
        // then, so the leader of a chain that was idle (its deadline long past) gets its
        // turn.
        let mut seen: Option<((BlockHeight, Round), Timestamp)> = None;
        // The round this proposer last timed out, to notice a certificate that did not move
        // its own validator on.
        let mut timed_out: Option<(BlockHeight, Round)> = None;
        loop {
            let info = match self.waiting(chain_id).await {
                Ok(info) => {
                    failures = 0;
                    info
                }
                Err(()) if failures < OWN_QUERY_FAILURES_MAX => {
                    failures += 1;
                    self.wait(&bell, self.config.retry_delay).await;
                    continue;
                }
                // The validator is down: the recheck starts again later.
                Err(()) => None,
            };
            let Some(info) = info else {
                // Stop, unless messages arrived while stopping.
                self.state.lock().driving.remove(&chain_id);
                if !matches!(self.waiting(chain_id).await, Ok(Some(_))) {
                    return;
                }
                let mut state = self.state.lock();
                if state.driving.contains_key(&chain_id) {
                    return;
                }
                state.driving.insert(chain_id, bell.clone());
                continue;
            };
            let now = self.client.clock().now();
            let manager = &info.manager;
            // The round's leader may be this validator under a key of an earlier committee.
            let my_key = match manager.leader {
                Some(Leader::Validator(leader)) => self.keys.named(&leader),
                _ => None,
            };
            let position = (info.next_block_height, manager.current_round);
            let seen_at = match seen {
                Some((seen_position, at)) if seen_position == position => at,
                _ => {
                    seen = Some((position, now));
                    now
                }
            };
            let patience = info
                .ownership
                .round_duration(manager.current_round)
                .unwrap_or(TimeDelta::from_micros(0));
            // When this validator will agree to time the round out, and this proposer ask.
            let time_out_at = manager.round_deadline.map(|deadline| {
                deadline
                    .max(seen_at.saturating_add(patience))
                    .saturating_add(TIMEOUT_SLACK)
            });
            let overdue = time_out_at.is_some_and(|at| now >= at);
            if let Some(key) = my_key {
                let chain = ChainClient::new(self.client.clone(), chain_id, Arc::new(key.copy()));
                match chain.take_turn().await {
                    Ok(Some(_)) => {}
                    // This validator lists messages the chain has received already: it
                    // lacks the latest blocks.
                    Ok(None) => {
                        self.catch_up(chain_id).await;
                        self.wait(&bell, self.config.retry_delay).await;
                    }
                    Err(error) => {
                        tracing::debug!(%chain_id, %error, "no block in this turn");
                        self.catch_up(chain_id).await;
                        self.wait(&bell, self.config.retry_delay).await;
                    }
                }
            } else if overdue && timed_out == Some(position) {
                // The certificate it gathered did not reach its own validator.
                timed_out = None;
                self.catch_up(chain_id).await;
                self.wait(&bell, self.config.retry_delay).await;
            } else if overdue {
                let (height, round) = position;
                match self.client.time_out_round(chain_id, height, round).await {
                    Ok(()) => timed_out = Some(position),
                    Err(error) => {
                        tracing::debug!(%chain_id, %error, "could not time the round out");
                        self.catch_up(chain_id).await;
                        self.wait(&bell, self.config.retry_delay).await;
                    }
                }
            } else {
                let wait = time_out_at
                    .map_or(self.config.recheck_interval, |at| at.saturating_since(now))
                    .min(self.config.recheck_interval);
                self.wait(&bell, wait).await;
            }
        }
    }

    /// Brings this validator (and any other lagging one) up to the chain's latest block and
    /// round, after a failed step: its view of whose turn it is may be out of date.
    async fn catch_up(&self, chain_id: ChainId) {
        if let Err(error) = self.client.synchronize_from_validators(chain_id).await {
            tracing::debug!(%chain_id, %error, "could not learn the chain's latest blocks");
            return;
        }
        if let Err(error) = self.client.update_validators(chain_id).await {
            tracing::debug!(%chain_id, %error, "could not update the validators");
        }
        // Its own validator too, which the chain's committee may not name: one that joined
        // after the chain's last block learns of it from no one else.
        if let Err(error) = self.update_own(chain_id).await {
            tracing::debug!(%chain_id, %error, "could not update its own validator");
        }
        if let Err(error) = self
            .client
            .bring_validators_to_current_round(chain_id)
            .await
        {
            tracing::debug!(%chain_id, %error, "could not bring the validators to the round");
        }
    }

    /// Brings its own validator up to the chain's latest block this proposer knows.
    async fn update_own(&self, chain_id: ChainId) -> Result<(), NodeError> {
        let local = self
            .client
            .local_node()
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await?;
        let own = ValidatorEntry {
            public_key: self.keys.current(),
            node: self.own.clone(),
        };
        self.client
            .sync_chain_at(&own, chain_id, local.next_block_height)
            .await
    }

    /// The chain as this validator has it, if messages wait in its inboxes; `Err` if the
    /// validator did not answer.
    async fn waiting(&self, chain_id: ChainId) -> Result<Option<ChainInfo>, ()> {
        let query = ChainInfoQuery {
            request_pending_bundles: true,
            ..ChainInfoQuery::new(chain_id)
        };
        let info = self
            .client
            .with_timeout(self.own.handle_chain_info_query(query))
            .await
            .map_err(|error| tracing::debug!(%chain_id, %error, "own validator did not answer"))?;
        Ok((!info.requested_pending_bundles.is_empty()).then_some(info))
    }

    /// Sleeps for `delta`, or until the bell rings.
    async fn wait(&self, bell: &Notify, delta: TimeDelta) {
        let sleep = self.client.clock().sleep(delta);
        let rung = Box::pin(bell.notified());
        select(rung, sleep).await;
    }
}
