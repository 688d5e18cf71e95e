//! Public chains: validators take turns proposing blocks that receive users' messages; a
//! silent validator's turns pass to the next by timeouts; nobody runs operations there.

use std::sync::Arc;

use skein_base::{Account, BlockHeight, ChainId, Round, TimeDelta, ValidatorPublicKey};
use skein_chain::{
    round_leader, BlockProposal, ChainError, ConfirmedBlock, Leader, ProposalContent,
    ProposedBlock, UncheckedCertificate,
};
use skein_core::{
    tokio_spawner, ChainInfoQuery, NodeError, ProposerConfig, PublicChainProposer, ValidatorNode,
};
use skein_execution::{ChainOwnership, Operation, SystemOperation, TimeoutConfig};
use skein_views::MemoryStore;

use super::common::*;

/// A public chain with short rounds.
fn public_ownership() -> ChainOwnership {
    ChainOwnership {
        timeout_config: TimeoutConfig {
            base_timeout: TimeDelta::from_millis(300),
            timeout_increment: TimeDelta::from_millis(100),
        },
        ..ChainOwnership::public()
    }
}

/// Opens a public chain from genesis chain 0 with one token.
async fn open_public(network: &Network) -> ChainId {
    let client = client(network).await;
    let parent = network.chain_client(&client, 0);
    let (chain_id, _) = parent
        .open_chain(public_ownership(), tokens(1))
        .await
        .unwrap();
    client
        .finish_background_tasks(TimeDelta::from_secs(5))
        .await;
    chain_id
}

/// Runs the proposers of validators `indices`.
async fn start_proposers(
    network: &Network,
    indices: &[usize],
) -> Vec<Arc<PublicChainProposer<MemoryStore>>> {
    let config = ProposerConfig {
        recheck_interval: TimeDelta::from_millis(500),
        retry_delay: TimeDelta::from_millis(50),
    };
    let mut proposers = Vec::new();
    for &index in indices {
        let proposer = network
            .proposer(index, MemoryStore::new(), tokio_spawner(), config)
            .await
            .unwrap();
        tokio::spawn(proposer.clone().run(network.validator(index).subscribe()));
        proposers.push(proposer);
    }
    proposers
}

/// The index of the validator that leads the first round at height 0 of `public`.
fn first_leader(network: &Network, public: ChainId) -> usize {
    leader_at(network, public, BlockHeight(0))
}

/// The index of the genesis validator that leads the first round at `height` of `public`.
fn leader_at(network: &Network, public: ChainId, height: BlockHeight) -> usize {
    let committee = &network.genesis().committee;
    let Some(Leader::Validator(leader)) = round_leader(
        public,
        height,
        Round::Validator(0),
        &public_ownership(),
        committee,
    ) else {
        panic!("public chains have a validator leader")
    };
    (0..4)
        .find(|&index| ValidatorPublicKey::from(&network.validator_key(index).public()) == leader)
        .expect("the leader is a validator of the network")
}

/// Waits (up to twenty seconds) until `chain_id` holds `amount` at every genesis validator.
async fn wait_for_total(network: &Network, chain_id: ChainId, amount: skein_base::Amount) {
    wait_for_total_at(network, &[0, 1, 2, 3], chain_id, amount).await
}

/// Waits (up to twenty seconds) until `chain_id` holds `amount` at validators `indices`.
async fn wait_for_total_at(
    network: &Network,
    indices: &[usize],
    chain_id: ChainId,
    amount: skein_base::Amount,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for &index in indices {
        while total_at(network, index, chain_id).await != amount {
            assert!(
                std::time::Instant::now() < deadline,
                "validator {index} holds {} on the public chain, not {amount}",
                total_at(network, index, chain_id).await
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn certificates(
    network: &Network,
    chain_id: ChainId,
) -> Vec<UncheckedCertificate<ConfirmedBlock>> {
    certificates_at(network, 0, chain_id).await
}

/// The certificates of `chain_id` at validator `index`.
async fn certificates_at(
    network: &Network,
    index: usize,
    chain_id: ChainId,
) -> Vec<UncheckedCertificate<ConfirmedBlock>> {
    let (height, _) = state_at(network, index, chain_id).await;
    network
        .validator(index)
        .worker(&chain_id)
        .certificates_in_range(chain_id, BlockHeight(0), height)
        .await
        .unwrap()
}

/// Users on two chains send tokens to a public chain; the validators' proposers receive
/// every transfer exactly once, in blocks of validator rounds that name no signer and run
/// no operations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_validators_take_turns_receiving_messages_on_a_public_chain() {
    let network = network(4, 2, 2).await;
    let public = open_public(&network).await;
    let _proposers = start_proposers(&network, &[0, 1, 2, 3]).await;
    let client = client(&network).await;
    let senders = [
        network.chain_client(&client, 0),
        network.chain_client(&client, 1),
    ];
    for sender in &senders {
        sender.synchronize().await.unwrap();
    }
    for round in 0..6 {
        for sender in &senders {
            send(sender, public, 1).await;
        }
        if round % 2 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    wait_for_total(&network, public, tokens(13)).await;
    assert_validators_agree(&network, &[0, 1, 2, 3], &[public]).await;

    let certificates = certificates(&network, public).await;
    assert!(
        certificates.len() >= 2,
        "the transfers came in several blocks"
    );
    let mut received = 0;
    for certificate in &certificates {
        let block = &certificate.value.block;
        assert!(matches!(certificate.round, Round::Validator(_)));
        assert_eq!(block.authenticated_signer, None);
        assert!(block.operations.is_empty());
        received += block.incoming_bundles.len();
    }
    // The opening message, then twelve transfers.
    assert_eq!(received, 13);
    // Nothing waits any more.
    let info = network
        .validator(0)
        .worker(&public)
        .handle_chain_info_query(ChainInfoQuery {
            request_pending_bundles: true,
            ..ChainInfoQuery::new(public)
        })
        .await
        .unwrap();
    assert!(info.requested_pending_bundles.is_empty());
}

/// The validator drawn to lead the first round never proposes: the others time its round
/// out and the next leader receives the messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_silent_validators_turn_passes_on_by_timeout() {
    let network = network(4, 2, 2).await;
    let public = open_public(&network).await;
    let silent = first_leader(&network, public);
    let others: Vec<usize> = (0..4).filter(|&index| index != silent).collect();
    let _proposers = start_proposers(&network, &others).await;

    wait_for_total(&network, public, tokens(1)).await;
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    sender.synchronize().await.unwrap();
    send(&sender, public, 5).await;
    wait_for_total(&network, public, tokens(6)).await;

    let certificates = certificates(&network, public).await;
    assert!(
        certificates[0].round > Round::Validator(0),
        "the first block was made after the silent leader's round: {:?}",
        certificates[0].round
    );
    assert_validators_agree(&network, &[0, 1, 2, 3], &[public]).await;
}

/// Even the round's leader cannot run operations on a public chain: its proposal is
/// refused and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_validator_cannot_run_operations_on_a_public_chain() {
    let network = network(4, 1, 2).await;
    let public = open_public(&network).await;
    let leader = first_leader(&network, public);
    let info = network
        .validator(0)
        .worker(&public)
        .handle_chain_info_query(ChainInfoQuery::new(public))
        .await
        .unwrap();
    let block = ProposedBlock {
        chain_id: public,
        epoch: info.epoch,
        height: info.next_block_height,
        timestamp: info.timestamp,
        authenticated_signer: None,
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
            round: Round::Validator(0),
        },
        &network.validator_key(leader),
    );
    let before = state_at(&network, 0, public).await;
    let refused = network.validator(0).handle_block_proposal(proposal).await;
    assert!(
        matches!(
            refused,
            Err(NodeError::Chain(ChainError::OperationsOnPublicChain {
                count: 1
            }))
        ),
        "{refused:?}"
    );
    assert_eq!(state_at(&network, 0, public).await, before);
}

/// Messages that waited on a chain before it became public are received by the
/// validators once it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_messages_waiting_when_a_chain_becomes_public_are_received() {
    let network = network(4, 2, 2).await;
    let _proposers = start_proposers(&network, &[0, 1, 2, 3]).await;
    let client = client(&network).await;
    let owner = network.chain_client(&client, 0);
    let (chain_id, _) = owner
        .open_chain(
            skein_execution::ChainOwnership::single(network.owner(0)),
            tokens(1),
        )
        .await
        .unwrap();
    let chain = client.chain(chain_id, network.owner_key(0));
    chain.process_inbox().await.unwrap();
    let sender = network.chain_client(&client, 1);
    send(&sender, chain_id, 2).await;
    send(&sender, chain_id, 3).await;
    // The owner hands the chain to the validators without receiving the transfers.
    chain.change_ownership(public_ownership()).await.unwrap();
    wait_for_total(&network, chain_id, tokens(6)).await;
    assert_validators_agree(&network, &[0, 1, 2, 3], &[chain_id]).await;
}

/// A fifth validator joins while epoch 0 stays live: the public chain migrates in a block
/// of its own epoch, certified by the genesis committee that decides its heights until
/// then, and keeps receiving in epoch 1, where the newcomer takes turns too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_public_chain_migrates_in_its_own_epoch_while_it_lives() {
    let mut network = network(4, 2, 2).await;
    let joining = network.add_validator().await;
    let everyone = [0, 1, 2, 3, joining];
    let _proposers = start_proposers(&network, &everyone).await;
    let public = open_public(&network).await;
    for index in 0..4 {
        wait_for_height(&network, index, public, BlockHeight(1)).await;
    }
    let client = client(&network).await;
    let admin = network.chain_client(&client, 0);
    admin.synchronize().await.unwrap();
    let mut members = network.genesis().committee.validators().clone();
    members.insert(
        network.validator_public_key(joining),
        skein_base::ValidatorState {
            network_address: String::new(),
            votes: 1,
        },
    );
    create_epoch_one(&admin, skein_base::Committee::new(members).unwrap()).await;

    let sender = network.chain_client(&client, 1);
    send(&sender, public, 2).await;
    wait_for_total_at(&network, &[0, 1, 2, 3], public, tokens(3)).await;
    send(&sender, public, 3).await;
    wait_for_total_at(&network, &everyone, public, tokens(6)).await;
    for index in everyone {
        assert_eq!(
            chain_epoch_at(&network, index, public).await,
            skein_base::Epoch(1)
        );
    }
    assert_validators_agree(&network, &everyone, &[public]).await;

    let certificates = certificates_at(&network, joining, public).await;
    let migration = certificates
        .iter()
        .position(|certificate| {
            certificate.value.block.operations.first()
                == Some(&Operation::System(SystemOperation::MigrateToEpoch {
                    epoch: skein_base::Epoch(1),
                }))
        })
        .expect("a block migrates the chain");
    let block = &certificates[migration].value.block;
    assert_eq!(
        block.epoch,
        skein_base::Epoch::ZERO,
        "migrates in its own epoch"
    );
    assert_eq!(block.authenticated_signer, None);
    assert!(certificates[..migration]
        .iter()
        .all(|certificate| certificate.value.block.epoch == skein_base::Epoch::ZERO));
    assert!(certificates[migration + 1..]
        .iter()
        .all(|certificate| certificate.value.block.epoch == skein_base::Epoch(1)));
}

/// A fifth validator joins, one leaves and stops, and epoch 0 is revoked: the public chain,
/// still in epoch 0, can no longer be decided by its committee, so the new one decides its
/// next height — draws the leader, times rounds out — and certifies the block that migrates
/// it as it receives. The departed validator is needed for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_public_chain_whose_epoch_was_revoked_migrates_in_the_new_one() {
    let mut network = network(4, 2, 2).await;
    let joining = network.add_validator().await;
    let _proposers = start_proposers(&network, &[0, 1, 2, 3, joining]).await;
    let public = open_public(&network).await;
    // The opening message is received at height 0, in epoch 0.
    for index in 0..4 {
        wait_for_height(&network, index, public, BlockHeight(1)).await;
    }
    let leaving = leader_at(&network, public, BlockHeight(1));
    let remaining: Vec<usize> = [0, 1, 2, 3, joining]
        .into_iter()
        .filter(|&index| index != leaving)
        .collect();

    let client = client(&network).await;
    let admin = network.chain_client(&client, 0);
    admin.synchronize().await.unwrap();
    create_epoch_one(&admin, replacing(&network, leaving, joining)).await;
    admin
        .execute_operation(SystemOperation::RevokeEpoch {
            epoch: skein_base::Epoch::ZERO,
        })
        .await
        .unwrap();
    network.nodes[leaving].set_fault(skein_core::Fault::Offline);

    let sender = network.chain_client(&client, 1);
    send(&sender, public, 2).await;
    wait_for_total_at(&network, &remaining, public, tokens(3)).await;
    send(&sender, public, 3).await;
    wait_for_total_at(&network, &remaining, public, tokens(6)).await;
    for &index in &remaining {
        assert_eq!(
            chain_epoch_at(&network, index, public).await,
            skein_base::Epoch(1)
        );
    }
    assert_validators_agree(&network, &remaining, &[public]).await;

    let certificates = certificates_at(&network, remaining[0], public).await;
    assert_eq!(certificates[0].value.block.epoch, skein_base::Epoch::ZERO);
    let block = &certificates[1].value.block;
    assert_eq!(block.epoch, skein_base::Epoch(1));
    assert_eq!(block.authenticated_signer, None);
    assert_eq!(
        block.operations,
        vec![Operation::System(SystemOperation::MigrateToEpoch {
            epoch: skein_base::Epoch(1)
        })]
    );
}
