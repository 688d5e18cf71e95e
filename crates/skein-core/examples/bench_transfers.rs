//! Transfers per second through validators in this process, on the memory store.
//!
//! ```text
//! cargo run --release -p skein-core --example bench_transfers -- \
//!     --validators 4 --transfers-per-block 1 --blocks 2000
//! ```
//!
//! Every block goes through the whole protocol: the client executes it locally, signs it,
//! every validator checks and executes it and votes, the client forms the certificate and
//! every validator checks it and commits the block. Several chains make blocks at once, as
//! independent users would; each transfer goes to another chain. The last line is
//! `transfers/s: N`.

use std::{sync::Arc, time::Instant};

use skein_base::{Account, Amount};
use skein_core::{tokio_spawner, ClientConfig, InProcessNetwork, NetworkConfig, SystemClock};
use skein_execution::{Operation, SystemOperation};
use skein_views::MemoryStore;

struct Options {
    validators: usize,
    shards: usize,
    chains: usize,
    transfers_per_block: usize,
    blocks: usize,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        validators: 4,
        shards: 2,
        chains: 8,
        transfers_per_block: 1,
        blocks: 2000,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag} expects a number, not {value:?}"))?;
        match flag.as_str() {
            "--validators" => options.validators = number,
            "--shards" => options.shards = number,
            "--chains" => options.chains = number,
            "--transfers-per-block" => options.transfers_per_block = number,
            "--blocks" => options.blocks = number,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.validators == 0 || options.chains < 2 || options.transfers_per_block == 0 {
        return Err("need at least 1 validator, 2 chains and 1 transfer per block".into());
    }
    if options.transfers_per_block > skein_base::limits::OPERATIONS_PER_BLOCK_MAX {
        return Err(format!(
            "at most {} transfers per block",
            skein_base::limits::OPERATIONS_PER_BLOCK_MAX
        ));
    }
    Ok(options)
}

fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("usage: bench_transfers [--validators N] [--shards S] [--chains C] [--transfers-per-block T] [--blocks B]");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(options));
}

async fn run(options: Options) {
    let config = NetworkConfig {
        validators: options.validators,
        shards: options.shards,
        chains: options.chains,
        balance: Amount::from_tokens(1_000_000_000),
    };
    let network = InProcessNetwork::in_memory(config, Arc::new(SystemClock)).await;
    let client = network
        .client(MemoryStore::new(), tokio_spawner(), ClientConfig::default())
        .await
        .expect("client");
    let blocks_per_chain = options.blocks.div_ceil(options.chains);
    let total_blocks = blocks_per_chain * options.chains;
    println!(
        "{} validators × {} shards, {} chains, {} blocks of {} transfers",
        options.validators,
        options.shards,
        options.chains,
        total_blocks,
        options.transfers_per_block
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..options.chains {
        let chain = network.chain_client(&client, index);
        let recipients: Vec<Account> = (1..options.chains)
            .map(|offset| Account::chain(network.chain_id((index + offset) % options.chains)))
            .collect();
        let transfers_per_block = options.transfers_per_block;
        tasks.push(tokio::spawn(async move {
            for block in 0..blocks_per_chain {
                let operations = (0..transfers_per_block)
                    .map(|transfer| {
                        Operation::System(SystemOperation::Transfer {
                            owner: None,
                            recipient: recipients[(block + transfer) % recipients.len()],
                            amount: Amount::from_attos(1),
                        })
                    })
                    .collect();
                chain.execute_operations(operations).await.expect("a block");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a chain's task");
    }
    let elapsed = started.elapsed();
    let transfers = total_blocks * options.transfers_per_block;
    let blocks_per_second = total_blocks as f64 / elapsed.as_secs_f64();
    println!(
        "elapsed: {:.2}s, blocks/s: {:.0}",
        elapsed.as_secs_f64(),
        blocks_per_second
    );
    println!(
        "transfers/s: {:.0}",
        transfers as f64 / elapsed.as_secs_f64()
    );
}
