//! Handlers dropped midway (a client resets its stream, a request times out) leave the
//! chain as they found it: dropped at every await point of a certificate and of a
//! proposal, the validator's state stays what its store holds, and once a handler
//! completes it agrees with the other validators.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use skein_base::{Account, Amount, BlockHeight, Round};
use skein_chain::{BlockProposal, ProposalContent, ProposedBlock};
use skein_core::{
    tokio_spawner, ChainInfoQuery, Fault, InProcessNetwork, NetworkConfig, SystemClock, Worker,
};
use skein_execution::{Operation, SystemOperation};
use skein_views::{Batch, KeyValueStore, KeyValues, MemoryStore, StoreError};

use super::common::*;

/// A future that is pending once, waking itself.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A memory store whose every call waits once: each read and write of a handler is an
/// await point where it can be dropped.
#[derive(Clone, Default)]
struct YieldingStore(MemoryStore);

impl KeyValueStore for YieldingStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        YieldOnce(false).await;
        self.0.read_value(key).await
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        YieldOnce(false).await;
        self.0.read_multi_values(keys).await
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        YieldOnce(false).await;
        self.0.find_key_values_by_prefix(prefix).await
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        YieldOnce(false).await;
        self.0.find_keys_by_prefix(prefix).await
    }

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        YieldOnce(false).await;
        self.0.find_keys_by_prefix_up_to(prefix, limit).await
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.0.write_batch(batch).await
    }
}

/// Four validators of one shard each on yielding stores, `chains` chains of 100 tokens,
/// and a client.
async fn yielding_network(
    chains: usize,
) -> (
    InProcessNetwork<YieldingStore>,
    Arc<skein_core::Client<MemoryStore>>,
) {
    let config = NetworkConfig {
        validators: 4,
        shards: 1,
        chains,
        balance: Amount::from_tokens(100),
    };
    let network = InProcessNetwork::new(
        config,
        Arc::new(SystemClock),
        Box::new(|_| YieldingStore::default()),
    )
    .await;
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), client_config())
        .await
        .unwrap();
    (network, client)
}

/// Polls `future` at most `polls` times, then drops it; its output if it completed.
fn poll_at_most<F: Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let waker = futures::task::noop_waker();
    let mut context = Context::from_waker(&waker);
    for _ in 0..polls {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
    }
    None
}

/// The chain's height and state hash as the worker holds it, then as its store holds it:
/// they must be the same.
async fn held_and_stored(
    worker: &Worker<YieldingStore>,
    chain_id: skein_base::ChainId,
) -> (BlockHeight, skein_base::crypto::CryptoHash) {
    let held = worker
        .handle_chain_info_query(ChainInfoQuery::new(chain_id))
        .await
        .unwrap();
    worker.clear_cache();
    let stored = worker
        .handle_chain_info_query(ChainInfoQuery::new(chain_id))
        .await
        .unwrap();
    assert_eq!(
        (held.next_block_height, held.state_hash),
        (stored.next_block_height, stored.state_hash),
        "the worker holds changes its store does not"
    );
    (stored.next_block_height, stored.state_hash)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_handlers_dropped_at_every_await_point_change_nothing() {
    let (network, client) = yielding_network(2).await;
    let chain_id = network.chain_id(0);
    // Validator 0 misses a transfer the others certify.
    network.nodes[0].set_fault(Fault::Offline);
    let sender = network.chain_client(&client, 0);
    let certificate = sender
        .transfer(None, tokens(3), Account::chain(network.chain_id(1)))
        .await
        .unwrap();
    let validator = network.validator(0);
    let worker = validator.worker(&chain_id);

    // The certificate, dropped after one poll, two, …, until it completes.
    let drops = commit_dropping_at_every_await_point(worker, chain_id, &certificate).await;
    assert!(drops >= 3, "the handler had await points to drop it at");
    let committed = held_and_stored(worker, chain_id).await;
    assert_eq!(committed, state_at(&network, 1, chain_id).await);

    // A proposal at the next height, likewise: a dropped one saves no vote and no state.
    let info = worker
        .handle_chain_info_query(ChainInfoQuery::new(chain_id))
        .await
        .unwrap();
    let key = network.owner_key(0);
    let block = ProposedBlock {
        chain_id,
        epoch: info.epoch,
        height: info.next_block_height,
        timestamp: info.timestamp,
        authenticated_signer: Some(network.owner(0)),
        previous_block_hash: info.block_hash,
        incoming_bundles: Vec::new(),
        operations: vec![Operation::System(SystemOperation::Transfer {
            owner: None,
            recipient: Account::chain(network.chain_id(1)),
            amount: tokens(1),
        })],
    };
    let proposal = BlockProposal::new(
        ProposalContent {
            block,
            round: Round::Fast,
        },
        &key,
    );
    let mut polls = 1;
    let vote = loop {
        worker.clear_cache();
        let handler = worker.handle_block_proposal(proposal.clone());
        if let Some(result) = poll_at_most(handler, polls) {
            break result.expect("a vote");
        }
        let after = held_and_stored(worker, chain_id).await;
        assert_eq!(after.0, committed.0, "dropped after {polls} polls");
        polls += 1;
    };
    assert!(polls > 1, "the handler had await points to drop it at");
    let again = worker.handle_block_proposal(proposal).await.unwrap();
    assert_eq!(again, vote, "the vote was saved once, whole");
}

/// A contract whose operation burns as many loop turns (about six units of fuel each) as
/// its input's first eight bytes say, then writes and outputs: a long call yields to its
/// executor every 10,000,000 units, each an await point of the handler running it.
fn long_call() -> (Vec<u8>, Vec<u8>) {
    let contract = wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "write" (func $write (param i32 i32 i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "k")
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (local $left i64)
                (local.set $left (i64.load (local.get $ptr)))
                (loop $burn
                    (local.set $left (i64.sub (local.get $left) (i64.const 1)))
                    (br_if $burn (i64.gt_s (local.get $left) (i64.const 0))))
                (call $write (i32.const 0) (i32.const 1) (local.get $ptr) (local.get $len))
                (call $output (i32.const 0) (i32.const 0))))"#,
    )
    .expect("a valid module");
    let service = wat::parse_str(
        r#"(module (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024)))"#,
    )
    .expect("a valid module");
    (contract, service)
}

/// Hands `certificate` to `worker`, dropping the handler after one poll, two, … until one
/// completes; after each drop the worker must hold what its store holds, the old state
/// or the committed block. The number of drops.
async fn commit_dropping_at_every_await_point(
    worker: &Worker<YieldingStore>,
    chain_id: skein_base::ChainId,
    certificate: &skein_chain::ConfirmedBlockCertificate,
) -> usize {
    let before = held_and_stored(worker, chain_id).await;
    let mut drops = 0;
    loop {
        // From the store each time, so that loading the chain has await points too.
        worker.clear_cache();
        let handler = worker.handle_certificate(certificate.as_unchecked().clone());
        if let Some(result) = poll_at_most(handler, drops + 1) {
            result.expect("the certificate is committed");
            return drops;
        }
        let after = held_and_stored(worker, chain_id).await;
        assert!(
            after == before || Some(before.0) == after.0.previous(),
            "dropped after {} polls: neither the old state nor the committed block",
            drops + 1
        );
        drops += 1;
    }
}

/// A certificate whose block runs a long Wasm call, dropped at every await point (the
/// call's own yields as well as storage's): the validator keeps what its store holds each
/// time, and commits the block once a handler completes, agreeing with the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_long_wasm_call_dropped_at_every_await_point_changes_nothing() {
    let (network, client) = yielding_network(1).await;
    let chain_id = network.chain_id(0);
    let owner = network.chain_client(&client, 0);
    let (contract, service) = long_call();
    let (code, _) = owner.publish_bytecode(contract, service).await.unwrap();
    let (app, _) = owner
        .create_application(code, b"null".to_vec(), b"null".to_vec(), Vec::new())
        .await
        .unwrap();
    wait_for_height(&network, 0, chain_id, BlockHeight(2)).await;
    // Validator 0 misses two blocks: a short call, and one of 15,000,000 turns (about
    // 90,000,000 units: nine yields).
    network.nodes[0].set_fault(Fault::Offline);
    let mut certificates = Vec::new();
    for turns in [1u64, 15_000_000] {
        certificates.push(
            owner
                .execute_application_operation(app, turns.to_le_bytes().to_vec())
                .await
                .unwrap(),
        );
    }
    let validator = network.validator(0);
    let worker = validator.worker(&chain_id);
    let short = commit_dropping_at_every_await_point(worker, chain_id, &certificates[0]).await;
    let long = commit_dropping_at_every_await_point(worker, chain_id, &certificates[1]).await;
    assert!(
        long >= short + 9,
        "the long call was dropped at each of its yields ({short} drops, then {long})"
    );
    let committed = held_and_stored(worker, chain_id).await;
    assert_eq!(committed.0, BlockHeight(4));
    assert_eq!(committed, state_at(&network, 1, chain_id).await);
}
