use skein_base::{Account, TimeDelta};
use skein_chain::ChainError;
use skein_core::{ClientError, CrossChainFaults, Fault, NodeError};

use super::common::*;

/// With one of four validators offline, slow, refusing to vote or voting for another block,
/// every operation still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_one_faulty_validator_does_not_stop_anything() {
    let faults = [
        Fault::Offline,
        Fault::RefuseVotes,
        Fault::VoteForDifferentBlock,
        Fault::ForgedSignature,
        Fault::Slow(TimeDelta::from_millis(300)),
    ];
    for fault in faults {
        let network = network(4, 2, 2).await;
        let chains = [network.chain_id(0), network.chain_id(1)];
        let client = client(&network).await;
        let sender = network.chain_client(&client, 0);
        let receiver = network.chain_client(&client, 1);
        network.nodes[2].set_fault(fault);
        let started = std::time::Instant::now();
        for _ in 0..3 {
            send(&sender, chains[1], 1).await;
        }
        receiver.process_inbox().await.unwrap();
        if let Fault::Slow(_) = fault {
            assert!(
                started.elapsed() < std::time::Duration::from_millis(900),
                "the client does not wait for the slow validator"
            );
        }
        assert_eq!(
            receiver.chain_balance().await.unwrap(),
            tokens(103),
            "{fault:?}"
        );
        assert_validators_agree(&network, &[0, 1, 3], &chains).await;
    }
}

/// With two of four validators offline, the client fails with a clear error; when they
/// return, the signed block completes first and nothing is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_two_offline_validators_fail_clearly_and_lose_nothing() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    send(&sender, chains[1], 1).await;
    network.nodes[0].set_fault(Fault::Offline);
    network.nodes[3].set_fault(Fault::Offline);
    let error = sender
        .transfer(None, tokens(10), Account::chain(chains[1]))
        .await
        .unwrap_err();
    let ClientError::NoQuorum { errors, .. } = &error else {
        panic!("expected NoQuorum, got {error:?}");
    };
    assert_eq!(errors.len(), 2);
    assert!(errors
        .iter()
        .all(|(_, error)| matches!(error, NodeError::Unreachable(_))));
    assert!(
        error.to_string().contains("not enough validators"),
        "{error}"
    );
    assert_eq!(
        state_at(&network, 1, chains[0]).await.0,
        skein_base::BlockHeight(1)
    );

    network.nodes[0].set_fault(Fault::Honest);
    network.nodes[3].set_fault(Fault::Honest);
    // The next operation first completes the signed transfer of 10, then sends 5.
    send(&sender, chains[1], 5).await;
    assert_eq!(
        sender.chain_info().await.unwrap().next_block_height,
        skein_base::BlockHeight(3)
    );
    let receiver = network.chain_client(&client, 1);
    receiver.process_inbox().await.unwrap();
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(116));
    assert_eq!(sender.chain_balance().await.unwrap(), tokens(84));
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
}

/// A validator that was offline while a chain was created, extended and sent messages is
/// brought up to date by the client: the child chain's ancestors, the chain's own blocks
/// and the sender chain's blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_lagging_validator_is_brought_up_to_date() {
    let network = network(4, 2, 2).await;
    let client = client(&network).await;
    let parent = network.chain_client(&client, 0);
    let other = network.chain_client(&client, 1);
    network.nodes[3].set_fault(Fault::Offline);
    let child_key = skein_base::crypto::SecretKey::from_test_seed(77);
    let ownership =
        skein_execution::ChainOwnership::single(skein_base::AccountOwner::from(child_key.public()));
    let (child_id, _) = parent.open_chain(ownership, tokens(10)).await.unwrap();
    let child = client.chain(child_id, child_key);
    send(&child, network.chain_id(1), 1).await;
    send(&other, child_id, 4).await;
    let chains = [network.chain_id(0), network.chain_id(1), child_id];
    assert_eq!(
        state_at(&network, 3, child_id).await.0,
        skein_base::BlockHeight(0)
    );

    // Validators 0 and 1 go offline: blocks now need validator 3, which lacks everything.
    network.nodes[3].set_fault(Fault::Honest);
    network.nodes[0].set_fault(Fault::Offline);
    child.process_inbox().await.unwrap();
    assert_eq!(child.chain_balance().await.unwrap(), tokens(13));
    assert_validators_agree(&network, &[1, 2, 3], &chains).await;
    let (height, _) = state_at(&network, 3, child_id).await;
    assert_eq!(height, skein_base::BlockHeight(2));
}

/// When cross-chain requests are lost inside a validator, a certified block consumes the
/// bundle by anticipation there; once the request is re-sent the two are reconciled and
/// the bundle is not queued again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_consumed_by_anticipation_then_reconciled() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let receiver = network.chain_client(&client, 1);
    let lossy = network.validator(3);
    lossy.set_cross_chain_faults(
        CrossChainFaults {
            drop_one_in: Some(1),
            duplicate_one_in: None,
        },
        1,
    );
    send(&sender, chains[1], 7).await;
    receiver.process_inbox().await.unwrap();
    wait_for_height(&network, 3, chains[1], skein_base::BlockHeight(1)).await;
    // Validator 3 never received the bundle but executed the certified block.
    let info = lossy
        .worker(&chains[1])
        .handle_chain_info_query(skein_core::ChainInfoQuery {
            request_pending_bundles: true,
            ..skein_core::ChainInfoQuery::new(chains[1])
        })
        .await
        .unwrap();
    assert_eq!(info.next_block_height, skein_base::BlockHeight(1));
    assert!(info.requested_pending_bundles.is_empty());
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;

    lossy.set_cross_chain_faults(
        CrossChainFaults {
            drop_one_in: None,
            duplicate_one_in: Some(1),
        },
        2,
    );
    assert!(lossy.retry_pending().await.unwrap() > 0);
    let info = lossy
        .worker(&chains[1])
        .handle_chain_info_query(skein_core::ChainInfoQuery {
            request_pending_bundles: true,
            ..skein_core::ChainInfoQuery::new(chains[1])
        })
        .await
        .unwrap();
    assert!(
        info.requested_pending_bundles.is_empty(),
        "the late bundle is reconciled, not queued"
    );
    assert_eq!(lossy.retry_pending().await.unwrap(), 0, "and acknowledged");
    assert_eq!(total_at(&network, 3, chains[1]).await, tokens(107));
}

/// A proposal whose bundles a validator has not received gets no vote there, with an error
/// saying which sender to synchronise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_missing_cross_chain_update_is_reported() {
    let network = network(4, 1, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    network.nodes[3].set_fault(Fault::Offline);
    send(&sender, chains[1], 1).await;
    network.nodes[3].set_fault(Fault::Honest);
    // Build the receiving block by hand and send it to validator 3 only.
    let receiver = network.chain_client(&client, 1);
    receiver.synchronize().await.unwrap();
    let info = client
        .local_node()
        .handle_chain_info_query(skein_core::ChainInfoQuery {
            request_pending_bundles: true,
            ..skein_core::ChainInfoQuery::new(chains[1])
        })
        .await
        .unwrap();
    let (origin, bundle) = info.requested_pending_bundles[0].clone();
    let block = skein_chain::ProposedBlock {
        chain_id: chains[1],
        epoch: skein_base::Epoch::ZERO,
        height: skein_base::BlockHeight(0),
        timestamp: bundle.timestamp,
        authenticated_signer: None,
        previous_block_hash: None,
        incoming_bundles: vec![skein_chain::IncomingBundle {
            origin,
            bundle,
            action: skein_chain::MessageAction::Accept,
        }],
        operations: Vec::new(),
    };
    let proposal = skein_chain::BlockProposal::new(
        skein_chain::ProposalContent {
            block,
            round: skein_base::Round::Fast,
        },
        &network.owner_keys[1],
    );
    use skein_core::ValidatorNode;
    let error = network.nodes[3]
        .handle_block_proposal(proposal)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        NodeError::Chain(ChainError::MissingCrossChainUpdate {
            chain_id: chains[1],
            origin: chains[0],
            height: skein_base::BlockHeight(0),
        })
    );
}
