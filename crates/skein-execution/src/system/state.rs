//! [`SystemExecutionStateView`]: a chain's system state.

use std::collections::BTreeMap;

use skein_base::{AccountOwner, Amount, ChainDescription, Committee, Epoch, Timestamp};
use skein_views::{KeyValueStore, MapView, RegisterView, View};

use crate::{ownership::ChainOwnership, system::ChainConfig, ExecutionError};

/// A chain's system state: what it is, who owns it, its committees and its tokens.
#[derive(View)]
pub struct SystemExecutionStateView<S> {
    pub(super) description: RegisterView<S, Option<ChainDescription>>,
    pub(super) epoch: RegisterView<S, Epoch>,
    pub(super) committees: RegisterView<S, BTreeMap<Epoch, Committee>>,
    pub(super) ownership: RegisterView<S, ChainOwnership>,
    pub(super) balance: RegisterView<S, Amount>,
    pub(crate) balances: MapView<S, AccountOwner, Amount>,
    pub(super) timestamp: RegisterView<S, Timestamp>,
    pub(super) closed: RegisterView<S, bool>,
}

impl<S: KeyValueStore> SystemExecutionStateView<S> {
    /// Sets up a chain that did not exist. Refused if it already does, so a duplicate
    /// opening message changes nothing.
    pub fn initialize(&mut self, config: ChainConfig) -> Result<(), ExecutionError> {
        if self.description.get().is_some() {
            return Err(ExecutionError::AlreadyInitialized);
        }
        self.description.set(Some(config.description));
        self.ownership.set(config.ownership);
        self.epoch.set(config.epoch);
        self.committees.set(config.committees);
        self.balance.set(config.balance);
        self.timestamp.set(config.timestamp);
        Ok(())
    }

    /// How the chain came to exist; `None` if this validator has not seen it created.
    pub fn description(&self) -> Option<ChainDescription> {
        *self.description.get()
    }

    /// Whether the chain exists here and has owners.
    pub fn is_active(&self) -> bool {
        self.description.get().is_some() && self.ownership.get().is_active()
    }

    /// Whether the chain was closed.
    pub fn is_closed(&self) -> bool {
        *self.closed.get()
    }

    /// Who owns the chain.
    pub fn ownership(&self) -> &ChainOwnership {
        self.ownership.get()
    }

    /// The chain's current epoch.
    pub fn epoch(&self) -> Epoch {
        *self.epoch.get()
    }

    /// The committee of an epoch the chain trusts.
    pub fn committee(&self, epoch: Epoch) -> Option<&Committee> {
        self.committees.get().get(&epoch)
    }

    /// Every committee the chain trusts.
    pub fn committees(&self) -> &BTreeMap<Epoch, Committee> {
        self.committees.get()
    }

    /// The chain's own balance.
    pub fn chain_balance(&self) -> Amount {
        *self.balance.get()
    }

    /// An owner's balance on this chain (zero if it has no account).
    pub async fn owner_balance(&self, owner: &AccountOwner) -> Result<Amount, ExecutionError> {
        Ok(self.balances.get(owner).await?.unwrap_or_default())
    }

    /// Every owner account on this chain.
    pub async fn owner_balances(&self) -> Result<Vec<(AccountOwner, Amount)>, ExecutionError> {
        Ok(self.balances.key_values().await?)
    }

    /// The chain's balance plus every owner's: what the chain holds in all.
    pub async fn total_balance(&self) -> Result<Amount, ExecutionError> {
        let mut total = self.chain_balance();
        for (_, amount) in self.owner_balances().await? {
            total.try_add_assign(amount)?;
        }
        Ok(total)
    }

    /// The timestamp of the latest block.
    pub fn timestamp(&self) -> Timestamp {
        *self.timestamp.get()
    }

    /// Records a block's timestamp.
    pub fn set_timestamp(&mut self, timestamp: Timestamp) {
        self.timestamp.set(timestamp);
    }
}
