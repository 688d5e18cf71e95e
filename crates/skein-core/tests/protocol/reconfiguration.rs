//! Committees by epoch: the admin chain creates and revokes them, and other chains migrate.

use skein_base::{Committee, Epoch};
use skein_chain::ChainError;
use skein_core::{ChainClient, ClientError, NodeError};
use skein_execution::SystemOperation;
use skein_views::KeyValueStore;

use super::common::*;

/// The genesis members with twice the votes: a different committee, signed for by the
/// same keys the network's validators hold.
fn doubled_votes(network: &Network) -> Committee {
    let mut validators = network.genesis().committee.validators().clone();
    for state in validators.values_mut() {
        state.votes *= 2;
    }
    Committee::new(validators).unwrap()
}

async fn epoch_at(
    network: &Network,
    index: usize,
    chain: &ChainClient<impl KeyValueStore>,
) -> Epoch {
    let chain_id = chain.chain_id();
    network
        .validator(index)
        .worker(&chain_id)
        .handle_chain_info_query(skein_core::ChainInfoQuery::new(chain_id))
        .await
        .expect("query")
        .epoch
}

/// Whether every validator that answered refused because the epoch was revoked.
fn refused_as_revoked(error: &ClientError, revoked: Epoch) -> bool {
    match error {
        ClientError::NoQuorum { errors, .. } => {
            !errors.is_empty() && errors.iter().all(|(_, error)| {
                matches!(
                    error,
                    NodeError::Chain(ChainError::RevokedEpoch { epoch, .. }) if *epoch == revoked
                )
            })
        }
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_chains_migrate_to_a_new_committee_and_a_revoked_epoch_certifies_nothing() {
    let network = network(4, 2, 3).await;
    let chains: Vec<_> = (0..3).map(|index| network.chain_id(index)).collect();
    let client = client(&network).await;
    let admin = network.chain_client(&client, 0);
    let early = network.chain_client(&client, 1);
    let late = network.chain_client(&client, 2);
    let supply = supply_at(&network, 0, &chains).await;

    // The admin chain creates epoch 1 and moves to it at once.
    admin
        .execute_operation(SystemOperation::CreateCommittee {
            epoch: Epoch(1),
            committee: doubled_votes(&network),
        })
        .await
        .unwrap();
    assert_eq!(epoch_at(&network, 0, &admin).await, Epoch(1));
    // Its next block is certified by the new committee.
    send(&admin, chains[1], 1).await;

    // One chain migrates while epoch 0 is still live: a block of epoch 1 that starts by
    // migrating, certified by the new committee; then it transfers in epoch 1.
    early
        .execute_operation(SystemOperation::MigrateToEpoch { epoch: Epoch(1) })
        .await
        .unwrap();
    send(&early, chains[2], 2).await;
    for index in 0..4 {
        assert_eq!(epoch_at(&network, index, &early).await, Epoch(1));
    }

    // The other chain stays in epoch 0 and still works there, until the epoch is revoked.
    send(&late, chains[0], 1).await;
    admin
        .execute_operation(SystemOperation::RevokeEpoch { epoch: Epoch::ZERO })
        .await
        .unwrap();
    let before = state_at(&network, 0, chains[2]).await;
    let error = late
        .transfer(None, tokens(1), skein_base::Account::chain(chains[0]))
        .await
        .unwrap_err();
    assert!(refused_as_revoked(&error, Epoch::ZERO), "{error:?}");
    assert_eq!(state_at(&network, 0, chains[2]).await, before);

    // It migrates straight past the revoked epoch, by a block the new committee signs,
    // and receives what was sent to it under both epochs.
    late.execute_operation(SystemOperation::MigrateToEpoch { epoch: Epoch(1) })
        .await
        .unwrap();
    late.process_inbox().await.unwrap();
    admin.process_inbox().await.unwrap();
    early.process_inbox().await.unwrap();
    for index in 0..4 {
        assert_eq!(epoch_at(&network, index, &late).await, Epoch(1));
    }
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
    for index in 0..4 {
        assert_eq!(supply_at(&network, index, &chains).await, supply);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_block_in_an_epoch_it_does_not_migrate_to_is_refused() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let admin = network.chain_client(&client, 0);
    let other = network.chain_client(&client, 1);
    admin
        .execute_operation(SystemOperation::CreateCommittee {
            epoch: Epoch(1),
            committee: doubled_votes(&network),
        })
        .await
        .unwrap();
    // A chain still in epoch 0 proposing a plain block of epoch 1: the epoch is not its
    // own, and the block does not migrate to it.
    let chain_id = other.chain_id();
    let mut block = transfer_block(&network, 1);
    block.chain_id = chain_id;
    block.epoch = Epoch(1);
    block.authenticated_signer = Some(network.owner(1));
    let proposal = skein_chain::BlockProposal::new(
        skein_chain::ProposalContent {
            block,
            round: skein_base::Round::Fast,
        },
        &network.owner_key(1),
    );
    let before = state_at(&network, 0, chain_id).await;
    let error = network
        .validator(0)
        .worker(&chain_id)
        .handle_block_proposal(proposal)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            skein_core::WorkerError::Chain(ChainError::WrongEpoch {
                expected: Epoch::ZERO,
                found: Epoch(1)
            })
        ),
        "{error:?}"
    );
    assert_eq!(state_at(&network, 0, chain_id).await, before);
}
