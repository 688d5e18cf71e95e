//! The pool between two tokens, all three built for Wasm, on four in-process validators:
//! liquidity in and out, swaps both ways at the constant-product price, refusals that move
//! nothing, and both tokens' supplies conserved.

use amm::{Operation, Parameters, Pool};
use fungible::{Query, QueryResponse};
use skein_base::{AccountOwner, Amount, ApplicationId};
use skein_core::{ChainClient, InProcessNetwork};
use skein_views::MemoryStore;

fn tokens(count: u128) -> Amount {
    Amount::from_tokens(count)
}

struct Market {
    _network: InProcessNetwork<MemoryStore>,
    chain: ChainClient<MemoryStore>,
    tokens: [ApplicationId; 2],
    pool: ApplicationId,
}

impl Market {
    async fn new() -> Market {
        let network = InProcessNetwork::for_tests(1).await;
        let chain = network.own_chain(0).await;
        let fungible = concat!(env!("CARGO_MANIFEST_DIR"), "/../fungible");
        let (token_code, _) = chain
            .publish_bytecode(
                skein_sdk::build::wasm_module(fungible, "fungible_contract"),
                skein_sdk::build::wasm_module(fungible, "fungible_service"),
            )
            .await
            .unwrap();
        let mut created = Vec::new();
        for ticker in ["AAA", "BBB"] {
            let argument = format!(r#"{{"accounts":[["{}","1000"]]}}"#, chain.owner());
            let (id, _) = chain
                .create_application(
                    token_code,
                    format!(r#"{{"ticker":"{ticker}"}}"#).into_bytes(),
                    argument.into_bytes(),
                    Vec::new(),
                )
                .await
                .unwrap();
            created.push(id);
        }
        let tokens = [created[0], created[1]];
        let dir = env!("CARGO_MANIFEST_DIR");
        let (code, _) = chain
            .publish_bytecode(
                skein_sdk::build::wasm_module(dir, "amm_contract"),
                skein_sdk::build::wasm_module(dir, "amm_service"),
            )
            .await
            .unwrap();
        let parameters = serde_json::to_vec(&Parameters {
            token_0: tokens[0],
            token_1: tokens[1],
        })
        .unwrap();
        let (pool, _) = chain
            .create_application(code, parameters, b"null".to_vec(), tokens.to_vec())
            .await
            .unwrap();
        Market {
            _network: network,
            chain,
            tokens,
            pool,
        }
    }

    async fn run(&self, operation: Operation) -> Result<(), String> {
        self.chain
            .execute_application_operation(self.pool, bcs::to_bytes(&operation).unwrap())
            .await
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    async fn balance(&self, token: usize, owner: AccountOwner) -> Amount {
        let query = serde_json::to_vec(&Query::Balance { owner }).unwrap();
        let answer = self
            .chain
            .query_application(self.tokens[token], query)
            .await
            .unwrap();
        match serde_json::from_slice(&answer).unwrap() {
            QueryResponse::Balance(amount) => amount,
            other => panic!("unexpected answer {other:?}"),
        }
    }

    async fn pool(&self) -> Pool {
        let answer = self
            .chain
            .query_application(self.pool, b"null".to_vec())
            .await
            .unwrap();
        serde_json::from_slice(&answer).unwrap()
    }

    /// The user's and the pool's holdings of `token`: the token's whole supply here.
    async fn supply(&self, token: usize) -> Amount {
        let user = self.balance(token, self.chain.owner()).await;
        let pool = self
            .balance(token, AccountOwner::Application(self.pool))
            .await;
        user.try_add(pool).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_liquidity_and_swaps_at_the_constant_product_price() {
    let market = Market::new().await;
    let me = market.chain.owner();
    market
        .run(Operation::AddLiquidity {
            owner: me,
            amount_0: tokens(100),
            amount_1: tokens(200),
        })
        .await
        .unwrap();
    let pool = market.pool().await;
    assert_eq!(pool.reserves, [tokens(100), tokens(200)]);
    assert_eq!(pool.providers, vec![(me, pool.total_shares)]);
    assert_eq!(market.balance(0, me).await, tokens(900));

    // 10 of token 0 for what the curve gives of token 1.
    let expected = amm::swap_output(tokens(100), tokens(200), tokens(10));
    market
        .run(Operation::Swap {
            owner: me,
            token_in: 0,
            amount_in: tokens(10),
            min_amount_out: expected,
        })
        .await
        .unwrap();
    assert_eq!(
        market.pool().await.reserves,
        [tokens(110), tokens(200).try_sub(expected).unwrap()]
    );
    assert_eq!(
        market.balance(1, me).await,
        tokens(800).try_add(expected).unwrap()
    );

    // Asking for more than the curve gives, or paying more than one holds: nothing moves.
    let greedy = market
        .run(Operation::Swap {
            owner: me,
            token_in: 1,
            amount_in: tokens(10),
            min_amount_out: tokens(10),
        })
        .await
        .unwrap_err();
    assert!(greedy.contains("less than"), "{greedy}");
    let broke = market
        .run(Operation::Swap {
            owner: me,
            token_in: 1,
            amount_in: tokens(5_000),
            min_amount_out: Amount::ZERO,
        })
        .await
        .unwrap_err();
    assert!(broke.contains("less than"), "{broke}");
    assert_eq!(
        market.pool().await.reserves,
        [tokens(110), tokens(200).try_sub(expected).unwrap()]
    );

    // A swap back, then all liquidity out: the pool is empty, the user holds everything.
    market
        .run(Operation::Swap {
            owner: me,
            token_in: 1,
            amount_in: tokens(5),
            min_amount_out: Amount::ZERO,
        })
        .await
        .unwrap();
    let shares = market.pool().await.total_shares;
    market
        .run(Operation::RemoveLiquidity { owner: me, shares })
        .await
        .unwrap();
    let pool = market.pool().await;
    assert_eq!(pool.reserves, [Amount::ZERO, Amount::ZERO]);
    assert_eq!((pool.total_shares, pool.providers.len()), (0, 0));
    for token in [0, 1] {
        assert_eq!(market.balance(token, me).await, tokens(1_000));
        assert_eq!(market.supply(token).await, tokens(1_000));
    }
}
