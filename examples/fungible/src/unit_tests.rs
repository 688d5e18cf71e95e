//! The token's contract and service on the SDK's in-memory runtime.

use skein_sdk::{
    ApplicationId, BlockHeight, CallContext, CryptoHash, MessageInfo, SendMessageRequest, Timestamp,
};

use super::*;

fn owner(byte: u8) -> AccountOwner {
    AccountOwner::User(CryptoHash::of_bytes(&[byte]))
}

fn chain(byte: u8) -> ChainId {
    ChainId(CryptoHash::of_bytes(&[100 + byte]))
}

fn tokens(count: u128) -> Amount {
    Amount::from_tokens(count)
}

fn context(signer: Option<AccountOwner>, message: Option<MessageInfo>) -> CallContext {
    CallContext {
        application_id: ApplicationId(CryptoHash::of_bytes(b"token")),
        chain_id: chain(0),
        height: BlockHeight(3),
        timestamp: Timestamp::from_micros(0),
        authenticated_signer: signer,
        message,
        authenticated_caller: None,
    }
}

/// A token on chain 0 where owner 1 holds 10.
fn token() -> FungibleToken {
    let runtime =
        ContractRuntime::with_context(context(Some(owner(1)), None)).with_parameters(&Parameters {
            ticker: "SKN".into(),
        });
    let mut token = FungibleToken::new(runtime);
    token.instantiate(InitialState {
        accounts: vec![(owner(1), tokens(10))],
    });
    token
}

fn ask(token: &FungibleToken, query: Query) -> QueryResponse {
    FungibleTokenService::new(token.runtime.service_runtime()).handle_query(query)
}

fn balance_of(token: &FungibleToken, byte: u8) -> Amount {
    match ask(token, Query::Balance { owner: owner(byte) }) {
        QueryResponse::Balance(amount) => amount,
        other => panic!("unexpected answer {other:?}"),
    }
}

#[test]
fn test_transfer_on_the_same_chain_moves_tokens() {
    let mut token = token();
    token.execute_operation(Operation::Transfer {
        owner: owner(1),
        amount: tokens(4),
        target: TokenAccount {
            chain_id: chain(0),
            owner: owner(2),
        },
    });
    assert_eq!(balance_of(&token, 1), tokens(6));
    assert_eq!(balance_of(&token, 2), tokens(4));
    assert!(token.runtime.sent_messages().is_empty());
    assert_eq!(
        ask(&token, Query::Accounts),
        QueryResponse::Accounts(vec![(owner(1), tokens(6)), (owner(2), tokens(4))])
            .sorted_for_test()
    );
    assert_eq!(
        ask(&token, Query::Ticker),
        QueryResponse::Ticker("SKN".into())
    );
}

#[test]
fn test_transfer_to_another_chain_sends_a_tracked_credit() {
    let mut token = token();
    token.execute_operation(Operation::Transfer {
        owner: owner(1),
        amount: tokens(10),
        target: TokenAccount {
            chain_id: chain(1),
            owner: owner(2),
        },
    });
    assert_eq!(balance_of(&token, 1), Amount::ZERO);
    let credit = Message::Credit {
        source: owner(1),
        target: owner(2),
        amount: tokens(10),
    };
    assert_eq!(
        token.runtime.sent_messages(),
        [SendMessageRequest {
            destination: chain(1),
            authenticated: false,
            tracked: true,
            message: bcs::to_bytes(&credit).unwrap(),
        }]
    );
}

#[test]
fn test_a_bouncing_credit_refunds_the_sender() {
    let mut token = token();
    let bounce = MessageInfo {
        origin: chain(1),
        is_bouncing: true,
    };
    token.runtime.set_context(context(None, Some(bounce)));
    token.execute_message(Message::Credit {
        source: owner(1),
        target: owner(2),
        amount: tokens(5),
    });
    assert_eq!(balance_of(&token, 1), tokens(15));
    assert_eq!(balance_of(&token, 2), Amount::ZERO);
}

#[test]
fn test_a_claim_asks_the_other_chain_on_the_signers_behalf() {
    let mut token = token();
    let target = TokenAccount {
        chain_id: chain(0),
        owner: owner(1),
    };
    token.execute_operation(Operation::Claim {
        source: TokenAccount {
            chain_id: chain(2),
            owner: owner(1),
        },
        amount: tokens(3),
        target,
    });
    let request = &token.runtime.sent_messages()[0];
    assert_eq!(request.destination, chain(2));
    assert!(request.authenticated && !request.tracked);
    let withdraw: Message = bcs::from_bytes(&request.message).unwrap();
    assert_eq!(
        withdraw,
        Message::Withdraw {
            owner: owner(1),
            amount: tokens(3),
            target
        }
    );
}

#[test]
#[should_panic(expected = "only")]
fn test_only_the_owner_moves_its_tokens() {
    let mut token = token();
    token.execute_operation(Operation::Transfer {
        owner: owner(2),
        amount: tokens(1),
        target: TokenAccount {
            chain_id: chain(0),
            owner: owner(1),
        },
    });
}

#[test]
#[should_panic(expected = "less than")]
fn test_overdrafts_fail() {
    let mut token = token();
    token.execute_operation(Operation::Transfer {
        owner: owner(1),
        amount: tokens(11),
        target: TokenAccount {
            chain_id: chain(1),
            owner: owner(2),
        },
    });
}

#[test]
#[should_panic(expected = "the signer is None")]
fn test_a_withdrawal_without_the_owners_signature_fails() {
    let mut token = token();
    token.runtime.set_context(context(None, None));
    token.execute_message(Message::Withdraw {
        owner: owner(1),
        amount: tokens(1),
        target: TokenAccount {
            chain_id: chain(1),
            owner: owner(3),
        },
    });
}

impl QueryResponse {
    /// The accounts in the service's order (by encoded owner), to compare with a list.
    fn sorted_for_test(self) -> Self {
        match self {
            QueryResponse::Accounts(mut accounts) => {
                accounts.sort_by_key(|(owner, _)| bcs::to_bytes(owner).unwrap());
                QueryResponse::Accounts(accounts)
            }
            other => other,
        }
    }
}

fn called_by(token: &mut FungibleToken, caller: ApplicationId, signer: Option<AccountOwner>) {
    let mut context = context(signer, None);
    context.authenticated_caller = Some(caller);
    token.runtime.set_context(context);
}

#[test]
fn test_a_caller_withdraws_into_a_session_and_spends_it() {
    let mut token = token();
    let caller = ApplicationId(CryptoHash::of_bytes(b"caller"));
    called_by(&mut token, caller, Some(owner(1)));
    let outcome = token.handle_call(
        Call::Withdraw {
            owner: owner(1),
            amount: tokens(4),
        },
        Vec::new(),
    );
    assert_eq!(outcome.new_sessions, vec![tokens(4)]);
    assert_eq!(
        balance_of(&token, 1),
        tokens(6),
        "the tokens left the account"
    );
    let target = TokenAccount {
        chain_id: chain(0),
        owner: AccountOwner::Application(caller),
    };
    let spent = token.handle_session_call(
        tokens(4),
        SessionCall::Transfer {
            amount: tokens(3),
            target,
        },
        Vec::new(),
    );
    assert_eq!(
        spent.session,
        Some(tokens(1)),
        "one token stays in the session"
    );
    let spent = token.handle_session_call(
        tokens(1),
        SessionCall::Transfer {
            amount: tokens(1),
            target,
        },
        Vec::new(),
    );
    assert_eq!(spent.session, None, "an empty session closes");
    let held = ask(
        &token,
        Query::Balance {
            owner: AccountOwner::Application(caller),
        },
    );
    assert_eq!(held, QueryResponse::Balance(tokens(4)));
}

#[test]
#[should_panic(expected = "only")]
fn test_a_caller_without_the_signer_cannot_move_a_users_tokens() {
    let mut token = token();
    called_by(
        &mut token,
        ApplicationId(CryptoHash::of_bytes(b"thief")),
        None,
    );
    token.handle_call(
        Call::Transfer {
            owner: owner(1),
            amount: tokens(1),
            target: TokenAccount {
                chain_id: chain(0),
                owner: owner(9),
            },
        },
        Vec::new(),
    );
}
