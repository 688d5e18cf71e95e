//! Executing system operations and messages. Every check comes before the first change, so
//! a failed operation leaves the state as it was.

use std::collections::BTreeMap;

use skein_base::{
    ensure, Account, AccountOwner, Amount, ChainDescription, ChainId, Committee, Epoch, Timestamp,
};
use skein_views::KeyValueStore;

use super::{ChainConfig, SystemExecutionStateView, SystemMessage, SystemOperation};
use crate::{
    message::{Message, MessageContext, MessageKind, OperationContext, OutgoingMessage},
    ChainOwnership, ExecutionError,
};

impl<S: KeyValueStore> SystemExecutionStateView<S> {
    /// Runs one operation of a block, returning the messages it sends.
    pub async fn execute_operation(
        &mut self,
        context: &OperationContext,
        operation: &SystemOperation,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        self.check_open()?;
        match operation {
            SystemOperation::Transfer {
                owner,
                recipient,
                amount,
            } => {
                self.check_can_debit(context.authenticated_signer, owner)?;
                self.transfer(context.chain_id, *owner, *recipient, *amount)
                    .await
            }
            SystemOperation::Claim {
                owner,
                target_chain,
                recipient,
                amount,
            } => {
                ensure!(!amount.is_zero(), ExecutionError::ZeroAmount);
                ensure!(
                    context.authenticated_signer == Some(*owner),
                    ExecutionError::Unauthorized {
                        owner: *owner,
                        signer: context.authenticated_signer,
                    }
                );
                if *target_chain == context.chain_id {
                    return self
                        .transfer(context.chain_id, Some(*owner), *recipient, *amount)
                        .await;
                }
                Ok(vec![OutgoingMessage {
                    destination: *target_chain,
                    authenticated_signer: Some(*owner),
                    kind: MessageKind::Simple,
                    message: Message::System(SystemMessage::Withdraw {
                        owner: *owner,
                        amount: *amount,
                        recipient: *recipient,
                    }),
                }])
            }
            SystemOperation::OpenChain { ownership, balance } => {
                self.check_chain_owner(context.authenticated_signer)?;
                let description = ChainDescription::Child {
                    parent: context.chain_id,
                    height: context.height,
                    index: context.index,
                    sequence: 0,
                };
                let opening = self
                    .open_chain(
                        description,
                        ownership.clone(),
                        None,
                        *balance,
                        context.timestamp,
                    )
                    .await?;
                Ok(vec![opening])
            }
            SystemOperation::CloseChain => {
                self.check_chain_owner(context.authenticated_signer)?;
                self.closed.set(true);
                Ok(Vec::new())
            }
            SystemOperation::ChangeOwnership(ownership) => {
                self.check_chain_owner(context.authenticated_signer)?;
                ensure!(ownership.is_active(), ExecutionError::NoOwners);
                self.ownership.set(ownership.clone());
                Ok(Vec::new())
            }
            SystemOperation::PublishBytecode { contract, service } => {
                self.check_chain_owner(context.authenticated_signer)?;
                check_module("contract", contract)?;
                check_module("service", service)?;
                Ok(Vec::new())
            }
            SystemOperation::RequestApplication {
                application_id,
                chain_id,
            } => {
                self.check_chain_owner(context.authenticated_signer)?;
                ensure!(
                    *chain_id != context.chain_id,
                    ExecutionError::InvalidCall(
                        "an application cannot be requested from its own chain".into()
                    )
                );
                Ok(vec![OutgoingMessage {
                    destination: *chain_id,
                    authenticated_signer: None,
                    kind: MessageKind::Simple,
                    message: Message::System(SystemMessage::RequestApplication(*application_id)),
                }])
            }
            SystemOperation::CreateApplication {
                required_application_ids,
                parameters,
                ..
            } => {
                self.check_chain_owner(context.authenticated_signer)?;
                ensure!(
                    parameters.len() <= skein_base::limits::APPLICATION_PARAMETERS_BYTES_MAX,
                    ExecutionError::LimitExceeded(format!(
                        "parameters of {} bytes, above the limit of {}",
                        parameters.len(),
                        skein_base::limits::APPLICATION_PARAMETERS_BYTES_MAX
                    ))
                );
                for id in required_application_ids {
                    self.application(id).await?;
                }
                if let Some(description) = operation.created_application(context) {
                    self.register_application(description);
                }
                Ok(Vec::new())
            }
            SystemOperation::CreateCommittee { epoch, committee } => {
                self.check_admin(context)?;
                let expected = self.epoch().try_add_one()?;
                ensure!(
                    *epoch == expected,
                    ExecutionError::WrongNextEpoch {
                        expected,
                        found: *epoch
                    }
                );
                let limit = skein_base::limits::LIVE_EPOCHS_MAX;
                ensure!(
                    self.committees().len() < limit,
                    ExecutionError::TooManyLiveEpochs { limit }
                );
                let mut committees = self.committees().clone();
                committees.insert(*epoch, committee.clone());
                self.committees.set(committees);
                self.epoch.set(*epoch);
                Ok(Vec::new())
            }
            // It needs the published committee, which `ExecutionState` reads and passes to
            // `migrate_to_epoch`.
            SystemOperation::MigrateToEpoch { epoch } => {
                Err(ExecutionError::CommitteeNotPublished(*epoch))
            }
            SystemOperation::RevokeEpoch { epoch } => {
                self.check_admin(context)?;
                let current = self.epoch();
                ensure!(
                    *epoch < current,
                    ExecutionError::EpochNotRevocable {
                        epoch: *epoch,
                        current
                    }
                );
                ensure!(
                    self.committees().contains_key(epoch),
                    ExecutionError::EpochNotLive(*epoch)
                );
                let mut committees = self.committees().clone();
                committees.remove(epoch);
                self.committees.set(committees);
                let mut revoked = self.revoked_epochs().clone();
                revoked.insert(*epoch, context.timestamp);
                self.revoked_epochs.set(revoked);
                Ok(Vec::new())
            }
        }
    }

    /// Moves the chain to `epoch`, whose committee the admin chain published as
    /// `committee`: from now on the chain trusts that committee alone. Only forwards;
    /// signed by an owner, except on a public chain, where only the validator leading the
    /// round proposes (and signs for no one). A closed chain migrates too, so that it can
    /// still reject what it receives once its epoch is revoked.
    pub async fn migrate_to_epoch(
        &mut self,
        context: &OperationContext,
        epoch: Epoch,
        committee: Committee,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        let public = self.ownership().validators_propose && context.authenticated_signer.is_none();
        if !public {
            self.check_chain_owner(context.authenticated_signer)?;
        }
        let current = self.epoch();
        ensure!(
            epoch > current,
            ExecutionError::EpochNotNewer { epoch, current }
        );
        self.committees.set(BTreeMap::from([(epoch, committee)]));
        self.epoch.set(epoch);
        Ok(Vec::new())
    }

    /// Admin operations run on the admin chain, signed by one of its owners.
    fn check_admin(&self, context: &OperationContext) -> Result<(), ExecutionError> {
        let admin_chain = self.admin_chain();
        ensure!(
            admin_chain == Some(context.chain_id),
            ExecutionError::NotAdminChain { admin_chain }
        );
        self.check_chain_owner(context.authenticated_signer)
    }

    /// Runs one received message, returning the messages it sends.
    pub async fn execute_message(
        &mut self,
        context: &MessageContext,
        message: &SystemMessage,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        match message {
            SystemMessage::Credit {
                source,
                target,
                amount,
            } => {
                let beneficiary = match context.kind {
                    MessageKind::Bouncing => *source,
                    MessageKind::Simple | MessageKind::Tracked => *target,
                };
                self.credit(beneficiary, *amount).await?;
                Ok(Vec::new())
            }
            SystemMessage::Withdraw {
                owner,
                amount,
                recipient,
            } => {
                ensure!(
                    context.authenticated_signer == Some(*owner),
                    ExecutionError::Unauthorized {
                        owner: *owner,
                        signer: context.authenticated_signer,
                    }
                );
                self.transfer(context.chain_id, Some(*owner), *recipient, *amount)
                    .await
            }
            // Applied on arrival, before any block; see `SystemMessage::OpenChain`.
            SystemMessage::OpenChain(_) => Ok(Vec::new()),
            SystemMessage::RequestApplication(application_id) => {
                let descriptions = self
                    .applications_with_requirements(&[*application_id])
                    .await?;
                Ok(vec![OutgoingMessage {
                    destination: context.origin,
                    authenticated_signer: None,
                    kind: MessageKind::Simple,
                    message: Message::System(SystemMessage::RegisterApplications(descriptions)),
                }])
            }
            SystemMessage::Subscribe(channel) => {
                self.subscribe(channel.clone(), context.origin).await
            }
            SystemMessage::Unsubscribe(channel) => {
                self.unsubscribe(channel.clone(), context.origin).await?;
                Ok(Vec::new())
            }
            SystemMessage::RegisterApplications(descriptions) => {
                for description in descriptions {
                    self.register_application(description.clone());
                }
                Ok(Vec::new())
            }
        }
    }

    /// Refuses to run operations on a closed chain.
    pub(crate) fn check_open(&self) -> Result<(), ExecutionError> {
        ensure!(!self.is_closed(), ExecutionError::ClosedChain);
        Ok(())
    }

    /// The chain's owners may spend its balance; an account's owner may spend the account.
    fn check_can_debit(
        &self,
        signer: Option<AccountOwner>,
        owner: &Option<AccountOwner>,
    ) -> Result<(), ExecutionError> {
        match owner {
            None => self.check_chain_owner(signer),
            Some(owner) => {
                ensure!(
                    signer == Some(*owner),
                    ExecutionError::Unauthorized {
                        owner: *owner,
                        signer,
                    }
                );
                Ok(())
            }
        }
    }

    fn check_chain_owner(&self, signer: Option<AccountOwner>) -> Result<(), ExecutionError> {
        match signer {
            Some(signer) if self.ownership().is_owner(&signer) => Ok(()),
            _ => Err(ExecutionError::NotChainOwner { signer }),
        }
    }

    /// Moves tokens from `source` (the chain's balance if `None`) to `recipient`, here or,
    /// with a tracked credit, on another chain. The caller checks who may spend `source`.
    pub(crate) async fn transfer(
        &mut self,
        chain_id: ChainId,
        source: Option<AccountOwner>,
        recipient: Account,
        amount: Amount,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        ensure!(!amount.is_zero(), ExecutionError::ZeroAmount);
        if recipient.chain_id == chain_id {
            // Check that the credit fits before debiting: nothing changes on failure.
            let target_balance = self.balance_of(recipient.owner).await?;
            if recipient.owner != source {
                target_balance.try_add(amount)?;
            }
            self.debit(source, amount).await?;
            self.credit(recipient.owner, amount).await?;
            return Ok(Vec::new());
        }
        self.debit(source, amount).await?;
        Ok(vec![OutgoingMessage {
            destination: recipient.chain_id,
            authenticated_signer: None,
            kind: MessageKind::Tracked,
            message: Message::System(SystemMessage::Credit {
                source,
                target: recipient.owner,
                amount,
            }),
        }])
    }

    async fn balance_of(&self, owner: Option<AccountOwner>) -> Result<Amount, ExecutionError> {
        match owner {
            None => Ok(self.chain_balance()),
            Some(owner) => self.owner_balance(&owner).await,
        }
    }

    /// Opens the chain `description` names, owned by `ownership` and funded with `balance`
    /// from `source` (the chain's own account if `None`): the message that creates it.
    pub(crate) async fn open_chain(
        &mut self,
        description: ChainDescription,
        ownership: ChainOwnership,
        source: Option<AccountOwner>,
        balance: Amount,
        timestamp: Timestamp,
    ) -> Result<OutgoingMessage, ExecutionError> {
        ensure!(ownership.is_active(), ExecutionError::NoOwners);
        self.debit(source, balance).await?;
        let admin_chain = self
            .admin_chain()
            .ok_or_else(|| ExecutionError::Storage("the chain has no admin chain".into()))?;
        let config = ChainConfig {
            description,
            admin_chain,
            ownership,
            epoch: self.epoch(),
            committees: self.committees().clone(),
            balance,
            timestamp,
        };
        Ok(OutgoingMessage {
            destination: description.id(),
            authenticated_signer: None,
            kind: MessageKind::Simple,
            message: Message::System(SystemMessage::OpenChain(config)),
        })
    }

    async fn debit(
        &mut self,
        owner: Option<AccountOwner>,
        amount: Amount,
    ) -> Result<(), ExecutionError> {
        let available = self.balance_of(owner).await?;
        let remaining =
            available
                .try_sub(amount)
                .map_err(|_| ExecutionError::InsufficientBalance {
                    owner,
                    available,
                    requested: amount,
                })?;
        match owner {
            None => self.balance.set(remaining),
            Some(owner) if remaining.is_zero() => self.balances.remove(&owner),
            Some(owner) => self.balances.insert(&owner, remaining),
        }
        Ok(())
    }

    async fn credit(
        &mut self,
        owner: Option<AccountOwner>,
        amount: Amount,
    ) -> Result<(), ExecutionError> {
        match owner {
            None => {
                let total = self.chain_balance().try_add(amount)?;
                self.balance.set(total);
            }
            Some(owner) => {
                let total = self.owner_balance(&owner).await?.try_add(amount)?;
                self.balances.insert(&owner, total);
            }
        }
        Ok(())
    }
}

/// What a published module must be before validators store it: a Wasm module (by its
/// magic number) within the size limit. Compiling it is left to the creation of an
/// application, which needs it.
fn check_module(part: &str, bytes: &[u8]) -> Result<(), ExecutionError> {
    ensure!(
        bytes.len() <= skein_base::limits::BYTECODE_BYTES_MAX,
        ExecutionError::InvalidBytecode(format!(
            "the {part} module has {} bytes, above the limit of {}",
            bytes.len(),
            skein_base::limits::BYTECODE_BYTES_MAX
        ))
    );
    ensure!(
        bytes.starts_with(b"\0asm"),
        ExecutionError::InvalidBytecode(format!("the {part} module is not Wasm"))
    );
    Ok(())
}
