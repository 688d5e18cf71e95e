//! Pins the encoding of every hashed, signed and stored type: a change to any of them
//! changes hashes and breaks compatibility with stored data, so it must be deliberate.
//! Regenerate with `SKEIN_UPDATE_SNAPSHOTS=1 cargo test -p skein-chain formats`.

use std::collections::BTreeMap;

use skein_base::{
    crypto::{CryptoHash, SecretKey},
    Account, AccountOwner, Amount, BlockHeight, ChainDescription, ChainId, Committee, Epoch, Round,
    Timestamp, ValidatorPublicKey, ValidatorState,
};
use skein_execution::{
    ChainConfig, ChainOwnership, Message, MessageKind, Operation, OutgoingMessage, SystemMessage,
    SystemOperation,
};

use crate::{
    BlockExecutionOutcome, BlockProposal, ConfirmedBlock, Hashed, IncomingBundle, MessageAction,
    MessageBundle, PostedMessage, ProposalContent, ProposedBlock, Timeout, UncheckedCertificate,
    Vote,
};

const SNAPSHOT: &str = "src/unit_tests/formats.snap";

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let owner_key = SecretKey::from_test_seed(1);
    let owner = AccountOwner::from(owner_key.public());
    let validator_key = SecretKey::from_test_seed(2);
    let chain = ChainId::root(0);
    let other = ChainId::child(chain, BlockHeight(3), 1);
    let committee = Committee::new(BTreeMap::from([(
        ValidatorPublicKey::from(&validator_key.public()),
        ValidatorState {
            network_address: "127.0.0.1:9000".into(),
            votes: 5,
        },
    )]))
    .expect("a committee");
    let config = ChainConfig {
        description: ChainDescription::Child {
            parent: chain,
            height: BlockHeight(3),
            index: 1,
            sequence: 2,
        },
        admin_chain: ChainId::root(0),
        ownership: ChainOwnership::single(owner),
        epoch: Epoch(0),
        committees: BTreeMap::from([(Epoch(0), committee.clone())]),
        balance: Amount::from_tokens(2),
        timestamp: Timestamp::from_micros(7),
    };
    let operations = vec![
        Operation::System(SystemOperation::Transfer {
            owner: Some(owner),
            recipient: Account::chain(other),
            amount: "1.5".parse().expect("an amount"),
        }),
        Operation::System(SystemOperation::Claim {
            owner,
            target_chain: other,
            recipient: Account::owner(chain, owner),
            amount: Amount::ONE,
        }),
        Operation::System(SystemOperation::OpenChain {
            ownership: ChainOwnership::single(owner),
            balance: Amount::from_attos(9),
        }),
        Operation::System(SystemOperation::CloseChain),
        Operation::System(SystemOperation::ChangeOwnership(ChainOwnership::single(
            owner,
        ))),
        Operation::System(SystemOperation::CreateCommittee {
            epoch: Epoch(1),
            committee: committee.clone(),
        }),
        Operation::System(SystemOperation::RevokeEpoch { epoch: Epoch(0) }),
    ];
    let bundle = MessageBundle {
        height: BlockHeight(2),
        timestamp: Timestamp::from_micros(5),
        block_hash: CryptoHash::of_bytes(b"block"),
        transaction_index: 1,
        messages: vec![PostedMessage {
            authenticated_signer: Some(owner),
            kind: MessageKind::Tracked,
            message: Message::System(SystemMessage::Credit {
                source: None,
                target: Some(owner),
                amount: Amount::ONE,
            }),
        }],
    };
    let block = ProposedBlock {
        chain_id: chain,
        epoch: Epoch(0),
        height: BlockHeight(4),
        timestamp: Timestamp::from_micros(1_000),
        authenticated_signer: Some(owner),
        previous_block_hash: Some(CryptoHash::of_bytes(b"previous")),
        incoming_bundles: vec![IncomingBundle {
            origin: other,
            bundle: bundle.clone(),
            action: MessageAction::Reject,
        }],
        operations,
    };
    let outcome = BlockExecutionOutcome {
        messages: vec![vec![OutgoingMessage {
            destination: other,
            authenticated_signer: None,
            kind: MessageKind::Bouncing,
            message: Message::System(SystemMessage::OpenChain(config.clone())),
        }]],
        state_hash: CryptoHash::of_bytes(b"state"),
    };
    let confirmed = Hashed::new(ConfirmedBlock {
        block: block.clone(),
        outcome,
    });
    let proposal = BlockProposal::new(
        ProposalContent {
            block,
            round: Round::Fast,
        },
        &owner_key,
    );
    let vote = Vote::new(confirmed.clone(), Round::MultiLeader(2), &validator_key);
    let certificate = UncheckedCertificate {
        value: confirmed.clone(),
        round: Round::MultiLeader(2),
        signatures: vec![(vote.validator, vote.signature)],
    };
    let validated = Hashed::new(confirmed.to_validated());
    let lock = UncheckedCertificate {
        value: validated.clone(),
        round: Round::MultiLeader(1),
        signatures: vec![(vote.validator, vote.signature)],
    };
    let reproposal = BlockProposal::new(
        ProposalContent {
            block: confirmed.block.clone(),
            round: Round::SingleLeader(3),
        },
        &owner_key,
    )
    .with_lock(lock.clone());
    let timeout = Hashed::new(Timeout {
        chain_id: chain,
        height: BlockHeight(4),
        epoch: Epoch(0),
    });
    let shared = ChainOwnership {
        open_multi_leader_rounds: true,
        ..ChainOwnership::multiple([(owner, 2)], 3)
    };
    let encode = |value: &dyn erased::Encode| value.bytes();
    vec![
        ("ChainDescription", encode(&config.description)),
        ("ChainId", encode(&other)),
        ("Committee", encode(&committee)),
        ("ChainConfig", encode(&config)),
        ("MessageBundle", encode(&bundle)),
        ("BlockProposal", encode(&proposal)),
        ("Vote", encode(&vote)),
        ("UncheckedCertificate", encode(&certificate)),
        (
            "hash of ConfirmedBlock",
            confirmed.hash().as_bytes().to_vec(),
        ),
        ("BlockProposal with lock", encode(&reproposal)),
        (
            "hash of ValidatedBlock",
            validated.hash().as_bytes().to_vec(),
        ),
        ("hash of Timeout", timeout.hash().as_bytes().to_vec()),
        ("ChainOwnership", encode(&shared)),
        (
            "AnyCertificate",
            encode(&crate::AnyCertificate::Validated(lock)),
        ),
    ]
}

mod erased {
    pub trait Encode {
        fn bytes(&self) -> Vec<u8>;
    }

    impl<T: serde::Serialize> Encode for T {
        fn bytes(&self) -> Vec<u8> {
            bcs::to_bytes(self).expect("samples encode")
        }
    }
}

#[test]
fn test_formats_are_pinned() {
    let samples: Vec<(String, Vec<u8>)> = samples()
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes))
        .collect();
    crate::snapshot::assert_pinned(SNAPSHOT, &samples);
}

mod roundtrip {
    use proptest::prelude::*;
    use skein_base::{crypto::CryptoHash, Account, Amount, BlockHeight, ChainId, Epoch, Timestamp};
    use skein_execution::{Operation, SystemOperation};

    use crate::{BlockExecutionOutcome, ConfirmedBlock, Hashed, ProposedBlock};

    fn block() -> impl Strategy<Value = ProposedBlock> {
        (
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(any::<[u8; 32]>()),
            prop::collection::vec((any::<u32>(), any::<u128>()), 0..20),
        )
            .prop_map(
                |(chain, height, timestamp, previous, transfers)| ProposedBlock {
                    chain_id: ChainId::root(chain),
                    epoch: Epoch(chain % 3),
                    height: BlockHeight(height),
                    timestamp: Timestamp::from_micros(timestamp),
                    authenticated_signer: None,
                    previous_block_hash: previous.map(CryptoHash::from_bytes),
                    incoming_bundles: Vec::new(),
                    operations: transfers
                        .into_iter()
                        .map(|(recipient, attos)| {
                            Operation::System(SystemOperation::Transfer {
                                owner: None,
                                recipient: Account::chain(ChainId::root(recipient)),
                                amount: Amount::from_attos(attos),
                            })
                        })
                        .collect(),
                },
            )
    }

    proptest! {
        /// Blocks decode to what was encoded, and a decoded value hashes like the original.
        #[test]
        fn prop_confirmed_block_roundtrip(block in block()) {
            let value = Hashed::new(ConfirmedBlock {
                block,
                outcome: BlockExecutionOutcome { messages: Vec::new(), state_hash: CryptoHash::of_bytes(b"s") },
            });
            let bytes = bcs::to_bytes(&value).unwrap();
            let decoded: Hashed<ConfirmedBlock> =
                skein_base::encoding::decode("block", &bytes, skein_base::limits::REQUEST_BYTES_MAX).unwrap();
            prop_assert_eq!(decoded.hash(), value.hash());
            prop_assert_eq!(&*decoded, &*value);
        }

        /// Truncated or garbled bytes are refused with an error, never a panic.
        #[test]
        fn prop_garbage_is_refused(block in block(), cut in any::<prop::sample::Index>(), noise in any::<u8>()) {
            let value = ConfirmedBlock {
                block,
                outcome: BlockExecutionOutcome { messages: Vec::new(), state_hash: CryptoHash::of_bytes(b"s") },
            };
            let mut bytes = bcs::to_bytes(&value).unwrap();
            let at = cut.index(bytes.len());
            bytes.truncate(at);
            prop_assert!(skein_base::encoding::decode::<ConfirmedBlock>("block", &bytes, 1 << 20).is_err());
            bytes.push(noise);
            let _ = skein_base::encoding::decode::<ConfirmedBlock>("block", &bytes, 1 << 20);
        }
    }
}
