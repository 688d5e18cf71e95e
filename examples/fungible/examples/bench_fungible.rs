//! Fungible-token transfers per second through validators in this process, beside native
//! transfers made the same way, on the memory store.
//!
//! ```text
//! cargo run --release -p fungible --example bench_fungible -- --blocks 2000
//! ```
//!
//! `--token-only` skips the native run: for profiling the token's.
//!
//! Both runs go through the whole protocol (local execution, signature, every validator
//! executing and voting, the certificate, every validator committing), several chains at
//! once, each transfer to another chain. The native run moves the chains' own tokens; the
//! token run moves the token's, every operation executed in Wasm by the client and by
//! each validator. The last lines give both rates and their ratio.

use std::{sync::Arc, time::Instant};

use fungible::{InitialState, Operation as TokenOperation, TokenAccount};
use skein_base::{Account, Amount, ApplicationId};
use skein_core::{
    tokio_spawner, ChainClient, ClientConfig, InProcessNetwork, NetworkConfig, SystemClock,
};
use skein_execution::{Operation, SystemOperation};
use skein_views::MemoryStore;

const CHAINS: usize = 8;

fn main() {
    let mut blocks = 2_000;
    let mut token_only = false;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        if flag == "--token-only" {
            token_only = true;
            continue;
        }
        let value = arguments.next().and_then(|value| value.parse().ok());
        match (flag.as_str(), value) {
            ("--blocks", Some(value)) if value > 0 => blocks = value,
            _ => {
                eprintln!("usage: bench_fungible [--blocks N] [--token-only]");
                std::process::exit(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(blocks, token_only));
}

async fn run(blocks: usize, token_only: bool) {
    let network = InProcessNetwork::in_memory(
        NetworkConfig {
            validators: 4,
            shards: 2,
            chains: CHAINS,
            balance: Amount::from_tokens(1_000_000),
        },
        Arc::new(SystemClock),
    )
    .await;
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), ClientConfig::default())
        .await
        .expect("a client");
    let chains: Vec<ChainClient<MemoryStore>> = (0..CHAINS)
        .map(|index| network.chain_client(&client, index))
        .collect();
    let blocks_per_chain = blocks.div_ceil(CHAINS);
    println!(
        "4 validators × 2 shards, {CHAINS} chains, {} blocks of one transfer each",
        blocks_per_chain * CHAINS
    );

    let token = setup_token(&chains).await;
    let native = if token_only {
        None
    } else {
        let native = measure(&chains, blocks_per_chain, |_, recipient| {
            Operation::System(SystemOperation::Transfer {
                owner: None,
                recipient: Account::chain(recipient.chain_id()),
                amount: Amount::from_attos(1),
            })
        })
        .await;
        println!("native transfers/s: {native:.0}");
        Some(native)
    };
    let fungible = measure(&chains, blocks_per_chain, move |sender, recipient| {
        let operation = TokenOperation::Transfer {
            owner: sender.owner(),
            amount: Amount::from_attos(1),
            target: TokenAccount {
                chain_id: recipient.chain_id(),
                owner: recipient.owner(),
            },
        };
        Operation::User {
            application_id: token,
            bytes: bcs::to_bytes(&operation).expect("an operation encodes"),
        }
    })
    .await;
    println!("fungible transfers/s: {fungible:.0}");
    if let Some(native) = native {
        println!(
            "a fungible transfer costs {:.2}× a native transfer end to end",
            native / fungible
        );
    }
}

/// Publishes the token from chain 0 and gives every chain's owner tokens on its own chain.
async fn setup_token(chains: &[ChainClient<MemoryStore>]) -> ApplicationId {
    let dir = env!("CARGO_MANIFEST_DIR");
    let contract = skein_sdk::build::wasm_module(dir, "fungible_contract");
    let service = skein_sdk::build::wasm_module(dir, "fungible_service");
    let creator = &chains[0];
    let (code, _) = creator
        .publish_bytecode(contract, service)
        .await
        .expect("published");
    let argument = serde_json::to_vec(&InitialState {
        accounts: vec![(creator.owner(), Amount::from_tokens(1_000_000))],
    })
    .expect("an argument encodes");
    let (token, _) = creator
        .create_application(
            code,
            br#"{"ticker":"BENCH"}"#.to_vec(),
            argument,
            Vec::new(),
        )
        .await
        .expect("created");
    let grants: Vec<Operation> = chains[1..]
        .iter()
        .map(|chain| {
            let operation = TokenOperation::Transfer {
                owner: creator.owner(),
                amount: Amount::from_tokens(1_000),
                target: TokenAccount {
                    chain_id: chain.chain_id(),
                    owner: chain.owner(),
                },
            };
            Operation::User {
                application_id: token,
                bytes: bcs::to_bytes(&operation).expect("an operation encodes"),
            }
        })
        .collect();
    creator.execute_operations(grants).await.expect("granted");
    for chain in &chains[1..] {
        chain.process_inbox().await.expect("received");
    }
    token
}

/// Every chain makes `blocks_per_chain` blocks of the operation `make(sender, recipient)`,
/// to the other chains in turn; answers transfers per second.
async fn measure(
    chains: &[ChainClient<MemoryStore>],
    blocks_per_chain: usize,
    make: impl Fn(&ChainClient<MemoryStore>, &ChainClient<MemoryStore>) -> Operation
        + Clone
        + Send
        + 'static,
) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, chain) in chains.iter().enumerate() {
        let chain = chain.clone();
        let recipients: Vec<ChainClient<MemoryStore>> = (1..chains.len())
            .map(|offset| chains[(index + offset) % chains.len()].clone())
            .collect();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            for block in 0..blocks_per_chain {
                let operation = make(&chain, &recipients[block % recipients.len()]);
                chain
                    .execute_operations(vec![operation])
                    .await
                    .expect("a block");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a chain's task");
    }
    (blocks_per_chain * chains.len()) as f64 / started.elapsed().as_secs_f64()
}
