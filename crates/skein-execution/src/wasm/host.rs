//! [`Host`]: what an application may ask of the chain it runs on, and the Wasm imports
//! that expose it.

use futures::future::BoxFuture;
use skein_base::{
    limits, CallRequest, CallResult, ChainId, ChannelRequest, OpenChainRequest, SendMessageRequest,
    SessionCallRequest, TransferRequest,
};
use wasmtime::{Caller, Extern, Linker, Memory};

use super::engine::GuestState;

/// Why the host could not serve a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The application asked for something it may not have; the call fails.
    #[error("{0}")]
    Refused(String),
    /// The node's storage failed; the call fails, and not by the application's fault.
    #[error("{0}")]
    Storage(String),
}

/// The chain side of a call: the application's state (reads see the call's own staged
/// writes) and the call's context. The caller applies the staged writes only if the call
/// succeeds.
pub trait Host: Send + 'static {
    /// The value stored under `key`, if any.
    fn read(&mut self, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>, HostError>>;

    /// The keys starting with `prefix`, in order, as the suffixes after the prefix.
    fn find_keys(&mut self, prefix: Vec<u8>) -> BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>>;

    /// Stages `value` under `key`.
    fn write(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), HostError>;

    /// Stages the removal of `key`.
    fn remove(&mut self, key: Vec<u8>) -> Result<(), HostError>;

    /// The call's context, BCS-encoded: what chain, block and signer it runs for.
    fn context(&self) -> Vec<u8>;

    /// The application's parameters, as given when it was created.
    fn parameters(&self) -> Vec<u8>;

    /// Sends a message to the application's instance on another chain (or this one) when
    /// the call's transaction succeeds.
    fn send_message(&mut self, request: SendMessageRequest) -> Result<(), HostError>;

    /// Sends native tokens from the application's own account on the chain; a transfer
    /// that cannot be made fails the transaction.
    fn transfer(&mut self, _request: TransferRequest) -> Result<(), HostError> {
        Err(HostError::Refused("this host holds no tokens".into()))
    }

    /// Opens a chain funded from the application's own account, when the call's
    /// transaction succeeds; answers the new chain's id at once.
    fn open_chain(
        &mut self,
        _request: OpenChainRequest,
    ) -> BoxFuture<'_, Result<ChainId, HostError>> {
        Box::pin(async { Err(HostError::Refused("this host opens no chains".into())) })
    }

    /// Subscribes to, unsubscribes from or publishes on a channel, when the call's
    /// transaction succeeds.
    fn channel(&mut self, _request: ChannelRequest) -> Result<(), HostError> {
        Err(HostError::Refused("this host has no channels".into()))
    }

    /// Calls another application on the chain with at most `fuel`; answers its result and
    /// the fuel it used. Any failure fails the whole transaction.
    fn call_application(
        &mut self,
        _request: CallRequest,
        _fuel: u64,
    ) -> BoxFuture<'_, Result<(CallResult, u64), HostError>> {
        Box::pin(async {
            Err(HostError::Refused(
                "this host runs no other applications".into(),
            ))
        })
    }

    /// Calls into a session the application owns, with at most `fuel`; answers its result
    /// and the fuel it used.
    fn call_session(
        &mut self,
        _request: SessionCallRequest,
        _fuel: u64,
    ) -> BoxFuture<'_, Result<(CallResult, u64), HostError>> {
        Box::pin(async { Err(HostError::Refused("this host keeps no sessions".into())) })
    }
}

/// The host functions, module `skein`, each with its parameters and results (all `i32`):
/// what a module may import, checked when it is admitted. `define` registers the same;
/// a test checks that the two agree.
pub(super) const SIGNATURES: [(&str, usize, usize); 15] = [
    ("output", 2, 0),
    ("abort", 2, 0),
    ("read", 2, 1),
    ("find_keys", 2, 1),
    ("write", 4, 0),
    ("remove", 2, 0),
    ("context", 0, 1),
    ("parameters", 0, 1),
    ("send_message", 2, 0),
    ("channel", 2, 0),
    ("transfer", 2, 0),
    ("open_chain", 2, 1),
    ("call_application", 2, 1),
    ("call_session", 2, 1),
    ("take", 1, 0),
];

/// Registers the host functions, module `skein`.
pub(super) fn define(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "skein",
        "output",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = guest_bytes(&mut caller, ptr, len, limits::CALL_OUTPUT_BYTES_MAX)?;
            charge(&mut caller, bytes.len())?;
            let state = caller.data_mut();
            if state.output.is_some() {
                return Err(state.convention("`output` called twice"));
            }
            state.output = Some(bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "skein",
        "abort",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_VALUE_BYTES_MAX)?;
            let message = String::from_utf8_lossy(&bytes).into_owned();
            caller.data_mut().aborted = Some(message.clone());
            Err(wasmtime::Error::msg(message))
        },
    )?;
    linker.func_wrap_async(
        "skein",
        "read",
        |mut caller: Caller<'_, GuestState>, (ptr, len): (i32, i32)| {
            Box::new(async move {
                let key = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_KEY_BYTES_MAX)?;
                charge(&mut caller, key.len())?;
                let value = caller
                    .data_mut()
                    .host
                    .read(key)
                    .await
                    .map_err(|error| caller.data_mut().host_failed(error))?;
                match value {
                    Some(value) => announce(&mut caller, value),
                    None => Ok(-1),
                }
            })
        },
    )?;
    linker.func_wrap_async(
        "skein",
        "find_keys",
        |mut caller: Caller<'_, GuestState>, (ptr, len): (i32, i32)| {
            Box::new(async move {
                let prefix = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_KEY_BYTES_MAX)?;
                charge(&mut caller, prefix.len())?;
                let keys = caller
                    .data_mut()
                    .host
                    .find_keys(prefix)
                    .await
                    .map_err(|error| caller.data_mut().host_failed(error))?;
                let encoded = bcs::to_bytes(&keys).map_err(|error| {
                    caller
                        .data_mut()
                        .host_failed(HostError::Storage(error.to_string()))
                })?;
                announce(&mut caller, encoded)
            })
        },
    )?;
    linker.func_wrap(
        "skein",
        "write",
        |mut caller: Caller<'_, GuestState>,
         key_ptr: i32,
         key_len: i32,
         value_ptr: i32,
         value_len: i32|
         -> wasmtime::Result<()> {
            let key = guest_bytes(
                &mut caller,
                key_ptr,
                key_len,
                limits::APPLICATION_KEY_BYTES_MAX,
            )?;
            let value = guest_bytes(
                &mut caller,
                value_ptr,
                value_len,
                limits::APPLICATION_VALUE_BYTES_MAX,
            )?;
            charge(&mut caller, key.len() + value.len())?;
            let state = caller.data_mut();
            state
                .host
                .write(key, value)
                .map_err(|error| state.host_failed(error))
        },
    )?;
    linker.func_wrap(
        "skein",
        "remove",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let key = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_KEY_BYTES_MAX)?;
            charge(&mut caller, key.len())?;
            let state = caller.data_mut();
            state
                .host
                .remove(key)
                .map_err(|error| state.host_failed(error))
        },
    )?;
    linker.func_wrap(
        "skein",
        "context",
        |mut caller: Caller<'_, GuestState>| -> wasmtime::Result<i32> {
            let context = caller.data().host.context();
            announce(&mut caller, context)
        },
    )?;
    linker.func_wrap(
        "skein",
        "parameters",
        |mut caller: Caller<'_, GuestState>| -> wasmtime::Result<i32> {
            let parameters = caller.data().host.parameters();
            announce(&mut caller, parameters)
        },
    )?;
    linker.func_wrap(
        "skein",
        "send_message",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_MESSAGE_BYTES_MAX)?;
            charge(&mut caller, bytes.len())?;
            let state = caller.data_mut();
            let request: SendMessageRequest = bcs::from_bytes(&bytes)
                .map_err(|error| state.convention(&format!("a malformed message: {error}")))?;
            state
                .host
                .send_message(request)
                .map_err(|error| state.host_failed(error))
        },
    )?;
    linker.func_wrap(
        "skein",
        "transfer",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_MESSAGE_BYTES_MAX)?;
            charge(&mut caller, bytes.len())?;
            let request: TransferRequest = decode(&mut caller, &bytes, "transfer")?;
            let state = caller.data_mut();
            state
                .host
                .transfer(request)
                .map_err(|error| state.host_failed(error))
        },
    )?;
    linker.func_wrap_async(
        "skein",
        "open_chain",
        |mut caller: Caller<'_, GuestState>, (ptr, len): (i32, i32)| {
            Box::new(async move {
                let bytes =
                    guest_bytes(&mut caller, ptr, len, limits::APPLICATION_MESSAGE_BYTES_MAX)?;
                charge(&mut caller, bytes.len())?;
                burn(&mut caller, limits::OPEN_CHAIN_FUEL)?;
                let request: OpenChainRequest = decode(&mut caller, &bytes, "chain opening")?;
                let chain_id = caller
                    .data_mut()
                    .host
                    .open_chain(request)
                    .await
                    .map_err(|error| caller.data_mut().host_failed(error))?;
                announce(&mut caller, chain_id.0.as_bytes().to_vec())
            })
        },
    )?;
    linker.func_wrap(
        "skein",
        "channel",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = guest_bytes(&mut caller, ptr, len, limits::APPLICATION_MESSAGE_BYTES_MAX)?;
            charge(&mut caller, bytes.len())?;
            let request: ChannelRequest = decode(&mut caller, &bytes, "channel request")?;
            let state = caller.data_mut();
            state
                .host
                .channel(request)
                .map_err(|error| state.host_failed(error))
        },
    )?;
    linker.func_wrap_async(
        "skein",
        "call_application",
        |mut caller: Caller<'_, GuestState>, (ptr, len): (i32, i32)| {
            Box::new(async move {
                let bytes =
                    guest_bytes(&mut caller, ptr, len, limits::APPLICATION_MESSAGE_BYTES_MAX)?;
                charge(&mut caller, bytes.len())?;
                burn(&mut caller, limits::APPLICATION_CALL_FUEL)?;
                let request: CallRequest = decode(&mut caller, &bytes, "call")?;
                let fuel = caller.get_fuel()?;
                let answer = caller.data_mut().host.call_application(request, fuel).await;
                finish_call(&mut caller, answer)
            })
        },
    )?;
    linker.func_wrap_async(
        "skein",
        "call_session",
        |mut caller: Caller<'_, GuestState>, (ptr, len): (i32, i32)| {
            Box::new(async move {
                let bytes =
                    guest_bytes(&mut caller, ptr, len, limits::APPLICATION_MESSAGE_BYTES_MAX)?;
                charge(&mut caller, bytes.len())?;
                burn(&mut caller, limits::APPLICATION_CALL_FUEL)?;
                let request: SessionCallRequest = decode(&mut caller, &bytes, "session call")?;
                let fuel = caller.get_fuel()?;
                let answer = caller.data_mut().host.call_session(request, fuel).await;
                finish_call(&mut caller, answer)
            })
        },
    )?;
    linker.func_wrap(
        "skein",
        "take",
        |mut caller: Caller<'_, GuestState>, ptr: i32| -> wasmtime::Result<()> {
            let Some(bytes) = caller.data_mut().announced.take() else {
                return Err(caller
                    .data_mut()
                    .convention("`take` without a result to take"));
            };
            let memory = memory(&mut caller)?;
            let start =
                offset(ptr).ok_or_else(|| caller.data_mut().convention("negative pointer"))?;
            memory.write(&mut caller, start, &bytes).map_err(|_| {
                caller
                    .data_mut()
                    .convention("`take` past the end of memory")
            })
        },
    )?;
    Ok(())
}

/// Decodes what the guest passed, or fails the call for breaking the convention.
fn decode<T: serde::de::DeserializeOwned>(
    caller: &mut Caller<'_, GuestState>,
    bytes: &[u8],
    what: &str,
) -> wasmtime::Result<T> {
    bcs::from_bytes(bytes).map_err(|error| {
        caller
            .data_mut()
            .convention(&format!("a malformed {what}: {error}"))
    })
}

/// Charges the caller the fuel a nested call used and announces its result.
fn finish_call(
    caller: &mut Caller<'_, GuestState>,
    answer: Result<(CallResult, u64), HostError>,
) -> wasmtime::Result<i32> {
    let (result, used) = answer.map_err(|error| caller.data_mut().host_failed(error))?;
    burn(caller, used)?;
    let encoded = bcs::to_bytes(&result).map_err(|error| {
        caller
            .data_mut()
            .host_failed(HostError::Storage(error.to_string()))
    })?;
    announce(caller, encoded)
}

/// Makes `bytes` the result the next `take` copies, charging for it; returns its length.
fn announce(caller: &mut Caller<'_, GuestState>, bytes: Vec<u8>) -> wasmtime::Result<i32> {
    charge(caller, bytes.len())?;
    let length = i32::try_from(bytes.len()).map_err(|_| {
        caller
            .data_mut()
            .convention("a result too large for the guest")
    })?;
    caller.data_mut().announced = Some(bytes);
    Ok(length)
}

/// Takes `fuel` units, or fails with out of fuel.
fn burn(caller: &mut Caller<'_, GuestState>, fuel: u64) -> wasmtime::Result<()> {
    let left = caller.get_fuel()?;
    if left < fuel {
        caller.set_fuel(0)?;
        return Err(wasmtime::Trap::OutOfFuel.into());
    }
    caller.set_fuel(left - fuel)?;
    Ok(())
}

/// Takes [`limits::HOST_CALL_FUEL`] plus `bytes` units of fuel, or fails with out of fuel.
fn charge(caller: &mut Caller<'_, GuestState>, bytes: usize) -> wasmtime::Result<()> {
    burn(
        caller,
        limits::HOST_CALL_FUEL.saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX)),
    )
}

/// The guest's memory export.
fn memory(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(caller.data_mut().convention("no `memory` export")),
    }
}

/// A non-negative guest address or length.
fn offset(value: i32) -> Option<usize> {
    usize::try_from(value).ok()
}

/// Copies `len` bytes at `ptr` out of the guest, refusing more than `max`.
fn guest_bytes(
    caller: &mut Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
    max: usize,
) -> wasmtime::Result<Vec<u8>> {
    let (Some(start), Some(len)) = (offset(ptr), offset(len)) else {
        return Err(caller.data_mut().convention("negative pointer or length"));
    };
    if len > max {
        return Err(caller
            .data_mut()
            .convention(&format!("{len} bytes where at most {max} are allowed")));
    }
    let memory = memory(caller)?;
    // Checked before anything is allocated: the length comes from the guest.
    let end = start
        .checked_add(len)
        .filter(|end| *end <= memory.data_size(&*caller));
    let Some(end) = end else {
        return Err(caller
            .data_mut()
            .convention("a range past the end of memory"));
    };
    Ok(memory.data(&*caller)[start..end].to_vec())
}
