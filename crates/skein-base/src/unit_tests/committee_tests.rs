use std::collections::BTreeMap;

use crate::{crypto::SecretKey, Committee, CommitteeError, ValidatorPublicKey, ValidatorState};

fn committee_with_votes(votes: &[u64]) -> Result<Committee, CommitteeError> {
    let validators = votes
        .iter()
        .enumerate()
        .map(|(index, votes)| {
            let key = ValidatorPublicKey::from(&SecretKey::from_test_seed(index as u64).public());
            let state = ValidatorState {
                network_address: format!("127.0.0.1:{}", 9000 + index),
                votes: *votes,
            };
            (key, state)
        })
        .collect::<BTreeMap<_, _>>();
    Committee::new(validators)
}

#[test]
fn test_committee_quorum_arithmetic() {
    // (votes, total, quorum, validity)
    let cases: &[(&[u64], u64, u64, u64)] = &[
        (&[1], 1, 1, 1),
        (&[1, 1, 1, 1], 4, 3, 2),
        (&[1, 1, 1, 1, 1], 5, 4, 2),
        (&[1, 1, 1, 1, 1, 1], 6, 5, 2),
        (&[1; 7], 7, 5, 3),
        (&[100, 100, 100, 100], 400, 267, 134),
        (&[10, 20, 30, 40], 100, 67, 34),
        (&[3, 1, 1], 5, 4, 2),
        (
            &[u64::MAX / 2, u64::MAX / 2],
            u64::MAX - 1,
            12297829382473034410,
            6148914691236517205,
        ),
    ];
    for (votes, total, quorum, validity) in cases {
        let committee = committee_with_votes(votes).unwrap();
        assert_eq!(committee.total_votes(), *total, "{votes:?}");
        assert_eq!(committee.quorum_threshold(), *quorum, "{votes:?}");
        assert_eq!(committee.validity_threshold(), *validity, "{votes:?}");
        // Two quorums overlap in more than the Byzantine power f = total - quorum.
        assert!(
            2 * u128::from(*quorum)
                > u128::from(*total) + (u128::from(*total) - u128::from(*quorum))
        );
    }
}

#[test]
fn test_committee_rejects_degenerate_members() {
    assert_eq!(committee_with_votes(&[]), Err(CommitteeError::Empty));
    assert!(matches!(
        committee_with_votes(&[1, 0]),
        Err(CommitteeError::ZeroVotes(_))
    ));
    assert_eq!(
        committee_with_votes(&[u64::MAX, 1]),
        Err(CommitteeError::Overflow)
    );
}

#[test]
fn test_committee_decoding_recomputes_thresholds() {
    let committee = committee_with_votes(&[10, 20, 30, 40]).unwrap();
    let bytes = bcs::to_bytes(&committee).unwrap();
    let decoded: Committee = bcs::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, committee);
    assert_eq!(decoded.quorum_threshold(), 67);
    let non_member = ValidatorPublicKey::from(&SecretKey::from_test_seed(99).public());
    assert_eq!(decoded.weight(&non_member), 0);
}

#[test]
fn test_a_committee_past_the_size_limit_cannot_be_formed_or_decoded() {
    let limit = crate::limits::COMMITTEE_VALIDATORS_MAX;
    let largest = committee_with_votes(&vec![1; limit]).unwrap();
    assert_eq!(largest.validators().len(), limit);
    assert_eq!(
        committee_with_votes(&vec![1; limit + 1]),
        Err(CommitteeError::TooManyValidators {
            count: limit + 1,
            limit
        })
    );
    // The same members sent as bytes are refused on decoding.
    let mut members = largest.validators().clone();
    let extra = ValidatorPublicKey::from(&SecretKey::from_test_seed(u64::MAX).public());
    members.insert(
        extra,
        ValidatorState {
            network_address: "127.0.0.1:1".into(),
            votes: 1,
        },
    );
    let bytes = bcs::to_bytes(&members).unwrap();
    assert!(bcs::from_bytes::<Committee>(&bytes).is_err());
}
