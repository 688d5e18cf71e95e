//! [`ChainHost`]: the [`Host`] a call into an application runs against on a chain. It
//! holds no state: each request goes, in order, to the execution that owns the chain's
//! state and serves it while the call waits (see [`super::serve`]). That keeps the Wasm
//! store free of borrows, as wasmtime requires.

use futures::{
    channel::{mpsc, oneshot},
    future::BoxFuture,
};
use skein_base::{
    CallRequest, CallResult, ChainId, ChannelRequest, OpenChainRequest, SendMessageRequest,
    SessionCallRequest, TransferRequest,
};

use crate::wasm::{Host, HostError};

/// What a call asks of the chain's state.
pub(crate) enum HostRequest {
    Read {
        key: Vec<u8>,
        reply: oneshot::Sender<Result<Option<Vec<u8>>, HostError>>,
    },
    FindKeys {
        prefix: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<Vec<u8>>, HostError>>,
    },
    Write {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Remove {
        key: Vec<u8>,
    },
    SendMessage(SendMessageRequest),
    Channel(ChannelRequest),
    Transfer(TransferRequest),
    OpenChain {
        request: OpenChainRequest,
        reply: oneshot::Sender<Result<ChainId, HostError>>,
    },
    CallApplication {
        request: CallRequest,
        fuel: u64,
        reply: oneshot::Sender<Result<(CallResult, u64), HostError>>,
    },
    CallSession {
        request: SessionCallRequest,
        fuel: u64,
        reply: oneshot::Sender<Result<(CallResult, u64), HostError>>,
    },
}

/// Forwards a call's requests to the execution serving them.
pub(crate) struct ChainHost {
    requests: mpsc::UnboundedSender<HostRequest>,
    context: Vec<u8>,
    parameters: Vec<u8>,
}

impl ChainHost {
    /// A host for a call with `context` (BCS-encoded) into an application with
    /// `parameters`, and the requests it will send.
    pub(crate) fn new(
        context: Vec<u8>,
        parameters: Vec<u8>,
    ) -> (Self, mpsc::UnboundedReceiver<HostRequest>) {
        let (sender, receiver) = mpsc::unbounded();
        let host = Self {
            requests: sender,
            context,
            parameters,
        };
        (host, receiver)
    }

    fn send(&self, request: HostRequest) -> Result<(), HostError> {
        self.requests.unbounded_send(request).map_err(|_| ended())
    }

    /// Sends the request `make` builds around a reply channel, and waits for the reply.
    fn ask<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, HostError>>) -> HostRequest,
    ) -> BoxFuture<'static, Result<T, HostError>> {
        let (reply, answered) = oneshot::channel();
        let sent = self.send(make(reply));
        Box::pin(async move {
            sent?;
            answered.await.map_err(|_| ended())?
        })
    }
}

fn ended() -> HostError {
    HostError::Storage("the execution serving this call has ended".into())
}

impl Host for ChainHost {
    fn read(&mut self, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>, HostError>> {
        self.ask(|reply| HostRequest::Read { key, reply })
    }

    fn find_keys(&mut self, prefix: Vec<u8>) -> BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>> {
        self.ask(|reply| HostRequest::FindKeys { prefix, reply })
    }

    fn write(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), HostError> {
        self.send(HostRequest::Write { key, value })
    }

    fn remove(&mut self, key: Vec<u8>) -> Result<(), HostError> {
        self.send(HostRequest::Remove { key })
    }

    fn context(&self) -> Vec<u8> {
        self.context.clone()
    }

    fn parameters(&self) -> Vec<u8> {
        self.parameters.clone()
    }

    fn send_message(&mut self, request: SendMessageRequest) -> Result<(), HostError> {
        self.send(HostRequest::SendMessage(request))
    }

    fn channel(&mut self, request: ChannelRequest) -> Result<(), HostError> {
        self.send(HostRequest::Channel(request))
    }

    fn transfer(&mut self, request: TransferRequest) -> Result<(), HostError> {
        self.send(HostRequest::Transfer(request))
    }

    fn open_chain(
        &mut self,
        request: OpenChainRequest,
    ) -> BoxFuture<'_, Result<ChainId, HostError>> {
        self.ask(|reply| HostRequest::OpenChain { request, reply })
    }

    fn call_application(
        &mut self,
        request: CallRequest,
        fuel: u64,
    ) -> BoxFuture<'_, Result<(CallResult, u64), HostError>> {
        self.ask(|reply| HostRequest::CallApplication {
            request,
            fuel,
            reply,
        })
    }

    fn call_session(
        &mut self,
        request: SessionCallRequest,
        fuel: u64,
    ) -> BoxFuture<'_, Result<(CallResult, u64), HostError>> {
        self.ask(|reply| HostRequest::CallSession {
            request,
            fuel,
            reply,
        })
    }
}
