use std::collections::BTreeMap;

use futures::executor::block_on;
use skein_base::{
    crypto::SecretKey, Account, AccountOwner, Amount, BlockHeight, ChainDescription, ChainId,
    Epoch, Timestamp,
};
use skein_views::{HashedView, MemoryStore, View, ViewContext};

use crate::{
    ChainConfig, ChainOwnership, ExecutionError, Message, MessageContext, MessageKind,
    OperationContext, OutgoingMessage, SystemExecutionStateView, SystemMessage, SystemOperation,
};

fn owner(seed: u64) -> AccountOwner {
    AccountOwner::from(SecretKey::from_test_seed(seed).public())
}

/// The system state alone, hashed as a chain's is.
type SystemState = HashedView<MemoryStore, SystemExecutionStateView<MemoryStore>>;

async fn new_state(balance: u128) -> SystemState {
    let mut state = SystemState::load(ViewContext::new(MemoryStore::new(), vec![0]))
        .await
        .unwrap();
    state
        .initialize(ChainConfig {
            description: ChainDescription::Root(0),
            admin_chain: ChainId::root(0),
            ownership: ChainOwnership::single(owner(1)),
            epoch: Epoch::ZERO,
            committees: BTreeMap::new(),
            balance: Amount::from_tokens(balance),
            timestamp: Timestamp::default(),
        })
        .unwrap();
    state
}

fn operation_context(signer: Option<AccountOwner>) -> OperationContext {
    OperationContext {
        chain_id: ChainId::root(0),
        height: BlockHeight(4),
        index: 2,
        authenticated_signer: signer,
        timestamp: Timestamp::from_micros(10),
    }
}

fn message_context(signer: Option<AccountOwner>, kind: MessageKind) -> MessageContext {
    MessageContext {
        chain_id: ChainId::root(0),
        height: BlockHeight(4),
        index: 0,
        origin: ChainId::root(1),
        authenticated_signer: signer,
        kind,
        timestamp: Timestamp::from_micros(10),
    }
}

fn transfer(owner: Option<AccountOwner>, recipient: Account, tokens: u128) -> SystemOperation {
    SystemOperation::Transfer {
        owner,
        recipient,
        amount: Amount::from_tokens(tokens),
    }
}

#[test]
fn test_transfer_within_chain_moves_tokens() {
    block_on(async {
        let mut state = new_state(10).await;
        let alice = Account::owner(ChainId::root(0), owner(2));
        let messages = state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &transfer(None, alice, 3),
            )
            .await
            .unwrap();
        assert!(messages.is_empty());
        assert_eq!(state.chain_balance(), Amount::from_tokens(7));
        assert_eq!(
            state.owner_balance(&owner(2)).await.unwrap(),
            Amount::from_tokens(3)
        );
        assert_eq!(
            state.total_balance().await.unwrap(),
            Amount::from_tokens(10)
        );
    });
}

#[test]
fn test_transfer_to_other_chain_sends_tracked_credit() {
    block_on(async {
        let mut state = new_state(10).await;
        let recipient = Account::owner(ChainId::root(5), owner(2));
        let messages = state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &transfer(None, recipient, 4),
            )
            .await
            .unwrap();
        assert_eq!(
            messages,
            vec![OutgoingMessage {
                destination: ChainId::root(5),
                authenticated_signer: None,
                kind: MessageKind::Tracked,
                message: Message::System(SystemMessage::Credit {
                    source: None,
                    target: Some(owner(2)),
                    amount: Amount::from_tokens(4),
                }),
            }]
        );
        assert_eq!(state.chain_balance(), Amount::from_tokens(6));
    });
}

#[test]
fn test_overdraft_and_unauthorized_transfers_change_nothing() {
    block_on(async {
        let mut state = new_state(10).await;
        let hash_before = state.hash().unwrap();
        let elsewhere = Account::chain(ChainId::root(5));
        let result = state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &transfer(None, elsewhere, 11),
            )
            .await;
        assert!(matches!(
            result,
            Err(ExecutionError::InsufficientBalance { owner: None, .. })
        ));
        let result = state
            .execute_operation(
                &operation_context(Some(owner(9))),
                &transfer(None, elsewhere, 1),
            )
            .await;
        assert_eq!(
            result,
            Err(ExecutionError::NotChainOwner {
                signer: Some(owner(9))
            })
        );
        let result = state
            .execute_operation(&operation_context(None), &transfer(None, elsewhere, 1))
            .await;
        assert_eq!(result, Err(ExecutionError::NotChainOwner { signer: None }));
        let result = state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &transfer(Some(owner(2)), elsewhere, 1),
            )
            .await;
        assert!(matches!(result, Err(ExecutionError::Unauthorized { .. })));
        let result = state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &transfer(None, elsewhere, 0),
            )
            .await;
        assert_eq!(result, Err(ExecutionError::ZeroAmount));
        assert_eq!(
            state.hash().unwrap(),
            hash_before,
            "refused operations change nothing"
        );
    });
}

#[test]
fn test_credit_overflow_is_refused() {
    block_on(async {
        let mut state = new_state(0).await;
        state
            .execute_message(
                &message_context(None, MessageKind::Tracked),
                &SystemMessage::Credit {
                    source: None,
                    target: None,
                    amount: Amount::MAX,
                },
            )
            .await
            .unwrap();
        let result = state
            .execute_message(
                &message_context(None, MessageKind::Tracked),
                &SystemMessage::Credit {
                    source: None,
                    target: None,
                    amount: Amount::from_attos(1),
                },
            )
            .await;
        assert!(matches!(result, Err(ExecutionError::Arithmetic(_))));
        assert_eq!(state.chain_balance(), Amount::MAX);
    });
}

#[test]
fn test_bouncing_credit_returns_to_source() {
    block_on(async {
        let mut state = new_state(0).await;
        let credit = SystemMessage::Credit {
            source: Some(owner(1)),
            target: Some(owner(2)),
            amount: Amount::from_tokens(2),
        };
        state
            .execute_message(&message_context(None, MessageKind::Bouncing), &credit)
            .await
            .unwrap();
        assert_eq!(
            state.owner_balance(&owner(1)).await.unwrap(),
            Amount::from_tokens(2)
        );
        assert_eq!(state.owner_balance(&owner(2)).await.unwrap(), Amount::ZERO);
    });
}

#[test]
fn test_claim_sends_authenticated_withdraw_and_withdraw_checks_signer() {
    block_on(async {
        let mut state = new_state(0).await;
        let claim = SystemOperation::Claim {
            owner: owner(2),
            target_chain: ChainId::root(7),
            recipient: Account::chain(ChainId::root(0)),
            amount: Amount::ONE,
        };
        let messages = state
            .execute_operation(&operation_context(Some(owner(2))), &claim)
            .await
            .unwrap();
        assert_eq!(messages[0].authenticated_signer, Some(owner(2)));
        assert_eq!(messages[0].destination, ChainId::root(7));

        // On the target chain: the account of owner 2 holds 5 tokens.
        state.balances.insert(&owner(2), Amount::from_tokens(5));
        let withdraw = SystemMessage::Withdraw {
            owner: owner(2),
            amount: Amount::ONE,
            recipient: Account::chain(ChainId::root(3)),
        };
        let forged = state
            .execute_message(
                &message_context(Some(owner(3)), MessageKind::Simple),
                &withdraw,
            )
            .await;
        assert!(matches!(forged, Err(ExecutionError::Unauthorized { .. })));
        let messages = state
            .execute_message(
                &message_context(Some(owner(2)), MessageKind::Simple),
                &withdraw,
            )
            .await
            .unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(
            state.owner_balance(&owner(2)).await.unwrap(),
            Amount::from_tokens(4)
        );
    });
}

#[test]
fn test_open_chain_derives_child_id_and_funds_it() {
    block_on(async {
        let mut state = new_state(10).await;
        let open = SystemOperation::OpenChain {
            ownership: ChainOwnership::single(owner(2)),
            balance: Amount::from_tokens(4),
        };
        let messages = state
            .execute_operation(&operation_context(Some(owner(1))), &open)
            .await
            .unwrap();
        let child = ChainId::child(ChainId::root(0), BlockHeight(4), 2);
        assert_eq!(messages[0].destination, child);
        let Message::System(SystemMessage::OpenChain(config)) = &messages[0].message else {
            panic!("expected an OpenChain message");
        };
        assert_eq!(config.description.id(), child);
        assert_eq!(config.balance, Amount::from_tokens(4));
        assert_eq!(state.chain_balance(), Amount::from_tokens(6));

        let empty = SystemOperation::OpenChain {
            ownership: ChainOwnership::default(),
            balance: Amount::ZERO,
        };
        let result = state
            .execute_operation(&operation_context(Some(owner(1))), &empty)
            .await;
        assert_eq!(result, Err(ExecutionError::NoOwners));
    });
}

#[test]
fn test_closed_chain_refuses_operations() {
    block_on(async {
        let mut state = new_state(10).await;
        state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &SystemOperation::CloseChain,
            )
            .await
            .unwrap();
        assert!(state.is_closed());
        let result = state
            .execute_operation(
                &operation_context(Some(owner(1))),
                &transfer(None, Account::chain(ChainId::root(2)), 1),
            )
            .await;
        assert_eq!(result, Err(ExecutionError::ClosedChain));
    });
}

#[test]
fn test_initialize_twice_is_refused() {
    block_on(async {
        let mut state = new_state(1).await;
        let again = ChainConfig {
            description: ChainDescription::Root(0),
            admin_chain: ChainId::root(0),
            ownership: ChainOwnership::single(owner(3)),
            epoch: Epoch::ZERO,
            committees: BTreeMap::new(),
            balance: Amount::from_tokens(100),
            timestamp: Timestamp::default(),
        };
        assert_eq!(
            state.initialize(again),
            Err(ExecutionError::AlreadyInitialized)
        );
        assert_eq!(state.chain_balance(), Amount::ONE);
    });
}

/// A committee of one validator, the one of test seed `seed`.
pub(crate) fn committee(seed: u64) -> skein_base::Committee {
    let key = skein_base::ValidatorPublicKey::from(&SecretKey::from_test_seed(seed).public());
    let state = skein_base::ValidatorState {
        network_address: format!("127.0.0.1:{}", 9000 + seed),
        votes: 1,
    };
    skein_base::Committee::new(BTreeMap::from([(key, state)])).unwrap()
}

fn create_committee(epoch: u32, seed: u64) -> SystemOperation {
    SystemOperation::CreateCommittee {
        epoch: Epoch(epoch),
        committee: committee(seed),
    }
}

/// Runs `operation` on the admin chain (root 0, owned by owner 1) and expects `error`,
/// with the state unchanged.
async fn refused_on(
    state: &mut SystemState,
    context: &OperationContext,
    operation: SystemOperation,
    error: ExecutionError,
) {
    let before = state.hash().unwrap();
    assert_eq!(
        state.execute_operation(context, &operation).await,
        Err(error),
        "{operation:?}"
    );
    assert_eq!(
        state.hash().unwrap(),
        before,
        "{operation:?} changed the state"
    );
}

#[test]
fn test_the_admin_chain_creates_committees_in_order_and_moves_to_each() {
    block_on(async {
        let mut state = new_state(10).await;
        let admin = operation_context(Some(owner(1)));
        for epoch in 1..=3 {
            let messages = state
                .execute_operation(&admin, &create_committee(epoch, epoch.into()))
                .await
                .unwrap();
            assert!(messages.is_empty());
            assert_eq!(state.epoch(), Epoch(epoch));
            assert_eq!(
                state.committee(Epoch(epoch)),
                Some(&committee(epoch.into()))
            );
        }
        assert_eq!(state.committees().len(), 3);
        // A chain it opens starts in the newest epoch, trusting every live committee, and
        // knows the admin chain.
        let opened = state
            .execute_operation(
                &admin,
                &SystemOperation::OpenChain {
                    ownership: ChainOwnership::single(owner(2)),
                    balance: Amount::ONE,
                },
            )
            .await
            .unwrap();
        let Message::System(SystemMessage::OpenChain(config)) = &opened[0].message else {
            panic!("an opening message: {opened:?}");
        };
        assert_eq!(config.epoch, Epoch(3));
        assert_eq!(&config.committees, state.committees());
        assert_eq!(config.admin_chain, ChainId::root(0));
    });
}

#[test]
fn test_each_refused_admin_operation_names_why_and_changes_nothing() {
    block_on(async {
        let mut state = new_state(10).await;
        let admin = operation_context(Some(owner(1)));
        state
            .execute_operation(&admin, &create_committee(1, 1))
            .await
            .unwrap();

        // Not the admin chain: the same chain's state, but run as chain 5.
        let elsewhere = OperationContext {
            chain_id: ChainId::root(5),
            ..admin
        };
        for operation in [
            create_committee(2, 2),
            SystemOperation::RevokeEpoch { epoch: Epoch(0) },
        ] {
            let error = ExecutionError::NotAdminChain {
                admin_chain: Some(ChainId::root(0)),
            };
            refused_on(&mut state, &elsewhere, operation, error).await;
        }
        // Not an owner of the admin chain.
        let stranger = operation_context(Some(owner(9)));
        let error = ExecutionError::NotChainOwner {
            signer: Some(owner(9)),
        };
        refused_on(&mut state, &stranger, create_committee(2, 2), error).await;
        // Epochs in order: not the current one again, not one skipped.
        for found in [1, 3] {
            let error = ExecutionError::WrongNextEpoch {
                expected: Epoch(2),
                found: Epoch(found),
            };
            refused_on(&mut state, &admin, create_committee(found, 2), error).await;
        }
        // The current epoch cannot be revoked, nor a later one, nor one never created.
        for epoch in [1, 2] {
            let error = ExecutionError::EpochNotRevocable {
                epoch: Epoch(epoch),
                current: Epoch(1),
            };
            let operation = SystemOperation::RevokeEpoch {
                epoch: Epoch(epoch),
            };
            refused_on(&mut state, &admin, operation, error).await;
        }
        // Epoch 0 was never in this state's list (the test chain starts with none).
        let revoke_zero = SystemOperation::RevokeEpoch { epoch: Epoch::ZERO };
        let error = ExecutionError::EpochNotLive(Epoch::ZERO);
        refused_on(&mut state, &admin, revoke_zero, error).await;
    });
}

#[test]
fn test_live_epochs_are_bounded_and_revoking_one_makes_room() {
    block_on(async {
        let mut state = new_state(10).await;
        let admin = operation_context(Some(owner(1)));
        let limit = u32::try_from(skein_base::limits::LIVE_EPOCHS_MAX).unwrap();
        for epoch in 1..=limit {
            state
                .execute_operation(&admin, &create_committee(epoch, epoch.into()))
                .await
                .unwrap();
        }
        let next = limit + 1;
        let error = ExecutionError::TooManyLiveEpochs {
            limit: skein_base::limits::LIVE_EPOCHS_MAX,
        };
        refused_on(&mut state, &admin, create_committee(next, 1), error).await;

        let revoke = SystemOperation::RevokeEpoch { epoch: Epoch(1) };
        state.execute_operation(&admin, &revoke).await.unwrap();
        assert_eq!(state.committee(Epoch(1)), None);
        assert_eq!(
            state.revoked_epochs().get(&Epoch(1)),
            Some(&admin.timestamp),
            "the revocation's time is kept, for how long its messages are honoured"
        );
        // Revoked is not live: a second revocation is refused.
        let error = ExecutionError::EpochNotLive(Epoch(1));
        refused_on(&mut state, &admin, revoke, error).await;
        state
            .execute_operation(&admin, &create_committee(next, 1))
            .await
            .unwrap();
        assert_eq!(state.epoch(), Epoch(next));
    });
}
