//! Calls from one application to another, and into sessions: who owns each session, who
//! may call it, and how ownership moves with calls.

use skein_base::{
    ApplicationId, CallContext, CallRequest, CallResult, HandleCallInput, HandleCallOutput,
    HandleSessionCallInput, HandleSessionCallOutput, SessionCallRequest, SessionId,
};
use skein_views::KeyValueStore;

use super::{Transaction, UserCall};
use crate::{
    state::ExecutionState,
    wasm::{Entry, WasmError},
    ExecutionError,
};

/// A session's bookkeeping in a transaction.
pub(crate) struct Session {
    /// The application that may call it (and hand it on).
    owner: ApplicationId,
    /// What its creator keeps in it.
    state: Vec<u8>,
    /// Whether a call into it is running.
    locked: bool,
}

impl<S: KeyValueStore> ExecutionState<S> {
    /// Serves `caller`'s call to another application.
    pub(super) async fn call_application(
        &mut self,
        transaction: &mut Transaction<'_>,
        caller: &CallContext,
        request: CallRequest,
        fuel: u64,
    ) -> Result<(CallResult, u64), ExecutionError> {
        let callee = request.callee;
        let caller_id = caller.application_id;
        hand_over(transaction, caller_id, &request.sessions, callee, None)?;
        let signer = caller
            .authenticated_signer
            .filter(|_| request.authenticated);
        let input = HandleCallInput {
            argument: request.argument,
            sessions: request.sessions,
        };
        let call = UserCall {
            entry: Entry::HandleCall,
            input: encode(&input)?,
            context: transaction.call_context(callee, Some(caller_id), signer),
            fuel,
        };
        let (output, used) = self.call_contract(transaction, call).await?;
        let output: HandleCallOutput = decode(callee, &output)?;
        let sessions = create_sessions(transaction, callee, caller_id, output.new_sessions);
        let result = CallResult {
            response: output.response,
            sessions,
        };
        Ok((result, used))
    }

    /// Serves `caller`'s call into a session it owns: its creator runs with the session's
    /// state, which stays locked meanwhile, and keeps, changes or closes it.
    pub(super) async fn call_session(
        &mut self,
        transaction: &mut Transaction<'_>,
        caller: ApplicationId,
        request: SessionCallRequest,
        fuel: u64,
    ) -> Result<(CallResult, u64), ExecutionError> {
        let id = request.session;
        let creator = id.application_id;
        let state = {
            let session = owned(transaction, caller, &id)?;
            session.locked = true;
            session.state.clone()
        };
        hand_over(transaction, caller, &request.sessions, creator, Some(id))?;
        let input = HandleSessionCallInput {
            state,
            argument: request.argument,
            sessions: request.sessions,
        };
        let call = UserCall {
            entry: Entry::HandleSessionCall,
            input: encode(&input)?,
            context: transaction.call_context(creator, Some(caller), None),
            fuel,
        };
        let (output, used) = self.call_contract(transaction, call).await?;
        let output: HandleSessionCallOutput = decode(creator, &output)?;
        match output.state {
            Some(state) => {
                let session = transaction
                    .sessions
                    .get_mut(&id)
                    .expect("a locked session stays");
                session.state = state;
                session.locked = false;
            }
            None => {
                transaction.sessions.remove(&id);
            }
        }
        let sessions = create_sessions(transaction, creator, caller, output.new_sessions);
        let result = CallResult {
            response: output.response,
            sessions,
        };
        Ok((result, used))
    }
}

/// The session `id`, if `caller` owns it and no call into it is running.
fn owned<'t>(
    transaction: &'t mut Transaction<'_>,
    caller: ApplicationId,
    id: &SessionId,
) -> Result<&'t mut Session, ExecutionError> {
    let session = transaction
        .sessions
        .get_mut(id)
        .ok_or_else(|| ExecutionError::InvalidCall(format!("session {id:?} does not exist")))?;
    if session.owner != caller {
        return Err(ExecutionError::InvalidCall(format!(
            "session {id:?} belongs to {}, not {caller}",
            session.owner
        )));
    }
    if session.locked {
        return Err(ExecutionError::InvalidCall(format!(
            "session {id:?} is in use"
        )));
    }
    Ok(session)
}

/// Gives `sessions`, which `caller` must own (none of them `except`, the session being
/// called), to `recipient`.
fn hand_over(
    transaction: &mut Transaction<'_>,
    caller: ApplicationId,
    sessions: &[SessionId],
    recipient: ApplicationId,
    except: Option<SessionId>,
) -> Result<(), ExecutionError> {
    let mut seen = std::collections::BTreeSet::new();
    for id in sessions {
        if Some(*id) == except || !seen.insert(*id) {
            return Err(ExecutionError::InvalidCall(format!(
                "session {id:?} is handed over twice in one call"
            )));
        }
        owned(transaction, caller, id)?;
    }
    for id in sessions {
        if let Some(session) = transaction.sessions.get_mut(id) {
            session.owner = recipient;
        }
    }
    Ok(())
}

/// Creates sessions of `creator` with these states, owned by `owner`.
fn create_sessions(
    transaction: &mut Transaction<'_>,
    creator: ApplicationId,
    owner: ApplicationId,
    states: Vec<Vec<u8>>,
) -> Vec<SessionId> {
    states
        .into_iter()
        .map(|state| {
            let id = SessionId {
                application_id: creator,
                index: transaction.next_session,
            };
            transaction.next_session += 1;
            transaction.sessions.insert(
                id,
                Session {
                    owner,
                    state,
                    locked: false,
                },
            );
            id
        })
        .collect()
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ExecutionError> {
    bcs::to_bytes(value).map_err(|error| ExecutionError::Storage(error.to_string()))
}

/// An entry's output, which the application must have encoded as the convention says.
fn decode<T: serde::de::DeserializeOwned>(
    application_id: ApplicationId,
    output: &[u8],
) -> Result<T, ExecutionError> {
    bcs::from_bytes(output).map_err(|error| ExecutionError::Application {
        application_id,
        error: WasmError::Convention(format!("a malformed call result: {error}")),
    })
}
