//! Calls into user applications on a chain: the contract's entries for operations,
//! messages, instantiation and calls from other applications, and the service's queries.
//!
//! A call runs in the Wasm runtime against a [`ChainHost`]; its requests (reads, writes,
//! messages, calls to other applications) come back here over a channel and are served on
//! the chain's state while the call waits. Everything one operation or message sets off is
//! a [`Transaction`]: its calls share the fuel, the sessions and the messages sent, and any
//! failure fails all of it. Writes go straight into the views: a failed transaction fails
//! its block, which is never saved.

mod host;
mod sessions;

use std::collections::BTreeMap;

use futures::{
    channel::mpsc,
    future::{BoxFuture, Either},
    StreamExt,
};
use skein_base::{
    limits, AccountOwner, ApplicationId, BlockHeight, CallContext, ChainDescription, ChainId,
    ChannelRequest, MessageInfo, OpenChainRequest, SessionId, Timestamp,
};
use skein_views::KeyValueStore;

use self::{
    host::{ChainHost, HostRequest},
    sessions::Session,
};
use crate::{
    message::{Message, MessageKind, OutgoingMessage},
    runtime::ExecutionRuntime,
    state::ExecutionState,
    system::{ChannelName, SystemMessage},
    wasm::{CallOutcome, Entry, HostError, WasmError},
    ChainOwnership, ExecutionError,
};

/// What one operation or message runs for: the chain, the block and who signed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TransactionContext {
    pub chain_id: ChainId,
    pub height: BlockHeight,
    /// The transaction's index in its block.
    pub index: u32,
    pub timestamp: Timestamp,
    pub authenticated_signer: Option<AccountOwner>,
    pub message: Option<MessageInfo>,
}

/// What the calls of one transaction share.
pub(crate) struct Transaction<'a> {
    runtime: &'a ExecutionRuntime,
    context: TransactionContext,
    /// The applications whose calls are running, outermost first: none may be called
    /// again until it returns.
    stack: Vec<ApplicationId>,
    sessions: BTreeMap<SessionId, Session>,
    next_session: u64,
    outgoing: Vec<OutgoingMessage>,
    /// What the applications' messages carry so far.
    message_bytes: usize,
    /// How many chains the transaction opened so far (carried over between the messages
    /// of one bundle, which form one transaction).
    pub(crate) chains_opened: u32,
    /// Why a nested call failed (or this node's storage did): reported instead of the
    /// caller's own failure, which it caused.
    failure: Option<ExecutionError>,
}

impl<'a> Transaction<'a> {
    pub(crate) fn new(runtime: &'a ExecutionRuntime, context: TransactionContext) -> Self {
        Self {
            runtime,
            context,
            stack: Vec::new(),
            sessions: BTreeMap::new(),
            next_session: 0,
            outgoing: Vec::new(),
            message_bytes: 0,
            chains_opened: 0,
            failure: None,
        }
    }

    /// The context of a call into `application_id`, by `caller` (none for the
    /// transaction's own call), with the signer if it is passed on.
    fn call_context(
        &self,
        application_id: ApplicationId,
        caller: Option<ApplicationId>,
        authenticated_signer: Option<AccountOwner>,
    ) -> CallContext {
        CallContext {
            application_id,
            chain_id: self.context.chain_id,
            height: self.context.height,
            timestamp: self.context.timestamp,
            authenticated_signer,
            message: if caller.is_none() {
                self.context.message
            } else {
                None
            },
            authenticated_caller: caller,
        }
    }

    /// Counts `bytes` more of application messages against the transaction's limit, and
    /// refuses them early if the transaction already sends as many messages as a
    /// transaction may.
    fn carry(&mut self, bytes: usize) -> Result<(), ExecutionError> {
        if self.outgoing.len() >= limits::MESSAGES_PER_TRANSACTION_MAX {
            return Err(ExecutionError::LimitExceeded(format!(
                "a transaction sends at most {} messages",
                limits::MESSAGES_PER_TRANSACTION_MAX
            )));
        }
        let limit = limits::APPLICATION_MESSAGE_BYTES_PER_TRANSACTION_MAX;
        self.message_bytes = self.message_bytes.saturating_add(bytes);
        if self.message_bytes > limit {
            return Err(ExecutionError::LimitExceeded(format!(
                "the transaction's messages carry {} bytes, above the limit of {limit}",
                self.message_bytes
            )));
        }
        Ok(())
    }

    /// The transaction's messages, once it is over: refused if a session is still open.
    pub(crate) fn finish(self) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        if !self.sessions.is_empty() {
            return Err(ExecutionError::SessionsNotClosed(
                self.sessions.into_keys().collect(),
            ));
        }
        Ok(self.outgoing)
    }
}

/// One call into an application's contract.
pub(crate) struct UserCall {
    pub entry: Entry,
    pub input: Vec<u8>,
    pub context: CallContext,
    /// The most fuel it may burn.
    pub fuel: u64,
}

impl<S: KeyValueStore> ExecutionState<S> {
    /// Runs the transaction's own call into an application (for an operation, a message or
    /// an instantiation), spending the block's `fuel`. Returns the call's output.
    pub(crate) async fn run_transaction(
        &mut self,
        transaction: &mut Transaction<'_>,
        application_id: ApplicationId,
        entry: Entry,
        input: Vec<u8>,
        fuel: &mut u64,
    ) -> Result<Vec<u8>, ExecutionError> {
        let signer = transaction.context.authenticated_signer;
        let call = UserCall {
            entry,
            input,
            context: transaction.call_context(application_id, None, signer),
            fuel: *fuel,
        };
        let (output, used) = self.call_contract(transaction, call).await?;
        *fuel = fuel.saturating_sub(used);
        Ok(output)
    }

    /// Runs a contract entry within `transaction`. Returns its output and the fuel it (and
    /// the calls it made) burnt.
    pub(crate) fn call_contract<'a>(
        &'a mut self,
        transaction: &'a mut Transaction<'_>,
        call: UserCall,
    ) -> BoxFuture<'a, Result<(Vec<u8>, u64), ExecutionError>> {
        Box::pin(async move {
            let application_id = call.context.application_id;
            if transaction.stack.contains(&application_id) {
                return Err(ExecutionError::InvalidCall(format!(
                    "application {application_id} is called while it runs (reentrancy is refused)"
                )));
            }
            if transaction.stack.len() >= limits::APPLICATION_CALL_DEPTH_MAX {
                return Err(ExecutionError::InvalidCall(format!(
                    "calls nest deeper than {}",
                    limits::APPLICATION_CALL_DEPTH_MAX
                )));
            }
            let description = self.system.application(&application_id).await?;
            let bytecode = transaction
                .runtime
                .contract(&description.bytecode_id)
                .await?;
            let wasm = transaction.runtime.wasm()?;
            let context = call.context.clone();
            let (host, requests) = ChainHost::new(encode(&context)?, description.parameters);
            let outcome = wasm.call(
                &bytecode,
                call.entry,
                &call.input,
                Box::new(host),
                call.fuel,
            );
            transaction.stack.push(application_id);
            let finished = self.serve(outcome, requests, transaction, &context).await;
            transaction.stack.pop();
            let Finished { result, fuel_used } = finished;
            if let Some(failure) = transaction.failure.take() {
                return Err(failure);
            }
            let output = result.map_err(|error| ExecutionError::Application {
                application_id,
                error,
            })?;
            Ok((output, fuel_used))
        })
    }

    /// Asks an application's service `query`, with at most `fuel`; the service can only
    /// read the application's state.
    pub async fn query_application(
        &mut self,
        runtime: &ExecutionRuntime,
        context: CallContext,
        query: &[u8],
        fuel: u64,
    ) -> Result<Vec<u8>, ExecutionError> {
        self.call_service(runtime, context, Entry::HandleQuery, query, fuel)
            .await
    }

    /// Asks an application's service to encode an operation written in JSON as its
    /// contract reads it.
    pub async fn encode_operation(
        &mut self,
        runtime: &ExecutionRuntime,
        context: CallContext,
        json: &[u8],
        fuel: u64,
    ) -> Result<Vec<u8>, ExecutionError> {
        self.call_service(runtime, context, Entry::EncodeOperation, json, fuel)
            .await
    }

    async fn call_service(
        &mut self,
        runtime: &ExecutionRuntime,
        context: CallContext,
        entry: Entry,
        input: &[u8],
        fuel: u64,
    ) -> Result<Vec<u8>, ExecutionError> {
        let application_id = context.application_id;
        let description = self.system.application(&application_id).await?;
        let bytecode = runtime.service(&description.bytecode_id).await?;
        let wasm = runtime.wasm()?;
        let (host, requests) = ChainHost::new(encode(&context)?, description.parameters);
        let outcome = wasm.call_service(&bytecode, entry, input, Box::new(host), fuel);
        let transaction_context = TransactionContext {
            chain_id: context.chain_id,
            height: context.height,
            index: 0,
            timestamp: context.timestamp,
            authenticated_signer: None,
            message: None,
        };
        let mut transaction = Transaction::new(runtime, transaction_context);
        let finished = self
            .serve(outcome, requests, &mut transaction, &context)
            .await;
        if let Some(failure) = transaction.failure.take() {
            return Err(failure);
        }
        finished
            .result
            .map_err(|error| ExecutionError::Application {
                application_id,
                error,
            })
    }

    /// Drives `call` to its end, serving its requests in the order it made them.
    async fn serve(
        &mut self,
        call: impl std::future::Future<Output = CallOutcome>,
        mut requests: mpsc::UnboundedReceiver<HostRequest>,
        transaction: &mut Transaction<'_>,
        context: &CallContext,
    ) -> Finished {
        let mut call = std::pin::pin!(call);
        let outcome = loop {
            match futures::future::select(call.as_mut(), requests.next()).await {
                Either::Left((outcome, _)) => break outcome,
                Either::Right((Some(request), _)) => {
                    self.handle(request, transaction, context).await;
                }
                // The host lives as long as the call, so this is the call ending.
                Either::Right((None, _)) => break call.await,
            }
        };
        let CallOutcome {
            result,
            fuel_used,
            host,
        } = outcome;
        // Writes the call made just before returning are still queued; dropping the host
        // closes the channel behind them.
        drop(host);
        while let Some(request) = requests.next().await {
            self.handle(request, transaction, context).await;
        }
        Finished { result, fuel_used }
    }

    async fn handle(
        &mut self,
        request: HostRequest,
        transaction: &mut Transaction<'_>,
        context: &CallContext,
    ) {
        let application_id = context.application_id;
        match request {
            HostRequest::Read { key, reply } => {
                let value = match self.applications.load_entry_mut(&application_id).await {
                    Ok(state) => state.get(&key).await,
                    Err(error) => Err(error),
                };
                let _ = reply.send(value.map_err(|error| storage_failure(transaction, error)));
            }
            HostRequest::FindKeys { prefix, reply } => {
                // One more than allowed, to tell a prefix at the limit from one past it.
                let limit = limits::APPLICATION_KEYS_PER_SCAN_MAX + 1;
                let keys = match self.applications.load_entry_mut(&application_id).await {
                    Ok(state) => state.find_keys_by_prefix(&prefix, limit).await,
                    Err(error) => Err(error),
                };
                let keys = match keys {
                    Ok(keys) if keys.len() < limit => Ok(keys),
                    Ok(_) => Err(HostError::Refused(format!(
                        "more than {} keys under this prefix: list them by longer prefixes",
                        limits::APPLICATION_KEYS_PER_SCAN_MAX
                    ))),
                    Err(error) => Err(storage_failure(transaction, error)),
                };
                let _ = reply.send(keys);
            }
            HostRequest::Write { key, value } => {
                match self.applications.load_entry_mut(&application_id).await {
                    Ok(state) => state.insert(key, value),
                    Err(error) => {
                        storage_failure(transaction, error);
                    }
                }
            }
            HostRequest::Remove { key } => {
                match self.applications.load_entry_mut(&application_id).await {
                    Ok(state) => state.remove(key),
                    Err(error) => {
                        storage_failure(transaction, error);
                    }
                }
            }
            HostRequest::SendMessage(request) => {
                if let Err(error) = transaction.carry(request.message.len()) {
                    transaction.failure.get_or_insert(error);
                    return;
                }
                transaction.outgoing.push(OutgoingMessage {
                    destination: request.destination,
                    authenticated_signer: context
                        .authenticated_signer
                        .filter(|_| request.authenticated),
                    kind: if request.tracked {
                        MessageKind::Tracked
                    } else {
                        MessageKind::Simple
                    },
                    message: Message::User {
                        application_id,
                        bytes: request.message,
                    },
                });
            }
            HostRequest::Transfer(request) => {
                let source = Some(AccountOwner::Application(application_id));
                let sent = self
                    .system
                    .transfer(
                        transaction.context.chain_id,
                        source,
                        request.recipient,
                        request.amount,
                    )
                    .await;
                match sent {
                    Ok(messages) => transaction.outgoing.extend(messages),
                    Err(error) => {
                        transaction.failure.get_or_insert(error);
                    }
                }
            }
            HostRequest::OpenChain { request, reply } => {
                let opened = self.open_chain(transaction, application_id, request).await;
                let _ = reply.send(opened.map_err(|error| {
                    let refused = HostError::Refused(error.to_string());
                    transaction.failure.get_or_insert(error);
                    refused
                }));
            }
            HostRequest::Channel(request) => {
                if let Err(error) = self.channel(transaction, application_id, request).await {
                    transaction.failure.get_or_insert(error);
                }
            }
            HostRequest::CallApplication {
                request,
                fuel,
                reply,
            } => {
                let answer = self
                    .call_application(transaction, context, request, fuel)
                    .await;
                let _ = reply.send(nested_answer(transaction, answer));
            }
            HostRequest::CallSession {
                request,
                fuel,
                reply,
            } => {
                let answer = self
                    .call_session(transaction, application_id, request, fuel)
                    .await;
                let _ = reply.send(nested_answer(transaction, answer));
            }
        }
    }
}

impl<S: KeyValueStore> ExecutionState<S> {
    /// Serves an application's chain opening: the new chain is numbered after those the
    /// transaction opened before, and funded from the application's account.
    async fn open_chain(
        &mut self,
        transaction: &mut Transaction<'_>,
        application_id: ApplicationId,
        request: OpenChainRequest,
    ) -> Result<ChainId, ExecutionError> {
        let owners = request.owners.len();
        if owners == 0 || owners > limits::OPENED_CHAIN_OWNERS_MAX {
            return Err(ExecutionError::InvalidCall(format!(
                "a chain is opened with 1 to {} owners, not {owners}",
                limits::OPENED_CHAIN_OWNERS_MAX
            )));
        }
        // Nobody could ever propose a block: the chain and its tokens would be lost.
        if request
            .owners
            .iter()
            .any(|(owner, _)| matches!(owner, AccountOwner::Application(_)))
        {
            return Err(ExecutionError::InvalidCall(
                "an application cannot own a chain: it signs no blocks".into(),
            ));
        }
        if owners > 1 && request.owners.iter().all(|(_, weight)| *weight == 0) {
            return Err(ExecutionError::InvalidCall(
                "the owners of a shared chain need weights, not all zero".into(),
            ));
        }
        if transaction.chains_opened as usize >= limits::OPENED_CHAINS_PER_TRANSACTION_MAX {
            return Err(ExecutionError::LimitExceeded(format!(
                "a transaction opens at most {} chains",
                limits::OPENED_CHAINS_PER_TRANSACTION_MAX
            )));
        }
        transaction.carry(0)?;
        let ownership = match request.owners.as_slice() {
            [(owner, _)] => ChainOwnership::single(*owner),
            owners => ChainOwnership::multiple(
                owners.iter().copied(),
                limits::OPENED_CHAIN_MULTI_LEADER_ROUNDS,
            ),
        };
        let context = &transaction.context;
        let description = ChainDescription::Child {
            parent: context.chain_id,
            height: context.height,
            index: context.index,
            sequence: transaction.chains_opened,
        };
        let opening = self
            .system
            .open_chain(
                description,
                ownership,
                Some(AccountOwner::Application(application_id)),
                request.balance,
                context.timestamp,
            )
            .await?;
        transaction.chains_opened += 1;
        transaction.outgoing.push(opening);
        Ok(description.id())
    }

    /// Serves an application's channel request: subscriptions become messages to the
    /// publishing chain; a publication, messages to the channel's subscribers.
    async fn channel(
        &mut self,
        transaction: &mut Transaction<'_>,
        application_id: ApplicationId,
        request: ChannelRequest,
    ) -> Result<(), ExecutionError> {
        let name = match &request {
            ChannelRequest::Subscribe { channel, .. }
            | ChannelRequest::Unsubscribe { channel, .. }
            | ChannelRequest::Publish { channel, .. } => channel,
        };
        if name.len() > limits::CHANNEL_NAME_BYTES_MAX {
            return Err(ExecutionError::InvalidCall(format!(
                "a channel name of {} bytes, above the limit of {}",
                name.len(),
                limits::CHANNEL_NAME_BYTES_MAX
            )));
        }
        let subscription = |publisher: ChainId, channel: String, subscribe: bool| {
            if publisher == transaction.context.chain_id {
                return Err(ExecutionError::InvalidCall(
                    "a chain cannot subscribe to its own channels".into(),
                ));
            }
            let channel = ChannelName {
                application_id,
                name: channel,
            };
            let message = if subscribe {
                SystemMessage::Subscribe(channel)
            } else {
                SystemMessage::Unsubscribe(channel)
            };
            Ok(OutgoingMessage {
                destination: publisher,
                authenticated_signer: None,
                kind: MessageKind::Simple,
                message: Message::System(message),
            })
        };
        let outgoing = match request {
            ChannelRequest::Subscribe { publisher, channel } => {
                vec![subscription(publisher, channel, true)?]
            }
            ChannelRequest::Unsubscribe { publisher, channel } => {
                vec![subscription(publisher, channel, false)?]
            }
            ChannelRequest::Publish { channel, message } => {
                let channel = ChannelName {
                    application_id,
                    name: channel,
                };
                let subscribers = self.system.subscribers(&channel).await?;
                transaction.carry(message.len().saturating_mul(subscribers.len().max(1)))?;
                self.system.publish(channel, message).await?
            }
        };
        transaction.outgoing.extend(outgoing);
        Ok(())
    }
}

/// How a call ended, once all its requests were served.
struct Finished {
    result: Result<Vec<u8>, WasmError>,
    fuel_used: u64,
}

fn encode(context: &CallContext) -> Result<Vec<u8>, ExecutionError> {
    bcs::to_bytes(context).map_err(|error| ExecutionError::Storage(error.to_string()))
}

/// Records a storage failure (this node's fault, not the application's) and tells the call.
fn storage_failure(transaction: &mut Transaction<'_>, error: skein_views::ViewError) -> HostError {
    let message = error.to_string();
    transaction
        .failure
        .get_or_insert(ExecutionError::Storage(message.clone()));
    HostError::Storage(message)
}

/// What a calling application hears of a nested call: the result, or that it failed, the
/// reason being kept for the transaction.
fn nested_answer<T>(
    transaction: &mut Transaction<'_>,
    answer: Result<T, ExecutionError>,
) -> Result<T, HostError> {
    answer.map_err(|error| {
        let message = error.to_string();
        transaction.failure.get_or_insert(error);
        HostError::Refused(message)
    })
}

/// The application a message belongs to, if a user application's.
pub(crate) fn user_application(message: &Message) -> Option<ApplicationId> {
    match message {
        Message::User { application_id, .. } => Some(*application_id),
        Message::System(_) => None,
    }
}
