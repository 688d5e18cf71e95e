//! Helpers shared by the protocol tests.

use std::sync::Arc;

use skein_base::{
    Account, Amount, BlockHeight, ChainId, Committee, Epoch, Timestamp, ValidatorState,
};
use skein_chain::ProposedBlock;
use skein_core::{
    tokio_spawner, ChainClient, Client, ClientConfig, InProcessNetwork, NetworkConfig, SystemClock,
};
use skein_execution::{Operation, SystemOperation};
use skein_views::{KeyValueStore, MemoryStore};

pub type Network = InProcessNetwork<MemoryStore>;

pub async fn network(validators: usize, shards: usize, chains: usize) -> Network {
    let config = NetworkConfig {
        validators,
        shards,
        chains,
        balance: Amount::from_tokens(100),
    };
    InProcessNetwork::in_memory(config, Arc::new(SystemClock)).await
}

pub fn client_config() -> ClientConfig {
    ClientConfig {
        request_timeout: skein_base::TimeDelta::from_secs(5),
        ..ClientConfig::default()
    }
}

pub async fn client<S: KeyValueStore>(network: &InProcessNetwork<S>) -> Arc<Client<MemoryStore>> {
    network
        .client(MemoryStore::new(), tokio_spawner(), client_config())
        .await
        .expect("client")
}

pub fn tokens(count: u128) -> Amount {
    Amount::from_tokens(count)
}

/// Everything chain `chain_id` holds at validator `index`.
pub async fn total_at<S: KeyValueStore>(
    network: &InProcessNetwork<S>,
    index: usize,
    chain_id: ChainId,
) -> Amount {
    network
        .validator(index)
        .worker(&chain_id)
        .chain_total_balance(chain_id)
        .await
        .expect("balance")
}

/// `chain_id`'s total once all of `validators` agree on it, at the first of them: a client
/// returns once a quorum has its block, and the others get it a moment later.
pub async fn settled_total<S: KeyValueStore>(
    network: &InProcessNetwork<S>,
    validators: &[usize],
    chain_id: ChainId,
) -> Amount {
    assert_validators_agree(network, validators, &[chain_id]).await;
    total_at(network, validators[0], chain_id).await
}

/// The sum over `chains` at validator `index`.
pub async fn supply_at<S: KeyValueStore>(
    network: &InProcessNetwork<S>,
    index: usize,
    chains: &[ChainId],
) -> Amount {
    let mut total = Amount::ZERO;
    for chain_id in chains {
        total = total
            .try_add(total_at(network, index, *chain_id).await)
            .unwrap();
    }
    total
}

/// The state hash and next height of a chain at validator `index`.
pub async fn state_at<S: KeyValueStore>(
    network: &InProcessNetwork<S>,
    index: usize,
    chain_id: ChainId,
) -> (skein_base::BlockHeight, skein_base::crypto::CryptoHash) {
    let info = network
        .validator(index)
        .worker(&chain_id)
        .handle_chain_info_query(skein_core::ChainInfoQuery::new(chain_id))
        .await
        .expect("query");
    (info.next_block_height, info.state_hash)
}

/// Asserts that every validator in `validators` has the same height and state hash for
/// each chain, once the client's background deliveries to slower validators are done
/// (they are given five seconds).
pub async fn assert_validators_agree<S: KeyValueStore>(
    network: &InProcessNetwork<S>,
    validators: &[usize],
    chains: &[ChainId],
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for chain_id in chains {
        loop {
            let reference = state_at(network, validators[0], *chain_id).await;
            let mut disagreement = None;
            for index in &validators[1..] {
                let state = state_at(network, *index, *chain_id).await;
                if state != reference {
                    disagreement = Some((*index, state));
                }
            }
            let Some((index, state)) = disagreement else {
                break;
            };
            if std::time::Instant::now() > deadline {
                panic!(
                    "validator {index} disagrees on chain {chain_id:?}: {state:?} vs {reference:?}"
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// Waits (up to five seconds) until chain `chain_id` reaches `height` at validator `index`.
pub async fn wait_for_height<S: KeyValueStore>(
    network: &InProcessNetwork<S>,
    index: usize,
    chain_id: ChainId,
    height: skein_base::BlockHeight,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while state_at(network, index, chain_id).await.0 < height {
        assert!(
            std::time::Instant::now() < deadline,
            "validator {index} never reached {height:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A transfer of `count` tokens from a chain's balance to another chain's balance.
pub async fn send<S: KeyValueStore>(from: &ChainClient<S>, to: ChainId, count: u128) {
    from.transfer(None, tokens(count), Account::chain(to))
        .await
        .expect("transfer");
}

/// The first block of chain 0, sending `tokens_sent` to chain 1, not yet signed.
pub fn transfer_block(network: &Network, tokens_sent: u128) -> ProposedBlock {
    ProposedBlock {
        chain_id: network.chain_id(0),
        epoch: Epoch::ZERO,
        height: BlockHeight(0),
        timestamp: Timestamp::from_micros(1),
        authenticated_signer: Some(network.owner(0)),
        previous_block_hash: None,
        incoming_bundles: Vec::new(),
        operations: vec![Operation::System(SystemOperation::Transfer {
            owner: None,
            recipient: Account::chain(network.chain_id(1)),
            amount: tokens(tokens_sent),
        })],
    }
}

/// Has `admin`, the admin chain's client, create epoch 1 with `committee`.
pub async fn create_epoch_one(admin: &ChainClient<impl KeyValueStore>, committee: Committee) {
    admin
        .execute_operation(SystemOperation::CreateCommittee {
            epoch: Epoch(1),
            committee,
        })
        .await
        .expect("epoch 1 created");
}

/// The genesis committee with validator `joining` (added to the network) in the place of
/// validator `leaving`.
pub fn replacing(network: &Network, leaving: usize, joining: usize) -> Committee {
    let mut members = network.genesis().committee.validators().clone();
    let removed = members
        .remove(&network.validator_public_key(leaving))
        .expect("the leaving validator is a member");
    members.insert(
        network.validator_public_key(joining),
        ValidatorState {
            network_address: removed.network_address,
            votes: 1,
        },
    );
    Committee::new(members).unwrap()
}

/// The epoch of `chain_id` at validator `index`.
pub async fn chain_epoch_at(network: &Network, index: usize, chain_id: ChainId) -> Epoch {
    network
        .validator(index)
        .worker(&chain_id)
        .handle_chain_info_query(skein_core::ChainInfoQuery::new(chain_id))
        .await
        .expect("query")
        .epoch
}
