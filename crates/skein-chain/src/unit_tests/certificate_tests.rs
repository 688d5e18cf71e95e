use std::collections::BTreeMap;

use skein_base::{
    crypto::SecretKey, BlockHeight, ChainId, Committee, Epoch, Round, Timestamp,
    ValidatorPublicKey, ValidatorState,
};

use crate::{
    BlockExecutionOutcome, CertificateError, ConfirmedBlock, Hashed, ProposedBlock,
    UncheckedCertificate, Vote, VoteAggregator,
};

fn secrets(count: u64, offset: u64) -> Vec<SecretKey> {
    (0..count)
        .map(|index| SecretKey::from_test_seed(offset + index))
        .collect()
}

fn committee(secrets: &[SecretKey], votes: &[u64]) -> Committee {
    let validators: BTreeMap<_, _> = secrets
        .iter()
        .zip(votes)
        .map(|(secret, votes)| {
            (
                ValidatorPublicKey::from(&secret.public()),
                ValidatorState {
                    network_address: String::new(),
                    votes: *votes,
                },
            )
        })
        .collect();
    Committee::new(validators).unwrap()
}

fn value(height: u64) -> Hashed<ConfirmedBlock> {
    Hashed::new(ConfirmedBlock {
        block: ProposedBlock {
            chain_id: ChainId::root(0),
            epoch: Epoch::ZERO,
            height: BlockHeight(height),
            timestamp: Timestamp::default(),
            authenticated_signer: None,
            previous_block_hash: None,
            incoming_bundles: Vec::new(),
            operations: Vec::new(),
        },
        outcome: BlockExecutionOutcome {
            messages: Vec::new(),
            state_hash: skein_base::crypto::CryptoHash::of_bytes(b"state"),
        },
    })
}

fn certificate(
    value: &Hashed<ConfirmedBlock>,
    signers: &[&SecretKey],
) -> UncheckedCertificate<ConfirmedBlock> {
    UncheckedCertificate {
        value: value.clone(),
        round: Round::Fast,
        signatures: signers
            .iter()
            .map(|secret| {
                let vote = Vote::new(value.clone(), Round::Fast, secret);
                (vote.validator, vote.signature)
            })
            .collect(),
    }
}

#[test]
fn test_certificate_needs_a_quorum_of_weight() {
    let keys = secrets(4, 0);
    let committee = committee(&keys, &[1, 1, 1, 1]);
    let value = value(0);
    let two = certificate(&value, &[&keys[0], &keys[1]]);
    assert_eq!(
        two.check(&committee),
        Err(CertificateError::InsufficientWeight {
            weight: 2,
            quorum: 3
        })
    );
    let three = certificate(&value, &[&keys[0], &keys[1], &keys[3]]);
    let checked = three.check(&committee).unwrap();
    assert_eq!(checked.hash(), value.hash());

    // Stake-weighted: one heavy validator is a quorum of its own.
    let weighted = committee_weighted(&keys);
    assert!(certificate(&value, &[&keys[0]]).check(&weighted).is_ok());
    assert!(certificate(&value, &[&keys[1], &keys[2], &keys[3]])
        .check(&weighted)
        .is_err());
}

fn committee_weighted(keys: &[SecretKey]) -> Committee {
    committee(keys, &[70, 10, 10, 10])
}

#[test]
fn test_certificate_refuses_duplicates_non_members_and_bad_signatures() {
    let keys = secrets(4, 0);
    let committee = committee(&keys, &[1, 1, 1, 1]);
    let value = value(0);

    let duplicate = certificate(&value, &[&keys[0], &keys[1], &keys[1]]);
    assert_eq!(
        duplicate.check(&committee),
        Err(CertificateError::DuplicateSigner(ValidatorPublicKey::from(
            &keys[1].public()
        )))
    );

    // Validators of another epoch's committee are not members of this one.
    let other_epoch = secrets(4, 100);
    let foreign = certificate(&value, &[&other_epoch[0], &other_epoch[1], &other_epoch[2]]);
    assert_eq!(
        foreign.check(&committee),
        Err(CertificateError::NotMember(ValidatorPublicKey::from(
            &other_epoch[0].public()
        )))
    );

    // A signature on another value does not count.
    let mut wrong_value = certificate(&value, &[&keys[0], &keys[1], &keys[2]]);
    wrong_value.signatures[2].1 = Vote::new(self::value(1), Round::Fast, &keys[2]).signature;
    assert!(matches!(
        wrong_value.check(&committee),
        Err(CertificateError::InvalidSignature(_))
    ));

    // A signature for another round does not count either.
    let mut wrong_round = certificate(&value, &[&keys[0], &keys[1], &keys[2]]);
    wrong_round.signatures[0].1 =
        Vote::new(value.clone(), Round::MultiLeader(0), &keys[0]).signature;
    assert!(matches!(
        wrong_round.check(&committee),
        Err(CertificateError::InvalidSignature(_))
    ));
}

#[test]
fn test_vote_aggregator_forms_then_drops_bad_votes() {
    let keys = secrets(4, 0);
    let committee = committee(&keys, &[1, 1, 1, 1]);
    let value = value(3);
    let vote = |key: &SecretKey| Vote::new(value.clone(), Round::Fast, key).lite();
    let mut aggregator = VoteAggregator::new(value.clone(), Round::Fast, &committee);
    assert_eq!(aggregator.add_vote(vote(&keys[0])), Ok(None));
    // A Byzantine validator signs something else but claims it is for this value.
    let mut forged = vote(&keys[1]);
    forged.signature = Vote::new(self::value(9), Round::Fast, &keys[1]).signature;
    assert_eq!(aggregator.add_vote(forged), Ok(None));
    // Collecting checks no signature: a quorum of weight forms a candidate...
    let candidate = aggregator
        .add_vote(vote(&keys[2]))
        .unwrap()
        .expect("a quorum of weight");
    // ...which the committee check refuses.
    assert!(matches!(
        candidate.check(&committee),
        Err(CertificateError::InvalidSignature(_))
    ));
    assert_eq!(
        aggregator.add_vote(vote(&keys[2])),
        Err(CertificateError::DuplicateSigner(ValidatorPublicKey::from(
            &keys[2].public()
        )))
    );
    assert_eq!(
        aggregator.add_vote(Vote::new(self::value(4), Round::Fast, &keys[3]).lite()),
        Err(CertificateError::WrongValue)
    );
    assert_eq!(
        aggregator.drop_invalid_votes(),
        vec![ValidatorPublicKey::from(&keys[1].public())]
    );
    assert!(
        aggregator.certificate().is_none(),
        "two good votes are no quorum"
    );
    let certificate = aggregator
        .add_vote(vote(&keys[3]))
        .unwrap()
        .expect("three good votes");
    assert_eq!(certificate.check(&committee).unwrap().signatures().len(), 3);
}

#[test]
fn test_certificate_encoding_roundtrip_keeps_hash() {
    let keys = secrets(4, 0);
    let value = value(5);
    let unchecked = certificate(&value, &[&keys[0], &keys[1], &keys[2]]);
    let bytes = bcs::to_bytes(&unchecked).unwrap();
    let decoded: UncheckedCertificate<ConfirmedBlock> = bcs::from_bytes(&bytes).unwrap();
    assert_eq!(decoded.value.hash(), value.hash());
    assert_eq!(decoded, unchecked);
}
