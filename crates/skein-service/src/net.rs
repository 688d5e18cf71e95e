//! `skein net up`: a whole network on 127.0.0.1, one command.

use std::{
    collections::BTreeMap,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context as _};
use skein_base::{crypto::SecretKey, AccountOwner, ChainId, Committee, Timestamp, ValidatorPublicKey, ValidatorState};
use skein_core::{ChainInfoQuery, GenesisChain, GenesisConfig, SystemClock, ValidatorNode, Clock};
use skein_rpc::{
    config::{save_genesis, KeyFile, ShardConfig, ValidatorConfig},
    GrpcValidatorNode,
};
use tokio::process::{Child, Command};

use crate::{cli::NetUpOptions, logging, wallet::Wallet};

/// How long validators get to start answering.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A process `net up` started, with its log file.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

/// How validators store their data.
enum Storage {
    Memory,
    Embedded,
    Postgres(String),
}

fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    // Hold every listener until all ports are known, so no port is handed out twice.
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("cannot find free ports on 127.0.0.1")?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?.port()))
        .collect()
}

fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let current = std::env::current_exe().context("cannot locate the skein binary")?;
    let directory = current.parent().ok_or_else(|| anyhow!("the skein binary has no directory"))?;
    let path = directory.join(name);
    if !path.is_file() {
        bail!(
            "{name} is not next to skein in {}: build every binary with `cargo build --release -p skein-service`",
            directory.display()
        );
    }
    Ok(path)
}

fn spawn(directory: &Path, name: String, program: &Path, arguments: &[String]) -> anyhow::Result<Process> {
    let log = directory.join("logs").join(format!("{name}.log"));
    let file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    Ok(Process { name, child, log })
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// Runs `skein net up`.
pub async fn net_up(options: NetUpOptions, wallet: Option<PathBuf>) -> anyhow::Result<()> {
    if !(1..=64).contains(&options.validators) {
        bail!("--validators must be between 1 and 64");
    }
    if !(1..=64).contains(&options.shards) {
        bail!("--shards must be between 1 and 64");
    }
    if !(1..=10_000).contains(&options.initial_chains) {
        bail!("--initial-chains must be between 1 and 10000");
    }
    let storage = match options.storage.as_str() {
        "memory" => Storage::Memory,
        "embedded" => Storage::Embedded,
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            if url.contains('?') {
                bail!("give the PostgreSQL URL without parameters; net up picks one table per validator");
            }
            Storage::Postgres(url.to_string())
        }
        other => bail!("unknown --storage {other:?}: use memory, embedded or a postgres:// URL"),
    };
    let directory = match options.path.clone() {
        Some(path) => path,
        None => std::env::temp_dir().join(format!("skein-net-{}", std::process::id())),
    };
    if directory.join("genesis.json").exists() {
        bail!("{} already holds a network; choose another --path", directory.display());
    }
    std::fs::create_dir_all(directory.join("logs"))
        .with_context(|| format!("cannot create {}", directory.display()))?;
    let wallet_path = wallet.unwrap_or_else(|| directory.join("wallet.json"));
    let server = binary("skein-server")?;
    let proxy = binary("skein-proxy")?;

    // Keys, addresses and genesis.
    let ports = free_ports(options.validators * (1 + options.shards))?;
    let mut members = BTreeMap::new();
    let mut configs = Vec::new();
    for index in 0..options.validators {
        let key = KeyFile::generate();
        let key_file = format!("validator-{index}.key.json");
        key.save(&directory.join(&key_file))?;
        let base = index * (1 + options.shards);
        let public_address = format!("127.0.0.1:{}", ports[base]);
        members.insert(
            key.public_key,
            ValidatorState {
                network_address: public_address.clone(),
                votes: 100,
            },
        );
        let storage = match &storage {
            Storage::Memory => "memory".to_string(),
            Storage::Embedded => format!("embedded:validator-{index}-data"),
            Storage::Postgres(url) => format!("{url}?table=validator_{index}"),
        };
        configs.push(ValidatorConfig {
            name: format!("validator-{index}"),
            key_file: key_file.into(),
            public_address,
            storage,
            shards: (0..options.shards)
                .map(|shard| ShardConfig {
                    address: format!("127.0.0.1:{}", ports[base + 1 + shard]),
                })
                .collect(),
            genesis_file: "genesis.json".into(),
        });
    }
    let owner_keys: Vec<SecretKey> = (0..options.initial_chains).map(|_| SecretKey::generate()).collect();
    let genesis = GenesisConfig {
        committee: Committee::new(members)?,
        chains: owner_keys
            .iter()
            .map(|key| GenesisChain {
                owner: AccountOwner::from(key.public()),
                balance: options.initial_balance,
            })
            .collect(),
        timestamp: Timestamp::default().max(SystemClock.now()),
    };
    save_genesis(&genesis, &directory.join("genesis.json"))?;
    for (index, config) in configs.iter().enumerate() {
        config.save(&directory.join(format!("validator-{index}.toml")))?;
    }

    // Processes. Validators sharing this machine share its cores: a thread each is enough,
    // and saves the cost of threads waking each other.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.div_ceil(options.validators).max(1);
    let mut processes = Vec::new();
    for (index, _) in configs.iter().enumerate() {
        let config = directory.join(format!("validator-{index}.toml")).display().to_string();
        match storage {
            Storage::Postgres(_) => {
                for shard in 0..options.shards {
                    processes.push(spawn(
                        &directory,
                        format!("validator-{index}-shard-{shard}"),
                        &server,
                        &[
                            "--config".into(),
                            config.clone(),
                            "--shard".into(),
                            shard.to_string(),
                            "--threads".into(),
                            "1".into(),
                        ],
                    )?);
                }
                processes.push(spawn(
                    &directory,
                    format!("validator-{index}-proxy"),
                    &proxy,
                    &["--config".into(), config],
                )?);
            }
            Storage::Memory | Storage::Embedded => {
                processes.push(spawn(
                    &directory,
                    format!("validator-{index}"),
                    &server,
                    &["--config".into(), config, "--threads".into(), threads.to_string()],
                )?);
            }
        }
    }
    if let Err(error) = wait_until_ready(&genesis, &mut processes).await {
        stop(&mut processes).await;
        return Err(error);
    }

    // The wallet.
    let mut wallet = Wallet::create(&wallet_path, genesis.clone())?;
    for (index, key) in owner_keys.into_iter().enumerate() {
        let public_key = wallet.add_key(key);
        wallet.add_chain(GenesisConfig::chain_id(index), public_key);
    }
    wallet.save()?;
    drop(wallet);

    print_walkthrough(&options, &directory, &wallet_path, &genesis);
    let outcome = tokio::select! {
        () = logging::shutdown_signal() => Ok(()),
        exited = watch_processes(&mut processes) => exited,
    };
    println!("\nstopping {} processes", processes.len());
    stop(&mut processes).await;
    outcome
}

async fn wait_until_ready(genesis: &GenesisConfig, processes: &mut [Process]) -> anyhow::Result<()> {
    let started = Instant::now();
    let addresses: Vec<(ValidatorPublicKey, String)> = genesis
        .committee
        .validators()
        .iter()
        .map(|(key, state)| (*key, state.network_address.clone()))
        .collect();
    let mut pending: Vec<String> = addresses.into_iter().map(|(_, address)| address).collect();
    while !pending.is_empty() {
        for process in processes.iter_mut() {
            if let Some(status) = process.child.try_wait()? {
                bail!(
                    "{} exited at start ({status}); its log {} ends with:\n{}",
                    process.name,
                    process.log.display(),
                    log_tail(&process.log)
                );
            }
        }
        let mut still = Vec::new();
        for address in pending {
            let node = GrpcValidatorNode::new(&address).map_err(|error| anyhow!("{error}"))?;
            let query = ChainInfoQuery::new(ChainId::root(0));
            match tokio::time::timeout(Duration::from_secs(2), node.handle_chain_info_query(query)).await {
                Ok(Ok(info)) if info.is_active() => {}
                _ => still.push(address),
            }
        }
        pending = still;
        if started.elapsed() > STARTUP_TIMEOUT {
            bail!("validators at {} did not answer within {STARTUP_TIMEOUT:?}", pending.join(", "));
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

async fn watch_processes(processes: &mut [Process]) -> anyhow::Result<()> {
    loop {
        for process in processes.iter_mut() {
            if let Some(status) = process.child.try_wait()? {
                bail!(
                    "{} stopped ({status}); its log {} ends with:\n{}",
                    process.name,
                    process.log.display(),
                    log_tail(&process.log)
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asks every process to stop, then kills those that do not within a few seconds.
async fn stop(processes: &mut [Process]) {
    for process in processes.iter() {
        if let Some(pid) = process.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for process in processes.iter_mut() {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(remaining, process.child.wait()).await.is_err() {
            let _ = process.child.start_kill();
            let _ = process.child.wait().await;
        }
    }
}

fn print_walkthrough(options: &NetUpOptions, directory: &Path, wallet: &Path, genesis: &GenesisConfig) {
    let first = GenesisConfig::chain_id(0);
    let second = GenesisConfig::chain_id(1.min(genesis.chains.len() - 1));
    println!(
        "Skein network up: {} validators × {} shards, storage {}",
        options.validators, options.shards, options.storage
    );
    println!("  configuration, data and logs in {}", directory.display());
    println!(
        "  wallet {} with {} chains of {} tokens",
        wallet.display(),
        genesis.chains.len(),
        options.initial_balance
    );
    println!();
    println!("In another terminal:");
    if let Some(binaries) = std::env::current_exe().ok().and_then(|path| path.parent().map(Path::to_path_buf)) {
        println!("  export PATH=\"{}:$PATH\"", binaries.display());
    }
    println!("  export SKEIN_WALLET={}", wallet.display());
    println!("  skein wallet show");
    println!("  skein balance {first}");
    println!("  skein transfer 10 --from {first} --to {second}");
    println!("  skein process-inbox {second}");
    println!("  skein balance {second}");
    println!("  skein benchmark --chains 16 --transfers 10000");
    println!();
    println!("Press Ctrl-C to stop the network.");
}
