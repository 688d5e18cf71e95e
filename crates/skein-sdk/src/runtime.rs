//! [`ContractRuntime`] and [`ServiceRuntime`]: an application's view of its state, read
//! and written by its contract, only read by its service.

use serde::{de::DeserializeOwned, Serialize};
use skein_base::{
    Account, AccountOwner, Amount, ApplicationId, CallContext, CallResult, ChainId, ChannelRequest,
    OpenChainRequest, SendMessageRequest, SessionId, TransferRequest,
};
#[cfg(target_arch = "wasm32")]
use skein_base::{CallRequest, SessionCallRequest};
use skein_views::{View, ViewContext};

use crate::views::HostStore;

/// How a message travels: whether it comes back if rejected, and whether it carries the
/// signer of the block (or message) that sent it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// A rejected tracked message returns to its sender, marked as bouncing
    /// ([`MessageInfo::is_bouncing`](crate::MessageInfo)), so what it carries is not lost.
    pub tracked: bool,
    /// The recipient sees the sender's authenticated signer as its own, and may act on that
    /// user's behalf (spend their tokens, say).
    pub authenticated: bool,
}

impl Delivery {
    /// Dropped if the recipient rejects it; no signer.
    pub const SIMPLE: Delivery = Delivery {
        tracked: false,
        authenticated: false,
    };

    /// Comes back if the recipient rejects it; no signer.
    pub const TRACKED: Delivery = Delivery {
        tracked: true,
        authenticated: false,
    };

    /// The same delivery, carrying the signer.
    pub const fn authenticated(self) -> Delivery {
        Delivery {
            authenticated: true,
            ..self
        }
    }
}

/// The application's state on the chain, as keys and values, and what the call runs for.
/// Built for Wasm it calls the host; elsewhere (in an application's unit tests) it is an
/// in-memory map and a context the test sets.
#[derive(Clone, Default)]
pub struct ContractRuntime {
    store: HostStore,
    #[cfg(not(target_arch = "wasm32"))]
    context: Option<CallContext>,
    #[cfg(not(target_arch = "wasm32"))]
    parameters: Vec<u8>,
    #[cfg(not(target_arch = "wasm32"))]
    sent: Vec<SendMessageRequest>,
    #[cfg(not(target_arch = "wasm32"))]
    channel_requests: Vec<ChannelRequest>,
    #[cfg(not(target_arch = "wasm32"))]
    transfers: Vec<TransferRequest>,
    #[cfg(not(target_arch = "wasm32"))]
    opened_chains: Vec<OpenChainRequest>,
    #[cfg(not(target_arch = "wasm32"))]
    calls: Option<std::sync::Arc<std::sync::Mutex<CallHandler>>>,
    /// The context, asked of the host once per call.
    #[cfg(target_arch = "wasm32")]
    context: std::cell::OnceCell<CallContext>,
}

/// What a unit test answers calls with: see [`ContractRuntime::on_calls`].
#[cfg(not(target_arch = "wasm32"))]
type CallHandler = Box<dyn FnMut(Callee, &[u8], Vec<SessionId>) -> CallResult + Send>;

/// Who a call goes to, as a unit test's call handler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callee {
    /// An application, with or without the signer.
    Application {
        /// The application.
        id: ApplicationId,
        /// Whether the signer was passed on.
        authenticated: bool,
    },
    /// A session.
    Session(SessionId),
}

impl ContractRuntime {
    /// What the application's service sees of this state: in unit tests, a query after
    /// operations.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn service_runtime(&self) -> ServiceRuntime {
        ServiceRuntime(self.clone())
    }

    /// A runtime for unit tests whose calls run for `context`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_context(context: CallContext) -> Self {
        Self {
            context: Some(context),
            ..Self::default()
        }
    }

    /// The same test runtime, for an application created with `parameters`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_parameters<T: Serialize>(self, parameters: &T) -> Self {
        Self {
            parameters: serde_json::to_vec(parameters).expect("parameters encode"),
            ..self
        }
    }

    /// The same test runtime, with the context its next calls run for.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn set_context(&mut self, context: CallContext) {
        self.context = Some(context);
    }

    /// The messages sent so far, in a unit test.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sent_messages(&self) -> &[SendMessageRequest] {
        &self.sent
    }

    /// The subscriptions and publications asked so far, in a unit test.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn channel_requests(&self) -> &[ChannelRequest] {
        &self.channel_requests
    }

    /// The same test runtime, answering calls to other applications and sessions with
    /// `handler` (given the callee, the encoded call and the sessions handed over).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn on_calls(
        self,
        handler: impl FnMut(Callee, &[u8], Vec<SessionId>) -> CallResult + Send + 'static,
    ) -> Self {
        Self {
            calls: Some(std::sync::Arc::new(std::sync::Mutex::new(Box::new(
                handler,
            )))),
            ..self
        }
    }

    /// Calls `application` on this chain, handing it `sessions` this application owns;
    /// answers its response and the sessions it created for this application. With
    /// `authenticated`, the callee may act for the transaction's signer. If the callee
    /// fails, the whole transaction fails.
    pub fn call_application<R: DeserializeOwned>(
        &mut self,
        authenticated: bool,
        application: ApplicationId,
        call: &impl Serialize,
        sessions: Vec<SessionId>,
    ) -> (R, Vec<SessionId>) {
        let argument =
            bcs::to_bytes(call).unwrap_or_else(|error| panic!("a call does not encode: {error}"));
        #[cfg(target_arch = "wasm32")]
        let result = crate::abi::host_call_application(&CallRequest {
            callee: application,
            authenticated,
            argument,
            sessions,
        });
        #[cfg(not(target_arch = "wasm32"))]
        let result = {
            let callee = Callee::Application {
                id: application,
                authenticated,
            };
            self.mock_call(callee, &argument, sessions)
        };
        decode_result(result)
    }

    /// Calls `application`, whose interface is `A`, as [`ContractRuntime::call_application`]
    /// does: the call and its answer are of the types `A` names.
    pub fn call<A: crate::CallableAbi>(
        &mut self,
        authenticated: bool,
        application: ApplicationId,
        call: &A::Call,
        sessions: Vec<SessionId>,
    ) -> (A::CallResponse, Vec<SessionId>) {
        self.call_application(authenticated, application, call, sessions)
    }

    /// Calls into `session`, created by an application whose interface is `A`, as
    /// [`ContractRuntime::call_session`] does, with the types `A` names.
    pub fn call_into_session<A: crate::CallableAbi>(
        &mut self,
        session: SessionId,
        call: &A::SessionCall,
        sessions: Vec<SessionId>,
    ) -> (A::SessionResponse, Vec<SessionId>) {
        self.call_session(session, call, sessions)
    }

    /// Calls into `session`, which this application must own, handing over `sessions`;
    /// answers the response and any sessions created for this application.
    pub fn call_session<R: DeserializeOwned>(
        &mut self,
        session: SessionId,
        call: &impl Serialize,
        sessions: Vec<SessionId>,
    ) -> (R, Vec<SessionId>) {
        let argument =
            bcs::to_bytes(call).unwrap_or_else(|error| panic!("a call does not encode: {error}"));
        #[cfg(target_arch = "wasm32")]
        let result = crate::abi::host_call_session(&SessionCallRequest {
            session,
            argument,
            sessions,
        });
        #[cfg(not(target_arch = "wasm32"))]
        let result = { self.mock_call(Callee::Session(session), &argument, sessions) };
        decode_result(result)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn mock_call(&self, callee: Callee, argument: &[u8], sessions: Vec<SessionId>) -> CallResult {
        let handler = self
            .calls
            .as_ref()
            .unwrap_or_else(|| panic!("this test runtime takes no calls: use `on_calls`"));
        let mut handler = handler
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        handler(callee, argument, sessions)
    }

    /// The application's parameters, fixed when it was created, decoded from JSON (as
    /// `skein publish-and-create --json-parameters` takes them). Parameters that do not
    /// decode as `T` fail the call.
    pub fn parameters<T: DeserializeOwned>(&self) -> T {
        #[cfg(target_arch = "wasm32")]
        let bytes = crate::abi::host_parameters();
        #[cfg(not(target_arch = "wasm32"))]
        let bytes = self.parameters.clone();
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|error| panic!("the parameters do not decode: {error}"))
    }

    /// Sends `message` to this application on `destination` (which may be this chain),
    /// if the call succeeds. The application is registered there by its first message.
    pub fn send_message<M: Serialize>(
        &mut self,
        destination: ChainId,
        message: &M,
        delivery: Delivery,
    ) {
        let message = bcs::to_bytes(message)
            .unwrap_or_else(|error| panic!("a message does not encode: {error}"));
        let request = SendMessageRequest {
            destination,
            authenticated: delivery.authenticated,
            tracked: delivery.tracked,
            message,
        };
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_send_message(&request);
        #[cfg(not(target_arch = "wasm32"))]
        self.sent.push(request);
    }

    /// Sends `amount` native tokens from this application's own account on the chain
    /// (`AccountOwner::Application`) to `recipient`, here or on another chain. If the
    /// account holds less, the transaction fails.
    pub fn transfer(&mut self, recipient: Account, amount: Amount) {
        let request = TransferRequest { recipient, amount };
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_transfer(&request);
        #[cfg(not(target_arch = "wasm32"))]
        self.transfers.push(request);
    }

    /// The native transfers made so far, in a unit test.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn transfers(&self) -> &[TransferRequest] {
        &self.transfers
    }

    /// Opens a chain owned by `owners` (one owner proposes in the fast round; several, with
    /// their weights, share it in multi-leader rounds), funded with `balance` from this
    /// application's own account; returns its id, to send it messages at once. The chain
    /// exists once the transaction succeeds; if the account holds less, or no owner or
    /// more than [`skein_base::limits::OPENED_CHAIN_OWNERS_MAX`] are named, the
    /// transaction fails. The application reaches the new chain with its first message.
    pub fn open_chain(
        &mut self,
        owners: impl IntoIterator<Item = (AccountOwner, u64)>,
        balance: Amount,
    ) -> ChainId {
        let request = OpenChainRequest {
            owners: owners.into_iter().collect(),
            balance,
        };
        #[cfg(target_arch = "wasm32")]
        return crate::abi::host_open_chain(&request);
        #[cfg(not(target_arch = "wasm32"))]
        {
            // As the chain would number it in transaction 0 of the block; a real id also
            // depends on the transaction's index, which a unit test does not have.
            let context = self.context();
            let sequence = u32::try_from(self.opened_chains.len())
                .expect("a test opens fewer than 2^32 chains");
            self.opened_chains.push(request);
            skein_base::ChainDescription::Child {
                parent: context.chain_id,
                height: context.height,
                index: 0,
                sequence,
            }
            .id()
        }
    }

    /// The chains opened so far, in a unit test.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn opened_chains(&self) -> &[OpenChainRequest] {
        &self.opened_chains
    }

    /// Subscribes this chain to this application's channel `channel` on `publisher`
    /// (another chain): once the publisher accepts, this application receives, as messages,
    /// the channel's last message and everything published after.
    pub fn subscribe(&mut self, publisher: ChainId, channel: &str) {
        self.channel_request(ChannelRequest::Subscribe {
            publisher,
            channel: channel.to_string(),
        });
    }

    /// Ends this chain's subscription to `channel` on `publisher`.
    pub fn unsubscribe(&mut self, publisher: ChainId, channel: &str) {
        self.channel_request(ChannelRequest::Unsubscribe {
            publisher,
            channel: channel.to_string(),
        });
    }

    /// Sends `message` to every chain subscribed to this application's `channel` here (and
    /// to every later subscriber, until something else is published).
    pub fn publish<M: Serialize>(&mut self, channel: &str, message: &M) {
        let message = bcs::to_bytes(message)
            .unwrap_or_else(|error| panic!("a message does not encode: {error}"));
        self.channel_request(ChannelRequest::Publish {
            channel: channel.to_string(),
            message,
        });
    }

    fn channel_request(&mut self, request: ChannelRequest) {
        #[cfg(target_arch = "wasm32")]
        crate::abi::host_channel(&request);
        #[cfg(not(target_arch = "wasm32"))]
        self.channel_requests.push(request);
    }

    /// The chain, block and signer the call runs for.
    pub fn context(&self) -> CallContext {
        #[cfg(target_arch = "wasm32")]
        return self.context.get_or_init(crate::abi::host_context).clone();
        #[cfg(not(target_arch = "wasm32"))]
        return self
            .context
            .clone()
            .unwrap_or_else(|| panic!("this test runtime has no context: use `with_context`"));
    }

    /// Stores `value` under `key`.
    pub fn set<T: Serialize>(&mut self, key: &[u8], value: &T) {
        match bcs::to_bytes(value) {
            Ok(bytes) => self.write(key, &bytes),
            Err(error) => panic!("a value for {key:?} does not encode: {error}"),
        }
    }

    /// Stores raw bytes under `key`.
    pub fn write(&mut self, key: &[u8], value: &[u8]) {
        self.store.write(key, value);
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &[u8]) {
        self.store.remove(key);
    }

    /// Saves a view loaded with [`ReadState::load_view`]: its changes go to the state.
    pub fn save_view<V: View<HostStore>>(&mut self, view: &mut V) {
        if let Err(error) = crate::views::now(view.save()) {
            panic!("a view could not be saved: {error}");
        }
    }
}

/// The application's state as its service sees it: read only. (The host refuses writes
/// from a service too.)
#[derive(Default)]
pub struct ServiceRuntime(ContractRuntime);

impl ServiceRuntime {
    /// The application's parameters, fixed when it was created.
    pub fn parameters<T: DeserializeOwned>(&self) -> T {
        self.0.parameters()
    }

    /// The chain the query runs on, and its latest block.
    pub fn context(&self) -> CallContext {
        self.0.context()
    }
}

fn decode_result<R: DeserializeOwned>(result: CallResult) -> (R, Vec<SessionId>) {
    let response = bcs::from_bytes(&result.response)
        .unwrap_or_else(|error| panic!("a call's response does not decode: {error}"));
    (response, result.sessions)
}

/// Reading an application's state: what its contract and its service share, so helpers
/// that read state serve both.
pub trait ReadState {
    /// The raw bytes under `key`.
    fn read(&self, key: &[u8]) -> Option<Vec<u8>>;

    /// The keys that start with `prefix`, in order, without the prefix.
    fn find_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>>;

    /// The value under `key`, decoded; `None` if there is none. A value that does not
    /// decode as `T` fails the call.
    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        let bytes = self.read(key)?;
        match bcs::from_bytes(&bytes) {
            Ok(value) => Some(value),
            Err(error) => panic!("the value under {key:?} does not decode: {error}"),
        }
    }

    /// The application's state as its store.
    fn store(&self) -> HostStore;

    /// Loads a view (one of the node's view types, or a struct deriving `View`) kept under
    /// `prefix`: keep views and raw keys under prefixes that do not overlap.
    fn load_view<V: View<HostStore>>(&self, prefix: &[u8]) -> V {
        let context = ViewContext::new(self.store(), prefix.to_vec());
        match crate::views::now(V::load(context)) {
            Ok(view) => view,
            Err(error) => panic!("a view could not be loaded: {error}"),
        }
    }
}

impl ReadState for ContractRuntime {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.store.read(key)
    }

    fn find_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        self.store.find_keys(prefix)
    }

    fn store(&self) -> HostStore {
        self.store.clone()
    }
}

impl ReadState for ServiceRuntime {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.read(key)
    }

    fn find_keys(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        self.0.find_keys(prefix)
    }

    fn store(&self) -> HostStore {
        self.0.store()
    }
}

#[cfg(test)]
mod tests {
    use skein_base::{crypto::CryptoHash, BlockHeight, ChainDescription};

    use super::*;

    #[test]
    fn test_chains_opened_in_a_test_are_recorded_and_numbered() {
        let chain_id = ChainId::root(0);
        let mut runtime = ContractRuntime::with_context(CallContext {
            application_id: ApplicationId(CryptoHash::of_bytes(b"app")),
            chain_id,
            height: BlockHeight(3),
            timestamp: skein_base::Timestamp::from_micros(0),
            authenticated_signer: None,
            message: None,
            authenticated_caller: None,
        });
        let owner = AccountOwner::Application(ApplicationId(CryptoHash::of_bytes(b"owner")));
        let first = runtime.open_chain([(owner, 1)], Amount::from_tokens(2));
        let second = runtime.open_chain([(owner, 1)], Amount::ZERO);
        assert_ne!(first, second);
        let expected = ChainDescription::Child {
            parent: chain_id,
            height: BlockHeight(3),
            index: 0,
            sequence: 1,
        };
        assert_eq!(second, expected.id());
        assert_eq!(runtime.opened_chains().len(), 2);
        assert_eq!(runtime.opened_chains()[0].balance, Amount::from_tokens(2));
        assert_eq!(runtime.opened_chains()[0].owners, vec![(owner, 1)]);
    }
}
