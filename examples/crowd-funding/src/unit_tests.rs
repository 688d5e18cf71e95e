//! The campaign on the SDK's in-memory runtime, its calls to the token answered by a mock
//! that records them.

use std::sync::{Arc, Mutex};

use skein_sdk::{BlockHeight, CallContext, CallResult, Callee, ChainId, CryptoHash, SessionId};

use super::*;

fn owner(byte: u8) -> AccountOwner {
    AccountOwner::User(CryptoHash::of_bytes(&[byte]))
}

fn token_id() -> ApplicationId {
    ApplicationId(CryptoHash::of_bytes(b"token"))
}

fn campaign_id() -> ApplicationId {
    ApplicationId(CryptoHash::of_bytes(b"campaign"))
}

fn tokens(count: u128) -> Amount {
    Amount::from_tokens(count)
}

fn context(signer: AccountOwner, micros: u64) -> CallContext {
    CallContext {
        application_id: campaign_id(),
        chain_id: ChainId(CryptoHash::of_bytes(b"chain")),
        height: BlockHeight(1),
        timestamp: Timestamp::from_micros(micros),
        authenticated_signer: Some(signer),
        message: None,
        authenticated_caller: None,
    }
}

/// The calls the campaign made, decoded.
#[derive(Debug, PartialEq)]
enum Recorded {
    Token(fungible::Call, bool),
    Session(SessionCall),
}

/// A campaign with target 10 and deadline 100 µs, owned by owner 0, whose token calls
/// are recorded: a withdrawal answers one session, a session transfer empties it.
fn campaign() -> (CrowdFunding, Arc<Mutex<Vec<Recorded>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    let runtime = ContractRuntime::with_context(context(owner(0), 0))
        .with_parameters(&Parameters {
            token: token_id(),
            owner: owner(0),
            target: tokens(10),
            deadline: Timestamp::from_micros(100),
        })
        .on_calls(move |callee, argument, _sessions| {
            let mut calls = recorded.lock().unwrap();
            match callee {
                Callee::Application { id, authenticated } => {
                    assert_eq!(id, token_id());
                    let call: fungible::Call = bcs::from_bytes(argument).unwrap();
                    let sessions = match call {
                        fungible::Call::Withdraw { .. } => vec![SessionId {
                            application_id: token_id(),
                            index: 0,
                        }],
                        _ => Vec::new(),
                    };
                    calls.push(Recorded::Token(call, authenticated));
                    CallResult {
                        response: bcs::to_bytes(&Amount::ZERO).unwrap(),
                        sessions,
                    }
                }
                Callee::Session(_) => {
                    calls.push(Recorded::Session(bcs::from_bytes(argument).unwrap()));
                    CallResult {
                        response: bcs::to_bytes(&Amount::ZERO).unwrap(),
                        sessions: Vec::new(),
                    }
                }
            }
        });
    let mut campaign = CrowdFunding::new(runtime);
    campaign.instantiate(());
    (campaign, calls)
}

fn pledge(campaign: &mut CrowdFunding, backer: u8, amount: u128, micros: u64) {
    campaign.runtime.set_context(context(owner(backer), micros));
    campaign.execute_operation(Operation::Pledge {
        owner: owner(backer),
        amount: tokens(amount),
    });
}

fn state(campaign: &CrowdFunding) -> Campaign {
    CrowdFundingService::new(campaign.runtime.service_runtime()).handle_query(serde::de::IgnoredAny)
}

#[test]
fn test_a_pledge_withdraws_into_a_session_and_spends_it_into_the_campaign() {
    let (mut campaign, calls) = campaign();
    pledge(&mut campaign, 1, 4, 10);
    let own = TokenAccount {
        chain_id: ChainId(CryptoHash::of_bytes(b"chain")),
        owner: AccountOwner::Application(campaign_id()),
    };
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            Recorded::Token(
                fungible::Call::Withdraw {
                    owner: owner(1),
                    amount: tokens(4)
                },
                true
            ),
            Recorded::Session(SessionCall::Transfer {
                amount: tokens(4),
                target: own
            }),
        ]
    );
    pledge(&mut campaign, 1, 1, 20);
    let state = state(&campaign);
    assert_eq!(state.total, tokens(5));
    assert_eq!(state.pledges, vec![(owner(1), tokens(5))]);
}

#[test]
fn test_the_owner_collects_once_the_target_is_met() {
    let (mut campaign, calls) = campaign();
    pledge(&mut campaign, 1, 4, 10);
    pledge(&mut campaign, 2, 6, 10);
    calls.lock().unwrap().clear();
    campaign.runtime.set_context(context(owner(0), 50));
    campaign.execute_operation(Operation::Collect);
    assert_eq!(
        *calls.lock().unwrap(),
        vec![Recorded::Token(
            fungible::Call::Transfer {
                owner: AccountOwner::Application(campaign_id()),
                amount: tokens(10),
                target: TokenAccount {
                    chain_id: ChainId(CryptoHash::of_bytes(b"chain")),
                    owner: owner(0)
                }
            },
            false
        )]
    );
    assert_eq!(state(&campaign).status, Status::Collected);
}

#[test]
fn test_a_cancelled_campaign_refunds_every_backer() {
    let (mut campaign, calls) = campaign();
    pledge(&mut campaign, 1, 4, 10);
    pledge(&mut campaign, 2, 3, 10);
    calls.lock().unwrap().clear();
    campaign.runtime.set_context(context(owner(9), 100));
    campaign.execute_operation(Operation::Cancel);
    let refunds: Vec<(AccountOwner, Amount)> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|call| match call {
            Recorded::Token(fungible::Call::Transfer { amount, target, .. }, false) => {
                (target.owner, *amount)
            }
            other => panic!("unexpected call {other:?}"),
        })
        .collect();
    let mut expected = vec![(owner(1), tokens(4)), (owner(2), tokens(3))];
    expected.sort_by_key(|(owner, _)| bcs::to_bytes(owner).unwrap());
    assert_eq!(refunds, expected);
    assert_eq!(state(&campaign).status, Status::Cancelled);
}

#[test]
#[should_panic(expected = "short of the target")]
fn test_collecting_short_of_the_target_fails() {
    let (mut campaign, _) = campaign();
    pledge(&mut campaign, 1, 4, 10);
    campaign.runtime.set_context(context(owner(0), 50));
    campaign.execute_operation(Operation::Collect);
}

#[test]
#[should_panic(expected = "runs until its deadline")]
fn test_cancelling_before_the_deadline_fails() {
    let (mut campaign, _) = campaign();
    pledge(&mut campaign, 1, 4, 10);
    campaign.runtime.set_context(context(owner(1), 99));
    campaign.execute_operation(Operation::Cancel);
}

#[test]
#[should_panic(expected = "deadline has passed")]
fn test_pledges_after_the_deadline_fail() {
    let (mut campaign, _) = campaign();
    pledge(&mut campaign, 1, 4, 100);
}
