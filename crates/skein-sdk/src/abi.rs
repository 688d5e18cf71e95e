//! The guest side of Skein's calling convention (see `skein_execution::wasm`), used by
//! [`contract!`](crate::contract). Not for direct use.

use serde::{de::DeserializeOwned, Serialize};

use skein_base::{
    HandleCallInput, HandleCallOutput, HandleSessionCallInput, HandleSessionCallOutput,
};

use crate::{CallableContract, Contract, ContractRuntime, Service, ServiceRuntime};

/// A buffer of `len` bytes for the host to write a call's input into; the entry point
/// takes it back.
pub fn alloc(len: i32) -> i32 {
    let len = usize::try_from(len).unwrap_or(0);
    let buffer = vec![0u8; len].into_boxed_slice();
    let pointer = Box::into_raw(buffer).cast::<u8>();
    address(pointer)
}

/// Runs [`Contract::instantiate`] on the input, JSON like the parameters.
pub fn instantiate<C: Contract>(ptr: i32, len: i32) {
    install_panic_hook();
    let bytes = take_buffer(ptr, len);
    let argument: C::InstantiationArgument = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("the instantiation argument does not decode: {error}"));
    C::new(ContractRuntime::default()).instantiate(argument);
    output(&());
}

/// Runs [`Contract::execute_operation`] on the input and outputs the response.
pub fn execute_operation<C: Contract>(ptr: i32, len: i32) {
    let operation = decode::<C::Operation>(ptr, len, "operation");
    let response = C::new(ContractRuntime::default()).execute_operation(operation);
    output(&response);
}

/// Runs [`Contract::execute_message`] on the input.
pub fn execute_message<C: Contract>(ptr: i32, len: i32) {
    let message = decode::<C::Message>(ptr, len, "message");
    C::new(ContractRuntime::default()).execute_message(message);
    output(&());
}

/// Runs [`CallableContract::handle_call`] on the input and outputs the response and the
/// new sessions' states.
pub fn handle_call<C: CallableContract>(ptr: i32, len: i32) {
    let input = decode::<HandleCallInput>(ptr, len, "call");
    let call: C::Call = decode_bytes(&input.argument, "call");
    let outcome = C::new(ContractRuntime::default()).handle_call(call, input.sessions);
    output(&HandleCallOutput {
        response: encode(&outcome.response),
        new_sessions: outcome.new_sessions.iter().map(encode).collect(),
    });
}

/// Runs [`CallableContract::handle_session_call`] on the input and outputs the response,
/// the session's new state and the new sessions' states.
pub fn handle_session_call<C: CallableContract>(ptr: i32, len: i32) {
    let input = decode::<HandleSessionCallInput>(ptr, len, "session call");
    let session: C::Session = decode_bytes(&input.state, "session");
    let call: C::SessionCall = decode_bytes(&input.argument, "session call");
    let outcome =
        C::new(ContractRuntime::default()).handle_session_call(session, call, input.sessions);
    output(&HandleSessionCallOutput {
        response: encode(&outcome.response),
        state: outcome.session.as_ref().map(encode),
        new_sessions: outcome.new_sessions.iter().map(encode).collect(),
    });
}

fn decode_bytes<T: DeserializeOwned>(bytes: &[u8], what: &str) -> T {
    bcs::from_bytes(bytes).unwrap_or_else(|error| panic!("the {what} does not decode: {error}"))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bcs::to_bytes(value).unwrap_or_else(|error| panic!("a value does not encode: {error}"))
}

/// Decodes an operation from JSON and outputs it as the contract reads it (BCS).
pub fn encode_operation<O: Serialize + DeserializeOwned>(ptr: i32, len: i32) {
    install_panic_hook();
    let bytes = take_buffer(ptr, len);
    let operation: O = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("the operation does not decode: {error}"));
    output(&operation);
}

/// Runs [`Service::handle_query`] on the input and outputs the answer, both JSON.
pub fn handle_query<S: Service>(ptr: i32, len: i32) {
    install_panic_hook();
    let bytes = take_buffer(ptr, len);
    let query: S::Query = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("the query does not decode: {error}"));
    let response = S::new(ServiceRuntime::default()).handle_query(query);
    let bytes = serde_json::to_vec(&response)
        .unwrap_or_else(|error| panic!("the answer does not encode: {error}"));
    output_bytes(bytes);
}

/// Takes the input buffer back from the host and decodes it, failing the call if it does
/// not decode.
fn decode<T: DeserializeOwned>(ptr: i32, len: i32, what: &str) -> T {
    install_panic_hook();
    let bytes = take_buffer(ptr, len);
    match bcs::from_bytes(&bytes) {
        Ok(value) => value,
        Err(error) => panic!("the {what} does not decode: {error}"),
    }
}

#[cfg(target_arch = "wasm32")]
fn address(pointer: *mut u8) -> i32 {
    to_guest(pointer as usize)
}

/// An address or length as the convention passes it. Wasm32 addresses are 32 bits, and an
/// instance's memory is far below 2 GiB, so the value is never negative.
#[cfg(target_arch = "wasm32")]
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
fn to_guest(value: usize) -> i32 {
    value as i32
}

#[cfg(not(target_arch = "wasm32"))]
fn address(_pointer: *mut u8) -> i32 {
    panic!("the calling convention exists only in Wasm")
}

#[cfg(target_arch = "wasm32")]
fn take_buffer(ptr: i32, len: i32) -> Vec<u8> {
    let len = usize::try_from(len).unwrap_or(0);
    // SAFETY: the host wrote the input into the buffer `alloc` made, of exactly this
    // length, and hands it back once.
    let pointer = usize::try_from(ptr).unwrap_or(0) as *mut u8;
    unsafe { Vec::from_raw_parts(pointer, len, len) }
}

#[cfg(not(target_arch = "wasm32"))]
fn take_buffer(_ptr: i32, _len: i32) -> Vec<u8> {
    panic!("the calling convention exists only in Wasm")
}

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "skein")]
    extern "C" {
        pub fn output(ptr: i32, len: i32);
        pub fn abort(ptr: i32, len: i32);
        pub fn read(key_ptr: i32, key_len: i32) -> i32;
        pub fn find_keys(prefix_ptr: i32, prefix_len: i32) -> i32;
        pub fn write(key_ptr: i32, key_len: i32, value_ptr: i32, value_len: i32);
        pub fn remove(key_ptr: i32, key_len: i32);
        pub fn take(dest_ptr: i32);
        pub fn context() -> i32;
        pub fn parameters() -> i32;
        pub fn send_message(ptr: i32, len: i32);
        pub fn channel(ptr: i32, len: i32);
        pub fn transfer(ptr: i32, len: i32);
        pub fn open_chain(ptr: i32, len: i32) -> i32;
        pub fn call_application(ptr: i32, len: i32) -> i32;
        pub fn call_session(ptr: i32, len: i32) -> i32;
    }
}

/// A slice as the host sees it: address and length.
#[cfg(target_arch = "wasm32")]
fn parts(bytes: &[u8]) -> (i32, i32) {
    (to_guest(bytes.as_ptr() as usize), to_guest(bytes.len()))
}

/// Copies the result the host just announced, of `len` bytes.
#[cfg(target_arch = "wasm32")]
fn take_announced(len: i32) -> Vec<u8> {
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
    // SAFETY: `take` writes exactly the announced length into the buffer.
    unsafe { host::take(to_guest(bytes.as_mut_ptr() as usize)) };
    bytes
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_read(key: &[u8]) -> Option<Vec<u8>> {
    let (ptr, len) = parts(key);
    // SAFETY: the host only reads the key's bytes.
    let found = unsafe { host::read(ptr, len) };
    (found >= 0).then(|| take_announced(found))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_find_keys(prefix: &[u8]) -> Vec<Vec<u8>> {
    let (ptr, len) = parts(prefix);
    // SAFETY: the host only reads the prefix's bytes.
    let length = unsafe { host::find_keys(ptr, len) };
    let encoded = take_announced(length);
    bcs::from_bytes(&encoded)
        .unwrap_or_else(|error| panic!("the host's keys do not decode: {error}"))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_context() -> skein_base::CallContext {
    // SAFETY: the call only announces a result.
    let length = unsafe { host::context() };
    let encoded = take_announced(length);
    bcs::from_bytes(&encoded)
        .unwrap_or_else(|error| panic!("the host's context does not decode: {error}"))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_parameters() -> Vec<u8> {
    // SAFETY: the call only announces a result.
    let length = unsafe { host::parameters() };
    take_announced(length)
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_send_message(request: &skein_base::SendMessageRequest) {
    let bytes =
        bcs::to_bytes(request).unwrap_or_else(|error| panic!("a message does not encode: {error}"));
    let (ptr, len) = parts(&bytes);
    // SAFETY: the host only reads the request's bytes.
    unsafe { host::send_message(ptr, len) }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_transfer(request: &skein_base::TransferRequest) {
    let bytes = bcs::to_bytes(request)
        .unwrap_or_else(|error| panic!("a transfer does not encode: {error}"));
    let (ptr, len) = parts(&bytes);
    // SAFETY: the host only reads the request's bytes.
    unsafe { host::transfer(ptr, len) }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_open_chain(request: &skein_base::OpenChainRequest) -> skein_base::ChainId {
    let bytes = bcs::to_bytes(request)
        .unwrap_or_else(|error| panic!("a chain opening does not encode: {error}"));
    let (ptr, len) = parts(&bytes);
    // SAFETY: the host only reads the request's bytes, then announces the new chain's id.
    let length = unsafe { host::open_chain(ptr, len) };
    let id = <[u8; 32]>::try_from(take_announced(length))
        .unwrap_or_else(|_| panic!("the host answered a chain id that is not 32 bytes"));
    skein_base::ChainId(skein_base::crypto::CryptoHash::from_bytes(id))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_channel(request: &skein_base::ChannelRequest) {
    let bytes = bcs::to_bytes(request)
        .unwrap_or_else(|error| panic!("a channel request does not encode: {error}"));
    let (ptr, len) = parts(&bytes);
    // SAFETY: the host only reads the request's bytes.
    unsafe { host::channel(ptr, len) }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_call_application(request: &skein_base::CallRequest) -> skein_base::CallResult {
    let bytes =
        bcs::to_bytes(request).unwrap_or_else(|error| panic!("a call does not encode: {error}"));
    let (ptr, len) = parts(&bytes);
    // SAFETY: the host only reads the request's bytes, then announces a result.
    let length = unsafe { host::call_application(ptr, len) };
    decode_host(&take_announced(length))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_call_session(
    request: &skein_base::SessionCallRequest,
) -> skein_base::CallResult {
    let bytes =
        bcs::to_bytes(request).unwrap_or_else(|error| panic!("a call does not encode: {error}"));
    let (ptr, len) = parts(&bytes);
    // SAFETY: the host only reads the request's bytes, then announces a result.
    let length = unsafe { host::call_session(ptr, len) };
    decode_host(&take_announced(length))
}

/// What the host announced, decoded.
#[cfg(target_arch = "wasm32")]
fn decode_host<T: DeserializeOwned>(bytes: &[u8]) -> T {
    bcs::from_bytes(bytes)
        .unwrap_or_else(|error| panic!("the host's answer does not decode: {error}"))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_write(key: &[u8], value: &[u8]) {
    let (key_ptr, key_len) = parts(key);
    let (value_ptr, value_len) = parts(value);
    // SAFETY: the host only reads both slices.
    unsafe { host::write(key_ptr, key_len, value_ptr, value_len) }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn host_remove(key: &[u8]) {
    let (ptr, len) = parts(key);
    // SAFETY: the host only reads the key's bytes.
    unsafe { host::remove(ptr, len) }
}

/// Sets the call's result.
fn output<T: Serialize>(value: &T) {
    let bytes =
        bcs::to_bytes(value).unwrap_or_else(|error| panic!("the result does not encode: {error}"));
    output_bytes(bytes);
}

/// Sets the call's result to `bytes`.
fn output_bytes(bytes: Vec<u8>) {
    #[cfg(target_arch = "wasm32")]
    {
        let (ptr, len) = parts(&bytes);
        // SAFETY: the host only reads the result's bytes.
        unsafe { host::output(ptr, len) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    drop(bytes);
}

/// Makes a panic fail the call with its message.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let message = info.to_string();
                let (ptr, len) = parts(message.as_bytes());
                // SAFETY: the host only reads the message; it does not return.
                unsafe { host::abort(ptr, len) }
            }));
        });
    }
}
