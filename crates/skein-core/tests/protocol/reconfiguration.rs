//! Committees by epoch: the admin chain creates and revokes them, and other chains migrate.

use skein_base::{Committee, Epoch};
use skein_chain::ChainError;
use skein_execution::SystemOperation;

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

/// Has validator 0 answer a transfer of genesis chain `index`'s first block, in `epoch`,
/// signed by its owner (starting by migrating to `epoch` if `migrating`); returns the
/// refusal and checks that the chain did not change.
async fn refused_first_block(
    network: &Network,
    index: usize,
    epoch: Epoch,
    migrating: bool,
) -> ChainError {
    let chain_id = network.chain_id(index);
    let mut block = transfer_block(network, 1);
    block.chain_id = chain_id;
    block.epoch = epoch;
    if migrating {
        let migrate = SystemOperation::MigrateToEpoch { epoch };
        block
            .operations
            .insert(0, skein_execution::Operation::System(migrate));
    }
    block.authenticated_signer = Some(network.owner(index));
    let content = skein_chain::ProposalContent {
        block,
        round: skein_base::Round::Fast,
    };
    let proposal = skein_chain::BlockProposal::new(content, &network.owner_key(index));
    let before = state_at(network, 0, chain_id).await;
    let error = network
        .validator(0)
        .worker(&chain_id)
        .handle_block_proposal(proposal)
        .await
        .expect_err("refused");
    assert_eq!(state_at(network, 0, chain_id).await, before, "{error}");
    match error {
        skein_core::WorkerError::Chain(error) => error,
        other => panic!("not a chain rule: {other:?}"),
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
    create_epoch_one(&admin, doubled_votes(&network)).await;
    assert_eq!(
        chain_epoch_at(&network, 0, admin.chain_id()).await,
        Epoch(1)
    );
    // Its next block is certified by the new committee.
    send(&admin, chains[1], 1).await;

    // One chain migrates while epoch 0 is still live: in a block of epoch 0, certified by
    // the genesis committee that decides its heights until then; then it transfers in
    // epoch 1.
    let migration = early
        .execute_operation(SystemOperation::MigrateToEpoch { epoch: Epoch(1) })
        .await
        .unwrap();
    assert_eq!(migration.value().block.epoch, Epoch::ZERO);
    send(&early, chains[2], 2).await;
    for index in 0..4 {
        assert_eq!(
            chain_epoch_at(&network, index, early.chain_id()).await,
            Epoch(1)
        );
    }

    // The other chain stays in epoch 0 until it is next used; the epoch is revoked
    // meanwhile.
    let revocation = admin
        .execute_operation(SystemOperation::RevokeEpoch { epoch: Epoch::ZERO })
        .await
        .unwrap();
    // Validator 0 may get the revocation in the background: wait until it has it.
    let after_revocation = revocation.value().block.height.try_add_one().unwrap();
    wait_for_height(&network, 0, chains[0], after_revocation).await;
    assert_eq!(
        chain_epoch_at(&network, 0, late.chain_id()).await,
        Epoch::ZERO
    );
    // (A new block of epoch 0 is refused once the revocation's grace is over:
    // checks.rs, test_a_proposal_of_a_revoked_epoch_is_voted_only_within_the_grace.)

    // Its owner's client proposes to the newest committee it knows: the transfer's block
    // migrates the chain past the revoked epoch first, signed by the new committee, and
    // the chain receives what was sent to it under both epochs.
    send(&late, chains[0], 1).await;
    late.process_inbox().await.unwrap();
    admin.process_inbox().await.unwrap();
    early.process_inbox().await.unwrap();
    for index in 0..4 {
        assert_eq!(
            chain_epoch_at(&network, index, late.chain_id()).await,
            Epoch(1)
        );
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
    create_epoch_one(&admin, doubled_votes(&network)).await;
    // A chain still in epoch 0 proposing a plain block of epoch 1: the epoch is not its
    // own, and the block does not migrate to it.
    assert_eq!(
        refused_first_block(&network, 1, Epoch(1), false).await,
        ChainError::WrongEpoch {
            expected: Epoch::ZERO,
            found: Epoch(1)
        }
    );
    // A block of epoch 1 that migrates there, while epoch 0 lives: the chain's own
    // committee decides its height until its epoch is revoked.
    assert_eq!(
        refused_first_block(&network, 1, Epoch(1), true).await,
        ChainError::EpochStillLive {
            epoch: Epoch::ZERO,
            found: Epoch(1)
        }
    );
}

/// A validator joins, another leaves, and a client that knew only the genesis follows:
/// every chain moves to the new committee as it is next used, transfers keep adding up,
/// and the removed validator can be stopped without anyone noticing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_validator_joins_another_leaves_and_every_chain_still_moves() {
    let mut network = network(4, 2, 4).await;
    let joining = network.add_validator().await;
    let leaving = 3;
    let chains: Vec<_> = (0..4).map(|index| network.chain_id(index)).collect();
    let client = client(&network).await;
    let clients: Vec<_> = (0..4)
        .map(|index| network.chain_client(&client, index))
        .collect();
    let supply = supply_at(&network, 0, &chains).await;
    send(&clients[1], chains[2], 5).await;

    let added = network.validator_public_key(joining);
    create_epoch_one(&clients[0], replacing(&network, leaving, joining)).await;
    clients[0]
        .execute_operation(SystemOperation::RevokeEpoch { epoch: Epoch::ZERO })
        .await
        .unwrap();
    assert_eq!(client.membership().epoch, Epoch(1));
    assert!(client
        .validators()
        .iter()
        .any(|validator| validator.public_key == added));

    // The removed validator stops; every chain still moves, migrating as it goes.
    network.nodes[leaving].set_fault(skein_core::Fault::Offline);
    for (index, chain) in clients.iter().enumerate() {
        let recipient = skein_base::Account::chain(chains[(index + 1) % 4]);
        if let Err(error) = chain.transfer(None, tokens(1), recipient).await {
            panic!("chain {index}: {error:?}");
        }
    }
    for chain in &clients {
        chain.process_inbox().await.unwrap();
    }
    let remaining = [0, 1, 2, joining];
    for index in remaining {
        for chain in &clients {
            assert_eq!(
                chain_epoch_at(&network, index, chain.chain_id()).await,
                Epoch(1)
            );
        }
    }
    assert_validators_agree(&network, &remaining, &chains).await;
    for index in remaining {
        assert_eq!(supply_at(&network, index, &chains).await, supply);
    }

    // A second client, started from the genesis alone, learns the committee from the
    // admin chain once a chain it uses turns out to be ahead of it.
    let newcomer = super::common::client(&network).await;
    assert_eq!(newcomer.membership().epoch, Epoch::ZERO);
    let second = network.chain_client(&newcomer, 2);
    second.synchronize().await.unwrap();
    send(&second, chains[3], 1).await;
    assert_eq!(newcomer.membership().epoch, Epoch(1));
}
