use skein_base::{crypto::SecretKey, Account, BlockHeight, Round};
use skein_chain::{
    BlockProposal, ChainError, ConfirmedBlock, Hashed, LiteVote, ProposalContent, ProposedBlock,
    Vote,
};
use skein_core::{NodeError, ValidatorNode};

use super::common::*;

fn sign(network: &Network, block: ProposedBlock, key: &SecretKey) -> BlockProposal {
    let _ = network;
    BlockProposal::new(
        ProposalContent {
            block,
            round: Round::Fast,
        },
        key,
    )
}

/// Chain 0's owner signs two different first blocks, in the fast round.
fn two_blocks_at_one_height(network: &Network) -> (BlockProposal, BlockProposal) {
    let owner = &network.owner_keys[0];
    (
        sign(network, transfer_block(network, 1), owner),
        sign(network, transfer_block(network, 2), owner),
    )
}

/// An owner who signs two different blocks at one height can never get both certified:
/// each validator votes for at most one of them, and asking again returns the same vote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_two_blocks_at_one_height_never_both_certified() {
    let network = network(4, 1, 2).await;
    let (first, second) = two_blocks_at_one_height(&network);
    let mut first_votes: Vec<LiteVote> = Vec::new();
    let mut second_votes = Vec::new();
    for (index, node) in network.nodes.iter().enumerate() {
        let (mine, theirs) = if index < 2 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let vote = node.handle_block_proposal(mine.clone()).await.unwrap();
        // The same proposal again gets the same vote.
        assert_eq!(
            node.handle_block_proposal(mine.clone()).await.unwrap(),
            vote
        );
        // The other block at this height gets none.
        assert_eq!(
            node.handle_block_proposal(theirs.clone())
                .await
                .unwrap_err(),
            NodeError::Chain(ChainError::AlreadyVotedInRound {
                height: BlockHeight(0),
                round: Round::Fast,
            })
        );
        if index < 2 {
            first_votes.push(vote)
        } else {
            second_votes.push(vote)
        }
    }
    let committee = &network.genesis.committee;
    assert_ne!(first_votes[0].value_hash, second_votes[0].value_hash);
    for votes in [first_votes, second_votes] {
        assert_eq!(votes[0].value_hash, votes[1].value_hash);
        let weight: u64 = votes
            .iter()
            .map(|vote| committee.weight(&vote.validator))
            .sum();
        assert!(
            weight < committee.quorum_threshold(),
            "two votes are no quorum"
        );
    }
    // Votes survive a restart: validators still refuse the other block.
    network.restart_validator(0).await;
    assert!(network.nodes[0]
        .handle_block_proposal(second.clone())
        .await
        .is_err());
}

/// A proposal signed by someone who does not own the chain is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_non_owner_proposal_refused() {
    let network = network(4, 1, 2).await;
    let intruder = SecretKey::from_test_seed(666);
    let before = state_at(&network, 0, network.chain_id(0)).await;
    let mut block = transfer_block(&network, 1);
    block.authenticated_signer = None;
    let proposal = sign(&network, block.clone(), &intruder);
    let error = network.nodes[0]
        .handle_block_proposal(proposal)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NodeError::Chain(ChainError::NotAllowedToPropose { .. })
        ),
        "{error:?}"
    );
    // A forged signature: the owner's key named, someone else's signature.
    let mut forged = sign(&network, block, &network.owner_keys[0]);
    forged.signature = sign(
        &network,
        transfer_block(&network, 9),
        &network.owner_keys[0],
    )
    .signature;
    let error = network.nodes[0]
        .handle_block_proposal(forged)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NodeError::Chain(ChainError::InvalidProposalSignature(_))
        ),
        "{error:?}"
    );
    assert_eq!(state_at(&network, 0, network.chain_id(0)).await, before);
    let info = network.nodes[0]
        .handle_chain_info_query(skein_core::ChainInfoQuery::new(network.chain_id(0)))
        .await
        .unwrap();
    assert_eq!(info.pending_vote, None, "no vote was recorded");
}

/// Uploading a certificate again, to any validator, changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_replayed_certificate_changes_nothing() {
    let network = network(4, 2, 2).await;
    let chains = [network.chain_id(0), network.chain_id(1)];
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let certificate = sender
        .transfer(None, tokens(3), Account::chain(chains[1]))
        .await
        .unwrap();
    let receiver = network.chain_client(&client, 1);
    receiver.process_inbox().await.unwrap();
    assert_validators_agree(&network, &[0, 1, 2, 3], &chains).await;
    let before = [
        state_at(&network, 0, chains[0]).await,
        state_at(&network, 0, chains[1]).await,
    ];
    for _ in 0..3 {
        for node in &network.nodes {
            let info = node
                .handle_certificate(certificate.as_unchecked().clone().into())
                .await
                .unwrap();
            assert_eq!(info.next_block_height, BlockHeight(1));
        }
    }
    network.validator(0).retry_pending().await.unwrap();
    assert_eq!(
        before,
        [
            state_at(&network, 0, chains[0]).await,
            state_at(&network, 0, chains[1]).await
        ]
    );
    assert_eq!(total_at(&network, 0, chains[1]).await, tokens(103));
    assert!(receiver.process_inbox().await.unwrap().is_empty());
}

/// A certificate signed by too few validators, or by outsiders, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_forged_certificates_refused() {
    let network = network(4, 1, 2).await;
    let proposal = sign(
        &network,
        transfer_block(&network, 1),
        &network.owner_keys[0],
    );
    let vote = network.nodes[0]
        .handle_block_proposal(proposal.clone())
        .await
        .unwrap();
    // Any value will do: certificates are checked before their block is executed.
    let value = Hashed::new(ConfirmedBlock {
        block: proposal.content.block,
        outcome: skein_chain::BlockExecutionOutcome {
            messages: Vec::new(),
            state_hash: skein_base::crypto::CryptoHash::of_bytes(b"any"),
        },
    });
    let outsiders: Vec<SecretKey> = (0..3)
        .map(|seed| SecretKey::from_test_seed(9_000 + seed))
        .collect();
    let forged = skein_chain::UncheckedCertificate {
        value: value.clone(),
        round: Round::Fast,
        signatures: outsiders
            .iter()
            .map(|key| {
                let vote = Vote::new(value.clone(), Round::Fast, key);
                (vote.validator, vote.signature)
            })
            .collect(),
    };
    let error = network.nodes[1]
        .handle_certificate(forged.into())
        .await
        .unwrap_err();
    assert!(
        matches!(error, NodeError::Chain(ChainError::Certificate(_))),
        "{error:?}"
    );
    let lonely = skein_chain::UncheckedCertificate {
        value,
        round: Round::Fast,
        signatures: vec![(vote.validator, vote.signature)],
    };
    let error = network.nodes[1]
        .handle_certificate(lonely.into())
        .await
        .unwrap_err();
    assert!(
        matches!(error, NodeError::Chain(ChainError::Certificate(_))),
        "{error:?}"
    );
    assert_eq!(
        state_at(&network, 1, network.chain_id(0)).await.0,
        BlockHeight(0)
    );
}

/// The Byzantine voter of the tests and the simulator signs what an honest validator
/// refuses for a voting rule: a second block at a height and round it voted in already.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_the_byzantine_voter_signs_two_blocks_at_one_height() {
    let network = network(4, 1, 2).await;
    let byzantine = skein_core::ByzantineVoter::new(
        network.validator(0),
        std::sync::Arc::new(network.validator_key(0)),
    );
    let (first, second) = two_blocks_at_one_height(&network);
    let first_vote = byzantine.handle_block_proposal(first).await.unwrap();
    let honest = network.nodes[0]
        .handle_block_proposal(second.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            honest,
            NodeError::Chain(ChainError::AlreadyVotedInRound { .. })
        ),
        "{honest:?}"
    );
    let second_vote = byzantine.handle_block_proposal(second).await.unwrap();
    assert_ne!(first_vote.value_hash, second_vote.value_hash);
    assert_eq!(
        (first_vote.round, second_vote.round),
        (Round::Fast, Round::Fast)
    );
    first_vote.check().unwrap();
    second_vote.check().unwrap();
}
