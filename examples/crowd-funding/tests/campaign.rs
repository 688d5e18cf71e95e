//! Campaigns on four in-process validators, with the token and the campaign built for
//! Wasm: backers sharing a chain pledge through the token's sessions, the owner collects,
//! a campaign that misses its target refunds, and a failing pledge changes nothing. The
//! token's supply holds throughout.

use std::sync::Arc;

use crowd_funding::{Campaign, Operation, Parameters, Status};
use fungible::{InitialState, Query, QueryResponse};
use skein_base::{
    crypto::SecretKey, AccountOwner, Amount, ApplicationId, BytecodeId, TimeDelta, Timestamp,
};
use skein_core::{tokio_spawner, ChainClient, Client, ClientConfig, InProcessNetwork};
use skein_execution::ChainOwnership;
use skein_views::MemoryStore;

type Network = InProcessNetwork<MemoryStore>;

fn tokens(count: u128) -> Amount {
    Amount::from_tokens(count)
}

async fn client(network: &Network) -> Arc<Client<MemoryStore>> {
    let config = ClientConfig {
        request_timeout: TimeDelta::from_secs(5),
        ..ClientConfig::default()
    };
    network
        .client(MemoryStore::new(), tokio_spawner(), config)
        .await
        .expect("a client")
}

fn module(crate_dir: &str, binary: &str) -> Vec<u8> {
    skein_sdk::build::wasm_module(crate_dir, binary)
}

/// Chain 0 shared by its genesis owner (the campaigns' owner) and a backer, each with a
/// client of their own; the token, created with 50 for each.
struct Setup {
    network: Network,
    owner: ChainClient<MemoryStore>,
    backer: ChainClient<MemoryStore>,
    token: ApplicationId,
    campaign_code: BytecodeId,
}

async fn setup() -> Setup {
    let network = InProcessNetwork::for_tests(1).await;
    let owner = network.own_chain(0).await;
    let backer_key = SecretKey::from_test_seed(4_242);
    let backer_owner = AccountOwner::from(backer_key.public());
    owner
        .change_ownership(ChainOwnership::multiple(
            [(owner.owner(), 1), (backer_owner, 1)],
            3,
        ))
        .await
        .unwrap();
    let backer = client(&network)
        .await
        .chain(network.chain_id(0), backer_key);
    backer.synchronize().await.unwrap();

    let fungible_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fungible");
    let (token_code, _) = owner
        .publish_bytecode(
            module(fungible_dir, "fungible_contract"),
            module(fungible_dir, "fungible_service"),
        )
        .await
        .unwrap();
    let (token, _) = owner
        .create_application(
            token_code,
            br#"{"ticker":"FUND"}"#.to_vec(),
            serde_json::to_vec(&InitialState {
                accounts: vec![(owner.owner(), tokens(50)), (backer.owner(), tokens(50))],
            })
            .unwrap(),
            Vec::new(),
        )
        .await
        .unwrap();
    let (campaign_code, _) = owner
        .publish_bytecode(
            module(env!("CARGO_MANIFEST_DIR"), "crowd_funding_contract"),
            module(env!("CARGO_MANIFEST_DIR"), "crowd_funding_service"),
        )
        .await
        .unwrap();
    Setup {
        network,
        owner,
        backer,
        token,
        campaign_code,
    }
}

impl Setup {
    async fn campaign(&self, target: u128, deadline: Timestamp) -> ApplicationId {
        let parameters = Parameters {
            token: self.token,
            owner: self.owner.owner(),
            target: tokens(target),
            deadline,
        };
        let (id, _) = self
            .owner
            .create_application(
                self.campaign_code,
                serde_json::to_vec(&parameters).unwrap(),
                b"null".to_vec(),
                vec![self.token],
            )
            .await
            .unwrap();
        id
    }

    async fn run(
        &self,
        signer: &ChainClient<MemoryStore>,
        campaign: ApplicationId,
        operation: Operation,
    ) -> Result<(), String> {
        signer
            .execute_application_operation(campaign, bcs::to_bytes(&operation).unwrap())
            .await
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    async fn pledge(
        &self,
        backer: &ChainClient<MemoryStore>,
        campaign: ApplicationId,
        amount: u128,
    ) {
        let operation = Operation::Pledge {
            owner: backer.owner(),
            amount: tokens(amount),
        };
        self.run(backer, campaign, operation)
            .await
            .expect("pledged");
    }

    async fn state(&self, campaign: ApplicationId) -> Campaign {
        self.owner.synchronize().await.unwrap();
        let answer = self
            .owner
            .query_application(campaign, b"null".to_vec())
            .await
            .unwrap();
        serde_json::from_slice(&answer).unwrap()
    }

    /// Every account of the token on the chain, the campaigns' included.
    async fn balances(&self) -> Vec<(AccountOwner, Amount)> {
        self.owner.synchronize().await.unwrap();
        let query = serde_json::to_vec(&Query::Accounts).unwrap();
        let answer = self
            .owner
            .query_application(self.token, query)
            .await
            .unwrap();
        match serde_json::from_slice(&answer).unwrap() {
            QueryResponse::Accounts(accounts) => accounts,
            other => panic!("unexpected answer {other:?}"),
        }
    }

    async fn balance(&self, owner: AccountOwner) -> Amount {
        self.balances()
            .await
            .into_iter()
            .find(|(account, _)| *account == owner)
            .map_or(Amount::ZERO, |(_, amount)| amount)
    }

    async fn supply(&self) -> Amount {
        self.balances()
            .await
            .into_iter()
            .fold(Amount::ZERO, |total, (_, amount)| {
                total.try_add(amount).unwrap()
            })
    }
}

fn in_an_hour() -> Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_micros(u64::try_from(now.as_micros()).unwrap() + 3_600_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_backers_pledge_through_sessions_and_the_owner_collects() {
    let setup = setup().await;
    let campaign = setup.campaign(60, in_an_hour()).await;
    let account = AccountOwner::Application(campaign);

    setup.pledge(&setup.backer, campaign, 40).await;
    setup.pledge(&setup.owner, campaign, 25).await;
    assert_eq!(
        setup.balance(account).await,
        tokens(65),
        "pledges sit with the campaign"
    );
    assert_eq!(setup.balance(setup.backer.owner()).await, tokens(10));

    // More than the backer holds: the token fails, so the whole pledge fails.
    let refused = setup
        .run(
            &setup.backer,
            campaign,
            Operation::Pledge {
                owner: setup.backer.owner(),
                amount: tokens(11),
            },
        )
        .await
        .unwrap_err();
    assert!(refused.contains("less than"), "{refused}");
    // Pledging someone else's tokens: the signer is not theirs.
    let refused = setup
        .run(
            &setup.backer,
            campaign,
            Operation::Pledge {
                owner: setup.owner.owner(),
                amount: tokens(1),
            },
        )
        .await
        .unwrap_err();
    assert!(refused.contains("only"), "{refused}");
    // Only the owner collects.
    let refused = setup
        .run(&setup.backer, campaign, Operation::Collect)
        .await
        .unwrap_err();
    assert!(refused.contains("only the campaign's owner"), "{refused}");

    let state = setup.state(campaign).await;
    assert_eq!((state.status, state.total), (Status::Active, tokens(65)));
    assert_eq!(state.pledges.len(), 2);

    setup
        .run(&setup.owner, campaign, Operation::Collect)
        .await
        .unwrap();
    assert_eq!(setup.state(campaign).await.status, Status::Collected);
    assert_eq!(setup.balance(account).await, Amount::ZERO);
    assert_eq!(setup.balance(setup.owner.owner()).await, tokens(90));
    assert_eq!(setup.supply().await, tokens(100));
    drop(setup.network);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_campaign_short_of_its_target_refunds_its_backers() {
    let setup = setup().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let deadline = Timestamp::from_micros(u64::try_from(now.as_micros()).unwrap() + 1_500_000);
    let campaign = setup.campaign(60, deadline).await;
    setup.pledge(&setup.backer, campaign, 30).await;
    setup.pledge(&setup.owner, campaign, 5).await;

    let early = setup
        .run(&setup.backer, campaign, Operation::Cancel)
        .await
        .unwrap_err();
    assert!(early.contains("until its deadline"), "{early}");
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let late = setup
        .run(
            &setup.backer,
            campaign,
            Operation::Pledge {
                owner: setup.backer.owner(),
                amount: tokens(1),
            },
        )
        .await
        .unwrap_err();
    assert!(late.contains("deadline has passed"), "{late}");

    setup
        .run(&setup.backer, campaign, Operation::Cancel)
        .await
        .unwrap();
    assert_eq!(setup.state(campaign).await.status, Status::Cancelled);
    assert_eq!(setup.balance(setup.backer.owner()).await, tokens(50));
    assert_eq!(setup.balance(setup.owner.owner()).await, tokens(50));
    assert_eq!(
        setup.balance(AccountOwner::Application(campaign)).await,
        Amount::ZERO
    );
    assert_eq!(setup.supply().await, tokens(100));
}
