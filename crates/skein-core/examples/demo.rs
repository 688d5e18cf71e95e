//! A local network with the embedded store, and a walk through what it can do.
//!
//! ```text
//! cargo run --release -p skein-core --example demo [-- --path DIR]
//! ```
//!
//! Starts four validators of two shards each, storing their data under `DIR` (a temporary
//! directory by default), then shows, step by step: transfers between chains, receiving
//! them, opening a chain for a new user, a validator going offline without anyone waiting
//! for it, its return and catch-up, closing a chain and a transfer bouncing back from it.

use std::{path::PathBuf, sync::Arc};

use skein_base::{crypto::SecretKey, Account, AccountOwner, Amount, ChainId};
use skein_core::{
    tokio_spawner, ChainClient, ChainInfoQuery, ClientConfig, Fault, InProcessNetwork,
    NetworkConfig, SystemClock,
};
use skein_execution::ChainOwnership;
use skein_storage::LogStore;
use skein_views::MemoryStore;

type Network = InProcessNetwork<LogStore>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let mut keep = None;
    while let Some(flag) = arguments.next() {
        match (flag.as_str(), arguments.next()) {
            ("--path", Some(path)) => keep = Some(PathBuf::from(path)),
            _ => {
                eprintln!("usage: demo [--path DIR]");
                std::process::exit(2);
            }
        }
    }
    let temporary = tempfile::tempdir()?;
    let root = keep.unwrap_or_else(|| temporary.path().to_path_buf());
    println!(
        "Skein demo: 4 validators × 2 shards, embedded stores under {}\n",
        root.display()
    );
    let directory = root.clone();
    let factory = Box::new(move |index: usize| {
        LogStore::open(&directory.join(format!("validator-{index}")), false)
            .expect("the validator's store opens")
    });
    let config = NetworkConfig {
        validators: 4,
        shards: 2,
        chains: 2,
        balance: Amount::from_tokens(100),
    };
    let network = InProcessNetwork::new(config, Arc::new(SystemClock), factory).await;
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), ClientConfig::default())
        .await?;
    let alice = network.chain_client(&client, 0);
    let bob = network.chain_client(&client, 1);
    println!("Genesis: two chains with 100 tokens each.");
    println!("  alice's chain {}", alice.chain_id());
    println!("  bob's chain   {}\n", bob.chain_id());

    step("1. Alice sends 12.5 tokens to Bob's chain.");
    let certificate = alice
        .transfer(None, "12.5".parse()?, Account::chain(bob.chain_id()))
        .await?;
    println!(
        "   certified block {} at height {} with {} signatures",
        certificate.hash(),
        certificate.value().block.height,
        certificate.signatures().len()
    );
    show(&network, &[("alice", &alice), ("bob", &bob)]).await?;

    step("2. Bob picks the transfer from his inbox.");
    bob.process_inbox().await?;
    show(&network, &[("alice", &alice), ("bob", &bob)]).await?;

    step("3. Alice opens a chain for Carol, with 20 tokens.");
    let carol_key = SecretKey::generate();
    let ownership = ChainOwnership::single(AccountOwner::from(carol_key.public()));
    let (carol_id, _) = alice.open_chain(ownership, Amount::from_tokens(20)).await?;
    let carol = client.chain(carol_id, carol_key);
    println!("   carol's chain {carol_id}");
    show(&network, &[("alice", &alice), ("carol", &carol)]).await?;

    step("4. Validator 3 goes offline; Carol pays Bob 5 tokens anyway.");
    network.nodes[3].set_fault(Fault::Offline);
    let started = std::time::Instant::now();
    carol
        .transfer(None, Amount::from_tokens(5), Account::chain(bob.chain_id()))
        .await?;
    bob.process_inbox().await?;
    println!(
        "   done in {:.1?} with three validators of four",
        started.elapsed()
    );
    show(&network, &[("bob", &bob), ("carol", &carol)]).await?;

    step("5. Validator 3 returns; the next blocks bring it up to date.");
    network.nodes[3].set_fault(Fault::Honest);
    carol
        .transfer(None, Amount::ONE, Account::chain(alice.chain_id()))
        .await?;
    wait_until_level(&network, carol_id).await;
    for index in 0..4 {
        let info = network
            .validator(index)
            .worker(&carol_id)
            .handle_chain_info_query(ChainInfoQuery::new(carol_id))
            .await?;
        println!(
            "   validator {index}: carol's chain at height {}, state {}",
            info.next_block_height, info.state_hash
        );
    }
    println!();

    step("6. Carol closes her chain; a transfer to it bounces back to Alice.");
    carol.close_chain().await?;
    alice.process_inbox().await?;
    alice
        .transfer(None, Amount::from_tokens(3), Account::chain(carol_id))
        .await?;
    show(&network, &[("alice", &alice)]).await?;
    carol.process_inbox().await?;
    alice.process_inbox().await?;
    println!("   after the bounce:");
    show(&network, &[("alice", &alice), ("carol", &carol)]).await?;

    println!("\nWhat next:");
    println!("  cargo test --workspace                                     # every test, 200 simulator seeds");
    println!("  cargo run --release -p skein-core --example simulate -- --seeds 10000");
    println!("  cargo run --release -p skein-core --example bench_transfers -- --validators 4 --transfers-per-block 1 --blocks 2000");
    Ok(())
}

fn step(title: &str) {
    println!("{title}");
}

async fn show(
    network: &Network,
    chains: &[(&str, &ChainClient<MemoryStore>)],
) -> Result<(), Box<dyn std::error::Error>> {
    for (name, chain) in chains {
        let local = chain.chain_balance().await?;
        let at_validator = network
            .validator(0)
            .worker(&chain.chain_id())
            .chain_total_balance(chain.chain_id())
            .await?;
        println!("   {name:>5}: {local} tokens (validator 0 agrees: {at_validator})");
    }
    println!();
    Ok(())
}

/// Waits until every validator has carol's chain at the same height: the client hands the
/// certificate to slower validators in the background.
async fn wait_until_level(network: &Network, chain_id: ChainId) {
    for _ in 0..100 {
        let mut heights = Vec::new();
        for index in 0..4 {
            let info = network
                .validator(index)
                .worker(&chain_id)
                .handle_chain_info_query(ChainInfoQuery::new(chain_id))
                .await
                .expect("a query");
            heights.push(info.next_block_height);
        }
        if heights.iter().all(|height| *height == heights[0]) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
