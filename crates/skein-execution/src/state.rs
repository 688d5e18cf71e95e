//! [`ExecutionState`]: a chain's system state and its applications' states, and how
//! operations and messages run on them.

use std::collections::BTreeMap;

use skein_base::{ApplicationId, ChainId, MessageInfo};
use skein_views::{CollectionView, KeyValueStore, KeyValueView, View};

use crate::{
    message::{Message, MessageContext, MessageKind, Operation, OperationContext, OutgoingMessage},
    runtime::ExecutionRuntime,
    system::{SystemExecutionStateView, SystemMessage, SystemOperation},
    user::{user_application, Transaction, TransactionContext},
    wasm::Entry,
    ExecutionError,
};

/// Everything a chain's blocks change: the system application's state and each user
/// application's key-value state.
#[derive(View)]
pub struct ExecutionState<S> {
    /// Tokens, ownership, committees and the registry of applications.
    pub system: SystemExecutionStateView<S>,
    /// Each application's own state, by application.
    pub(crate) applications: CollectionView<S, ApplicationId, KeyValueView<S>>,
}

impl<S: KeyValueStore> ExecutionState<S> {
    /// Runs one operation of a block, spending the block's `fuel`, and returns the messages
    /// it sends (each application's preceded by its registration).
    pub async fn execute_operation(
        &mut self,
        runtime: &ExecutionRuntime,
        context: &OperationContext,
        operation: &Operation,
        fuel: &mut u64,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        let mut transaction = Transaction::new(
            runtime,
            TransactionContext {
                chain_id: context.chain_id,
                height: context.height,
                index: context.index,
                timestamp: context.timestamp,
                authenticated_signer: context.authenticated_signer,
                message: None,
            },
        );
        let mut outgoing = Vec::new();
        match operation {
            Operation::System(SystemOperation::MigrateToEpoch { epoch }) => {
                let committee = runtime.committee(*epoch).await?;
                outgoing = self
                    .system
                    .migrate_to_epoch(context, *epoch, committee)
                    .await?;
            }
            Operation::System(system_operation) => {
                outgoing = self
                    .system
                    .execute_operation(context, system_operation)
                    .await?;
                if let SystemOperation::PublishBytecode { contract, service } = system_operation {
                    runtime.admit_publication(contract, service, fuel)?;
                }
                if let SystemOperation::CreateApplication {
                    instantiation_argument,
                    ..
                } = system_operation
                {
                    let description = system_operation
                        .created_application(context)
                        .expect("a CreateApplication describes an application");
                    // Both modules must be here: the service is what wallets query.
                    runtime.service(&description.bytecode_id).await?;
                    self.run_transaction(
                        &mut transaction,
                        description.id(),
                        Entry::Instantiate,
                        instantiation_argument.clone(),
                        fuel,
                    )
                    .await?;
                }
            }
            Operation::User {
                application_id,
                bytes,
            } => {
                self.system.check_open()?;
                self.run_transaction(
                    &mut transaction,
                    *application_id,
                    Entry::ExecuteOperation,
                    bytes.clone(),
                    fuel,
                )
                .await?;
            }
        }
        outgoing.extend(transaction.finish()?);
        self.register_ahead(outgoing).await
    }

    /// Runs the messages of one received bundle, spending the block's `fuel`, and returns
    /// the messages they send.
    pub async fn execute_messages(
        &mut self,
        runtime: &ExecutionRuntime,
        messages: &[(MessageContext, &Message)],
        fuel: &mut u64,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        let mut outgoing = Vec::new();
        // The bundle is one transaction: chains its messages open are numbered across it.
        let mut chains_opened = 0;
        for (context, message) in messages {
            match message {
                Message::System(message) => {
                    let sent = self.system.execute_message(context, message).await?;
                    outgoing.extend(sent);
                }
                Message::User {
                    application_id,
                    bytes,
                } => {
                    let mut transaction = Transaction::new(
                        runtime,
                        TransactionContext {
                            chain_id: context.chain_id,
                            height: context.height,
                            index: context.index,
                            timestamp: context.timestamp,
                            authenticated_signer: context.authenticated_signer,
                            message: Some(MessageInfo {
                                origin: context.origin,
                                is_bouncing: context.kind == MessageKind::Bouncing,
                            }),
                        },
                    );
                    transaction.chains_opened = chains_opened;
                    self.run_transaction(
                        &mut transaction,
                        *application_id,
                        Entry::ExecuteMessage,
                        bytes.clone(),
                        fuel,
                    )
                    .await?;
                    chains_opened = transaction.chains_opened;
                    outgoing.extend(transaction.finish()?);
                }
            }
        }
        self.register_ahead(outgoing).await
    }

    /// Puts, before the first of a transaction's messages to each chain, a
    /// [`SystemMessage::RegisterApplications`] with the applications its messages to that
    /// chain belong to (and those they require): so an application's first message
    /// registers it, wherever it goes.
    async fn register_ahead(
        &self,
        outgoing: Vec<OutgoingMessage>,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        let mut used: BTreeMap<ChainId, Vec<ApplicationId>> = BTreeMap::new();
        for message in &outgoing {
            if let Some(id) = user_application(&message.message) {
                let ids = used.entry(message.destination).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        if used.is_empty() {
            return Ok(outgoing);
        }
        let mut registered = Vec::with_capacity(outgoing.len() + used.len());
        for message in outgoing {
            if let Some(ids) = used.remove(&message.destination) {
                let descriptions = self.system.applications_with_requirements(&ids).await?;
                registered.push(OutgoingMessage {
                    destination: message.destination,
                    authenticated_signer: None,
                    kind: MessageKind::Simple,
                    message: Message::System(SystemMessage::RegisterApplications(descriptions)),
                });
            }
            registered.push(message);
        }
        Ok(registered)
    }
}
