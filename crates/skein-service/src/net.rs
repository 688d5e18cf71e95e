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

impl Storage {
    /// The storage `--storage` names.
    fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(match text {
            "memory" => Storage::Memory,
            "embedded" => Storage::Embedded,
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                if url.contains('?') {
                    bail!("give the PostgreSQL URL without parameters; net up picks one table per validator");
                }
                Storage::Postgres(url.to_string())
            }
            other => {
                bail!("unknown --storage {other:?}: use memory, embedded or a postgres:// URL")
            }
        })
    }

    /// Validator `index`'s storage, in its configuration's words: each its own.
    fn of_validator(&self, index: usize) -> String {
        match self {
            Storage::Memory => "memory".to_string(),
            Storage::Embedded => format!("embedded:validator-{index}-data"),
            Storage::Postgres(url) => format!("{url}?table=validator_{index}"),
        }
    }
}

/// What `net up` was asked for, in `net.json`: so that `net add-validator` starts one like
/// the others.
#[derive(serde::Serialize, serde::Deserialize)]
struct Layout {
    /// `--storage`.
    storage: String,
    /// Shards per validator.
    shards: usize,
    /// Runtime threads of a validator's process.
    threads: usize,
}

const LAYOUT_FILE: &str = "net.json";

impl Layout {
    /// The layout `net up` recorded in `directory`.
    fn read(directory: &Path) -> anyhow::Result<Self> {
        let path = directory.join(LAYOUT_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: was the network made by this version of net up?",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }
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
    recorded_processes(directory)
        .unwrap_or_default()
        .iter()
        .filter_map(|record| record.pid)
        .any(alive)
}

/// Whether process `pid` runs (a zombie, exited but not yet reaped, does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Sends `signal` (`TERM`, `KILL`) to `pid`.
fn send_signal(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status();
}

/// Stops the processes `pids` (TERM, then KILL after `patience`); returns those still
/// alive after that, if any.
async fn stop_pids(pids: &[u32], patience: Duration) -> Vec<u32> {
    for &pid in pids {
        send_signal(pid, "TERM");
    }
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline && pids.iter().any(|&pid| alive(pid)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for &pid in pids.iter().filter(|&&pid| alive(pid)) {
        send_signal(pid, "KILL");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    pids.iter().copied().filter(|&pid| alive(pid)).collect()
}

/// Starts `program ARGUMENTS` with `threads` runtime worker threads, its output in
/// `logs/NAME.log`.
fn spawn(
    directory: &Path,
    name: String,
    program: &Path,
    arguments: &[String],
    threads: usize,
    lifetime: Lifetime,
) -> anyhow::Result<Process> {
    let log = directory.join("logs").join(format!("{name}.log"));
    let file =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut command = Command::new(program);
    command
        .args(arguments)
        .env("TOKIO_WORKER_THREADS", threads.to_string())
        .env_remove("SKEIN_WALLET")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    match lifetime {
        Lifetime::NetUp => {
            command.kill_on_drop(true);
        }
        // Its own process group: Ctrl-C in the terminal that started it does not stop it.
        Lifetime::Detached => {
            command.process_group(0);
        }
    }
    let child = command
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
    let storage = Storage::parse(&options.storage)?;
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
        let base = index * (1 + options.shards);
        let (public_key, config) = write_validator_files(
            &directory,
            index,
            &addresses[base..=base + options.shards],
            &storage,
        )?;
        members.insert(
            public_key,
            ValidatorState {
                network_address: config.public_address.clone(),
                votes: 100,
            },
        );
        configs.push(config);
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

    // Processes. Validators sharing this machine share its cores: a thread each is enough,
    // and saves the cost of threads waking each other.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let layout = Layout {
        storage: options.storage.clone(),
        shards: options.shards,
        threads: cores.div_ceil(options.validators).max(1),
    };
    skein_rpc::config::write_atomically(
        &directory.join(LAYOUT_FILE),
        serde_json::to_string_pretty(&layout)?.as_bytes(),
    )?;
    let mut processes = Vec::new();
    for index in 0..configs.len() {
        processes.extend(start_validator(
            &directory,
            &skein,
            index,
            &storage,
            &layout,
            Lifetime::NetUp,
        )?);
    }
    let addresses = configs
        .iter()
        .map(|config| config.public_address.clone())
        .collect();
    if let Err(error) = wait_until_ready(addresses, &mut processes).await {
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
    let own: Vec<u32> = processes
        .iter()
        .filter_map(|process| process.child.id())
        .collect();
    let added: Vec<u32> = recorded_processes(&directory)
        .unwrap_or_default()
        .iter()
        .filter_map(|record| record.pid)
        .filter(|pid| !own.contains(pid) && alive(*pid))
        .collect();
    say!("\nstopping {} processes", processes.len() + added.len());
    stop(&mut processes).await;
    stop_pids(&added, Duration::from_secs(5)).await;
    outcome
}

/// Runs `skein net add-validator`: a validator like the others of the network `net up`
/// runs in `directory` (keys and configuration written beside theirs), started and
/// answering, but not in the committee until `skein validator add` puts it there.
pub async fn add_validator(directory: &Path, host: IpAddr) -> anyhow::Result<()> {
    check_network_directory(directory)?;
    let layout = Layout::read(directory)?;
    let storage = Storage::parse(&layout.storage)?;
    let index = (0..)
        .find(|index| !directory.join(format!("validator-{index}.toml")).exists())
        .expect("a free index");
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let hosts: Vec<IpAddr> = std::iter::once(host)
        .chain(std::iter::repeat_n(local, layout.shards))
        .collect();
    let addresses = free_addresses(&hosts)?;
    let (public_key, config) = write_validator_files(directory, index, &addresses, &storage)?;
    let mut processes = start_validator(
        directory,
        &this_binary()?,
        index,
        &storage,
        &layout,
        Lifetime::Detached,
    )?;
    if let Err(error) = wait_until_ready(vec![config.public_address.clone()], &mut processes).await
    {
        let pids: Vec<u32> = processes
            .iter()
            .filter_map(|process| process.child.id())
            .collect();
        stop_pids(&pids, Duration::from_secs(5)).await;
        return Err(error);
    }
    record_processes(directory, &processes)?;
    say!(
        "validator-{index} is up at {}, not in the committee yet",
        config.public_address
    );
    say!("  public key: {public_key}");
    say!("  address:    {}", config.public_address);
    say!(
        "  log:        {}",
        processes[processes.len() - 1].log.display()
    );
    say!("To add it to the committee (a new epoch), with the admin chain's wallet:");
    say!(
        "  skein validator add --public-key {public_key} --address {}",
        config.public_address
    );
    Ok(())
}

/// Runs `skein net rotate-key`: a new key for validator `index`, the old one kept for the
/// chains of epochs that name it, and the validator restarted with both.
pub async fn rotate_key(directory: &Path, index: usize) -> anyhow::Result<()> {
    check_network_directory(directory)?;
    let layout = Layout::read(directory)?;
    let storage = Storage::parse(&layout.storage)?;
    if matches!(storage, Storage::Memory) {
        bail!("validators on memory storage lose their state when restarted: rotate keys on a network with --storage embedded or PostgreSQL");
    }
    let config_path = directory.join(format!("validator-{index}.toml"));
    if !config_path.exists() {
        bail!(
            "the network in {} has no validator-{index}",
            directory.display()
        );
    }
    let loaded = ValidatorConfig::load(&config_path)?;
    let old_key = ValidatorPublicKey::from(&loaded.key.public());
    let mut config = loaded.config;
    let generation = (2..)
        .find(|n| {
            !directory
                .join(format!("validator-{index}.key-{n}.json"))
                .exists()
        })
        .expect("a free name");
    let key = KeyFile::generate();
    let key_file = format!("validator-{index}.key-{generation}.json");
    key.save(&directory.join(&key_file))?;
    let old_file = std::mem::replace(&mut config.key_file, key_file.into());
    config.previous_key_files.push(old_file);
    config.save(&config_path)?;

    stop_validator(directory, index, false).await?;
    let mut processes = start_validator(
        directory,
        &this_binary()?,
        index,
        &storage,
        &layout,
        Lifetime::Detached,
    )?;
    wait_until_ready(vec![config.public_address.clone()], &mut processes).await?;
    record_processes(directory, &processes)?;
    say!(
        "validator-{index} restarted with a new key, voting with the old one until its epochs are revoked"
    );
    say!("  old public key: {old_key}");
    say!("  new public key: {}", key.public_key);
    say!("To put the new key in the committee (a new epoch), with the admin chain's wallet:");
    say!(
        "  skein validator rotate-key {old_key} --new-public-key {}",
        key.public_key
    );
    Ok(())
}

/// Runs `skein net stop-validator`: stops validator `index`'s processes (TERM, or KILL
/// with `kill`), as an operator retiring it would.
pub async fn stop_validator(directory: &Path, index: usize, kill: bool) -> anyhow::Result<()> {
    check_network_directory(directory)?;
    let name = format!("validator-{index}");
    let records = recorded_processes(directory)?;
    let mine: Vec<&ProcessRecord> = records
        .iter()
        .filter(|record| record.name == name || record.name.starts_with(&format!("{name}-")))
        .collect();
    if mine.is_empty() {
        bail!("the network in {} has no {name}", directory.display());
    }
    let pids: Vec<u32> = mine
        .iter()
        .filter_map(|record| record.pid)
        .filter(|pid| alive(*pid))
        .collect();
    if pids.is_empty() {
        say!("{name} is not running");
        return Ok(());
    }
    if kill {
        for &pid in &pids {
            send_signal(pid, "KILL");
        }
    }
    let left = stop_pids(&pids, Duration::from_secs(10)).await;
    if !left.is_empty() {
        bail!("{name}'s processes {left:?} did not stop");
    }
    say!("stopped {name} ({} processes)", pids.len());
    Ok(())
}

/// Refuses a directory `net up` did not make.
fn check_network_directory(directory: &Path) -> anyhow::Result<()> {
    if !directory.join(MARKER).exists() {
        bail!(
            "{} holds no network of `skein net up` (give the --path it was started with)",
            directory.display()
        );
    }
    Ok(())
}

/// Writes validator `index`'s key, shard key and configuration into `directory`, the
/// validator reached at `addresses[0]` and its shards at the rest. Returns its public key
/// and configuration.
fn write_validator_files(
    directory: &Path,
    index: usize,
    addresses: &[SocketAddr],
    storage: &Storage,
) -> anyhow::Result<(ValidatorPublicKey, ValidatorConfig)> {
    let key = KeyFile::generate();
    let key_file = format!("validator-{index}.key.json");
    key.save(&directory.join(&key_file))?;
    let shard_key_file = format!("validator-{index}.shard-key");
    ShardKey::generate().save(&directory.join(&shard_key_file))?;
    let config = ValidatorConfig {
        name: format!("validator-{index}"),
        key_file: key_file.into(),
        previous_key_files: Vec::new(),
        public_address: addresses[0].to_string(),
        storage: storage.of_validator(index),
        shards: addresses[1..]
            .iter()
            .map(|address| ShardConfig {
                address: address.to_string(),
            })
            .collect(),
        genesis_file: "genesis.json".into(),
        shard_key_file: Some(shard_key_file.into()),
    };
    config.save(&directory.join(format!("validator-{index}.toml")))?;
    Ok((key.public_key, config))
}

/// Whether a process lives as long as `net up` (stopped with it), or on its own, started by
/// `net add-validator` while `net up` runs (which stops it too, from `processes.json`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lifetime {
    NetUp,
    Detached,
}

/// Starts validator `index` from its configuration in `directory`: one process, or with
/// PostgreSQL one per shard and its proxy.
fn start_validator(
    directory: &Path,
    skein: &Path,
    index: usize,
    storage: &Storage,
    layout: &Layout,
    lifetime: Lifetime,
) -> anyhow::Result<Vec<Process>> {
    let config = directory
        .join(format!("validator-{index}.toml"))
        .display()
        .to_string();
    let mut processes = Vec::new();
    match storage {
        Storage::Postgres(_) => {
            for shard in 0..layout.shards {
                processes.push(spawn(
                    directory,
                    format!("validator-{index}-shard-{shard}"),
                    skein,
                    &[
                        "server".into(),
                        "--config".into(),
                        config.clone(),
                        "--shard".into(),
                        shard.to_string(),
                    ],
                    1,
                    lifetime,
                )?);
            }
            processes.push(spawn(
                directory,
                format!("validator-{index}-proxy"),
                skein,
                &["proxy".into(), "--config".into(), config],
                1,
                lifetime,
            )?);
        }
        Storage::Memory | Storage::Embedded => {
            processes.push(spawn(
                directory,
                format!("validator-{index}"),
                skein,
                &["server".into(), "--config".into(), config],
                layout.threads,
                lifetime,
            )?);
        }
    }
    Ok(processes)
}

/// One line of `processes.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct ProcessRecord {
    name: String,
    pid: Option<u32>,
    command: Vec<String>,
    log: PathBuf,
}

const PROCESSES_FILE: &str = "processes.json";

/// The processes recorded in `directory`'s `processes.json` (none if there is none).
fn recorded_processes(directory: &Path) -> anyhow::Result<Vec<ProcessRecord>> {
    let path = directory.join(PROCESSES_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not a list of processes", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `processes.json`: each process's name, pid and command line, so an operator (or a
/// test) can stop one and start it again. Adds to what is recorded already, replacing the
/// entry of a process of the same name (one restarted).
fn record_processes(directory: &Path, processes: &[Process]) -> anyhow::Result<()> {
    let mut entries = recorded_processes(directory)?;
    entries.retain(|entry| processes.iter().all(|process| process.name != entry.name));
    entries.extend(processes.iter().map(|process| ProcessRecord {
        name: process.name.clone(),
        pid: process.child.id(),
        command: process.command.clone(),
        log: process.log.clone(),
    }));
    let text = serde_json::to_string_pretty(&entries)?;
    skein_rpc::config::write_atomically(&directory.join(PROCESSES_FILE), text.as_bytes())?;
    Ok(())
}

/// Waits until the validators at `addresses` answer (with the admin chain, which every
/// validator holds from the genesis), or one of `processes` exits.
async fn wait_until_ready(addresses: Vec<String>, processes: &mut [Process]) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pending = addresses;
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
