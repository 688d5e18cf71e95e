//! Chains shared by several owners: conflicting proposals, locks, timeouts, silent leaders
//! and a Byzantine validator, with real clients.

use std::sync::Arc;

use skein_base::{
    crypto::SecretKey, Account, AccountOwner, BlockHeight, ChainId, Round, TimeDelta,
};
use skein_chain::{
    BlockProposal, Hashed, ProposalContent, ProposedBlock, UncheckedCertificate, ValidatedBlock,
    VoteAggregator,
};
use skein_core::{ByzantineVoter, ChainClient, ChainInfoQuery, Client, ValidatorNode};
use skein_execution::{ChainOwnership, Operation, SystemOperation, TimeoutConfig};
use skein_views::MemoryStore;

use super::common::*;

fn second_owner_key() -> SecretKey {
    SecretKey::from_test_seed(7_000)
}

/// Ownership shared by `owners` (weight 1 each) with short rounds.
fn shared_ownership(owners: &[AccountOwner], multi_leader_rounds: u32) -> ChainOwnership {
    ChainOwnership {
        timeout_config: TimeoutConfig {
            base_timeout: TimeDelta::from_millis(300),
            timeout_increment: TimeDelta::from_millis(100),
        },
        ..ChainOwnership::multiple(owners.iter().map(|owner| (*owner, 1)), multi_leader_rounds)
    }
}

/// Opens a chain from genesis chain 0 with `ownership` and 50 tokens; returns its id.
async fn open_shared(network: &Network, ownership: ChainOwnership) -> ChainId {
    let client = client(network).await;
    let parent = network.chain_client(&client, 0);
    parent.synchronize().await.unwrap();
    let (chain_id, _) = parent.open_chain(ownership, tokens(50)).await.unwrap();
    client
        .finish_background_tasks(TimeDelta::from_secs(5))
        .await;
    chain_id
}

/// A client of its own (like a separate wallet) for `chain_id`, signing with `key`.
async fn owner_client(
    network: &Network,
    chain_id: ChainId,
    key: SecretKey,
) -> (Arc<Client<MemoryStore>>, ChainClient<MemoryStore>) {
    let client = client(network).await;
    let chain = client.chain(chain_id, key);
    chain.synchronize().await.unwrap();
    (client, chain)
}

async fn next_height(network: &Network, chain_id: ChainId) -> BlockHeight {
    state_at(network, 0, chain_id).await.0
}

/// A transfer block at the chain's next height, signed by `key` for `round`.
async fn proposal(
    network: &Network,
    chain_id: ChainId,
    key: &SecretKey,
    round: Round,
    amount: u128,
) -> BlockProposal {
    let info = network
        .validator(0)
        .worker(&chain_id)
        .handle_chain_info_query(ChainInfoQuery::new(chain_id))
        .await
        .unwrap();
    let block = ProposedBlock {
        chain_id,
        epoch: info.epoch,
        height: info.next_block_height,
        timestamp: info.timestamp,
        authenticated_signer: Some(AccountOwner::from(key.public())),
        previous_block_hash: info.block_hash,
        incoming_bundles: Vec::new(),
        operations: vec![Operation::System(SystemOperation::Transfer {
            owner: None,
            recipient: Account::chain(network.chain_id(1)),
            amount: tokens(amount),
        })],
    };
    BlockProposal::new(ProposalContent { block, round }, key)
}

/// The block a validator committed at `height`.
async fn block_at(network: &Network, chain_id: ChainId, height: BlockHeight) -> ProposedBlock {
    let certificates = network
        .validator(0)
        .worker(&chain_id)
        .certificates_in_range(chain_id, height, BlockHeight(height.0 + 1))
        .await
        .unwrap();
    certificates[0].value.block.clone()
}

/// Two owners, each in their own client, transfer from the shared chain at the same time:
/// every transfer lands exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_two_owners_transfer_concurrently() {
    let network = network(4, 2, 2).await;
    let second = AccountOwner::from(second_owner_key().public());
    let chain_id = open_shared(&network, shared_ownership(&[network.owner(0), second], 2)).await;
    let (_first_client, first) = owner_client(&network, chain_id, network.owner_key(0)).await;
    let (_second_client, second) = owner_client(&network, chain_id, second_owner_key()).await;

    let run = |chain: ChainClient<MemoryStore>, to: ChainId| async move {
        for _ in 0..8 {
            chain
                .transfer(None, tokens(1), Account::chain(to))
                .await
                .expect("every transfer succeeds");
        }
    };
    let to = network.chain_id(1);
    tokio::join!(run(first, to), run(second, to));

    // Sixteen blocks, each with one transfer: none lost, none twice.
    assert_eq!(
        settled_total(&network, &[0, 1, 2, 3], chain_id).await,
        tokens(34)
    );
    assert_eq!(next_height(&network, chain_id).await, BlockHeight(16));
}

/// Two owners propose different blocks in the same round to different validators: neither
/// gets a quorum. A client then times the round out and gets its own block in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_conflicting_proposals_are_resolved_by_a_timeout() {
    let network = network(4, 1, 2).await;
    let second_key = second_owner_key();
    let second = AccountOwner::from(second_key.public());
    let chain_id = open_shared(&network, shared_ownership(&[network.owner(0), second], 1)).await;
    let height = next_height(&network, chain_id).await;

    let mine = proposal(
        &network,
        chain_id,
        &network.owner_key(0),
        Round::MultiLeader(0),
        1,
    )
    .await;
    let theirs = proposal(&network, chain_id, &second_key, Round::MultiLeader(0), 2).await;
    for index in 0..4 {
        let proposal = if index < 2 { &mine } else { &theirs };
        network
            .validator(index)
            .handle_block_proposal(proposal.clone())
            .await
            .expect("a validate vote");
    }
    // Each validator refuses the other block in this round.
    assert!(network
        .validator(0)
        .handle_block_proposal(theirs.clone())
        .await
        .is_err());

    let (_client, chain) = owner_client(&network, chain_id, second_key).await;
    let certificate = chain
        .transfer(None, tokens(3), Account::chain(network.chain_id(1)))
        .await
        .expect("the client times the round out and proposes again");
    assert!(certificate.round() > Round::MultiLeader(0));
    assert_eq!(certificate.value().block.height, height);
    // Validator 0 may not be in the quorum that confirmed it: wait until it has the block.
    wait_for_height(&network, 0, chain_id, height.try_add_one().unwrap()).await;
    assert_eq!(
        block_at(&network, chain_id, height).await,
        certificate.value().block
    );
    assert_eq!(
        settled_total(&network, &[0, 1, 2, 3], chain_id).await,
        tokens(47)
    );
}

/// A block validated by a quorum is locked: another owner's client confirms it first and
/// puts its own operation in the next block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_locked_block_is_confirmed_before_another() {
    let network = network(4, 1, 2).await;
    let second_key = second_owner_key();
    let second = AccountOwner::from(second_key.public());
    let chain_id = open_shared(&network, shared_ownership(&[network.owner(0), second], 1)).await;
    let height = next_height(&network, chain_id).await;

    // Owner 0's block gets validate votes from everyone, but only validator 0 sees the
    // validated certificate before owner 0 goes away.
    let round = Round::MultiLeader(0);
    let mine = proposal(&network, chain_id, &network.owner_key(0), round, 5).await;
    let staged = network
        .validator(0)
        .worker(&chain_id)
        .stage_block(mine.content.block.clone())
        .await
        .unwrap();
    let value = Hashed::new(staged.to_validated());
    let committee = network.genesis().committee.clone();
    let mut aggregator = VoteAggregator::new(value.clone(), round, &committee);
    let mut validated: Option<UncheckedCertificate<ValidatedBlock>> = None;
    for index in 0..4 {
        let vote = network
            .validator(index)
            .handle_block_proposal(mine.clone())
            .await
            .unwrap();
        if let Some(certificate) = aggregator.add_vote(vote).unwrap() {
            validated.get_or_insert(certificate);
        }
    }
    let validated = validated.expect("a quorum validated the block");
    network
        .validator(0)
        .handle_certificate(validated.into())
        .await
        .unwrap();

    let (_client, chain) = owner_client(&network, chain_id, second_key).await;
    let certificate = chain
        .transfer(None, tokens(3), Account::chain(network.chain_id(1)))
        .await
        .unwrap();
    // The locked block took the height; the second owner's transfer the next one.
    assert_eq!(
        block_at(&network, chain_id, height).await,
        mine.content.block
    );
    assert_eq!(certificate.value().block.height, BlockHeight(height.0 + 1));
    assert_eq!(
        settled_total(&network, &[0, 1, 2, 3], chain_id).await,
        tokens(42)
    );
}

/// With single-leader rounds only, an owner who never shows up leads some rounds; the
/// other owner's client times those out until it leads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_silent_leader_is_timed_out() {
    let network = network(4, 1, 2).await;
    let second_key = second_owner_key();
    let silent = AccountOwner::from(SecretKey::from_test_seed(7_001).public());
    let chain_id = open_shared(
        &network,
        shared_ownership(&[silent, AccountOwner::from(second_key.public())], 0),
    )
    .await;
    let (_client, chain) = owner_client(&network, chain_id, second_key).await;
    for _ in 0..3 {
        let certificate = chain
            .transfer(None, tokens(1), Account::chain(network.chain_id(1)))
            .await
            .expect("the client waits out the silent leader's rounds");
        assert!(matches!(certificate.round(), Round::SingleLeader(_)));
    }
    assert_eq!(
        settled_total(&network, &[0, 1, 2, 3], chain_id).await,
        tokens(47)
    );
}

/// One Byzantine validator of four votes for anything; two owners competing still get
/// every transfer in exactly once, and honest validators agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_byzantine_validator_cannot_break_a_shared_chain() {
    let network = network(4, 1, 2).await;
    network.nodes[3].replace_inner(Arc::new(ByzantineVoter::new(
        network.validator(3),
        Arc::new(network.validator_key(3)),
    )));
    let second_key = second_owner_key();
    let second = AccountOwner::from(second_key.public());
    let chain_id = open_shared(&network, shared_ownership(&[network.owner(0), second], 1)).await;
    let (_first_client, first) = owner_client(&network, chain_id, network.owner_key(0)).await;
    let (_second_client, second) = owner_client(&network, chain_id, second_key).await;
    let run = |chain: ChainClient<MemoryStore>, to: ChainId| async move {
        for _ in 0..5 {
            chain
                .transfer(None, tokens(1), Account::chain(to))
                .await
                .expect("every transfer succeeds");
        }
    };
    let to = network.chain_id(1);
    tokio::join!(run(first, to), run(second, to));
    assert_eq!(
        settled_total(&network, &[0, 1, 2, 3], chain_id).await,
        tokens(40)
    );
    assert_eq!(next_height(&network, chain_id).await, BlockHeight(10));
}

/// Someone who is not an owner cannot propose; nor can anyone on a public chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_only_owners_propose_and_public_chains_refuse_users() {
    let network = network(4, 1, 2).await;
    let chain_id = open_shared(&network, shared_ownership(&[network.owner(0)], 1)).await;
    let (_client, stranger) =
        owner_client(&network, chain_id, SecretKey::from_test_seed(7_002)).await;
    assert!(matches!(
        stranger
            .transfer(None, tokens(1), Account::chain(network.chain_id(1)))
            .await,
        Err(skein_core::ClientError::NotAnOwner { .. })
    ));
    let public = open_shared(&network, ChainOwnership::public()).await;
    let (_client, user) = owner_client(&network, public, network.owner_key(0)).await;
    assert!(matches!(
        user.transfer(None, tokens(1), Account::chain(network.chain_id(1)))
            .await,
        Err(skein_core::ClientError::PublicChain(_))
    ));
    // A proposal signed anyway is refused by the validators.
    let forced = proposal(
        &network,
        public,
        &network.owner_key(0),
        Round::Validator(0),
        1,
    )
    .await;
    assert!(network
        .validator(0)
        .handle_block_proposal(forced)
        .await
        .is_err());
}

/// A transfer that found too few validators stays pending; the next request on the chain
/// completes it first, so it lands exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_pending_operations_are_completed_by_the_next_request() {
    let network = network(4, 1, 2).await;
    let second_key = second_owner_key();
    let second = AccountOwner::from(second_key.public());
    let chain_id = open_shared(&network, shared_ownership(&[network.owner(0), second], 1)).await;
    let (client, chain) = owner_client(&network, chain_id, second_key).await;
    let height = next_height(&network, chain_id).await;

    network.nodes[0].set_fault(skein_core::Fault::Offline);
    network.nodes[3].set_fault(skein_core::Fault::Offline);
    let to = Account::chain(network.chain_id(1));
    assert!(matches!(
        chain.transfer(None, tokens(2), to).await,
        Err(skein_core::ClientError::NoQuorum { .. })
    ));
    network.nodes[0].set_fault(skein_core::Fault::Honest);
    network.nodes[3].set_fault(skein_core::Fault::Honest);

    let certificate = chain.transfer(None, tokens(3), to).await.unwrap();
    assert_eq!(certificate.value().block.height, BlockHeight(height.0 + 1));
    let first = block_at(&network, chain_id, height).await;
    assert_eq!(
        first.operations,
        vec![Operation::System(SystemOperation::Transfer {
            owner: None,
            recipient: to,
            amount: tokens(2),
        })]
    );
    // Validator 0 was offline: it gets the blocks in the background, after the quorum.
    assert!(
        client
            .finish_background_tasks(skein_base::TimeDelta::from_secs(10))
            .await
    );
    assert_eq!(total_at(&network, 0, chain_id).await, tokens(45));
    // Nothing is left to complete: processing the inbox runs no operation again.
    let certificates = chain.process_inbox().await.unwrap();
    assert!(certificates
        .iter()
        .all(|certificate| certificate.value().block.operations.is_empty()));
    assert_eq!(total_at(&network, 0, chain_id).await, tokens(45));
}
