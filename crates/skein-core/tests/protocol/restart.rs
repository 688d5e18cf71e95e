use std::sync::Arc;

use skein_base::{Account, Amount, BlockHeight};
use skein_core::{tokio_spawner, Fault, InProcessNetwork, NetworkConfig, SystemClock};
use skein_storage::{LogStore, LsmStore};
use skein_views::KeyValueStore;
use skein_views::MemoryStore;

use super::common::*;

/// Validators on disk (in-memory log store), restarted mid-run from their stores, continue
/// and agree with the others on every state hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_validators_restart_from_disk_and_agree() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().to_path_buf();
    run_restarts(Box::new(move |index: usize| {
        LogStore::open(&root.join(format!("validator-{index}")), false).expect("open store")
    }))
    .await;
}

/// The same, with validators on the LSM store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_validators_restart_from_lsm_store_and_agree() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().to_path_buf();
    run_restarts(Box::new(move |index: usize| {
        LsmStore::open(&root.join(format!("validator-{index}")), false).expect("open store")
    }))
    .await;
}

async fn run_restarts<S: KeyValueStore>(factory: skein_core::network::StoreFactory<S>) {
    let config = NetworkConfig {
        validators: 4,
        shards: 2,
        chains: 3,
        balance: Amount::from_tokens(100),
    };
    let network = InProcessNetwork::new(config, Arc::new(SystemClock), factory).await;
    let chains: Vec<_> = (0..3).map(|index| network.chain_id(index)).collect();
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), client_config())
        .await
        .unwrap();
    let clients: Vec<_> = (0..3)
        .map(|index| network.chain_client(&client, index))
        .collect();
    for round in 0..4 {
        for (index, sender) in clients.iter().enumerate() {
            send(sender, chains[(index + 1) % 3], 1).await;
        }
        // Restart a different validator each round, between blocks.
        network.restart_validator(round % 4).await;
        for receiver in &clients {
            receiver.process_inbox().await.unwrap();
        }
    }
    // A validator that was restarting while a chain's last block went out learns it when
    // the client brings every validator up to date.
    for chain_id in &chains {
        assert!(client
            .update_validators(*chain_id)
            .await
            .unwrap()
            .is_empty());
    }
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
    for index in 0..4 {
        assert_eq!(supply_at(&network, index, &chains).await, tokens(300));
    }
}

/// A client that signed a block and stopped before certifying it completes that same block
/// after a restart instead of signing another at the same height.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_client_completes_signed_block_after_restart() {
    let network = network(4, 1, 2).await;
    let store = MemoryStore::new();
    let first_run = network
        .client(store.clone(), tokio_spawner(), client_config())
        .await
        .unwrap();
    let chain = network.chain_client(&first_run, 0);
    for node in &network.nodes {
        node.set_fault(Fault::Offline);
    }
    assert!(chain
        .transfer(None, tokens(7), Account::chain(network.chain_id(1)))
        .await
        .is_err());
    drop(chain);
    drop(first_run);
    for node in &network.nodes {
        node.set_fault(Fault::Honest);
    }
    let second_run = network
        .client(store, tokio_spawner(), client_config())
        .await
        .unwrap();
    let chain = network.chain_client(&second_run, 0);
    let certificate = chain
        .transfer(None, tokens(1), Account::chain(network.chain_id(1)))
        .await
        .unwrap();
    assert_eq!(certificate.value().block.height, BlockHeight(1));
    let receiver = network.chain_client(&second_run, 1);
    receiver.process_inbox().await.unwrap();
    assert_eq!(
        receiver.chain_balance().await.unwrap(),
        tokens(108),
        "both transfers, once each"
    );
}
