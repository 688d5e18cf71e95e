//! Calls between applications on one chain, as the host and the applications (in Wasm)
//! exchange them, BCS-encoded: a call to an application, a call into a session, and what
//! each entry receives and answers.
//!
//! A *session* is state an application hands to its caller (tokens withdrawn, say): it has
//! one owner at a time, passes to another application with a call, is locked while a call
//! into it runs, and must be closed (consumed by its creator) before the transaction ends.

use serde::{Deserialize, Serialize};

use crate::ApplicationId;

/// A session, named by the application that created it (whose code alone changes it) and
/// a number unique within the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId {
    /// The application that created it.
    pub application_id: ApplicationId,
    /// Its number in the transaction.
    pub index: u64,
}

/// A call to another application: the argument of the `call_application` host call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    /// The application called.
    pub callee: ApplicationId,
    /// Whether the callee may act for the transaction's signer.
    pub authenticated: bool,
    /// The call, as the callee encodes it.
    pub argument: Vec<u8>,
    /// Sessions the caller owns and hands to the callee.
    pub sessions: Vec<SessionId>,
}

/// A call into a session the caller owns: the argument of the `call_session` host call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCallRequest {
    /// The session.
    pub session: SessionId,
    /// The call, as the session's creator encodes it.
    pub argument: Vec<u8>,
    /// Other sessions the caller owns and hands to the session's creator.
    pub sessions: Vec<SessionId>,
}

/// What a call answers to its caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallResult {
    /// The response, as the callee encodes it.
    pub response: Vec<u8>,
    /// Sessions the callee created for the caller, who now owns them.
    pub sessions: Vec<SessionId>,
}

/// The input of a contract's `handle_call` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleCallInput {
    /// The call.
    pub argument: Vec<u8>,
    /// Sessions the caller handed over, now the callee's.
    pub sessions: Vec<SessionId>,
}

/// The output of a contract's `handle_call` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleCallOutput {
    /// The response.
    pub response: Vec<u8>,
    /// The states of sessions to create for the caller.
    pub new_sessions: Vec<Vec<u8>>,
}

/// The input of a contract's `handle_session_call` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleSessionCallInput {
    /// The session's state.
    pub state: Vec<u8>,
    /// The call.
    pub argument: Vec<u8>,
    /// Sessions the caller handed over, now the callee's.
    pub sessions: Vec<SessionId>,
}

/// The output of a contract's `handle_session_call` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleSessionCallOutput {
    /// The response.
    pub response: Vec<u8>,
    /// The session's new state; `None` closes it.
    pub state: Option<Vec<u8>>,
    /// The states of sessions to create for the caller.
    pub new_sessions: Vec<Vec<u8>>,
}

/// What an application asks of pub/sub channels: the argument of the `channel` host call.
/// A channel belongs to an application on its chain and is named by it; subscribers are
/// chains, and each receives what is published after its subscription was accepted, plus
/// the last message published before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelRequest {
    /// Subscribes this chain to the application's channel on `publisher`.
    Subscribe {
        /// The publishing chain (not this one).
        publisher: crate::ChainId,
        /// The channel's name.
        channel: String,
    },
    /// Ends this chain's subscription.
    Unsubscribe {
        /// The publishing chain.
        publisher: crate::ChainId,
        /// The channel's name.
        channel: String,
    },
    /// Sends `message` to every subscriber of this application's channel here.
    Publish {
        /// The channel's name.
        channel: String,
        /// The message, as the application encodes it.
        message: Vec<u8>,
    },
}

/// A chain an application opens, funded from its own account on the chain: the argument
/// of the `open_chain` host call, which answers the new chain's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenChainRequest {
    /// Who owns the new chain, with their weights: one owner proposes in the fast round;
    /// several share the chain in multi-leader rounds. From 1 to
    /// [`crate::limits::OPENED_CHAIN_OWNERS_MAX`].
    pub owners: Vec<(crate::AccountOwner, u64)>,
    /// What the new chain starts with, taken from the application's account.
    pub balance: crate::Amount,
}

/// Native tokens an application sends from its own account on the chain (the account of
/// `AccountOwner::Application(its id)`): the argument of the `transfer` host call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// Where the tokens go: an account on this chain or another.
    pub recipient: crate::Account,
    /// How many; never zero.
    pub amount: crate::Amount,
}
