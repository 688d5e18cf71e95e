use skein_base::{
    crypto::SecretKey, Account, AccountOwner, BlockHeight, ChainDescription, OpenChainRequest,
    Round,
};
use skein_chain::{BlockProposal, ChainError, MessageAction, ProposalContent};
use skein_core::{ClientError, NodeError, ValidatorNode};
use skein_execution::{ChainOwnership, Operation, SystemOperation};

use super::common::*;

/// Open a child chain for a new owner, use it, close it: proposals to it are then refused,
/// and transfers to it bounce back to their sender.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_child_chain_lifecycle() {
    let network = network(4, 2, 1).await;
    let root = network.chain_id(0);
    let client = client(&network).await;
    let parent = network.chain_client(&client, 0);
    let child_key = SecretKey::from_test_seed(5);
    let child_owner = AccountOwner::from(child_key.public());
    let (child_id, certificate) = parent
        .open_chain(ChainOwnership::single(child_owner), tokens(30))
        .await
        .unwrap();
    assert_eq!(
        child_id,
        skein_base::ChainId::child(root, certificate.value().block.height, 0)
    );
    assert_eq!(parent.chain_balance().await.unwrap(), tokens(70));

    // Another client, holding only the child's key, finds and uses the chain.
    let other_client = super::common::client(&network).await;
    let child = other_client.chain(child_id, child_key.copy());
    child.synchronize().await.unwrap();
    assert_eq!(child.chain_balance().await.unwrap(), tokens(30));
    send(&child, root, 5).await;
    parent.process_inbox().await.unwrap();
    assert_eq!(parent.chain_balance().await.unwrap(), tokens(75));

    child.close_chain().await.unwrap();
    // The client refuses to build blocks with operations on a closed chain...
    let error = child
        .transfer(None, tokens(1), Account::chain(root))
        .await
        .unwrap_err();
    assert_eq!(error, ClientError::ClosedChain(child_id));
    // ...and so do validators, for a hand-made proposal (once they all have the closing
    // block, which slower ones get in the background).
    let info = child.chain_info().await.unwrap();
    for index in 0..4 {
        wait_for_height(&network, index, child_id, info.next_block_height).await;
    }
    let block = skein_chain::ProposedBlock {
        chain_id: child_id,
        epoch: info.epoch,
        height: info.next_block_height,
        timestamp: info.timestamp,
        authenticated_signer: Some(child_owner),
        previous_block_hash: info.block_hash,
        incoming_bundles: Vec::new(),
        operations: vec![Operation::System(SystemOperation::Transfer {
            owner: None,
            recipient: Account::chain(root),
            amount: tokens(1),
        })],
    };
    let proposal = BlockProposal::new(
        ProposalContent {
            block,
            round: Round::Fast,
        },
        &child_key,
    );
    for node in &network.nodes {
        let error = node
            .handle_block_proposal(proposal.clone())
            .await
            .unwrap_err();
        assert_eq!(error, NodeError::Chain(ChainError::ClosedChain));
    }

    // A transfer to the closed chain is rejected there and comes back.
    send(&parent, child_id, 20).await;
    assert_eq!(parent.chain_balance().await.unwrap(), tokens(55));
    let certificates = child.process_inbox().await.unwrap();
    assert_eq!(
        certificates[0].value().block.incoming_bundles[0].action,
        MessageAction::Reject
    );
    parent.process_inbox().await.unwrap();
    assert_eq!(parent.chain_balance().await.unwrap(), tokens(75));
    assert_eq!(child.chain_balance().await.unwrap(), tokens(25));
    assert_validators_agree(&network, &[0, 1, 2, 3], &[root, child_id]).await;
    assert_eq!(state_at(&network, 0, child_id).await.0, BlockHeight(3));
}

/// Ownership moves to another key: the old key can no longer propose, the new one can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_change_ownership_hands_over_the_chain() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let chain = network.chain_client(&client, 0);
    let new_key = SecretKey::from_test_seed(9);
    chain
        .change_ownership(ChainOwnership::single(AccountOwner::from(new_key.public())))
        .await
        .unwrap();
    let error = chain
        .transfer(None, tokens(1), Account::chain(network.chain_id(1)))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::NotAnOwner { .. }), "{error:?}");
    let successor = client.chain(network.chain_id(0), new_key);
    send(&successor, network.chain_id(1), 1).await;
    assert_eq!(successor.chain_balance().await.unwrap(), tokens(99));
}

/// A contract whose operation opens, twice, the chain its input describes (a BCS
/// `OpenChainRequest`); and a service that answers nothing.
fn chain_opener() -> (Vec<u8>, Vec<u8>) {
    let contract = wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "open_chain" (func $open (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (drop (call $open (local.get $ptr) (local.get $len)))
                (drop (call $open (local.get $ptr) (local.get $len)))
                (call $output (i32.const 0) (i32.const 0))))"#,
    )
    .expect("a valid module");
    let service = wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_handle_query") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0))))"#,
    )
    .expect("a valid module");
    (contract, service)
}

/// An application opens two chains in one operation, funded from its account: each
/// exists on every validator, and its owner uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_an_application_opens_chains() {
    let network = network(4, 2, 1).await;
    let root = network.chain_id(0);
    let client = client(&network).await;
    let parent = network.chain_client(&client, 0);
    let (contract, service) = chain_opener();
    let (code, _) = parent.publish_bytecode(contract, service).await.unwrap();
    let (app, _) = parent
        .create_application(code, b"null".to_vec(), b"null".to_vec(), Vec::new())
        .await
        .unwrap();
    let account = AccountOwner::Application(app);
    parent
        .transfer(None, tokens(10), Account::owner(root, account))
        .await
        .unwrap();
    let key = SecretKey::from_test_seed(9);
    let owner = AccountOwner::from(key.public());
    let request = OpenChainRequest {
        owners: vec![(owner, 1)],
        balance: tokens(3),
    };
    let certificate = parent
        .execute_application_operation(app, bcs::to_bytes(&request).unwrap())
        .await
        .unwrap();
    assert_eq!(parent.owner_balance(account).await.unwrap(), tokens(4));
    let height = certificate.value().block.height;
    let owner_client = super::common::client(&network).await;
    for sequence in 0..2 {
        let chain_id = ChainDescription::Child {
            parent: root,
            height,
            index: 0,
            sequence,
        }
        .id();
        let child = owner_client.chain(chain_id, key.copy());
        child.synchronize().await.unwrap();
        assert_eq!(child.chain_balance().await.unwrap(), tokens(3));
        send(&child, root, 1).await;
    }
    parent.process_inbox().await.unwrap();
    assert_eq!(parent.chain_balance().await.unwrap(), tokens(92));
}
