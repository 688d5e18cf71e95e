//! Calls into user applications on a chain: the contract's entries for operations,
//! messages and instantiation, and the service's queries.
//!
//! A call runs in the Wasm runtime against a [`ChainHost`]; its requests (reads, writes,
//! messages) come back here over a channel and are served on the application's
//! [`KeyValueView`] while the call waits. Writes go straight into the view: a failed call
//! fails its transaction, and the block that holds it is never saved.

mod host;

use futures::{channel::mpsc, future::Either, StreamExt};
use skein_base::{ApplicationId, CallContext, SendMessageRequest};
use skein_views::{KeyValueStore, KeyValueView};

use self::host::{ChainHost, HostRequest};
use crate::{
    message::{Message, MessageKind, OutgoingMessage},
    runtime::ExecutionRuntime,
    state::ExecutionState,
    wasm::{CallOutcome, Entry, HostError, WasmError},
    ExecutionError,
};

/// One call into an application.
pub(crate) struct UserCall<'a> {
    /// The entry to run.
    pub entry: Entry,
    /// Its input, as the application encodes it.
    pub input: &'a [u8],
    /// What it runs for.
    pub context: CallContext,
}

impl<S: KeyValueStore> ExecutionState<S> {
    /// Runs a contract entry, spending `fuel` and adding the messages it sends to
    /// `outgoing`. Returns the call's output.
    pub(crate) async fn call_contract(
        &mut self,
        runtime: &ExecutionRuntime,
        call: UserCall<'_>,
        fuel: &mut u64,
        outgoing: &mut Vec<OutgoingMessage>,
    ) -> Result<Vec<u8>, ExecutionError> {
        let application_id = call.context.application_id;
        let description = self.system.application(&application_id).await?;
        let bytecode = runtime.contract(&description.bytecode_id).await?;
        let wasm = runtime.wasm()?;
        let (host, requests) = ChainHost::new(encode(&call.context)?, description.parameters);
        let outcome = wasm.call(&bytecode, call.entry, call.input, Box::new(host), *fuel);
        let state = self.applications.load_entry_mut(&application_id).await?;
        let mut sent = Vec::new();
        let outcome = serve(outcome, requests, state, &mut sent).await?;
        *fuel = fuel.saturating_sub(outcome.fuel_used);
        let output = outcome
            .result
            .map_err(|error| ExecutionError::Application {
                application_id,
                error,
            })?;
        let signer = call.context.authenticated_signer;
        outgoing.extend(sent.into_iter().map(|request| OutgoingMessage {
            destination: request.destination,
            authenticated_signer: signer.filter(|_| request.authenticated),
            kind: if request.tracked {
                MessageKind::Tracked
            } else {
                MessageKind::Simple
            },
            message: Message::User {
                application_id,
                bytes: request.message,
            },
        }));
        Ok(output)
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
        let application_id = context.application_id;
        let description = self.system.application(&application_id).await?;
        let bytecode = runtime.service(&description.bytecode_id).await?;
        let wasm = runtime.wasm()?;
        let (host, requests) = ChainHost::new(encode(&context)?, description.parameters);
        let outcome = wasm.query(&bytecode, query, Box::new(host), fuel);
        let state = self.applications.load_entry_mut(&application_id).await?;
        let outcome = serve(outcome, requests, state, &mut Vec::new()).await?;
        outcome.result.map_err(|error| ExecutionError::Application {
            application_id,
            error,
        })
    }
}

fn encode(context: &CallContext) -> Result<Vec<u8>, ExecutionError> {
    bcs::to_bytes(context).map_err(|error| ExecutionError::Storage(error.to_string()))
}

/// Drives `call` to its end, serving its requests on `state` in the order it made them.
/// A storage failure is this node's, not the application's: it fails the execution with
/// [`ExecutionError::Storage`] whatever the call did with it.
async fn serve<S: KeyValueStore>(
    call: impl std::future::Future<Output = CallOutcome>,
    mut requests: mpsc::UnboundedReceiver<HostRequest>,
    state: &mut KeyValueView<S>,
    sent: &mut Vec<SendMessageRequest>,
) -> Result<Finished, ExecutionError> {
    let mut storage_error = None;
    let mut call = std::pin::pin!(call);
    let outcome = loop {
        match futures::future::select(call.as_mut(), requests.next()).await {
            Either::Left((outcome, _)) => break outcome,
            Either::Right((Some(request), _)) => {
                handle(request, state, sent, &mut storage_error).await;
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
        handle(request, state, sent, &mut storage_error).await;
    }
    match storage_error {
        Some(error) => Err(ExecutionError::Storage(error)),
        None => Ok(Finished { result, fuel_used }),
    }
}

/// How a call ended, once all its requests were served.
struct Finished {
    result: Result<Vec<u8>, WasmError>,
    fuel_used: u64,
}

async fn handle<S: KeyValueStore>(
    request: HostRequest,
    state: &mut KeyValueView<S>,
    sent: &mut Vec<SendMessageRequest>,
    storage_error: &mut Option<String>,
) {
    let mut failed = |error: skein_views::ViewError| {
        let message = error.to_string();
        *storage_error = Some(message.clone());
        HostError::Storage(message)
    };
    match request {
        HostRequest::Read { key, reply } => {
            let _ = reply.send(state.get(&key).await.map_err(&mut failed));
        }
        HostRequest::FindKeys { prefix, reply } => {
            let _ = reply.send(
                state
                    .find_keys_by_prefix(&prefix)
                    .await
                    .map_err(&mut failed),
            );
        }
        HostRequest::Write { key, value } => state.insert(key, value),
        HostRequest::Remove { key } => state.remove(key),
        HostRequest::SendMessage(request) => sent.push(request),
    }
}

/// The application a message belongs to, if a user application's.
pub(crate) fn user_application(message: &Message) -> Option<ApplicationId> {
    match message {
        Message::User { application_id, .. } => Some(*application_id),
        Message::System(_) => None,
    }
}
