//! User applications on a chain's execution state, with hand-written modules: creation,
//! the messages they send (each destination learning the applications first), their state
//! as their services see it, and the block's fuel shared by their calls.

use std::{collections::BTreeMap, collections::HashMap, sync::Arc};

use futures::{executor::block_on, future::BoxFuture};
use parking_lot::Mutex;
use skein_base::{
    crypto::SecretKey, AccountOwner, Amount, ApplicationDescription, ApplicationId, BlobId,
    BlockHeight, BytecodeId, CallContext, ChainDescription, ChainId, Epoch, OpenChainRequest,
    SendMessageRequest, Timestamp,
};
use skein_views::{MemoryStore, View, ViewContext};

use crate::{
    wasm::WasmError, ChainConfig, ChainOwnership, ExecutionError, ExecutionRuntime,
    ExecutionStateView, Message, MessageKind, Operation, OperationContext, PublishedData,
    SystemMessage, SystemOperation,
};

/// Blobs and published committees in memory.
#[derive(Default)]
struct Blobs(
    Mutex<HashMap<BlobId, Vec<u8>>>,
    Mutex<BTreeMap<Epoch, skein_base::Committee>>,
);

impl PublishedData for Blobs {
    fn read_blob(&self, id: BlobId) -> BoxFuture<'_, Result<Option<Vec<u8>>, ExecutionError>> {
        let blob = self.0.lock().get(&id).cloned();
        Box::pin(async move { Ok(blob) })
    }

    fn read_committee(
        &self,
        epoch: Epoch,
    ) -> BoxFuture<'_, Result<Option<skein_base::Committee>, ExecutionError>> {
        let committee = self.1.lock().get(&epoch).cloned();
        Box::pin(async move { Ok(committee) })
    }
}

/// A chain's execution state, the runtime over `blobs`, and its owner.
struct Chain {
    state: ExecutionStateView<MemoryStore>,
    runtime: ExecutionRuntime,
    blobs: Arc<Blobs>,
    owner: AccountOwner,
    height: u64,
}

fn chain() -> Chain {
    let owner = AccountOwner::from(SecretKey::from_test_seed(1).public());
    let mut state = block_on(ExecutionStateView::load(ViewContext::new(
        MemoryStore::new(),
        vec![0],
    )))
    .unwrap();
    state
        .system
        .initialize(ChainConfig {
            description: ChainDescription::Root(0),
            admin_chain: ChainId::root(0),
            ownership: ChainOwnership::single(owner),
            epoch: Epoch::ZERO,
            committees: BTreeMap::new(),
            balance: Amount::from_tokens(1),
            timestamp: Timestamp::default(),
        })
        .unwrap();
    let blobs = Arc::new(Blobs::default());
    Chain {
        state,
        runtime: ExecutionRuntime::new(blobs.clone()),
        blobs,
        owner,
        height: 0,
    }
}

impl Chain {
    /// Stores the modules as a node does when it commits their publication.
    fn publish(&self, contract: Vec<u8>, service: Vec<u8>) -> BytecodeId {
        let id = BytecodeId::of(&contract, &service);
        let mut blobs = self.blobs.0.lock();
        blobs.insert(id.contract, contract);
        blobs.insert(id.service, service);
        id
    }

    /// Runs `operation` as the only transaction of the next block, with `fuel`.
    fn execute(
        &mut self,
        operation: Operation,
        fuel: &mut u64,
    ) -> Result<Vec<crate::OutgoingMessage>, ExecutionError> {
        self.execute_signed_by(Some(self.owner), operation, fuel)
    }

    /// Runs `operation` in a block signed by `signer` (by no one if `None`).
    fn execute_signed_by(
        &mut self,
        signer: Option<AccountOwner>,
        operation: Operation,
        fuel: &mut u64,
    ) -> Result<Vec<crate::OutgoingMessage>, ExecutionError> {
        let context = OperationContext {
            chain_id: ChainId::root(0),
            height: BlockHeight(self.height),
            index: 0,
            authenticated_signer: signer,
            timestamp: Timestamp::from_micros(self.height),
        };
        self.height += 1;
        block_on(
            self.state
                .execute_operation(&self.runtime, &context, &operation, fuel),
        )
    }

    fn create(
        &mut self,
        bytecode_id: BytecodeId,
        required_application_ids: Vec<ApplicationId>,
    ) -> Result<ApplicationDescription, ExecutionError> {
        let operation = SystemOperation::CreateApplication {
            bytecode_id,
            parameters: b"{}".to_vec(),
            instantiation_argument: b"7".to_vec(),
            required_application_ids,
        };
        let context = OperationContext {
            chain_id: ChainId::root(0),
            height: BlockHeight(self.height),
            index: 0,
            authenticated_signer: Some(self.owner),
            timestamp: Timestamp::default(),
        };
        let description = operation.created_application(&context).unwrap();
        self.execute(Operation::System(operation), &mut FUEL.clone())?;
        Ok(description)
    }

    /// Moves the chain's one token to `owner`'s account (an application's, say).
    fn fund(&mut self, owner: AccountOwner) {
        let fund = SystemOperation::Transfer {
            owner: None,
            recipient: skein_base::Account::owner(ChainId::root(0), owner),
            amount: Amount::from_tokens(1),
        };
        self.execute(Operation::System(fund), &mut FUEL.clone())
            .unwrap();
    }

    fn query(&mut self, application_id: ApplicationId) -> Result<Vec<u8>, ExecutionError> {
        let context = CallContext {
            application_id,
            chain_id: ChainId::root(0),
            height: BlockHeight(self.height),
            timestamp: Timestamp::default(),
            authenticated_signer: None,
            message: None,
            authenticated_caller: None,
        };
        block_on(
            self.state
                .query_application(&self.runtime, context, b"", FUEL),
        )
    }
}

const FUEL: u64 = 10_000_000;

/// A module with Skein's boilerplate: `body` is the operation entry; instantiation stores
/// its argument under key "k"; the query entry answers the value under "k".
fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "read" (func $read (param i32 i32) (result i32)))
            (import "skein" "take" (func $take (param i32)))
            (import "skein" "write" (func $write (param i32 i32 i32 i32)))
            (import "skein" "send_message" (func $send (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "k")
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param $ptr i32) (param $len i32)
                (call $write (i32.const 0) (i32.const 1) (local.get $ptr) (local.get $len))
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_handle_query") (param $ptr i32) (param $len i32)
                (local $found i32)
                (local.set $found (call $read (i32.const 0) (i32.const 1)))
                (call $take (i32.const 64))
                (call $output (i32.const 64) (local.get $found)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                {body}
                (call $output (i32.const 0) (i32.const 0))))"#
    ))
    .expect("a valid test module")
}

/// Sends the message its input describes (a BCS `SendMessageRequest`), twice.
fn sender() -> Vec<u8> {
    module(
        r#"(call $send (local.get $ptr) (local.get $len))
           (call $send (local.get $ptr) (local.get $len))"#,
    )
}

/// Stores its input under "k".
fn writer() -> Vec<u8> {
    module(r#"(call $write (i32.const 0) (i32.const 1) (local.get $ptr) (local.get $len))"#)
}

/// Never stops.
fn looper() -> Vec<u8> {
    module("(loop $forever (br $forever))")
}

fn request(destination: ChainId, tracked: bool) -> Vec<u8> {
    bcs::to_bytes(&SendMessageRequest {
        destination,
        authenticated: true,
        tracked,
        message: b"hello".to_vec(),
    })
    .unwrap()
}

#[test]
fn test_an_application_is_created_instantiated_and_queried() {
    let mut chain = chain();
    let bytecode_id = chain.publish(writer(), writer());
    let description = chain.create(bytecode_id, Vec::new()).unwrap();
    let id = description.id();
    assert_eq!(description.creator_chain_id, ChainId::root(0));
    assert_eq!(
        block_on(chain.state.system.application(&id)).unwrap(),
        description
    );
    assert_eq!(
        chain.query(id).unwrap(),
        b"7",
        "instantiate stored its argument"
    );
    let before = chain.state.hash().unwrap();
    let operation = Operation::User {
        application_id: id,
        bytes: b"42".to_vec(),
    };
    chain.execute(operation, &mut FUEL.clone()).unwrap();
    assert_eq!(chain.query(id).unwrap(), b"42");
    assert_ne!(
        chain.state.hash().unwrap(),
        before,
        "application state is hashed"
    );
}

#[test]
fn test_creation_needs_both_modules_and_the_required_applications() {
    let mut chain = chain();
    let bytecode_id = chain.publish(writer(), writer());
    chain.blobs.0.lock().remove(&bytecode_id.service);
    assert_eq!(
        chain.create(bytecode_id, Vec::new()).unwrap_err(),
        ExecutionError::BlobNotFound(bytecode_id.service)
    );
    let bytecode_id = chain.publish(writer(), looper());
    let unknown = ApplicationId(skein_base::crypto::CryptoHash::of_bytes(b"unknown"));
    assert_eq!(
        chain.create(bytecode_id, vec![unknown]).unwrap_err(),
        ExecutionError::UnknownApplication(unknown)
    );
    let operation = Operation::User {
        application_id: unknown,
        bytes: Vec::new(),
    };
    assert_eq!(
        chain.execute(operation, &mut FUEL.clone()).unwrap_err(),
        ExecutionError::UnknownApplication(unknown)
    );
}

#[test]
fn test_messages_go_after_the_registration_of_their_applications() {
    let mut chain = chain();
    let required = chain.create(chain.publish(writer(), writer()), Vec::new());
    let required = required.unwrap();
    let sender_bytecode = chain.publish(sender(), writer());
    let sender = chain.create(sender_bytecode, vec![required.id()]).unwrap();
    let destination = ChainId::root(5);
    let operation = Operation::User {
        application_id: sender.id(),
        bytes: request(destination, true),
    };
    let outgoing = chain.execute(operation, &mut FUEL.clone()).unwrap();
    assert_eq!(outgoing.len(), 3, "{outgoing:?}");
    assert_eq!(
        outgoing[0].message,
        Message::System(SystemMessage::RegisterApplications(vec![
            required.clone(),
            sender.clone()
        ])),
        "required applications first, each once"
    );
    for message in &outgoing[1..] {
        assert_eq!(message.destination, destination);
        assert_eq!(message.kind, MessageKind::Tracked);
        assert_eq!(message.authenticated_signer, Some(chain.owner));
        assert_eq!(
            message.message,
            Message::User {
                application_id: sender.id(),
                bytes: b"hello".to_vec()
            }
        );
    }
}

#[test]
fn test_a_block_shares_its_fuel_between_its_calls() {
    let mut chain = chain();
    let looper = chain.create(chain.publish(looper(), writer()), Vec::new());
    let looper = looper.unwrap().id();
    let mut fuel = 2_000_000;
    let operation = Operation::User {
        application_id: looper,
        bytes: Vec::new(),
    };
    assert_eq!(
        chain.execute(operation, &mut fuel).unwrap_err(),
        ExecutionError::Application {
            application_id: looper,
            error: WasmError::OutOfFuel { limit: 2_000_000 }
        },
        "a call gets what the block has left"
    );

    let writer = chain.create(chain.publish(writer(), writer()), Vec::new());
    let writer = writer.unwrap().id();
    let write = Operation::User {
        application_id: writer,
        bytes: b"1".to_vec(),
    };
    let mut fuel = FUEL;
    chain.execute(write.clone(), &mut fuel).unwrap();
    let cost = FUEL - fuel;
    assert!(cost > 0);
    // Enough for one write and a half: the second runs out.
    let mut fuel = cost + cost / 2;
    chain.execute(write.clone(), &mut fuel).unwrap();
    assert_eq!(fuel, cost / 2, "the same work costs the same fuel");
    let error = chain.execute(write, &mut fuel).unwrap_err();
    assert!(
        matches!(
            error,
            ExecutionError::Application {
                error: WasmError::OutOfFuel { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

/// A module whose entries are `entries` (whole `func` definitions), with the imports calls
/// need and the boilerplate of the convention.
fn calls_module(entries: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "take" (func $take (param i32)))
            (import "skein" "call_application" (func $call (param i32 i32) (result i32)))
            (import "skein" "call_session" (func $call_session (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            ;; HandleCallOutput {{ response: [], new_sessions: [[]] }}
            (data (i32.const 0) "\00\01\00")
            ;; HandleSessionCallOutput {{ response: [], state: None, new_sessions: [] }}
            (data (i32.const 8) "\00\00\00")
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 16) (i32.const 0)))
            {entries})"#
    ))
    .expect("a valid test module")
}

/// Hands its caller one empty session per call; closes a session called into.
fn session_maker() -> Vec<u8> {
    calls_module(
        r#"(func (export "skein_handle_call") (param i32 i32)
               (call $output (i32.const 0) (i32.const 3)))
           (func (export "skein_handle_session_call") (param i32 i32)
               (call $output (i32.const 8) (i32.const 3)))"#,
    )
}

/// Its operation is a `CallRequest`, made as is. With `close`, it then calls into the
/// session the callee returned: the `CallResult` lands at 200 as
/// `[0, 1, session id (40 bytes)]`, so a `SessionCallRequest` for it is the 40 bytes at
/// 202 followed by an empty argument and no sessions.
fn caller(close: bool) -> Vec<u8> {
    let closing = if close {
        r#"(call $take (i32.const 200))
           (i32.store8 (i32.const 242) (i32.const 0))
           (i32.store8 (i32.const 243) (i32.const 0))
           (drop (call $call_session (i32.const 202) (i32.const 42)))
           (call $take (i32.const 300))"#
    } else {
        "(call $take (i32.const 200))"
    };
    calls_module(&format!(
        r#"(func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
               (drop (call $call (local.get $ptr) (local.get $len)))
               {closing}
               (call $output (i32.const 16) (i32.const 0)))
           (func (export "skein_handle_call") (param $ptr i32) (param $len i32)
               (drop (call $call (local.get $ptr) (local.get $len)))
               (call $output (i32.const 0) (i32.const 0)))"#
    ))
}

/// Its `handle_call` makes the call its argument encodes (a `CallRequest` under 128
/// bytes, so its length is the input's first byte).
fn relay() -> Vec<u8> {
    calls_module(
        r#"(func (export "skein_handle_call") (param $ptr i32) (param $len i32)
               (drop (call $call (i32.add (local.get $ptr) (i32.const 1))
                                 (i32.load8_u (local.get $ptr))))
               (call $output (i32.const 0) (i32.const 3)))"#,
    )
}

fn call_request(callee: ApplicationId, argument: Vec<u8>) -> Vec<u8> {
    bcs::to_bytes(&skein_base::CallRequest {
        callee,
        authenticated: false,
        argument,
        sessions: Vec::new(),
    })
    .unwrap()
}

#[test]
fn test_a_transaction_cannot_end_with_a_session_open() {
    let mut chain = chain();
    let maker = chain.create(chain.publish(session_maker(), writer()), Vec::new());
    let maker = maker.unwrap().id();
    let forgetful = chain.create(chain.publish(caller(false), writer()), Vec::new());
    let forgetful = forgetful.unwrap().id();
    let tidy = chain.create(chain.publish(caller(true), writer()), Vec::new());
    let tidy = tidy.unwrap().id();

    let operation = Operation::User {
        application_id: forgetful,
        bytes: call_request(maker, Vec::new()),
    };
    let error = chain.execute(operation, &mut FUEL.clone()).unwrap_err();
    assert_eq!(
        error,
        ExecutionError::SessionsNotClosed(vec![skein_base::SessionId {
            application_id: maker,
            index: 0
        }])
    );
    let operation = Operation::User {
        application_id: tidy,
        bytes: call_request(maker, Vec::new()),
    };
    chain
        .execute(operation, &mut FUEL.clone())
        .expect("the session was called into and closed");
}

#[test]
fn test_an_application_cannot_be_called_while_it_runs() {
    let mut chain = chain();
    let relay = chain.create(chain.publish(relay(), writer()), Vec::new());
    let relay = relay.unwrap().id();
    let first = chain.create(chain.publish(caller(false), writer()), Vec::new());
    let first = first.unwrap().id();
    // first → relay → first again.
    let back = call_request(first, Vec::new());
    let operation = Operation::User {
        application_id: first,
        bytes: call_request(relay, back),
    };
    let error = chain.execute(operation, &mut FUEL.clone()).unwrap_err();
    assert!(
        matches!(&error, ExecutionError::InvalidCall(reason) if reason.contains("reentrancy")),
        "{error:?}"
    );
    // A call to an application without the call entry fails the transaction too.
    let plain = chain.create(chain.publish(writer(), writer()), Vec::new());
    let plain = plain.unwrap().id();
    let operation = Operation::User {
        application_id: first,
        bytes: call_request(plain, Vec::new()),
    };
    let error = chain.execute(operation, &mut FUEL.clone()).unwrap_err();
    assert_eq!(
        error,
        ExecutionError::Application {
            application_id: plain,
            error: WasmError::MissingExport("skein_handle_call".into())
        }
    );
}

/// Its operation is a `TransferRequest`, made as is.
fn spender() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "transfer" (func $transfer (param i32 i32)))
            (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (call $transfer (local.get $ptr) (local.get $len))
                (call $output (i32.const 0) (i32.const 0))))"#,
    )
    .expect("a valid test module")
}

#[test]
fn test_an_application_spends_native_tokens_from_its_own_account_only() {
    let mut chain = chain();
    let app = chain.create(chain.publish(spender(), writer()), Vec::new());
    let app = app.unwrap().id();
    let account = AccountOwner::Application(app);
    chain.fund(account);
    let spend = |amount, chain_id| Operation::User {
        application_id: app,
        bytes: bcs::to_bytes(&skein_base::TransferRequest {
            recipient: skein_base::Account::chain(chain_id),
            amount,
        })
        .unwrap(),
    };
    let third = Amount::from_attos(Amount::ONE.to_attos() / 3);
    let outgoing = chain
        .execute(spend(third, ChainId::root(7)), &mut FUEL.clone())
        .unwrap();
    assert_eq!(outgoing.len(), 1, "a tracked credit to the other chain");
    assert_eq!(outgoing[0].kind, MessageKind::Tracked);
    let left = block_on(chain.state.system.owner_balance(&account)).unwrap();
    assert_eq!(left, Amount::from_tokens(1).try_sub(third).unwrap());
    let error = chain
        .execute(
            spend(Amount::from_tokens(1), ChainId::root(0)),
            &mut FUEL.clone(),
        )
        .unwrap_err();
    assert!(
        matches!(error, ExecutionError::InsufficientBalance { owner: Some(owner), .. } if owner == account),
        "{error:?}"
    );
}

#[test]
fn test_applications_stay_within_the_size_limits() {
    let mut chain = chain();
    // A sender with room for a large message.
    let big_sender = wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "send_message" (func $send (param i32 i32)))
            (memory (export "memory") 16)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (call $send (local.get $ptr) (local.get $len))
                (call $send (local.get $ptr) (local.get $len))
                (call $output (i32.const 0) (i32.const 0))))"#,
    )
    .expect("a valid test module");
    let app = chain.create(chain.publish(big_sender, writer()), Vec::new());
    let app = app.unwrap().id();
    let half = skein_base::limits::APPLICATION_MESSAGE_BYTES_PER_TRANSACTION_MAX / 2;
    let request = |size: usize| {
        bcs::to_bytes(&SendMessageRequest {
            destination: ChainId::root(5),
            authenticated: false,
            tracked: false,
            message: vec![7; size],
        })
        .unwrap()
    };
    let fits = Operation::User {
        application_id: app,
        bytes: request(half - 100),
    };
    assert_eq!(chain.execute(fits, &mut FUEL.clone()).unwrap().len(), 3);
    let too_much = Operation::User {
        application_id: app,
        bytes: request(half + 100),
    };
    let error = chain.execute(too_much, &mut FUEL.clone()).unwrap_err();
    assert!(
        matches!(error, ExecutionError::LimitExceeded(_)),
        "{error:?}"
    );

    let bytecode_id = chain.publish(writer(), writer());
    let operation = SystemOperation::CreateApplication {
        bytecode_id,
        parameters: vec![b' '; skein_base::limits::APPLICATION_PARAMETERS_BYTES_MAX + 1],
        instantiation_argument: b"1".to_vec(),
        required_application_ids: Vec::new(),
    };
    let error = chain
        .execute(Operation::System(operation), &mut FUEL.clone())
        .unwrap_err();
    assert!(
        matches!(error, ExecutionError::LimitExceeded(_)),
        "{error:?}"
    );
}

/// Its operation is an `OpenChainRequest`, made `times` times; it answers the last
/// chain's id.
fn opener(times: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "open_chain" (func $open (param i32 i32) (result i32)))
            (import "skein" "take" (func $take (param i32)))
            (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (local $left i32)
                (local.set $left (i32.const {times}))
                (loop $again
                    (drop (call $open (local.get $ptr) (local.get $len)))
                    (call $take (i32.const 0))
                    (local.set $left (i32.sub (local.get $left) (i32.const 1)))
                    (br_if $again (i32.ne (local.get $left) (i32.const 0))))
                (call $output (i32.const 0) (i32.const 32))))"#
    ))
    .expect("a valid test module")
}

#[test]
fn test_an_application_opens_chains_from_its_own_account() {
    let mut chain = chain();
    let app = chain.create(chain.publish(opener(2), writer()), Vec::new());
    let app = app.unwrap().id();
    let account = AccountOwner::Application(app);
    chain.fund(account);
    let open = |owners: Vec<(AccountOwner, u64)>, balance| Operation::User {
        application_id: app,
        bytes: bcs::to_bytes(&OpenChainRequest { owners, balance }).unwrap(),
    };
    let opened = |outgoing: &[crate::OutgoingMessage]| -> Vec<(ChainId, ChainConfig)> {
        outgoing
            .iter()
            .filter_map(|message| match &message.message {
                Message::System(SystemMessage::OpenChain(config)) => {
                    Some((message.destination, config.clone()))
                }
                _ => None,
            })
            .collect()
    };

    // Two chains in one transaction, numbered, each funded from the account.
    let quarter = Amount::from_attos(Amount::ONE.to_attos() / 4);
    let height = chain.height;
    let outgoing = chain
        .execute(open(vec![(chain.owner, 1)], quarter), &mut FUEL.clone())
        .unwrap();
    let chains = opened(&outgoing);
    assert_eq!(chains.len(), 2, "{outgoing:?}");
    for (sequence, (destination, config)) in (0..).zip(&chains) {
        let expected = ChainDescription::Child {
            parent: ChainId::root(0),
            height: BlockHeight(height),
            index: 0,
            sequence,
        };
        assert_eq!(config.description, expected);
        assert_eq!(*destination, expected.id());
        assert_eq!(config.balance, quarter);
        assert_eq!(config.ownership, ChainOwnership::single(chain.owner));
    }
    let left = block_on(chain.state.system.owner_balance(&account)).unwrap();
    assert_eq!(
        left,
        Amount::from_tokens(1)
            .try_sub(quarter)
            .unwrap()
            .try_sub(quarter)
            .unwrap()
    );
    assert_eq!(chain.state.system.chain_balance(), Amount::ZERO);

    // Several owners share the new chain.
    let other = AccountOwner::from(SecretKey::from_test_seed(2).public());
    let outgoing = chain
        .execute(
            open(vec![(chain.owner, 1), (other, 2)], Amount::ZERO),
            &mut FUEL.clone(),
        )
        .unwrap();
    let (_, config) = &opened(&outgoing)[0];
    assert!(config.ownership.super_owners.is_empty());
    assert_eq!(
        config.ownership.owners,
        BTreeMap::from([(chain.owner, 1), (other, 2)])
    );

    // Refused: no owner, too many, an application (it signs no blocks), shared owners
    // without weights, more than the account holds.
    let error = chain
        .execute(open(vec![(account, 1)], Amount::ZERO), &mut FUEL.clone())
        .unwrap_err();
    assert!(
        matches!(error, ExecutionError::InvalidCall(ref why) if why.contains("signs no blocks")),
        "{error:?}"
    );
    let error = chain
        .execute(
            open(vec![(chain.owner, 0), (other, 0)], Amount::ZERO),
            &mut FUEL.clone(),
        )
        .unwrap_err();
    assert!(
        matches!(error, ExecutionError::InvalidCall(ref why) if why.contains("weights")),
        "{error:?}"
    );
    let error = chain
        .execute(open(Vec::new(), Amount::ZERO), &mut FUEL.clone())
        .unwrap_err();
    assert!(
        matches!(error, ExecutionError::InvalidCall(ref why) if why.contains("owners")),
        "{error:?}"
    );
    let crowd = (0..=skein_base::limits::OPENED_CHAIN_OWNERS_MAX)
        .map(|seed| {
            let seed = u64::try_from(seed).unwrap();
            (
                AccountOwner::from(SecretKey::from_test_seed(seed).public()),
                1,
            )
        })
        .collect();
    let error = chain
        .execute(open(crowd, Amount::ZERO), &mut FUEL.clone())
        .unwrap_err();
    assert!(matches!(error, ExecutionError::InvalidCall(_)), "{error:?}");
    let error = chain
        .execute(
            open(vec![(chain.owner, 1)], Amount::from_tokens(1)),
            &mut FUEL.clone(),
        )
        .unwrap_err();
    assert!(
        matches!(error, ExecutionError::InsufficientBalance { owner: Some(owner), .. } if owner == account),
        "{error:?}"
    );
}

/// Its operation (a little-endian u32 `n`) writes the keys 0..n (each a little-endian
/// u32), then lists every key.
fn key_filler() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "write" (func $write (param i32 i32 i32 i32)))
            (import "skein" "find_keys" (func $find (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (local $i i32)
                (local $n i32)
                (local.set $n (i32.load (local.get $ptr)))
                (block $done
                    (loop $fill
                        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                        (i32.store (i32.const 0) (local.get $i))
                        (call $write (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $fill)))
                (drop (call $find (i32.const 0) (i32.const 0)))
                (call $output (i32.const 0) (i32.const 0))))"#,
    )
    .expect("a valid test module")
}

#[test]
fn test_listing_keys_stops_at_the_limit() {
    let mut chain = chain();
    let app = chain.create(chain.publish(key_filler(), writer()), Vec::new());
    let app = app.unwrap().id();
    let fill = |count: usize| Operation::User {
        application_id: app,
        bytes: u32::try_from(count).unwrap().to_le_bytes().to_vec(),
    };
    let limit = skein_base::limits::APPLICATION_KEYS_PER_SCAN_MAX;
    chain.execute(fill(limit), &mut 100_000_000).unwrap();
    let error = chain
        .execute(fill(limit + 1), &mut 100_000_000)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("more than {limit} keys")),
        "{error}"
    );
}

#[test]
fn test_a_transaction_opens_a_bounded_number_of_chains() {
    let mut chain = chain();
    let most = skein_base::limits::OPENED_CHAINS_PER_TRANSACTION_MAX;
    let request = bcs::to_bytes(&OpenChainRequest {
        owners: vec![(chain.owner, 1)],
        balance: Amount::ZERO,
    })
    .unwrap();
    let fuel = || skein_base::limits::OPEN_CHAIN_FUEL * 20;
    for (times, allowed) in [(most, true), (most + 1, false)] {
        let times_u32 = u32::try_from(times).unwrap();
        let app = chain.create(chain.publish(opener(times_u32), writer()), Vec::new());
        let app = app.unwrap().id();
        let operation = Operation::User {
            application_id: app,
            bytes: request.clone(),
        };
        let mut left = fuel();
        let result = chain.execute(operation, &mut left);
        match result {
            Ok(outgoing) => {
                assert!(allowed, "{times} chains opened");
                assert_eq!(outgoing.len(), times);
                // Each opening costs its fuel.
                assert!(fuel() - left >= skein_base::limits::OPEN_CHAIN_FUEL * times as u64);
            }
            Err(error) => {
                assert!(!allowed, "{error:?}");
                assert!(
                    error
                        .to_string()
                        .contains(&format!("at most {most} chains")),
                    "{error}"
                );
            }
        }
    }
}

#[test]
fn test_a_chain_migrates_only_forwards_to_a_published_committee() {
    let mut chain = chain();
    let migrate = |epoch| {
        Operation::System(SystemOperation::MigrateToEpoch {
            epoch: Epoch(epoch),
        })
    };
    let hash = |chain: &Chain| chain.state.hash().unwrap();

    // This node has not learnt epoch 2 from the admin chain: its gap, not the block's.
    let before = hash(&chain);
    let error = chain.execute(migrate(2), &mut FUEL.clone()).unwrap_err();
    assert_eq!(error, ExecutionError::CommitteeNotPublished(Epoch(2)));
    assert!(error.is_node_failure());
    assert_eq!(hash(&chain), before);

    // Published: the chain moves straight to epoch 2, trusting its committee alone.
    chain
        .blobs
        .1
        .lock()
        .insert(Epoch(1), crate::system_tests::committee(1));
    chain
        .blobs
        .1
        .lock()
        .insert(Epoch(2), crate::system_tests::committee(2));
    chain.execute(migrate(2), &mut FUEL.clone()).unwrap();
    let system = &chain.state.system;
    assert_eq!(system.epoch(), Epoch(2));
    assert_eq!(
        system.committees(),
        &BTreeMap::from([(Epoch(2), crate::system_tests::committee(2))])
    );

    // Never backwards, nor to where it is.
    let before = hash(&chain);
    for epoch in [1, 2] {
        let error = chain
            .execute(migrate(epoch), &mut FUEL.clone())
            .unwrap_err();
        assert_eq!(
            error,
            ExecutionError::EpochNotNewer {
                epoch: Epoch(epoch),
                current: Epoch(2)
            }
        );
        assert_eq!(hash(&chain), before);
    }
}

#[test]
fn test_closed_and_public_chains_migrate_and_nobody_else_migrates_for_an_owner() {
    let migrate = Operation::System(SystemOperation::MigrateToEpoch { epoch: Epoch(1) });
    let publish = |chain: &Chain| {
        chain
            .blobs
            .1
            .lock()
            .insert(Epoch(1), crate::system_tests::committee(1));
    };

    // A block signed by no one, or by a stranger, does not migrate an owned chain.
    let mut chain = chain();
    publish(&chain);
    let stranger = AccountOwner::from(SecretKey::from_test_seed(9).public());
    let before = chain.state.hash().unwrap();
    for signer in [None, Some(stranger)] {
        let error = chain
            .execute_signed_by(signer, migrate.clone(), &mut FUEL.clone())
            .unwrap_err();
        assert_eq!(error, ExecutionError::NotChainOwner { signer });
        assert_eq!(chain.state.hash().unwrap(), before);
    }

    // A closed chain still migrates, so that it can go on rejecting what it receives.
    chain
        .execute(
            Operation::System(SystemOperation::CloseChain),
            &mut FUEL.clone(),
        )
        .unwrap();
    chain.execute(migrate.clone(), &mut FUEL.clone()).unwrap();
    assert_eq!(chain.state.system.epoch(), Epoch(1));

    // On a public chain the round's validator proposes, signing for no one.
    let mut public = self::chain();
    publish(&public);
    public
        .execute(
            Operation::System(SystemOperation::ChangeOwnership(ChainOwnership::public())),
            &mut FUEL.clone(),
        )
        .unwrap();
    public
        .execute_signed_by(None, migrate, &mut FUEL.clone())
        .unwrap();
    assert_eq!(public.state.system.epoch(), Epoch(1));
}
