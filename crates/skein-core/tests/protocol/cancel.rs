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
    let config = NetworkConfig {
        validators: 4,
        shards: 1,
        chains: 2,
        balance: Amount::from_tokens(100),
    };
    let network = InProcessNetwork::new(
        config,
        Arc::new(SystemClock),
        Box::new(|_| YieldingStore::default()),
    )
    .await;
    let chain_id = network.chain_id(0);
    // Validator 0 misses a transfer the others certify.
    network.nodes[0].set_fault(Fault::Offline);
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), client_config())
        .await
        .unwrap();
    let sender = network.chain_client(&client, 0);
    let certificate = sender
        .transfer(None, tokens(3), Account::chain(network.chain_id(1)))
        .await
        .unwrap();
    let validator = network.validator(0);
    let worker = validator.worker(&chain_id);

    // The certificate, dropped after one poll, two, …, until it completes.
    let before = held_and_stored(worker, chain_id).await;
    let mut polls = 1;
    loop {
        // From the store each time, so that loading the chain has await points too.
        worker.clear_cache();
        let handler = worker.handle_certificate(certificate.as_unchecked().clone());
        if let Some(result) = poll_at_most(handler, polls) {
            result.expect("the certificate is committed");
            break;
        }
        let after = held_and_stored(worker, chain_id).await;
        assert!(
            after == before || after.0 == BlockHeight(1),
            "dropped after {polls} polls: neither the old state nor the committed block"
        );
        polls += 1;
    }
    assert!(polls > 3, "the handler had await points to drop it at");
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
