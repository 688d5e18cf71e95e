//! [`Worker`]: the protocol logic of one validator shard (and of a client's local node).
//!
//! A worker owns the chains that hash to its shard. Each handler locks one chain, checks,
//! executes, and saves the chain's changes in one atomic batch; it returns [`Effects`]
//! (cross-chain requests, notifications) for its caller to deliver, and does no other I/O.
//! Handlers are idempotent: a proposal, certificate or cross-chain request delivered twice
//! gets the same answer and has no second effect.

mod certificate;
mod cross_chain;
mod keys;
mod proposal;
mod query;
mod rounds;

use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;
use skein_base::{crypto::SecretKey, ChainId, Committee, Epoch, ValidatorPublicKey};

pub use self::keys::ValidatorKeys;
use skein_chain::{ChainError, ChainStateView, EpochRecord};
use skein_execution::{ChainConfig, ExecutionError, ExecutionRuntime, PublishedData};
use skein_storage::Storage;
use skein_views::{Batch, KeyValueStore, View, ViewError};
use tokio::sync::OwnedMutexGuard;

use crate::{
    clock::Clock,
    requests::{ChainInfo, ChainInfoQuery, Effects},
};

/// Why a worker refused or failed a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// A protocol rule refused the request.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// This node does not vote (a client's local node).
    #[error("this node is not a validator and does not vote")]
    NotAValidator,
    /// A download asked for more certificates than one answer holds.
    #[error("{count} certificates requested, above the limit of {limit}")]
    TooManyCertificatesRequested {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The node's storage failed; the request may be retried.
    #[error("storage error: {0}")]
    Storage(String),
}

impl From<ViewError> for WorkerError {
    fn from(error: ViewError) -> Self {
        WorkerError::Storage(error.to_string())
    }
}

impl WorkerError {
    /// Whether the requester is at fault, as opposed to this node.
    pub fn is_client_fault(&self) -> bool {
        match self {
            WorkerError::Chain(error) => error.is_client_fault(),
            WorkerError::TooManyCertificatesRequested { .. } | WorkerError::NotAValidator => true,
            WorkerError::Storage(_) => false,
        }
    }
}

/// Chains kept in memory between requests; beyond this, idle ones are dropped.
const CACHED_CHAINS_MAX: usize = 10_000;

type ChainSlot<S> = Arc<tokio::sync::Mutex<Option<ChainStateView<S>>>>;

/// A locked chain, loaded. Dropping it unlocks the chain; the view it holds never keeps
/// unsaved changes past a handler.
pub(crate) struct ChainGuard<S: KeyValueStore> {
    guard: OwnedMutexGuard<Option<ChainStateView<S>>>,
}

impl<S: KeyValueStore> Drop for ChainGuard<S> {
    /// A handler that completes saves its changes or rolls them back. One whose future was
    /// dropped midway (a client that reset its stream, a timeout) leaves changes behind,
    /// maybe with its batch written or not: the chain is then forgotten, to be reloaded
    /// from the store, so that the next handler neither saves nor builds on them.
    fn drop(&mut self) {
        if self
            .guard
            .as_ref()
            .is_some_and(|view| view.has_pending_changes())
        {
            *self.guard = None;
        }
    }
}

impl<S: KeyValueStore> std::ops::Deref for ChainGuard<S> {
    type Target = ChainStateView<S>;

    fn deref(&self) -> &ChainStateView<S> {
        self.guard
            .as_ref()
            .expect("a guard always holds a loaded chain")
    }
}

impl<S: KeyValueStore> std::ops::DerefMut for ChainGuard<S> {
    fn deref_mut(&mut self) -> &mut ChainStateView<S> {
        self.guard
            .as_mut()
            .expect("a guard always holds a loaded chain")
    }
}

/// The protocol logic of one shard.
pub struct Worker<S> {
    storage: Storage<S>,
    runtime: ExecutionRuntime,
    keys: Option<Arc<ValidatorKeys>>,
    clock: Arc<dyn Clock>,
    chains: Mutex<HashMap<ChainId, ChainSlot<S>>>,
    /// Chains known to carry the pending-outbox mark in storage, so it is not written again
    /// with every block. Forgotten on restart, when at worst the mark is written once more.
    marked_pending: Mutex<std::collections::HashSet<ChainId>>,
    /// The committees the admin chain created, as read from the store.
    committees: Mutex<std::collections::BTreeMap<Epoch, Committee>>,
}

impl<S: KeyValueStore> Worker<S> {
    /// A worker over `storage`. With keys it votes as that validator; without, it is a
    /// client's local node, which executes certificates but never votes.
    pub fn new(
        storage: Storage<S>,
        keys: Option<Arc<ValidatorKeys>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            runtime: ExecutionRuntime::new(Arc::new(StoredData(storage.clone()))),
            storage,
            keys,
            clock,
            chains: Mutex::new(HashMap::new()),
            marked_pending: Mutex::new(std::collections::HashSet::new()),
            committees: Mutex::default(),
        }
    }

    /// The validator this worker votes as, by the key of the newest committees.
    pub fn validator(&self) -> Option<ValidatorPublicKey> {
        self.keys.as_ref().map(|keys| keys.current())
    }

    /// The key to vote with for a block or timeout of `epoch`: the one its committee names
    /// (see [`ValidatorKeys`]).
    pub(crate) fn signing_key(&self, epoch: &EpochRecord) -> Result<&SecretKey, WorkerError> {
        let keys = self.keys.as_deref().ok_or(WorkerError::NotAValidator)?;
        Ok(keys.for_committee(epoch.committee.as_ref()))
    }

    /// The storage.
    pub fn storage(&self) -> &Storage<S> {
        &self.storage
    }

    /// Creates a chain from its configuration (genesis). Does nothing if it exists.
    pub async fn initialize_chain(&self, config: ChainConfig) -> Result<(), WorkerError> {
        let chain_id = config.description.id();
        let mut chain = self.lock_chain(chain_id).await?;
        if chain.system().description().is_some() {
            return Ok(());
        }
        // The admin chain starts with the genesis committee: written for every chain to
        // read, as the committees it creates later are.
        let mut batch = Batch::new();
        if config.admin_chain == chain_id {
            for (epoch, committee) in &config.committees {
                Storage::<S>::write_committee(&mut batch, *epoch, committee);
            }
        }
        chain
            .execution_state_mut()
            .system
            .initialize(config)
            .map_err(|error| ChainError::Execution {
                transaction_index: 0,
                error,
            })?;
        self.save(&mut chain, batch).await
    }

    /// What this node knows of `epoch` from the admin chain: its committee (kept once
    /// read: it never changes) and whether it was revoked (read each time: a revocation
    /// committed by another shard must be seen).
    pub(crate) async fn epoch_record(&self, epoch: Epoch) -> Result<EpochRecord, WorkerError> {
        let cached = self.committees.lock().get(&epoch).cloned();
        let committee = match cached {
            Some(committee) => Some(committee),
            None => {
                let read = self.storage.read_committee(epoch).await?;
                if let Some(committee) = &read {
                    self.committees.lock().insert(epoch, committee.clone());
                }
                read
            }
        };
        let revoked_at = self.storage.read_revocation(epoch).await?;
        Ok(EpochRecord {
            committee,
            revoked_at,
        })
    }

    /// The epoch whose committee decides the next height of a chain in epoch `own`: that
    /// one while this node has not seen it revoked, else the newest this node knows (see
    /// proposal rule 4 in `skein_chain::check`).
    pub(crate) async fn deciding_epoch(&self, own: Epoch) -> Result<Epoch, WorkerError> {
        if self.epoch_record(own).await?.revoked_at.is_none() {
            return Ok(own);
        }
        let mut newest = own;
        while let Ok(next) = newest.try_add_one() {
            if self.epoch_record(next).await?.committee.is_none() {
                break;
            }
            newest = next;
        }
        Ok(newest)
    }

    /// Forgets every chain held in memory, as a restart would; the store is untouched.
    pub fn clear_cache(&self) {
        self.chains.lock().clear();
    }

    pub(crate) async fn lock_chain(&self, chain_id: ChainId) -> Result<ChainGuard<S>, WorkerError> {
        let slot = {
            let mut chains = self.chains.lock();
            if chains.len() >= CACHED_CHAINS_MAX {
                // Drop idle chains (no one holds their slot) until a quarter is free.
                let target = CACHED_CHAINS_MAX * 3 / 4;
                let idle: Vec<ChainId> = chains
                    .iter()
                    .filter(|(_, slot)| Arc::strong_count(slot) == 1)
                    .map(|(id, _)| *id)
                    .take(chains.len().saturating_sub(target))
                    .collect();
                for id in idle {
                    chains.remove(&id);
                }
            }
            chains.entry(chain_id).or_default().clone()
        };
        let mut guard = slot.lock_owned().await;
        if guard.is_none() {
            let view = ChainStateView::load(self.storage.chain_context(&chain_id)).await?;
            *guard = Some(view);
        }
        Ok(ChainGuard { guard })
    }

    /// Saves the chain's changes together with `batch`, atomically. On a storage failure the
    /// in-memory chain is dropped, to be reloaded from what the store holds.
    pub(crate) async fn save(
        &self,
        chain: &mut ChainGuard<S>,
        mut batch: Batch,
    ) -> Result<(), WorkerError> {
        chain.pre_save(&mut batch)?;
        if let Err(error) = self.storage.write(batch).await {
            *chain.guard = None;
            return Err(WorkerError::Storage(error.to_string()));
        }
        chain.post_save();
        if cfg!(debug_assertions) {
            chain.assert_invariants();
        }
        Ok(())
    }
}

impl<S: KeyValueStore> Worker<S> {
    /// The answer to a request that leaves the chain as it is: its summary, no effects.
    async fn answer(
        &self,
        chain: &mut ChainGuard<S>,
        chain_id: ChainId,
    ) -> Result<WithEffects<ChainInfo>, WorkerError> {
        let info = self
            .chain_info(chain, &ChainInfoQuery::new(chain_id))
            .await?;
        Ok((info, Effects::default()))
    }
}

/// Application code and committees from the node's own store.
struct StoredData<S>(Storage<S>);

impl<S: KeyValueStore> PublishedData for StoredData<S> {
    fn read_blob(
        &self,
        id: skein_base::BlobId,
    ) -> futures::future::BoxFuture<'_, Result<Option<Vec<u8>>, ExecutionError>> {
        Box::pin(async move { Ok(self.0.read_blob(&id).await?) })
    }

    fn read_committee(
        &self,
        epoch: skein_base::Epoch,
    ) -> futures::future::BoxFuture<'_, Result<Option<skein_base::Committee>, ExecutionError>> {
        Box::pin(async move { Ok(self.0.read_committee(epoch).await?) })
    }
}

/// What a certificate or cross-chain handler returns.
pub type WithEffects<T> = (T, Effects);
