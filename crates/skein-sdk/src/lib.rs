//! Write Skein applications in Rust.
//!
//! A contract is a type implementing [`Contract`]; [`contract!`] exports it with Skein's
//! calling convention when the crate is built for `wasm32-unknown-unknown`. Its state lives
//! on the chain, read and written through [`ContractRuntime`]; everything it writes in a
//! call is applied only if the call succeeds.
//!
//! ```
//! use skein_sdk::{Contract, ContractRuntime, ReadState};
//!
//! /// Counts what its operations add.
//! pub struct Counter {
//!     runtime: ContractRuntime,
//! }
//!
//! impl Contract for Counter {
//!     type InstantiationArgument = u64;
//!     type Operation = u64;
//!     type Message = ();
//!     type Response = u64;
//!
//!     fn new(runtime: ContractRuntime) -> Self {
//!         Counter { runtime }
//!     }
//!
//!     fn instantiate(&mut self, start: u64) {
//!         self.runtime.set(b"value", &start);
//!     }
//!
//!     fn execute_operation(&mut self, increment: u64) -> u64 {
//!         let value = self.runtime.get::<u64>(b"value").unwrap_or(0) + increment;
//!         self.runtime.set(b"value", &value);
//!         value
//!     }
//!
//!     fn execute_message(&mut self, (): ()) {}
//! }
//!
//! // In a test, the runtime is an in-memory store.
//! let mut counter = Counter::new(ContractRuntime::default());
//! counter.instantiate(1);
//! assert_eq!(counter.execute_operation(2), 3);
//! ```
//!
//! Beyond raw keys, state can be a struct of the node's own view types, loaded and saved
//! through the runtime ([`views`]). A contract that other applications call implements
//! [`CallableContract`] too. Unit tests run contracts on in-memory runtimes that record
//! the messages sent and answer calls with a mock ([`ContractRuntime::on_calls`]); an
//! application's chains run in a test on validators in the test's process
//! (`skein_core::InProcessNetwork::for_tests(chains)`, then `own_chain(index)` for each
//! chain's client: see the examples' `tests/`).
//!
//! An application is two Wasm modules, its contract and its service (a [`Service`] answers
//! read-only queries, in JSON or, with the `graphql` feature, in GraphQL), each a binary
//! of the crate: `skein_sdk::contract!(Counter);` in one,
//! `skein_sdk::service!(CounterService);` in the other (see `examples/counter`). Its
//! [`Abi`] type names its interface for clients and, with [`CallableAbi`], for the
//! applications that call it.

#[doc(hidden)]
pub mod abi;
#[cfg(not(target_arch = "wasm32"))]
pub mod build;
#[cfg(feature = "graphql")]
pub mod graphql;
mod runtime;
pub mod views;

use serde::{de::DeserializeOwned, Serialize};

pub use runtime::{Callee, ContractRuntime, Delivery, ReadState, ServiceRuntime};
/// The types applications share with validators.
pub use skein_base::{
    crypto::CryptoHash, Account, AccountOwner, Amount, ApplicationId, BlockHeight, CallContext,
    CallResult, ChainId, ChannelRequest, MessageInfo, OpenChainRequest, SendMessageRequest,
    SessionId, Timestamp, TransferRequest,
};

/// An application's interface as one type that other code names: what its users send in
/// blocks and what that answers, the same types as its [`Contract`]'s. An application that
/// other applications call names its calls too ([`CallableAbi`]).
///
/// ```
/// use skein_sdk::{Abi, Amount, CallableAbi};
///
/// /// What a token offers.
/// pub struct TokenAbi;
///
/// impl Abi for TokenAbi {
///     type Operation = (Amount, String);
///     type Response = ();
/// }
///
/// impl CallableAbi for TokenAbi {
///     type Call = Amount;
///     type CallResponse = Amount;
///     type SessionCall = Amount;
///     type SessionResponse = Amount;
/// }
/// ```
pub trait Abi {
    /// What users ask of the application in blocks.
    type Operation: Serialize + DeserializeOwned;
    /// What an operation answers.
    type Response: Serialize + DeserializeOwned;
}

/// The interface of an application that others call, as its [`CallableContract`] takes
/// them: callers use it to get every type right ([`ContractRuntime::call`],
/// [`ContractRuntime::call_into_session`]), and cannot call an application that takes no
/// calls.
pub trait CallableAbi: Abi {
    /// What other applications on the chain call it with.
    type Call: Serialize + DeserializeOwned;
    /// What a call answers.
    type CallResponse: Serialize + DeserializeOwned;
    /// What a call into one of its sessions takes.
    type SessionCall: Serialize + DeserializeOwned;
    /// What a call into a session answers.
    type SessionResponse: Serialize + DeserializeOwned;
}

/// An application's contract: the code that changes its state, run by validators in
/// blocks, metered with fuel. A failing call (a panic) changes nothing.
pub trait Contract: Sized {
    /// What the application is created with, decoded from JSON (as `skein
    /// publish-and-create --json-argument` takes it).
    type InstantiationArgument: DeserializeOwned;
    /// What users ask of it in blocks, BCS-encoded: compact, and checked by every
    /// validator.
    type Operation: DeserializeOwned;
    /// What its instances on other chains send it (see [`ContractRuntime::send_message`]).
    type Message: Serialize + DeserializeOwned;
    /// What an operation answers.
    type Response: Serialize;

    /// The contract over its state, before each call.
    fn new(runtime: ContractRuntime) -> Self;

    /// Sets the state up, once, on the chain that creates the application.
    fn instantiate(&mut self, argument: Self::InstantiationArgument);

    /// Runs an operation of a block.
    fn execute_operation(&mut self, operation: Self::Operation) -> Self::Response;

    /// Runs a message from another chain (or, if it bounced, a tracked message this
    /// instance sent: see [`CallContext::message`]).
    fn execute_message(&mut self, message: Self::Message);
}

/// A contract other applications on the chain may call, and which may hand its callers
/// sessions: state detached from its own (tokens withdrawn, say) that one application at a
/// time owns and that only this contract's code changes. Export it with
/// [`callable_contract!`]. A transaction that ends with a session still open fails, so
/// what a session holds is never lost.
pub trait CallableContract: Contract {
    /// What callers ask.
    type Call: DeserializeOwned;
    /// What a call answers.
    type CallResponse: Serialize;
    /// What a session holds.
    type Session: Serialize + DeserializeOwned;
    /// What the owner of a session asks of it.
    type SessionCall: DeserializeOwned;
    /// What a session call answers.
    type SessionResponse: Serialize;

    /// Serves a call from another application (see [`CallContext::authenticated_caller`]),
    /// which handed over `sessions`.
    fn handle_call(
        &mut self,
        call: Self::Call,
        sessions: Vec<SessionId>,
    ) -> CallOutcome<Self::CallResponse, Self::Session>;

    /// Serves a call into one of this contract's sessions, by its owner.
    fn handle_session_call(
        &mut self,
        session: Self::Session,
        call: Self::SessionCall,
        sessions: Vec<SessionId>,
    ) -> SessionOutcome<Self::SessionResponse, Self::Session>;
}

/// What a call answers: a response, and sessions created for the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome<Response, Session> {
    /// The response.
    pub response: Response,
    /// The states of new sessions, which the caller will own.
    pub new_sessions: Vec<Session>,
}

impl<Response, Session> CallOutcome<Response, Session> {
    /// A response and no sessions.
    pub fn new(response: Response) -> Self {
        Self {
            response,
            new_sessions: Vec::new(),
        }
    }
}

/// What a session call answers: a response, the session's new state (or `None` to close
/// it), and new sessions for the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOutcome<Response, Session> {
    /// The response.
    pub response: Response,
    /// The session's state from now on; `None` closes it.
    pub session: Option<Session>,
    /// The states of new sessions, which the caller will own.
    pub new_sessions: Vec<Session>,
}

/// An application's service: answers read-only queries about its state, for wallets and
/// front ends. Not metered like a contract, but bounded by a fuel limit per query. Queries
/// and answers travel as JSON, so any tool can ask.
pub trait Service: Sized {
    /// What it is asked, decoded from JSON.
    type Query: DeserializeOwned;
    /// What it answers, encoded as JSON.
    type QueryResponse: Serialize;

    /// The service over its state, before each query.
    fn new(runtime: ServiceRuntime) -> Self;

    /// Answers a query.
    fn handle_query(&self, query: Self::Query) -> Self::QueryResponse;
}

/// Exports a [`Service`] with Skein's calling convention (only when built for Wasm), in a
/// binary of its own: a service module is published beside the contract's. Naming the
/// contract's operation type (`service!(MyService, operation = MyOperation)`) lets wallets
/// write operations in JSON (`skein execute-operation`): the service encodes them as the
/// contract reads them.
#[macro_export]
macro_rules! service {
    ($service:ty) => {
        $crate::__export!(skein_handle_query => $crate::abi::handle_query::<$service>);
    };
    ($service:ty, operation = $operation:ty) => {
        $crate::__export!(
            skein_handle_query => $crate::abi::handle_query::<$service>,
            skein_encode_operation => $crate::abi::encode_operation::<$operation>,
        );
    };
}

/// Exports a [`Contract`] with Skein's calling convention (only when built for Wasm).
#[macro_export]
macro_rules! contract {
    ($contract:ty) => {
        $crate::__export!(
            skein_instantiate => $crate::abi::instantiate::<$contract>,
            skein_execute_operation => $crate::abi::execute_operation::<$contract>,
            skein_execute_message => $crate::abi::execute_message::<$contract>,
        );
    };
}

/// Exports a [`CallableContract`] with Skein's calling convention (only when built for
/// Wasm): the entries of [`contract!`] and those of calls and sessions.
#[macro_export]
macro_rules! callable_contract {
    ($contract:ty) => {
        $crate::__export!(
            skein_instantiate => $crate::abi::instantiate::<$contract>,
            skein_execute_operation => $crate::abi::execute_operation::<$contract>,
            skein_execute_message => $crate::abi::execute_message::<$contract>,
            skein_handle_call => $crate::abi::handle_call::<$contract>,
            skein_handle_session_call => $crate::abi::handle_session_call::<$contract>,
        );
    };
}

/// Exports `skein_alloc` and each entry point `name => function`, for [`contract!`] and
/// [`service!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __export {
    ($($name:ident => $function:expr),* $(,)?) => {
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        extern "C" fn skein_alloc(len: i32) -> i32 {
            $crate::abi::alloc(len)
        }

        $(
            #[cfg(target_arch = "wasm32")]
            #[no_mangle]
            extern "C" fn $name(ptr: i32, len: i32) {
                $function(ptr, len)
            }
        )*
    };
}
