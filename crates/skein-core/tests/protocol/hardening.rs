//! What a hung validator, a client killed mid-command and a block validators refuse for
//! good do to a user's chains: none of them may cost a wait, a lost message or a wedged
//! chain.

use std::{sync::Arc, time::Duration};

use skein_base::{Account, TimeDelta};
use skein_chain::ConfirmedBlockCertificate;
use skein_core::{
    tokio_spawner, ChainInfoQuery, Client, ClientConfig, ClientError, CrossChainRequest, Fault,
};
use skein_views::MemoryStore;

use super::common::*;

/// A client that would wait an hour on a validator that does not answer.
async fn patient_client(network: &Network, store: MemoryStore) -> Arc<Client<MemoryStore>> {
    let config = ClientConfig {
        request_timeout: TimeDelta::from_secs(3_600),
        ..ClientConfig::default()
    };
    network
        .client(store, tokio_spawner(), config)
        .await
        .expect("client")
}

/// Runs `step`, failing the test if it takes as long as a wait on the hung validator would.
async fn promptly<T>(what: &str, step: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), step)
        .await
        .unwrap_or_else(|_| panic!("{what} waited on the hung validator"))
}

/// A validator that keeps every request open and never answers (a machine stopped with
/// SIGSTOP) costs nothing: transfers, inbox processing and synchronisation of a fresh
/// client answer with the first quorum, and a client about to exit does not wait for its
/// deliveries to the hung one. The hung validator is the first one asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_hung_validator_costs_nothing() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    network.nodes[0].set_fault(Fault::Slow(TimeDelta::from_secs(3_600)));

    // Each command runs in a client of its own, as each `skein` command does.
    let sender_client = patient_client(&network, MemoryStore::new()).await;
    let sender = network.chain_client(&sender_client, 0);
    promptly("synchronize", sender.synchronize()).await.unwrap();
    promptly(
        "transfer",
        sender.transfer(None, tokens(7), Account::chain(chains[1])),
    )
    .await
    .unwrap();
    promptly(
        "exiting after a transfer",
        sender_client.finish_background_tasks_before_exit(TimeDelta::from_secs(3_600)),
    )
    .await;

    let receiver_client = patient_client(&network, MemoryStore::new()).await;
    let receiver = network.chain_client(&receiver_client, 1);
    promptly("process-inbox", receiver.process_inbox())
        .await
        .unwrap();
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(107));
    promptly(
        "exiting after process-inbox",
        receiver_client.finish_background_tasks_before_exit(TimeDelta::from_secs(3_600)),
    )
    .await;

    // A fresh client learns the chain with the first quorum.
    let reader_client = patient_client(&network, MemoryStore::new()).await;
    let reader = network.chain_client(&reader_client, 1);
    promptly("sync", reader.synchronize()).await.unwrap();
    assert_eq!(reader.chain_balance().await.unwrap(), tokens(107));
    assert_validators_agree(&network, &[1, 2, 3], &chains).await;
}

/// A client killed after its node committed a block and before that node handed the
/// block's messages to the recipient's inbox: after the restart the messages are handed
/// over again, so the recipient's next block consumes every bundle in order instead of
/// skipping one (which validators would refuse for ever after).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_client_killed_before_delivering_its_messages_loses_nothing() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let store = MemoryStore::new();

    // Another process (the same wallet, killed mid-command) made the block; this client's
    // node committed it and was killed before delivering its messages.
    let killed: ConfirmedBlockCertificate = {
        let other = client(&network).await;
        network
            .chain_client(&other, 0)
            .transfer(None, tokens(3), Account::chain(chains[1]))
            .await
            .unwrap()
    };
    {
        let client = patient_client(&network, store.clone()).await;
        let (info, _undelivered) = client
            .local_node()
            .handle_checked_certificate(&killed)
            .await
            .unwrap();
        assert_eq!(info.next_block_height, skein_base::BlockHeight(1));
    }

    // The restarted client sends again and the recipient processes its inbox.
    let client = patient_client(&network, store).await;
    let sender = network.chain_client(&client, 0);
    let receiver = network.chain_client(&client, 1);
    sender
        .transfer(None, tokens(4), Account::chain(chains[1]))
        .await
        .unwrap();
    let blocks = receiver.process_inbox().await.unwrap();
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(107));
    let picked: usize = blocks
        .iter()
        .map(|block| block.value().block.incoming_bundles.len())
        .sum();
    assert_eq!(picked, 2, "both transfers, in order, exactly once");
    assert!(!receiver.has_unfinished_work().await.unwrap());
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
}

/// Bundles handed to a client's node twice (a re-delivery after a restart, or a validator
/// repeating them) enter its inbox once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_bundles_delivered_twice_to_a_client_enter_once() {
    let network = network(4, 1, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let certificate = sender
        .transfer(None, tokens(2), Account::chain(chains[1]))
        .await
        .unwrap();
    let request = CrossChainRequest::UpdateRecipient {
        sender: chains[0],
        recipient: chains[1],
        bundles: certificate
            .value()
            .bundles_for(chains[1], certificate.hash()),
    };
    client
        .local_node()
        .handle_cross_chain_request(request)
        .await
        .unwrap();
    let query = ChainInfoQuery {
        request_pending_bundles: true,
        ..ChainInfoQuery::new(chains[1])
    };
    let info = client
        .local_node()
        .handle_chain_info_query(query)
        .await
        .unwrap();
    assert_eq!(info.requested_pending_bundles.len(), 1);
    let receiver = network.chain_client(&client, 1);
    receiver.process_inbox().await.unwrap();
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(102));
}

/// A signed block that validators weighing a quorum refuse for good (here: their limits
/// are stricter than the client's) does not wedge the chain: the next request abandons it,
/// and once the validators accept blocks again the chain moves on at the same height,
/// without the abandoned transfer ever running, although one validator voted for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_block_refused_for_good_is_abandoned() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    for index in 0..3 {
        network.nodes[index].set_fault(Fault::StricterLimits);
    }
    let error = sender
        .transfer(None, tokens(10), Account::chain(chains[1]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::NoQuorum { .. }),
        "expected NoQuorum, got {error:?}"
    );
    assert!(sender.has_unfinished_work().await.unwrap());

    assert_eq!(sender.retry_signed_block().await.unwrap(), None);
    assert!(
        !sender.has_unfinished_work().await.unwrap(),
        "the refused block is abandoned"
    );

    // The first attempt's proposals may still be on their way; were they to reach the
    // validators after these stop refusing, some would vote for the abandoned block, which a
    // validator whose limits do not change mid-request never does.
    assert!(
        client
            .finish_background_tasks(TimeDelta::from_secs(10))
            .await
    );
    for index in 0..3 {
        network.nodes[index].set_fault(Fault::Honest);
    }
    let certificate = sender
        .transfer(None, tokens(5), Account::chain(chains[1]))
        .await
        .unwrap();
    assert_eq!(
        certificate.value().block.height,
        skein_base::BlockHeight(0),
        "the abandoned height is reused"
    );
    let receiver = network.chain_client(&client, 1);
    receiver.process_inbox().await.unwrap();
    assert_eq!(sender.chain_balance().await.unwrap(), tokens(95));
    assert_eq!(receiver.chain_balance().await.unwrap(), tokens(105));
}

/// Refusals that may pass (validators offline) never abandon a signed block: it completes
/// once they return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_block_refused_for_a_while_is_kept() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    network.nodes[0].set_fault(Fault::Offline);
    network.nodes[1].set_fault(Fault::Offline);
    sender
        .transfer(None, tokens(10), Account::chain(chains[1]))
        .await
        .unwrap_err();
    assert!(sender.retry_signed_block().await.is_err());
    assert!(sender.has_unfinished_work().await.unwrap());
    network.nodes[0].set_fault(Fault::Honest);
    network.nodes[1].set_fault(Fault::Honest);
    let certificate = sender.retry_signed_block().await.unwrap().unwrap();
    assert_eq!(certificate.value().block.height, skein_base::BlockHeight(0));
    assert_eq!(sender.chain_balance().await.unwrap(), tokens(90));
}

/// Sends `count` tracked messages of 900 KB from `sender` to `destination`, one block each,
/// through an application that sends what its operation says.
async fn send_large_messages(
    sender: &skein_core::ChainClient<MemoryStore>,
    destination: skein_base::ChainId,
    count: u8,
) {
    let (contract, service) = super::fuel::heavy(1, 20);
    let (code, _) = sender.publish_bytecode(contract, service).await.unwrap();
    let (app, _) = sender
        .create_application(code, b"null".to_vec(), b"null".to_vec(), Vec::new())
        .await
        .unwrap();
    for byte in 0..count {
        let request = skein_base::SendMessageRequest {
            destination,
            authenticated: false,
            tracked: true,
            message: vec![byte; 900 << 10],
        };
        sender
            .execute_application_operation(app, bcs::to_bytes(&request).unwrap())
            .await
            .unwrap();
    }
}

/// Another chain's large messages cannot wedge a chain: five bundles of 900 KB each are
/// more than one block holds, so the receiver's client spreads them over several blocks
/// (each within the limits validators check) instead of signing one they refuse for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_large_incoming_messages_are_spread_over_blocks() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let receiver = network.chain_client(&client, 1);
    send_large_messages(&sender, receiver.chain_id(), 5).await;
    let blocks = receiver.process_inbox().await.unwrap();
    assert!(blocks.len() >= 2, "{} blocks", blocks.len());
    let bundles: Vec<_> = blocks
        .iter()
        .flat_map(|block| block.value().block.incoming_bundles.iter())
        .collect();
    assert_eq!(bundles.len(), 5, "every bundle, once");
    assert!(bundles
        .iter()
        .all(|bundle| bundle.action == skein_chain::MessageAction::Accept));
    assert!(!receiver.has_unfinished_work().await.unwrap());
}

/// A chain of large blocks can be followed by a fresh wallet: ten blocks of 900 KB are more
/// than one message carries, so validators answer certificates, and the bundles waiting in
/// an inbox, a page at a time (in process, answers meet the wire's limit too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_chain_of_large_blocks_syncs_page_by_page() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let receiver_id = network.chain_id(1);
    send_large_messages(&sender, receiver_id, 10).await;
    let tip = sender.chain_info().await.unwrap().next_block_height;

    let fresh = super::common::client(&network).await;
    let synced = network.chain_client(&fresh, 0).synchronize().await.unwrap();
    assert_eq!(synced.next_block_height, tip, "every block, page by page");

    let other = super::common::client(&network).await;
    let blocks = network
        .chain_client(&other, 1)
        .process_inbox()
        .await
        .unwrap();
    let bundles: usize = blocks
        .iter()
        .map(|block| block.value().block.incoming_bundles.len())
        .sum();
    assert_eq!(bundles, 10, "every bundle, once");
}
