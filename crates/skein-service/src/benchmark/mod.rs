//! `skein benchmark`: transfers between many chains against a running network, with
//! throughput and latency; native tokens, or a fungible token's (`--fungible`).

mod fungible;
mod verify;

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use skein_base::{crypto::SecretKey, limits, Account, AccountOwner, Amount, ChainId};
use skein_core::{tokio_spawner, ChainClient, Client};
use skein_execution::{ChainOwnership, Operation, SystemOperation};
use skein_storage::Storage;
use skein_views::MemoryStore;

use crate::{
    cli::BenchmarkOptions,
    context::{client_config, validator_entries, Context},
};

/// What a benchmark measured.
pub struct BenchmarkReport {
    /// Transfers certified.
    pub transfers: u64,
    /// Blocks that failed.
    pub errors: u64,
    /// Time from the first block to the last.
    pub elapsed: Duration,
    /// Block latencies in microseconds.
    pub latencies: Histogram<u64>,
    /// What `--verify` found, if asked.
    pub verification: Option<verify::Verification>,
}

impl BenchmarkReport {
    /// Certified transfers per second.
    pub fn transfers_per_second(&self) -> f64 {
        self.transfers as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q`, in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1_000.0
    }
}

/// The most chains a benchmark opens: each is a block on the funding chain and a chain
/// every validator keeps for good.
const BENCHMARK_CHAINS_MAX: usize = 10_000;

/// The most transfers a benchmark makes (hours of load on a small network).
const BENCHMARK_TRANSFERS_MAX: usize = 100_000_000;

/// Runs `skein benchmark`.
pub async fn benchmark(
    context: &mut Context,
    options: BenchmarkOptions,
) -> anyhow::Result<BenchmarkReport> {
    if !(2..=BENCHMARK_CHAINS_MAX).contains(&options.chains) {
        bail!("--chains must be between 2 and {BENCHMARK_CHAINS_MAX}");
    }
    if !(1..=BENCHMARK_TRANSFERS_MAX).contains(&options.transfers) {
        bail!("--transfers must be between 1 and {BENCHMARK_TRANSFERS_MAX}");
    }
    if !(1..=limits::OPERATIONS_PER_BLOCK_MAX).contains(&options.transfers_per_block) {
        bail!(
            "--transfers-per-block must be between 1 and {}",
            limits::OPERATIONS_PER_BLOCK_MAX
        );
    }
    if options.target_tps == Some(0) {
        bail!("--target-tps must be positive");
    }
    let modules = options
        .fungible
        .as_deref()
        .map(fungible::Modules::read)
        .transpose()?;
    let funder_id = context.chain_or_default(options.from)?;
    let funder = context.chain_client(funder_id)?;

    // Open and fund the benchmark chains, a block of up to a thousand at a time.
    let keys: Vec<SecretKey> = (0..options.chains).map(|_| SecretKey::generate()).collect();
    let funding = Amount::from_tokens(1);
    let mut chain_ids = Vec::new();
    for batch in keys.chunks(limits::OPERATIONS_PER_BLOCK_MAX) {
        let operations: Vec<Operation> = batch
            .iter()
            .map(|key| {
                Operation::System(SystemOperation::OpenChain {
                    ownership: ChainOwnership::single(AccountOwner::from(key.public())),
                    balance: funding,
                })
            })
            .collect();
        let certificate = funder.execute_operations(operations).await.context(
            "cannot open the benchmark chains (does the default chain have a few tokens?)",
        )?;
        chain_ids.extend(certificate.value().block.opened_chains());
    }
    output_line!("opened {} chains from {funder_id}", chain_ids.len());

    // The benchmark's own client, in memory: its chains are throwaway.
    let client = Client::new(
        Storage::new(MemoryStore::new()),
        context.wallet.genesis(),
        validator_entries(context.wallet.genesis())?,
        Arc::new(skein_core::SystemClock),
        tokio_spawner(),
        client_config(),
    )
    .await?;
    client.connect_new_validators_with(skein_rpc::grpc_connect());
    let chains = activate(&client, &chain_ids, keys).await?;
    let token = match modules {
        Some(modules) => Some(Arc::new(fungible::set_up(modules, &chains).await?)),
        None => None,
    };

    let blocks = options.transfers.div_ceil(options.transfers_per_block);
    let concurrency = options
        .clients
        .unwrap_or(chains.len())
        .clamp(1, chains.len());
    let progress = ProgressBar::new(blocks as u64 * options.transfers_per_block as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} transfers  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next_block = Arc::new(AtomicUsize::new(0));
    let transfers = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(parking_lot::Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("a histogram")?,
    ));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        // Each worker drives its own chains, so no two workers propose on one chain.
        let own: Vec<ChainClient<MemoryStore>> = chains
            .iter()
            .enumerate()
            .filter(|(index, _)| index % concurrency == worker)
            .map(|(_, chain)| chain.clone())
            .collect();
        let everyone = chain_ids.clone();
        let (next_block, transfers, errors, latencies, progress) = (
            next_block.clone(),
            transfers.clone(),
            errors.clone(),
            latencies.clone(),
            progress.clone(),
        );
        let token = token.clone();
        let per_block = options.transfers_per_block;
        let target_tps = options.target_tps;
        tasks.push(tokio::spawn(async move {
            let mut turn = 0usize;
            loop {
                let block = next_block.fetch_add(1, Ordering::SeqCst);
                if block >= blocks {
                    break;
                }
                if let Some(rate) = target_tps {
                    let due =
                        started + Duration::from_secs_f64((block * per_block) as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let chain = &own[turn % own.len()];
                turn += 1;
                let operations = (0..per_block)
                    .map(|offset| {
                        let mut recipient = everyone[(block * per_block + offset) % everyone.len()];
                        if recipient == chain.chain_id() {
                            recipient = everyone[(block * per_block + offset + 1) % everyone.len()];
                        }
                        match &token {
                            Some(token) => token.transfer(chain.chain_id(), recipient),
                            None => Operation::System(SystemOperation::Transfer {
                                owner: None,
                                recipient: Account::chain(recipient),
                                amount: Amount::from_attos(1),
                            }),
                        }
                    })
                    .collect();
                let sent = Instant::now();
                match chain.execute_operations(operations).await {
                    Ok(_) => {
                        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                        let _ = latencies.lock().record(micros.max(1));
                        transfers.fetch_add(per_block as u64, Ordering::SeqCst);
                        progress.inc(per_block as u64);
                    }
                    Err(error) => {
                        errors.fetch_add(1, Ordering::SeqCst);
                        tracing::warn!(%error, "a benchmark block failed");
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.context("a benchmark task panicked")?;
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    let latencies = latencies.lock().clone();
    let verification = if options.verify && token.is_none() {
        let funded = Amount::from_attos(funding.to_attos() * chains.len() as u128);
        Some(verify::verify(&client, &chains, funded).await?)
    } else {
        None
    };
    Ok(BenchmarkReport {
        transfers: transfers.load(Ordering::SeqCst),
        errors: errors.load(Ordering::SeqCst),
        elapsed,
        latencies,
        verification,
    })
}

/// Waits until the validators have delivered each chain's opening message, and returns a
/// client for each.
async fn activate(
    client: &Arc<Client<MemoryStore>>,
    chain_ids: &[ChainId],
    keys: Vec<SecretKey>,
) -> anyhow::Result<Vec<ChainClient<MemoryStore>>> {
    let mut chains = Vec::new();
    for (chain_id, key) in chain_ids.iter().zip(keys) {
        let chain = client.chain(*chain_id, key);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match chain.synchronize().await {
                Ok(info) if info.is_active() => break,
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(_) => bail!("chain {chain_id} did not become active"),
                Err(error) => {
                    return Err(error).context(format!("chain {chain_id} did not become active"))
                }
            }
        }
        chains.push(chain);
    }
    Ok(chains)
}
