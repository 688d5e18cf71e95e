//! `skein net up`: a whole network on this machine (127.0.0.1 unless told otherwise), one
//! command.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context as _};
use skein_base::{
    crypto::SecretKey, AccountOwner, ChainId, Committee, Timestamp, ValidatorPublicKey,
    ValidatorState,
};
use skein_core::{ChainInfoQuery, Clock, GenesisChain, GenesisConfig, SystemClock, ValidatorNode};
use skein_rpc::{
    config::{save_genesis, KeyFile, ShardConfig, ValidatorConfig},
    GrpcValidatorNode, ShardKey,
};
use tokio::process::{Child, Command};

use crate::{cli::NetUpOptions, logging, wallet::Wallet};

/// Prints a line, ignoring a closed standard output: `net up` must go on (and stop its
/// processes) even when nobody reads it any more.
macro_rules! say {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($argument)*);
    }};
}

/// How long validators get to start answering.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A process `net up` started, with its log file.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    command: Vec<String>,
}

/// How validators store their data.
enum Storage {
    Memory,
    Embedded,
    Postgres(String),
}

/// Free addresses, a port each on the given hosts.
fn free_addresses(hosts: &[IpAddr]) -> anyhow::Result<Vec<SocketAddr>> {
    // Hold every listener until all ports are known, so no port is handed out twice.
    let listeners: Vec<TcpListener> = hosts
        .iter()
        .map(|host| {
            TcpListener::bind((*host, 0))
                .with_context(|| format!("cannot find a free port on {host}"))
        })
        .collect::<Result<_, _>>()?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?))
        .collect()
}

/// The `skein` binary itself: it runs validators and proxies too (`skein server`, `skein
/// proxy`), so a network needs nothing but it.
fn this_binary() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot locate the skein binary")
}

/// Marks a directory as made by `net up`, so a later `net up` may replace it.
const MARKER: &str = ".skein-net";

/// Makes `directory` ready for a new network: creates it, or replaces a previous network of
/// `net up` whose processes are gone. Refuses anything else.
fn prepare_directory(directory: &Path) -> anyhow::Result<()> {
    if directory.exists() && std::fs::read_dir(directory)?.next().is_some() {
        if !directory.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `skein net up`; choose another --path",
                directory.display()
            );
        }
        if still_running(directory) {
            bail!(
                "the network in {} is still running; stop it first",
                directory.display()
            );
        }
        say!("replacing the previous network in {}", directory.display());
        std::fs::remove_dir_all(directory)
            .with_context(|| format!("cannot remove {}", directory.display()))?;
    }
    std::fs::create_dir_all(directory.join("logs"))
        .with_context(|| format!("cannot create {}", directory.display()))?;
    std::fs::write(directory.join(MARKER), b"made by skein net up\n")?;
    Ok(())
}

/// Whether a process recorded in the directory's `processes.json` is alive.
fn still_running(directory: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(directory.join("processes.json")) else {
        return false;
    };
    let Ok(entries) = serde_json::from_str::<Vec<serde_json::Value>>(&text) else {
        return false;
    };
    entries
        .iter()
        .filter_map(|entry| entry["pid"].as_u64())
        .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// Starts `program ARGUMENTS` with `threads` runtime worker threads, its output in
/// `logs/NAME.log`.
fn spawn(
    directory: &Path,
    name: String,
    program: &Path,
    arguments: &[String],
    threads: usize,
) -> anyhow::Result<Process> {
    let log = directory.join("logs").join(format!("{name}.log"));
    let file =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let child = Command::new(program)
        .args(arguments)
        .env("TOKIO_WORKER_THREADS", threads.to_string())
        .env_remove("SKEIN_WALLET")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let mut command = vec![program.display().to_string()];
    command.extend(arguments.iter().cloned());
    Ok(Process {
        name,
        child,
        log,
        command,
    })
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
    let hosts = match options.hosts.len() {
        1 => vec![options.hosts[0]; options.validators],
        count if count == options.validators => options.hosts.clone(),
        count => bail!(
            "--hosts gives {count} addresses for {} validators: give one per validator, or one for all",
            options.validators
        ),
    };
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
    prepare_directory(&directory)?;
    let wallet_path = wallet.unwrap_or_else(|| directory.join("wallet.json"));
    let skein = this_binary()?;

    // Keys, addresses and genesis.
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let layout: Vec<IpAddr> = hosts
        .iter()
        .flat_map(|host| std::iter::once(*host).chain(std::iter::repeat_n(local, options.shards)))
        .collect();
    let addresses = free_addresses(&layout)?;
    let mut members = BTreeMap::new();
    let mut configs = Vec::new();
    for index in 0..options.validators {
        let key = KeyFile::generate();
        let key_file = format!("validator-{index}.key.json");
        key.save(&directory.join(&key_file))?;
        let shard_key_file = format!("validator-{index}.shard-key");
        ShardKey::generate().save(&directory.join(&shard_key_file))?;
        let base = index * (1 + options.shards);
        let public_address = addresses[base].to_string();
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
                    address: addresses[base + 1 + shard].to_string(),
                })
                .collect(),
            genesis_file: "genesis.json".into(),
            shard_key_file: Some(shard_key_file.into()),
        });
    }
    let owner_keys: Vec<SecretKey> = (0..options.initial_chains)
        .map(|_| SecretKey::generate())
        .collect();
    let genesis = GenesisConfig {
        admin_chain: 0,
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
        let config = directory
            .join(format!("validator-{index}.toml"))
            .display()
            .to_string();
        match storage {
            Storage::Postgres(_) => {
                for shard in 0..options.shards {
                    processes.push(spawn(
                        &directory,
                        format!("validator-{index}-shard-{shard}"),
                        &skein,
                        &[
                            "server".into(),
                            "--config".into(),
                            config.clone(),
                            "--shard".into(),
                            shard.to_string(),
                        ],
                        1,
                    )?);
                }
                processes.push(spawn(
                    &directory,
                    format!("validator-{index}-proxy"),
                    &skein,
                    &["proxy".into(), "--config".into(), config],
                    1,
                )?);
            }
            Storage::Memory | Storage::Embedded => {
                processes.push(spawn(
                    &directory,
                    format!("validator-{index}"),
                    &skein,
                    &["server".into(), "--config".into(), config],
                    threads,
                )?);
            }
        }
    }
    if let Err(error) = wait_until_ready(&genesis, &mut processes).await {
        stop(&mut processes).await;
        return Err(error);
    }
    record_processes(&directory, &processes)?;

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
    say!("\nstopping {} processes", processes.len());
    stop(&mut processes).await;
    outcome
}

/// Writes `processes.json`: each process's name, pid and command line, so an operator (or a
/// test) can stop one and start it again.
fn record_processes(directory: &Path, processes: &[Process]) -> anyhow::Result<()> {
    let entries: Vec<serde_json::Value> = processes
        .iter()
        .map(|process| {
            serde_json::json!({
                "name": process.name,
                "pid": process.child.id(),
                "command": process.command,
                "log": process.log,
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&entries)?;
    skein_rpc::config::write_atomically(&directory.join("processes.json"), text.as_bytes())?;
    Ok(())
}

async fn wait_until_ready(
    genesis: &GenesisConfig,
    processes: &mut [Process],
) -> anyhow::Result<()> {
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
            match tokio::time::timeout(Duration::from_secs(2), node.handle_chain_info_query(query))
                .await
            {
                Ok(Ok(info)) if info.is_active() => {}
                _ => still.push(address),
            }
        }
        pending = still;
        if started.elapsed() > STARTUP_TIMEOUT {
            bail!(
                "validators at {} did not answer within {STARTUP_TIMEOUT:?}",
                pending.join(", ")
            );
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Reports processes that stop (an operator may stop one on purpose: the others go on).
/// Returns an error once every process has stopped.
async fn watch_processes(processes: &mut [Process]) -> anyhow::Result<()> {
    let mut reported = vec![false; processes.len()];
    loop {
        for (process, reported) in processes.iter_mut().zip(reported.iter_mut()) {
            if *reported {
                continue;
            }
            if let Some(status) = process.child.try_wait()? {
                *reported = true;
                eprintln!(
                    "{} stopped ({status}); its log {} ends with:\n{}",
                    process.name,
                    process.log.display(),
                    log_tail(&process.log)
                );
            }
        }
        if reported.iter().all(|reported| *reported) {
            bail!("every process of the network has stopped");
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
        if tokio::time::timeout(remaining, process.child.wait())
            .await
            .is_err()
        {
            let _ = process.child.start_kill();
            let _ = process.child.wait().await;
        }
    }
}

fn print_walkthrough(
    options: &NetUpOptions,
    directory: &Path,
    wallet: &Path,
    genesis: &GenesisConfig,
) {
    let first = GenesisConfig::chain_id(0);
    let second = GenesisConfig::chain_id(1.min(genesis.chains.len() - 1));
    say!(
        "Skein network up: {} validators × {} shards, storage {}",
        options.validators,
        options.shards,
        options.storage
    );
    say!("  configuration, data and logs in {}", directory.display());
    say!(
        "  wallet {} with {} chains of {} tokens",
        wallet.display(),
        genesis.chains.len(),
        options.initial_balance
    );
    say!();
    say!("In another terminal:");
    if let Some(binaries) = std::env::current_exe()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
    {
        say!("  export PATH=\"{}:$PATH\"", binaries.display());
    }
    say!("  export SKEIN_WALLET={}", wallet.display());
    say!("  skein wallet show");
    say!("  skein balance {first}");
    say!("  skein transfer 10 --from {first} --to {second}");
    say!("  skein process-inbox {second}");
    say!("  skein balance {second}");
    say!("  skein benchmark --chains 16 --transfers 10000");
    say!();
    say!("Applications: each example's README (examples/counter, fungible, crowd-funding,");
    say!("social, amm) walks through publishing and using it on this network.");
    say!();
    say!("GraphQL: `skein service --port 8080`, then open http://127.0.0.1:8080/ (GraphiQL);");
    say!("it holds the wallet until stopped.");
    say!();
    say!("Press Ctrl-C to stop the network.");
}
