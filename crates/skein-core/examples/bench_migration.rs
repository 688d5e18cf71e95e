//! How long a reconfiguration takes to reach idle chains, through validators in this
//! process on the memory store.
//!
//! ```text
//! cargo run --release -p skein-core --example bench_migration -- --chains 1000
//! ```
//!
//! The admin chain creates epoch 1 (the same validators with twice the votes); then the
//! owners of `--chains` genesis chains that made no block yet each make the one block that
//! migrates theirs, `--concurrency` at a time. It prints the time from the admin operation
//! until every chain is in epoch 1 at every validator, and chains migrated per second.

use std::{sync::Arc, time::Instant};

use futures::StreamExt;
use skein_base::{Amount, Committee, Epoch};
use skein_core::{
    tokio_spawner, ChainInfoQuery, ClientConfig, InProcessNetwork, NetworkConfig, SystemClock,
};
use skein_execution::SystemOperation;
use skein_views::MemoryStore;

fn parse() -> Result<(usize, usize), String> {
    let (mut chains, mut concurrency) = (1000, 16);
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag} expects a number, not {value:?}"))?;
        match flag.as_str() {
            "--chains" => chains = number,
            "--concurrency" => concurrency = number,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if chains == 0 || concurrency == 0 {
        return Err("need at least one chain and a concurrency of one".into());
    }
    Ok((chains, concurrency))
}

fn main() {
    let (chains, concurrency) = match parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("usage: bench_migration [--chains N] [--concurrency C]");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(chains, concurrency));
}

async fn run(chains: usize, concurrency: usize) {
    let config = NetworkConfig {
        validators: 4,
        shards: 2,
        // Chain 0 is the admin chain; the others stay idle until they migrate.
        chains: chains + 1,
        balance: Amount::from_tokens(10),
    };
    let network = InProcessNetwork::in_memory(config, Arc::new(SystemClock)).await;
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), ClientConfig::default())
        .await
        .expect("a client");
    let mut members = network.genesis().committee.validators().clone();
    for state in members.values_mut() {
        state.votes *= 2;
    }
    let committee = Committee::new(members).expect("a committee");

    let start = Instant::now();
    network
        .chain_client(&client, 0)
        .execute_operation(SystemOperation::CreateCommittee {
            epoch: Epoch(1),
            committee,
        })
        .await
        .expect("epoch 1 created");
    let created = start.elapsed();
    let migrations = futures::stream::iter(1..=chains)
        .map(|index| {
            let chain = network.chain_client(&client, index);
            async move {
                chain
                    .execute_operation(SystemOperation::MigrateToEpoch { epoch: Epoch(1) })
                    .await
                    .expect("the chain migrates")
            }
        })
        .buffer_unordered(concurrency);
    migrations.for_each(|_| async {}).await;
    // Every validator holds every chain in epoch 1 (the slower ones get the certificates
    // in the background).
    for validator in 0..4 {
        for index in 1..=chains {
            let chain_id = network.chain_id(index);
            loop {
                let info = network
                    .validator(validator)
                    .worker(&chain_id)
                    .handle_chain_info_query(ChainInfoQuery::new(chain_id))
                    .await
                    .expect("query");
                if info.epoch == Epoch(1) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }
    let elapsed = start.elapsed();
    println!(
        "epoch created in {:.1} ms; {chains} idle chains migrated at every validator {:.2} s after the admin operation",
        created.as_secs_f64() * 1e3,
        elapsed.as_secs_f64()
    );
    println!(
        "chains migrated/s: {:.0}",
        chains as f64 / (elapsed - created).as_secs_f64()
    );
}
