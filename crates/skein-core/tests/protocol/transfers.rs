use skein_base::{Account, Amount};
use skein_chain::ChainError;
use skein_core::{ClientError, WorkerError};
use skein_execution::ExecutionError;

use super::common::*;

/// Four validators with two shards each; transfers between chains that live on different
/// shards arrive exactly once and conserve the supply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_transfers_between_chains_on_different_shards() {
    let network = network(4, 2, 4).await;
    let chains: Vec<_> = (0..4).map(|index| network.chain_id(index)).collect();
    let validator = network.validator(0);
    let (a, b) = (0..4)
        .flat_map(|a| (0..4).map(move |b| (a, b)))
        .find(|(a, b)| validator.shard_of(&chains[*a]) != validator.shard_of(&chains[*b]))
        .expect("two chains on different shards");
    let client = client(&network).await;
    let sender = network.chain_client(&client, a);
    let receiver = network.chain_client(&client, b);
    let supply = supply_at(&network, 0, &chains).await;

    for _ in 0..3 {
        send(&sender, chains[b], 2).await;
    }
    assert_eq!(sender.chain_balance().await.unwrap(), tokens(94));
    let certificates = receiver.process_inbox().await.unwrap();
    assert_eq!(certificates.len(), 1, "the three bundles fit in one block");
    assert_eq!(certificates[0].value().block.incoming_bundles.len(), 3);
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(106));

    // Nothing is received twice.
    assert!(receiver.process_inbox().await.unwrap().is_empty());
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(106));
    // Validators the client did not wait for get the blocks in the background.
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
    for index in 0..4 {
        assert_eq!(
            total_at(&network, index, chains[b]).await,
            tokens(106),
            "validator {index}"
        );
        assert_eq!(
            supply_at(&network, index, &chains).await,
            supply,
            "validator {index}"
        );
    }
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
}

/// Transfers to an owner's account and back through a claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_transfer_to_owner_account_and_claim_back() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let first = network.chain_client(&client, 0);
    let second = network.chain_client(&client, 1);
    // Chain 0 pays the owner of chain 1 into an account on chain 0 itself.
    let account = Account::owner(network.chain_id(0), second.owner());
    first.transfer(None, tokens(5), account).await.unwrap();
    assert_eq!(
        first.owner_balance(second.owner()).await.unwrap(),
        tokens(5)
    );
    // The owner claims it from their own chain: a withdraw message to chain 0, then a
    // credit back to chain 1.
    second
        .claim(
            network.chain_id(0),
            tokens(3),
            Account::chain(network.chain_id(1)),
        )
        .await
        .unwrap();
    first.process_inbox().await.unwrap();
    second.process_inbox().await.unwrap();
    assert_eq!(
        first.owner_balance(second.owner()).await.unwrap(),
        tokens(2)
    );
    assert_eq!(second.chain_balance().await.unwrap(), tokens(103));
    assert_eq!(first.chain_balance().await.unwrap(), tokens(95));
}

/// A transfer of more than the balance is refused by the client before anything is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_overdraft_refused_before_signing() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let before = state_at(&network, 0, network.chain_id(0)).await;
    let error = sender
        .transfer(None, tokens(101), Account::chain(network.chain_id(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Local(WorkerError::Chain(ChainError::Execution {
                error: ExecutionError::InsufficientBalance { .. },
                ..
            }))
        ),
        "{error:?}"
    );
    assert_eq!(state_at(&network, 0, network.chain_id(0)).await, before);
    // The chain still works.
    send(&sender, network.chain_id(1), 100).await;
    assert_eq!(sender.chain_balance().await.unwrap(), Amount::ZERO);
}

/// A credit that would overflow the recipient's balance is rejected by the recipient and
/// bounces back to the sender: nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_overflowing_credit_bounces_back() {
    let network = skein_core::InProcessNetwork::in_memory(
        skein_core::NetworkConfig {
            validators: 4,
            shards: 1,
            chains: 2,
            balance: Amount::from_attos(u128::MAX / 2 + 2),
        },
        std::sync::Arc::new(skein_core::SystemClock),
    )
    .await;
    let client = client(&network).await;
    let first = network.chain_client(&client, 0);
    let second = network.chain_client(&client, 1);
    let half = Amount::from_attos(u128::MAX / 2);
    first
        .transfer(None, half, Account::chain(network.chain_id(1)))
        .await
        .unwrap();
    let certificates = second.process_inbox().await.unwrap();
    let block = &certificates[0].value().block;
    assert_eq!(
        block.incoming_bundles[0].action,
        skein_chain::MessageAction::Reject
    );
    assert_eq!(
        second.chain_balance().await.unwrap(),
        Amount::from_attos(u128::MAX / 2 + 2)
    );
    first.process_inbox().await.unwrap();
    assert_eq!(
        first.chain_balance().await.unwrap(),
        Amount::from_attos(u128::MAX / 2 + 2)
    );
}
