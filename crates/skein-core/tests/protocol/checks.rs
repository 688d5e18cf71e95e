//! One test per rule of `skein_chain::check_certificate` and `check_cross_chain_update`:
//! each sends a validator what one rule refuses, and checks the refusal names that rule and
//! that the chain is exactly as it was (height, state hash, votes, inbox).

use skein_base::{
    crypto::{CryptoHash, SecretKey},
    limits, BlockHeight, ChainId, Epoch, Round, Timestamp,
};
use skein_chain::{
    AnyCertificate, BlockExecutionOutcome, CertificateError, CertificateValue, ChainError,
    ConfirmedBlock, Cursor, Hashed, MessageBundle, ProposedBlock, UncheckedCertificate,
    ValidatedBlock, Vote,
};
use skein_core::{ChainInfo, ChainInfoQuery, CrossChainRequest, NodeError, ValidatorNode};

use super::common::*;

/// A transfer block at `height` of chain 0, extending `previous`.
fn block(network: &Network, height: u64, previous: Option<CryptoHash>) -> ProposedBlock {
    ProposedBlock {
        height: BlockHeight(height),
        previous_block_hash: previous,
        ..transfer_block(network, 1)
    }
}

/// Certificates are checked before their block is executed: any outcome will do.
fn confirmed(block: ProposedBlock) -> ConfirmedBlock {
    ConfirmedBlock {
        block,
        outcome: BlockExecutionOutcome {
            messages: Vec::new(),
            state_hash: CryptoHash::of_bytes(b"any"),
        },
    }
}

/// `value` signed in `round` by `signers`.
fn certify<V: CertificateValue>(
    value: V,
    round: Round,
    signers: &[SecretKey],
) -> UncheckedCertificate<V> {
    let value = Hashed::new(value);
    UncheckedCertificate {
        value: value.clone(),
        round,
        signatures: signers
            .iter()
            .map(|key| {
                let vote = Vote::new(value.clone(), round, key);
                (vote.validator, vote.signature)
            })
            .collect(),
    }
}

/// A quorum of the four validators: three of them.
fn quorum(network: &Network) -> Vec<SecretKey> {
    (0..3).map(|index| network.validator_key(index)).collect()
}

/// Everything validator 0 says of `chain_id`, with its inbox.
async fn info(network: &Network, chain_id: ChainId) -> ChainInfo {
    let query = ChainInfoQuery {
        request_pending_bundles: true,
        ..ChainInfoQuery::new(chain_id)
    };
    network.nodes[0]
        .handle_chain_info_query(query)
        .await
        .expect("query")
}

/// Sends `certificate` to validator 0 and returns its refusal, asserting that chain 0 did
/// not change.
async fn refusal(network: &Network, certificate: impl Into<AnyCertificate>) -> ChainError {
    let chain_id = network.chain_id(0);
    let before = info(network, chain_id).await;
    let error = network.nodes[0]
        .handle_certificate(certificate.into())
        .await
        .expect_err("refused");
    assert_eq!(info(network, chain_id).await, before, "refused: {error}");
    match error {
        NodeError::Chain(error) => error,
        other => panic!("not a chain rule: {other:?}"),
    }
}

/// Rule 1: a certificate for a height certified already is answered with the chain's state
/// and changes nothing, whoever signed it (here: no one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_for_a_past_height_changes_nothing() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    send(&network.chain_client(&client, 0), network.chain_id(1), 2).await;
    let chain_id = network.chain_id(0);
    wait_for_height(&network, 0, chain_id, BlockHeight(1)).await;
    let before = info(&network, chain_id).await;
    assert_eq!(before.next_block_height, BlockHeight(1));

    let other = certify(confirmed(block(&network, 0, None)), Round::Fast, &[]);
    let answer = network.nodes[0]
        .handle_certificate(other.into())
        .await
        .expect("answered with the chain's state");
    assert_eq!(answer.next_block_height, BlockHeight(1));
    assert_eq!(answer.state_hash, before.state_hash);
    assert_eq!(info(&network, chain_id).await, before);
}

/// Rule 2: a chain this validator does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_for_an_unknown_chain_is_refused() {
    let network = network(4, 1, 2).await;
    let mut unknown = block(&network, 0, None);
    unknown.chain_id = ChainId(CryptoHash::of_bytes(b"no such chain"));
    let certificate = certify(confirmed(unknown.clone()), Round::Fast, &quorum(&network));
    let error = network.nodes[0]
        .handle_certificate(certificate.into())
        .await
        .expect_err("refused");
    assert_eq!(
        error,
        NodeError::Chain(ChainError::InactiveChain(unknown.chain_id))
    );
    let after = info(&network, unknown.chain_id).await;
    assert_eq!(after.description, None);
    assert_eq!(after.next_block_height, BlockHeight(0));
}

/// Rule 3: a later height waits for the blocks before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_past_a_gap_is_refused() {
    let network = network(4, 1, 2).await;
    let later = certify(
        confirmed(block(&network, 1, Some(CryptoHash::of_bytes(b"tip")))),
        Round::Fast,
        &quorum(&network),
    );
    assert_eq!(
        refusal(&network, later).await,
        ChainError::MissingEarlierBlocks {
            chain_id: network.chain_id(0),
            next_block_height: BlockHeight(0),
        }
    );
}

/// Rule 4: validating is the first phase of a two-phase round; the fast round has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_validated_certificate_of_the_fast_round_is_refused() {
    let network = network(4, 1, 2).await;
    let validated = ValidatedBlock {
        block: block(&network, 0, None),
        outcome: confirmed(block(&network, 0, None)).outcome,
    };
    let certificate = certify(validated, Round::Fast, &quorum(&network));
    assert_eq!(
        refusal(&network, certificate).await,
        ChainError::ValidatedInFastRound { round: Round::Fast }
    );
}

/// Rule 3: a block that does not extend the chain's latest block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_on_another_parent_is_refused() {
    let network = network(4, 1, 2).await;
    let elsewhere = Some(CryptoHash::of_bytes(b"another parent"));
    let certificate = certify(
        confirmed(block(&network, 0, elsewhere)),
        Round::Fast,
        &quorum(&network),
    );
    assert_eq!(
        refusal(&network, certificate).await,
        ChainError::WrongPreviousHash {
            expected: None,
            found: elsewhere,
        }
    );
}

/// Rule 5: an epoch whose committee the chain does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_of_an_unknown_epoch_is_refused() {
    let network = network(4, 1, 2).await;
    let mut future = block(&network, 0, None);
    future.epoch = Epoch(7);
    let certificate = certify(confirmed(future), Round::Fast, &quorum(&network));
    assert_eq!(
        refusal(&network, certificate).await,
        ChainError::UnknownEpoch(Epoch(7))
    );
}

/// Rule 6: signers outside the committee, or too few of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_without_a_quorum_of_members_is_refused() {
    let network = network(4, 1, 2).await;
    let value = confirmed(block(&network, 0, None));
    let with_outsider = certify(
        value.clone(),
        Round::Fast,
        &[network.validator_key(0), SecretKey::from_test_seed(9_001)],
    );
    assert!(matches!(
        refusal(&network, with_outsider).await,
        ChainError::Certificate(CertificateError::NotMember(_))
    ));
    let too_few = certify(value, Round::Fast, &quorum(&network)[..2]);
    assert!(matches!(
        refusal(&network, too_few).await,
        ChainError::Certificate(CertificateError::InsufficientWeight { .. })
    ));
}

/// A bundle of chain 1 at `height`, transaction `index`, with no messages.
fn bundle(height: u64, index: u32) -> MessageBundle {
    MessageBundle {
        height: BlockHeight(height),
        timestamp: Timestamp::from_micros(1),
        block_hash: CryptoHash::of_bytes(b"a block of chain 1"),
        transaction_index: index,
        messages: Vec::new(),
    }
}

/// Delivers an update from chain 1 to chain 0 at validator 0 and returns its refusal,
/// asserting that chain 0 (with its inbox) did not change.
async fn update_refusal(network: &Network, bundles: Vec<MessageBundle>) -> ChainError {
    let (sender, recipient) = (network.chain_id(1), network.chain_id(0));
    let before = info(network, recipient).await;
    let error = network
        .validator(0)
        .worker(&recipient)
        .handle_cross_chain_request(CrossChainRequest::UpdateRecipient {
            sender,
            recipient,
            bundles,
        })
        .await
        .expect_err("refused");
    assert_eq!(info(network, recipient).await, before, "refused: {error}");
    match error {
        skein_core::WorkerError::Chain(error) => error,
        other => panic!("not a chain rule: {other:?}"),
    }
}

/// Cross-chain rule 1: an update without bundles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_an_empty_cross_chain_update_is_refused() {
    let network = network(4, 1, 2).await;
    assert_eq!(
        update_refusal(&network, Vec::new()).await,
        ChainError::EmptyCrossChainUpdate {
            origin: network.chain_id(1)
        }
    );
}

/// Cross-chain rule 2: more bundles than any honest update carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_an_oversized_cross_chain_update_is_refused() {
    let network = network(4, 1, 2).await;
    let count = limits::BUNDLES_PER_CROSS_CHAIN_UPDATE_MAX + 1;
    let bundles = (0..).take(count).map(|index| bundle(0, index)).collect();
    assert_eq!(
        update_refusal(&network, bundles).await,
        ChainError::TooManyBundlesInUpdate {
            origin: network.chain_id(1),
            count,
            limit: limits::BUNDLES_PER_CROSS_CHAIN_UPDATE_MAX,
        }
    );
}

/// Cross-chain rule 3: bundles out of their sender's order, or one of them twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_cross_chain_update_out_of_order_is_refused() {
    let network = network(4, 1, 2).await;
    for (first, second) in [((1, 0), (0, 3)), ((2, 1), (2, 1))] {
        let bundles = vec![
            bundle(0, 0),
            bundle(first.0, first.1),
            bundle(second.0, second.1),
        ];
        assert_eq!(
            update_refusal(&network, bundles).await,
            ChainError::BundlesOutOfOrder {
                origin: network.chain_id(1),
                previous: Cursor {
                    height: BlockHeight(first.0),
                    index: first.1,
                },
                next: Cursor {
                    height: BlockHeight(second.0),
                    index: second.1,
                },
            }
        );
    }
}

/// The system clock, moved forward by a shared offset.
struct AheadClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl skein_core::Clock for AheadClock {
    fn now(&self) -> Timestamp {
        let offset = self.0.load(std::sync::atomic::Ordering::SeqCst);
        skein_core::SystemClock
            .now()
            .saturating_add(skein_base::TimeDelta::from_micros(offset))
    }

    fn sleep(&self, delta: skein_base::TimeDelta) -> skein_core::Sleep {
        skein_core::SystemClock.sleep(delta)
    }
}

/// A network whose clock runs `offset` microseconds ahead, where the admin chain (chain 0)
/// created epoch 1 and revoked epoch 0; chains 1 and 2 are still in epoch 0.
async fn network_with_epoch_zero_revoked(
    offset: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Network {
    let config = skein_core::NetworkConfig {
        validators: 4,
        shards: 1,
        chains: 3,
        balance: tokens(100),
    };
    let clock = std::sync::Arc::new(AheadClock(offset));
    let network = skein_core::InProcessNetwork::in_memory(config, clock).await;
    let client = client(&network).await;
    let admin = network.chain_client(&client, 0);
    let committee = network.genesis().committee.clone();
    admin
        .execute_operation(skein_execution::SystemOperation::CreateCommittee {
            epoch: Epoch(1),
            committee,
        })
        .await
        .unwrap();
    let revocation = admin
        .execute_operation(skein_execution::SystemOperation::RevokeEpoch { epoch: Epoch::ZERO })
        .await
        .unwrap();
    let after_revocation = revocation.value().block.height.try_add_one().unwrap();
    wait_for_height(&network, 0, network.chain_id(0), after_revocation).await;
    network
}

/// Rule 5, revoked epochs: a certificate of a revoked epoch still passes the epoch rule
/// while the revocation is recent (so messages sent just before it are not lost), and is
/// refused once the revoked epoch is no longer honoured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_certificate_of_a_revoked_epoch_is_honoured_for_a_limited_time() {
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let network = network_with_epoch_zero_revoked(offset.clone()).await;
    let chain_id = network.chain_id(1);
    let mut late = block(&network, 0, None);
    late.chain_id = chain_id;
    late.authenticated_signer = Some(network.owner(1));
    late.timestamp = skein_core::Clock::now(&skein_core::SystemClock);
    // Signed by the committee of epoch 0, as a block certified just before the revocation
    // would be. Its outcome is made up, so once past the epoch rule it fails at execution.
    let certificate: AnyCertificate =
        certify(confirmed(late), Round::Fast, &quorum(&network)).into();
    let refuse = |certificate: AnyCertificate| {
        let network = &network;
        async move {
            let before = info(network, chain_id).await;
            let error = network.nodes[0]
                .handle_certificate(certificate)
                .await
                .expect_err("refused");
            assert_eq!(info(network, chain_id).await, before, "refused: {error}");
            error
        }
    };

    let within = refuse(certificate.clone()).await;
    assert!(
        matches!(
            within,
            NodeError::Chain(ChainError::IncorrectOutcome { .. })
        ),
        "honoured, so refused only at execution: {within:?}"
    );
    let honoured = limits::REVOKED_EPOCH_HONOURED_MICROS;
    offset.store(honoured + 60_000_000, std::sync::atomic::Ordering::SeqCst);
    let after = refuse(certificate).await;
    assert!(
        matches!(
            after,
            NodeError::Chain(ChainError::RevokedEpoch {
                epoch: Epoch::ZERO,
                ..
            })
        ),
        "no longer honoured: {after:?}"
    );
}

/// A proposal of chain `index`'s first block in epoch 0, signed by its owner in the fast
/// round.
fn first_proposal(network: &Network, index: usize) -> skein_chain::BlockProposal {
    let mut block = transfer_block(network, 1);
    block.chain_id = network.chain_id(index);
    block.authenticated_signer = Some(network.owner(index));
    block.timestamp = skein_core::Clock::now(&skein_core::SystemClock);
    block.operations = vec![skein_execution::Operation::System(
        skein_execution::SystemOperation::Transfer {
            owner: None,
            recipient: skein_base::Account::chain(network.chain_id(0)),
            amount: tokens(1),
        },
    )];
    let content = skein_chain::ProposalContent {
        block,
        round: Round::Fast,
    };
    skein_chain::BlockProposal::new(content, &network.owner_key(index))
}

/// Proposal rule 4, revoked epochs: a validator still votes in a revoked epoch for a short
/// grace (a block signed just before the revocation, which other validators may have voted
/// for, can still be certified), gives the same vote again after it, and refuses a new
/// block of that epoch once the grace is over, changing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_proposal_of_a_revoked_epoch_is_voted_only_within_the_grace() {
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let network = network_with_epoch_zero_revoked(offset.clone()).await;
    let within = first_proposal(&network, 1);
    let vote = network
        .validator(0)
        .worker(&network.chain_id(1))
        .handle_block_proposal(within.clone())
        .await
        .expect("voted within the grace");

    offset.store(
        limits::REVOKED_EPOCH_VOTES_GRACE_MICROS + 60_000_000,
        std::sync::atomic::Ordering::SeqCst,
    );
    let again = network
        .validator(0)
        .worker(&network.chain_id(1))
        .handle_block_proposal(within)
        .await
        .expect("the same vote again");
    assert_eq!(again, vote);

    let chain_id = network.chain_id(2);
    let before = info(&network, chain_id).await;
    let error = network
        .validator(0)
        .worker(&chain_id)
        .handle_block_proposal(first_proposal(&network, 2))
        .await
        .expect_err("refused after the grace");
    assert_eq!(info(&network, chain_id).await, before, "refused: {error}");
    assert!(
        matches!(
            error,
            skein_core::WorkerError::Chain(ChainError::RevokedEpoch {
                epoch: Epoch::ZERO,
                ..
            })
        ),
        "{error:?}"
    );
}
