//! [`SystemExecutionStateView`]: a chain's system state.

use std::collections::BTreeMap;

use skein_base::{
    AccountOwner, Amount, ApplicationDescription, ApplicationId, ChainDescription, ChainId,
    Committee, Epoch, Timestamp,
};
use skein_views::{CollectionView, KeyValueStore, MapView, RegisterView, View};

use super::{ChannelName, ChannelStateView};
use crate::{ownership::ChainOwnership, system::ChainConfig, ExecutionError};

/// A chain's system state: what it is, who owns it, its committees, its tokens and the
/// applications it knows.
#[derive(View)]
pub struct SystemExecutionStateView<S> {
    pub(super) description: RegisterView<S, Option<ChainDescription>>,
    pub(super) admin_chain: RegisterView<S, Option<ChainId>>,
    pub(super) epoch: RegisterView<S, Epoch>,
    pub(super) committees: RegisterView<S, BTreeMap<Epoch, Committee>>,
    /// On the admin chain: when each revoked epoch was revoked (block time).
    pub(super) revoked_epochs: RegisterView<S, BTreeMap<Epoch, Timestamp>>,
    pub(super) ownership: RegisterView<S, ChainOwnership>,
    pub(super) balance: RegisterView<S, Amount>,
    pub(crate) balances: MapView<S, AccountOwner, Amount>,
    pub(super) timestamp: RegisterView<S, Timestamp>,
    pub(super) closed: RegisterView<S, bool>,
    pub(super) applications: MapView<S, ApplicationId, ApplicationDescription>,
    pub(super) channels: CollectionView<S, ChannelName, ChannelStateView<S>>,
}

impl<S: KeyValueStore> SystemExecutionStateView<S> {
    /// Sets up a chain that did not exist. Refused if it already does, so a duplicate
    /// opening message changes nothing.
    pub fn initialize(&mut self, config: ChainConfig) -> Result<(), ExecutionError> {
        if self.description.get().is_some() {
            return Err(ExecutionError::AlreadyInitialized);
        }
        self.description.set(Some(config.description));
        self.admin_chain.set(Some(config.admin_chain));
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

    /// The chain that creates committees; `None` if this validator has not seen the chain
    /// created.
    pub fn admin_chain(&self) -> Option<ChainId> {
        *self.admin_chain.get()
    }

    /// On the admin chain, the epochs it revoked and when; empty elsewhere.
    pub fn revoked_epochs(&self) -> &BTreeMap<Epoch, Timestamp> {
        self.revoked_epochs.get()
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

    /// The description of an application registered on this chain.
    pub async fn application(
        &self,
        id: &ApplicationId,
    ) -> Result<ApplicationDescription, ExecutionError> {
        self.applications
            .get(id)
            .await?
            .ok_or(ExecutionError::UnknownApplication(*id))
    }

    /// Every application registered on this chain, by id.
    pub async fn applications(
        &self,
    ) -> Result<Vec<(ApplicationId, ApplicationDescription)>, ExecutionError> {
        Ok(self.applications.key_values().await?)
    }

    /// Registers an application under the id its description hashes to.
    pub(crate) fn register_application(&mut self, description: ApplicationDescription) {
        self.applications.insert(&description.id(), description);
    }

    /// The descriptions of `ids` and of every application they require, transitively,
    /// each once, required ones first: what a chain must learn to run them.
    pub async fn applications_with_requirements(
        &self,
        ids: &[ApplicationId],
    ) -> Result<Vec<ApplicationDescription>, ExecutionError> {
        let mut ordered: Vec<ApplicationDescription> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        // Depth-first, emitting an application after its requirements.
        let mut stack: Vec<(ApplicationId, bool)> =
            ids.iter().rev().map(|id| (*id, false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                ordered.push(self.application(&id).await?);
                continue;
            }
            if !seen.insert(id) {
                continue;
            }
            let description = self.application(&id).await?;
            stack.push((id, true));
            for required in description.required_application_ids.iter().rev() {
                stack.push((*required, false));
            }
        }
        Ok(ordered)
    }

    /// Records a block's timestamp.
    pub fn set_timestamp(&mut self, timestamp: Timestamp) {
        self.timestamp.set(timestamp);
    }
}
