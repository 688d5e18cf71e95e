//! The client: drives its chains to certificates and keeps validators up to date.
//!
//! A [`Client`] holds a local node — a [`Worker`] that executes certificates but never
//! votes — and the validators of the committee. Each [`ChainClient`] proposes blocks on one
//! chain it owns: it executes the block locally first (so it never signs a block validators
//! would refuse), records the signed proposal durably (so it never signs two blocks at one
//! height, even after a restart), sends it to every validator at once, and forms the
//! certificate as soon as a quorum of votes is in. Validators that answer "missing blocks"
//! or "missing messages" are brought up to date by uploading certificates, then asked again.
//! Validators that are slow or offline never hold it up.

mod blobs;
mod chain_client;
mod communicate;
mod fan_out;
mod inbox;
mod pending;
pub(crate) mod rounds;
mod staging;
mod updater;

use std::{collections::HashMap, sync::Arc};

use futures::future::BoxFuture;
use skein_base::{
    AccountOwner, ChainId, Committee, Epoch, TimeDelta, ValidatorPublicKey, ValidatorState,
};
use skein_storage::Storage;
use skein_views::KeyValueStore;

pub use chain_client::ChainClient;

use crate::{
    clock::Clock,
    genesis::GenesisConfig,
    node::{NodeError, ValidatorNode},
    requests::Effects,
    worker::{Worker, WorkerError},
};

/// Runs a task in the background: `tokio::spawn` in services, the simulator's executor in
/// simulations.
pub type Spawner = Arc<dyn Fn(BoxFuture<'static, ()>) + Send + Sync>;

/// A [`Spawner`] on the current tokio runtime.
pub fn tokio_spawner() -> Spawner {
    Arc::new(|task| {
        tokio::spawn(task);
    })
}

/// A validator as the client knows it.
#[derive(Clone)]
pub struct ValidatorEntry {
    /// Its key in the committee.
    pub public_key: ValidatorPublicKey,
    /// How to reach it.
    pub node: Arc<dyn ValidatorNode>,
}

/// The committee of one epoch, and how to reach each of its members: whom the client asks.
pub struct Membership {
    /// The epoch.
    pub epoch: Epoch,
    /// Its committee.
    pub committee: Committee,
    /// Its members, in the committee's order.
    pub validators: Vec<ValidatorEntry>,
}

/// How a client reaches a validator it learns of from the admin chain, by its key and what
/// the committee says of it (its address).
pub type Connect = Arc<
    dyn Fn(&ValidatorPublicKey, &ValidatorState) -> Result<Arc<dyn ValidatorNode>, NodeError>
        + Send
        + Sync,
>;

/// Timing of the client's requests.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// How long to wait for one answer from a validator.
    pub request_timeout: TimeDelta,
    /// How long to wait before asking a validator again after bringing it up to date.
    pub retry_delay: TimeDelta,
    /// How many times to bring one validator up to date for one request before giving up.
    pub sync_attempts: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            request_timeout: TimeDelta::from_secs(10),
            retry_delay: TimeDelta::from_millis(20),
            sync_attempts: 10,
        }
    }
}

/// Why a client operation failed. Nothing signed is lost: a signed block that did not
/// reach a quorum is recorded and is the first thing the next operation on the chain
/// completes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The block was refused by the client's own node before signing (for example, a
    /// transfer of more than the balance): nothing was sent.
    #[error("{0}")]
    Local(#[from] WorkerError),
    /// Not enough validators agreed; the signed block stays recorded and will be retried.
    #[error("{}", describe_no_quorum(action, errors))]
    NoQuorum {
        /// What the validators were asked to do.
        action: &'static str,
        /// What each failing validator answered.
        errors: Vec<(ValidatorPublicKey, NodeError)>,
    },
    /// An incoming bundle fails to execute and may not be rejected (it bounces a message
    /// back): the inbox cannot be processed past it.
    #[error("incoming transaction {transaction_index} of chain {chain_id} can neither be executed nor rejected")]
    UnusableIncomingBundle {
        /// The receiving chain.
        chain_id: ChainId,
        /// The bundle's place in the block that was tried.
        transaction_index: u32,
    },
    /// Neither the client nor the validators know the chain.
    #[error("chain {0} is unknown to this client and to the validators")]
    UnknownChain(ChainId),
    /// The client's key is not an owner of the chain.
    #[error("{owner} is not an owner of chain {chain_id}")]
    NotAnOwner {
        /// The chain.
        chain_id: ChainId,
        /// The client's owner identity.
        owner: AccountOwner,
    },
    /// The chain is closed; only incoming messages can be rejected.
    #[error("chain {0} is closed")]
    ClosedChain(ChainId),
    /// The owners of a shared chain kept competing (or a leader stayed silent) through
    /// every round tried; a block proposed may still be confirmed later.
    #[error("no block was confirmed at height {height} of chain {chain_id} after {rounds} rounds; try again")]
    NoProgress {
        /// The chain.
        chain_id: ChainId,
        /// The height.
        height: skein_base::BlockHeight,
        /// The rounds tried.
        rounds: usize,
    },
    /// The admin chain created a committee with a member this client has no way to reach.
    #[error("cannot reach validator {validator:?} at {address}")]
    CannotReachValidator {
        /// The member.
        validator: ValidatorPublicKey,
        /// Where the committee says it is.
        address: String,
    },
    /// Validators take turns proposing on this chain (a public chain): users reach it only
    /// through messages.
    #[error("chain {0} is public: only validators propose blocks on it; send it messages instead")]
    PublicChain(ChainId),
}

fn describe_no_quorum(action: &str, errors: &[(ValidatorPublicKey, NodeError)]) -> String {
    let details: Vec<String> = errors
        .iter()
        .map(|(validator, error)| format!("{validator:?}: {error}"))
        .collect();
    format!(
        "not enough validators {action} ({} failed: {}); the block stays signed and will be retried first",
        errors.len(),
        details.join("; ")
    )
}

/// The state shared by a user's chain clients.
pub struct Client<S> {
    local: Worker<S>,
    /// The newest committee the client knows, which it proposes to.
    membership: parking_lot::RwLock<Arc<Membership>>,
    /// How to reach validators that join; without it, a committee with a member the
    /// client cannot reach is not followed.
    connect: parking_lot::Mutex<Option<Connect>>,
    admin_chain: ChainId,
    clock: Arc<dyn Clock>,
    spawner: Spawner,
    config: ClientConfig,
    /// One lock per chain, held while a block is being made, so two operations on one
    /// chain never race to sign at the same height.
    chain_locks: parking_lot::Mutex<HashMap<ChainId, Arc<tokio::sync::Mutex<()>>>>,
    /// Background tasks (deliveries to slower validators) still running.
    background: Arc<Background>,
    /// Validators that kept a request waiting until it timed out or was no longer needed,
    /// until they answer again: asked last.
    stragglers: parking_lot::Mutex<std::collections::HashSet<ValidatorPublicKey>>,
    /// The slowest answer a validator gave this client, in microseconds.
    slowest_answer_micros: std::sync::atomic::AtomicU64,
}

/// Counts background tasks, so a short-lived process can let them finish before exiting.
#[derive(Default)]
struct Background {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl<S: KeyValueStore> Client<S> {
    /// A client whose local node lives in `storage`, knowing the network from `genesis`.
    pub async fn new(
        storage: Storage<S>,
        genesis: &GenesisConfig,
        validators: Vec<ValidatorEntry>,
        clock: Arc<dyn Clock>,
        spawner: Spawner,
        config: ClientConfig,
    ) -> Result<Arc<Self>, ClientError> {
        let local = Worker::new(storage, None, clock.clone());
        for config in genesis.chain_configs() {
            local.initialize_chain(config).await?;
        }
        let membership = Membership {
            epoch: Epoch::ZERO,
            committee: genesis.committee.clone(),
            validators,
        };
        let client = Arc::new(Self {
            local,
            membership: parking_lot::RwLock::new(Arc::new(membership)),
            connect: parking_lot::Mutex::new(None),
            admin_chain: genesis.admin_chain_id(),
            clock,
            spawner,
            config,
            chain_locks: parking_lot::Mutex::new(HashMap::new()),
            background: Arc::default(),
            stragglers: parking_lot::Mutex::default(),
            slowest_answer_micros: std::sync::atomic::AtomicU64::new(0),
        });
        client.redeliver_locally().await?;
        Ok(client)
    }

    /// Sets how to reach validators that join the committee later; then call
    /// [`Client::learn_committees`] to start from the newest committee the node knows.
    pub fn connect_new_validators_with(&self, connect: Connect) {
        *self.connect.lock() = Some(connect);
    }

    /// Follows the admin chain as far as the local node knows it: if it created a newer
    /// committee, the client proposes to that one from now on (reaching new members by the
    /// [`Connect`] it was given). Returns whether the committee changed.
    pub async fn learn_committees(&self) -> Result<bool, ClientError> {
        let info = self
            .local
            .handle_chain_info_query(crate::requests::ChainInfoQuery::new(self.admin_chain))
            .await?;
        let current = self.membership();
        if info.epoch <= current.epoch {
            return Ok(false);
        }
        let committee =
            self.local
                .epoch_record(info.epoch)
                .await?
                .committee
                .ok_or(ClientError::Local(WorkerError::Chain(
                    skein_chain::ChainError::UnknownEpoch(info.epoch),
                )))?;
        let membership = self.membership_with(info.epoch, committee, &current)?;
        *self.membership.write() = Arc::new(membership);
        Ok(true)
    }

    /// The committee of `epoch` with how to reach its members: the members the client
    /// already reaches at the same address keep their connection, the others are reached
    /// through the [`Connect`] function.
    fn membership_with(
        &self,
        epoch: Epoch,
        committee: Committee,
        current: &Membership,
    ) -> Result<Membership, ClientError> {
        let connect = self.connect.lock().clone();
        let mut validators = Vec::new();
        for (key, state) in committee.validators() {
            let known = current.validators.iter().find(|entry| {
                entry.public_key == *key
                    && current
                        .committee
                        .validators()
                        .get(key)
                        .map(|old| &old.network_address)
                        == Some(&state.network_address)
            });
            let node = match (known, &connect) {
                (Some(entry), _) => entry.node.clone(),
                (None, Some(connect)) => {
                    connect(key, state).map_err(|error| ClientError::CannotReachValidator {
                        validator: *key,
                        address: format!("{} ({error})", state.network_address),
                    })?
                }
                (None, None) => {
                    return Err(ClientError::CannotReachValidator {
                        validator: *key,
                        address: state.network_address.clone(),
                    })
                }
            };
            validators.push(ValidatorEntry {
                public_key: *key,
                node,
            });
        }
        Ok(Membership {
            epoch,
            committee,
            validators,
        })
    }

    /// Brings the admin chain up to date from the validators, then follows the committees
    /// it created ([`Client::learn_committees`]). Returns whether the committee changed.
    pub async fn follow_admin_chain(&self) -> Result<bool, ClientError> {
        self.synchronize_from_validators(self.admin_chain).await?;
        self.learn_committees().await
    }

    /// The committee of `epoch`: the current one, or one the local node learnt from the
    /// admin chain (for certificates of other epochs); `None` if the client knows none.
    pub async fn committee_of(&self, epoch: Epoch) -> Option<Committee> {
        let current = self.membership();
        if current.epoch == epoch {
            return Some(current.committee.clone());
        }
        self.local.epoch_record(epoch).await.ok()?.committee
    }

    /// Whom to ask about `epoch`: the current membership, or that of an older committee
    /// the local node knows (a chain behind the newest epoch is timed out by its own).
    pub(crate) async fn membership_of(&self, epoch: Epoch) -> Result<Arc<Membership>, ClientError> {
        let current = self.membership();
        if current.epoch == epoch {
            return Ok(current);
        }
        let committee =
            self.committee_of(epoch)
                .await
                .ok_or(ClientError::Local(WorkerError::Chain(
                    skein_chain::ChainError::UnknownEpoch(epoch),
                )))?;
        Ok(Arc::new(self.membership_with(epoch, committee, &current)?))
    }

    /// Whether the local node knows that the admin chain revoked `epoch`.
    pub async fn knows_revoked(&self, epoch: Epoch) -> Result<bool, ClientError> {
        Ok(self.local.epoch_record(epoch).await?.revoked_at.is_some())
    }

    /// The epoch whose committee decides the next height of a chain in epoch `own`, as
    /// validators do (proposal rule 4 in `skein_chain::check`): that one while the local node
    /// has not seen it revoked, else the newest the client knows.
    pub(crate) async fn deciding_epoch(&self, own: Epoch) -> Result<Epoch, ClientError> {
        let revoked = self.knows_revoked(own).await?;
        let newest = self.membership().epoch;
        Ok(if revoked && newest > own { newest } else { own })
    }

    /// Hands the local node's unacknowledged messages to itself again: a process killed
    /// between committing a block and delivering its messages would otherwise leave a gap
    /// in a recipient's inbox, and that chain's next block would skip a bundle. A delivery
    /// that fails is logged and stays pending for the next start.
    async fn redeliver_locally(&self) -> Result<(), WorkerError> {
        for chain_id in self.local.chains_with_pending_outboxes().await? {
            let requests = self.local.pending_cross_chain_requests(chain_id).await?;
            let effects = Effects {
                cross_chain_requests: requests,
                ..Effects::default()
            };
            if let Err(error) = self.deliver_locally(effects).await {
                tracing::warn!(%chain_id, %error, "could not re-deliver the chain's messages locally");
            }
        }
        Ok(())
    }

    /// Runs `task` in the background, counted by [`Client::finish_background_tasks`].
    fn spawn_background(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        use std::sync::atomic::Ordering;
        let background = self.background.clone();
        background.running.fetch_add(1, Ordering::SeqCst);
        (self.spawner)(Box::pin(async move {
            task.await;
            if background.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                background.idle.notify_waiters();
            }
        }));
    }

    /// Waits (at most `timeout`) for background work — certificates on their way to slower
    /// validators, and bringing lagging ones up to date — to finish. Returns whether all of
    /// it finished.
    pub async fn finish_background_tasks(&self, timeout: TimeDelta) -> bool {
        use std::sync::atomic::Ordering;
        let deadline = self.clock.sleep(timeout);
        futures::pin_mut!(deadline);
        loop {
            let idle = self.background.idle.notified();
            if self.background.running.load(Ordering::SeqCst) == 0 {
                return true;
            }
            futures::pin_mut!(idle);
            if let futures::future::Either::Right(_) =
                futures::future::select(idle, deadline.as_mut()).await
            {
                return self.background.running.load(Ordering::SeqCst) == 0;
            }
        }
    }

    /// What a process about to exit calls, so that it does not cut background work short:
    /// [`Client::finish_background_tasks`], but for no longer than a responsive validator
    /// would take (a few times the slowest answer seen), so that a hung validator costs a
    /// fraction of a second rather than `timeout`. What a straggler misses, the next client
    /// that needs it brings it up to date.
    pub async fn finish_background_tasks_before_exit(&self, timeout: TimeDelta) -> bool {
        self.finish_background_tasks(timeout.min(self.straggler_grace()))
            .await
    }

    /// A client for one chain, proposing with `key`.
    pub fn chain(
        self: &Arc<Self>,
        chain_id: ChainId,
        key: skein_base::crypto::SecretKey,
    ) -> ChainClient<S> {
        ChainClient::new(self.clone(), chain_id, Arc::new(key))
    }

    /// The local node.
    pub fn local_node(&self) -> &Worker<S> {
        &self.local
    }

    /// The validators of the current committee.
    pub fn validators(&self) -> Vec<ValidatorEntry> {
        self.membership().validators.clone()
    }

    /// The current committee, its epoch and its members.
    pub fn membership(&self) -> Arc<Membership> {
        self.membership.read().clone()
    }

    /// The admin chain.
    pub fn admin_chain(&self) -> ChainId {
        self.admin_chain
    }

    /// The clock the client times rounds with.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Runs a task on the client's spawner.
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        (self.spawner)(Box::pin(task));
    }

    fn chain_lock(&self, chain_id: ChainId) -> Arc<tokio::sync::Mutex<()>> {
        self.chain_locks.lock().entry(chain_id).or_default().clone()
    }

    /// Delivers the local node's cross-chain requests to itself, so that inboxes and new
    /// chains on this client reflect its own blocks.
    async fn deliver_locally(&self, effects: Effects) -> Result<(), WorkerError> {
        let mut queue = std::collections::VecDeque::from(effects.cross_chain_requests);
        while let Some(request) = queue.pop_front() {
            let effects = self.local.handle_cross_chain_request(request).await?;
            queue.extend(effects.cross_chain_requests);
        }
        Ok(())
    }
}
