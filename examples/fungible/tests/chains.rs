//! The token on a network of four in-process validators, built for Wasm and published like
//! any application: transfers between chains received exactly once, a claim on the
//! signer's behalf, a transfer to a closed chain bouncing back, and the supply conserved
//! throughout. Each chain has its own client, whose node fetches the token's code from the
//! validators when it first needs it.

use fungible::{InitialState, Operation, Parameters, Query, QueryResponse, TokenAccount};
use skein_base::{AccountOwner, Amount, ApplicationId, ChainId};
use skein_core::{ChainClient, ClientError, InProcessNetwork};
use skein_views::MemoryStore;

type Network = InProcessNetwork<MemoryStore>;

fn tokens(count: u128) -> Amount {
    Amount::from_tokens(count)
}

fn account(chain: &ChainClient<MemoryStore>, owner: AccountOwner) -> TokenAccount {
    TokenAccount {
        chain_id: chain.chain_id(),
        owner,
    }
}

/// Publishes the token from `creator` and creates it with `supply` for the creator's
/// owner; answers the bytecode and the token.
async fn publish_token(
    creator: &ChainClient<MemoryStore>,
    supply: u128,
) -> (skein_base::BytecodeId, ApplicationId) {
    let contract = skein_sdk::build::wasm_module(env!("CARGO_MANIFEST_DIR"), "fungible_contract");
    let service = skein_sdk::build::wasm_module(env!("CARGO_MANIFEST_DIR"), "fungible_service");
    let (bytecode_id, _) = creator.publish_bytecode(contract, service).await.unwrap();
    let parameters = serde_json::to_vec(&Parameters {
        ticker: "SKN".into(),
    })
    .unwrap();
    let argument = serde_json::to_vec(&InitialState {
        accounts: vec![(creator.owner(), tokens(supply))],
    })
    .unwrap();
    let (token, _) = creator
        .create_application(bytecode_id, parameters, argument, Vec::new())
        .await
        .unwrap();
    (bytecode_id, token)
}

async fn accounts(
    chain: &ChainClient<MemoryStore>,
    token: ApplicationId,
) -> Vec<(AccountOwner, Amount)> {
    chain.synchronize().await.expect("synchronized");
    let query = serde_json::to_vec(&Query::Accounts).unwrap();
    let answer = chain.query_application(token, query).await;
    match answer {
        Ok(bytes) => match serde_json::from_slice(&bytes).expect("a JSON answer") {
            QueryResponse::Accounts(accounts) => accounts,
            other => panic!("unexpected answer {other:?}"),
        },
        // A chain the token never reached has no accounts.
        Err(ClientError::Local(error)) if error.to_string().contains("not registered") => {
            Vec::new()
        }
        Err(error) => panic!("query failed: {error}"),
    }
}

async fn supply(chains: &[&ChainClient<MemoryStore>], token: ApplicationId) -> Amount {
    let mut total = Amount::ZERO;
    for chain in chains {
        for (_, amount) in accounts(chain, token).await {
            total = total.try_add(amount).unwrap();
        }
    }
    total
}

async fn transfer(
    from: &ChainClient<MemoryStore>,
    token: ApplicationId,
    amount: u128,
    target: TokenAccount,
) {
    let operation = Operation::Transfer {
        owner: from.owner(),
        amount: tokens(amount),
        target,
    };
    from.execute_application_operation(token, bcs::to_bytes(&operation).unwrap())
        .await
        .expect("the transfer is confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_tokens_move_between_chains_exactly_once_and_bounce_back() {
    let network = Network::for_tests(3).await;
    let (zero, one, two) = (
        network.own_chain(0).await,
        network.own_chain(1).await,
        network.own_chain(2).await,
    );
    let (_, token) = publish_token(&zero, 100).await;
    let all = [&zero, &one, &two];
    assert_eq!(
        accounts(&zero, token).await,
        vec![(zero.owner(), tokens(100))]
    );

    // Chain 0 → chain 1, in three transfers; chain 1 registers the token on the first.
    for amount in [10, 20, 30] {
        transfer(&zero, token, amount, account(&one, one.owner())).await;
    }
    assert_eq!(supply(&all, token).await, tokens(40), "60 in flight");
    one.process_inbox().await.unwrap();
    assert_eq!(accounts(&one, token).await, vec![(one.owner(), tokens(60))]);
    assert_eq!(supply(&all, token).await, tokens(100));
    assert_eq!(
        accounts(&zero, token).await,
        vec![(zero.owner(), tokens(40))]
    );
    // Received once: processing the inbox again changes nothing.
    one.process_inbox().await.unwrap();
    assert_eq!(accounts(&one, token).await, vec![(one.owner(), tokens(60))]);

    // A claim: chain 0's owner moves its tokens parked on chain 1 back home, signing on
    // chain 0 only; chain 1's block carries its signature with the message.
    transfer(&zero, token, 15, account(&one, zero.owner())).await;
    one.process_inbox().await.unwrap();
    let claim = Operation::Claim {
        source: account(&one, zero.owner()),
        amount: tokens(15),
        target: account(&zero, zero.owner()),
    };
    zero.execute_application_operation(token, bcs::to_bytes(&claim).unwrap())
        .await
        .unwrap();
    one.process_inbox().await.unwrap();
    zero.process_inbox().await.unwrap();
    assert_eq!(
        accounts(&zero, token).await,
        vec![(zero.owner(), tokens(40))]
    );
    assert_eq!(accounts(&one, token).await, vec![(one.owner(), tokens(60))]);

    // Chain 2 closes: a transfer to it is rejected there and comes back to the sender.
    two.close_chain().await.unwrap();
    transfer(&one, token, 25, account(&two, two.owner())).await;
    assert_eq!(accounts(&one, token).await, vec![(one.owner(), tokens(35))]);
    assert_eq!(supply(&all, token).await, tokens(75), "25 in flight");
    two.process_inbox().await.unwrap();
    one.process_inbox().await.unwrap();
    assert_eq!(accounts(&one, token).await, vec![(one.owner(), tokens(60))]);
    assert!(accounts(&two, token).await.is_empty());
    assert_eq!(supply(&all, token).await, tokens(100));

    // Every validator agrees on every chain's state.
    for chain_id in [0, 1, 2].map(|index| network.chain_id(index)) {
        assert_states_agree(&network, chain_id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_failing_operation_fails_its_block_and_changes_nothing() {
    let network = Network::for_tests(3).await;
    let zero = network.own_chain(0).await;
    let (bytecode_id, token) = publish_token(&zero, 5).await;
    let argument = serde_json::to_vec(&InitialState::default()).unwrap();
    let height = zero.chain_info().await.unwrap().next_block_height;

    let overdraft = Operation::Transfer {
        owner: zero.owner(),
        amount: tokens(6),
        target: account(&zero, zero.owner()),
    };
    let refused = zero
        .execute_application_operation(token, bcs::to_bytes(&overdraft).unwrap())
        .await
        .expect_err("an overdraft fails");
    assert!(refused.to_string().contains("less than"), "{refused}");
    let garbage = zero
        .execute_application_operation(token, vec![0xff; 3])
        .await
        .expect_err("an undecodable operation fails");
    assert!(garbage.to_string().contains("does not decode"), "{garbage}");
    let unknown = zero
        .execute_application_operation(
            ApplicationId(skein_base::crypto::CryptoHash::of_bytes(b"?")),
            Vec::new(),
        )
        .await
        .expect_err("an unknown application fails");
    assert!(unknown.to_string().contains("not registered"), "{unknown}");
    let empty_ticker = serde_json::to_vec(&Parameters {
        ticker: String::new(),
    })
    .unwrap();
    let failed_creation = zero
        .create_application(bytecode_id, empty_ticker, argument, Vec::new())
        .await
        .expect_err("instantiation fails");
    assert!(
        failed_creation.to_string().contains("ticker"),
        "{failed_creation}"
    );

    assert_eq!(zero.chain_info().await.unwrap().next_block_height, height);
    assert_eq!(
        accounts(&zero, token).await,
        vec![(zero.owner(), tokens(5))]
    );
}

/// Waits (at most five seconds: slower validators get blocks in the background) until
/// every validator has the same height and state hash for `chain_id`.
async fn assert_states_agree(network: &Network, chain_id: ChainId) {
    let mut hashes = Vec::new();
    for _ in 0..50 {
        hashes.clear();
        for index in 0..4 {
            let info = network
                .validator(index)
                .worker(&chain_id)
                .handle_chain_info_query(skein_core::ChainInfoQuery::new(chain_id))
                .await
                .unwrap();
            hashes.push((info.next_block_height, info.state_hash));
        }
        if hashes.windows(2).all(|pair| pair[0] == pair[1]) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("validators disagree on {chain_id}: {hashes:?}");
}
