//! The deterministic simulator: the whole protocol — validators with several shards,
//! several users with their clients — in one thread, under a seeded scheduler.
//!
//! The seed decides everything: network delays (which reorder messages), dropped and
//! duplicated messages (client requests, responses, and cross-chain requests between
//! shards), validator crashes and restarts on their stores, an optional Byzantine
//! validator (voting for blocks nobody proposed, forging signatures, or ignoring the voting
//! rules and voting for anything), chains shared by several users who propose conflicting
//! blocks in the same rounds, with short round timeouts that delayed messages overrun,
//! public chains where the validators' proposers take turns receiving what users send, and
//! what users do. After the users are done, the network calms down, every inbox is
//! processed and every validator is brought up to date; then [`checker`] verifies the
//! invariants. The same seed replays the same run:
//!
//! ```text
//! cargo run --release -p skein-core --example simulate -- --seed 42
//! cargo run --release -p skein-core --example simulate -- --seeds 10000
//! ```

pub mod checker;
mod executor;
mod network;
mod reconfiguration;
mod workload;

use std::{fmt, sync::Arc};

use futures::{channel::oneshot, FutureExt};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skein_base::{
    crypto::SecretKey, AccountOwner, Amount, Committee, TimeDelta, Timestamp, ValidatorPublicKey,
    ValidatorState,
};
use skein_execution::{ChainOwnership, TimeoutConfig};
use skein_storage::Storage;
use skein_views::MemoryStore;

pub use executor::{Executor, SimClock};
pub use network::{NetworkFaults, SimNetwork, SimNode, SimStore};
pub use workload::{Registry, User, UserStats};

use crate::{
    client::{Client, ClientConfig, Spawner, ValidatorEntry},
    clock::Clock,
    faults::{Fault, FaultyNode},
    genesis::{GenesisChain, GenesisConfig},
    node::ValidatorNode,
    proposer::{ProposerConfig, PublicChainProposer},
    requests::ChainInfoQuery,
    validator::LocalValidator,
    worker::Worker,
};

/// What a simulation runs. [`SimulationConfig::from_seed`] varies everything with the seed.
#[derive(Clone, Debug)]
pub struct SimulationConfig {
    /// Decides every random choice.
    pub seed: u64,
    /// Validators, one vote each.
    pub validators: usize,
    /// Shards per validator.
    pub shards: usize,
    /// Users, each with a client.
    pub users: usize,
    /// Genesis chains per user.
    pub chains_per_user: usize,
    /// Operations each user attempts.
    pub operations_per_user: usize,
    /// Network misbehaviour while users are active.
    pub faults: NetworkFaults,
    /// At most this many validators down at once (0: no crashes).
    pub max_crashed: usize,
    /// Whether validator 0 is Byzantine: see [`SimulationConfig::byzantine_fault`].
    pub byzantine: bool,
    /// Chains shared by all users, opened at the start.
    pub shared_chains: usize,
    /// Multi-leader rounds of the shared chains, before the single-leader ones.
    pub multi_leader_rounds: u32,
    /// How long the first round of a shared or public chain lasts before it may be timed
    /// out.
    pub base_timeout: TimeDelta,
    /// Public chains, opened at the start: users send them tokens and claim from them, and
    /// every validator runs a proposer that takes its turns there.
    pub public_chains: usize,
    /// Committee changes while users work (a spare validator joins or a member leaves,
    /// older epochs are revoked, retired validators stopped); as many spares wait to join.
    pub reconfigurations: usize,
}

/// How the Byzantine validator misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByzantineFault {
    /// It signs votes for blocks with outcomes nobody computed.
    VoteForDifferentBlock,
    /// Its votes carry forged signatures.
    ForgedSignature,
    /// It ignores the voting rules (rounds, locks, timeouts) and votes for anything.
    VoteForAnything,
}

impl SimulationConfig {
    /// A configuration drawn from the seed.
    pub fn from_seed(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let byzantine = rng.gen_ratio(1, 4);
        Self {
            seed,
            validators: 4,
            shards: rng.gen_range(1..=3),
            users: rng.gen_range(2..=3),
            chains_per_user: rng.gen_range(1..=2),
            operations_per_user: rng.gen_range(8..=16),
            faults: NetworkFaults {
                max_delay: TimeDelta::from_micros(rng.gen_range(100..=20_000)),
                drop_percent: rng.gen_range(0..=5),
                duplicate_percent: rng.gen_range(0..=5),
            },
            max_crashed: if byzantine {
                rng.gen_range(0..=1)
            } else {
                rng.gen_range(0..=2)
            },
            byzantine,
            shared_chains: rng.gen_range(1..=2),
            multi_leader_rounds: rng.gen_range(0..=2),
            base_timeout: TimeDelta::from_millis(rng.gen_range(50..=400)),
            public_chains: rng.gen_range(0..=1),
            reconfigurations: 0,
        }
    }

    /// What the Byzantine validator does, if there is one: the seed decides.
    pub fn byzantine_fault(&self) -> Option<ByzantineFault> {
        self.byzantine.then_some(match self.seed % 3 {
            0 => ByzantineFault::VoteForDifferentBlock,
            1 => ByzantineFault::ForgedSignature,
            _ => ByzantineFault::VoteForAnything,
        })
    }
}

/// What a successful run did.
#[derive(Clone, Debug, Default)]
pub struct SimulationReport {
    /// Chains at the end.
    pub chains: usize,
    /// Blocks certified in all.
    pub blocks: u64,
    /// Blocks of shared chains certified after their first round: conflicts and silent
    /// leaders resolved by timeouts.
    pub later_round_blocks: u64,
    /// Blocks validators made on public chains.
    pub public_blocks: u64,
    /// User operations that succeeded and failed.
    pub operations: UserStats,
    /// Validator crashes.
    pub crashes: u64,
    /// Committee changes the admin chain made.
    pub reconfigurations: u64,
    /// Of which a member's key replaced.
    pub key_rotations: u64,
    /// Virtual time the run took, in microseconds.
    pub virtual_micros: u64,
}

/// A broken invariant (or a run that could not finish), with the seed that replays it.
#[derive(Clone, Debug)]
pub struct SimulationFailure {
    /// The seed.
    pub seed: u64,
    /// The committee changes the run made, which the replay must ask for too.
    pub reconfigurations: usize,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for SimulationFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "simulation with seed {} failed: {}\nreplay it with: cargo run --release -p skein-core --example simulate -- --seed {}",
            self.seed, self.message, self.seed
        )?;
        if self.reconfigurations > 0 {
            write!(formatter, " --reconfigurations {}", self.reconfigurations)?;
        }
        Ok(())
    }
}

impl std::error::Error for SimulationFailure {}

/// Virtual time after which a run that has not finished counts as stuck.
const VIRTUAL_TIME_MAX: TimeDelta = TimeDelta::from_secs(3_600);

/// Rounds of inbox processing allowed for the network to settle.
const SETTLE_ROUNDS_MAX: usize = 60;

/// Runs one simulation.
pub fn run(config: &SimulationConfig) -> Result<SimulationReport, SimulationFailure> {
    let fail = |message: String| SimulationFailure {
        seed: config.seed,
        reconfigurations: config.reconfigurations,
        message,
    };
    let executor = Executor::default();
    let clock = SimClock::default();
    let (result_sender, mut result_receiver) = oneshot::channel();
    let orchestrator = orchestrate(config.clone(), executor.clone(), clock.clone());
    executor.spawn(
        async move {
            let _ = result_sender.send(orchestrator.await);
        }
        .boxed(),
    );
    let outcome = loop {
        executor.run_until_stalled();
        if let Ok(Some(result)) = result_receiver.try_recv() {
            break result.map_err(fail).map(|mut report| {
                report.virtual_micros = clock.micros();
                report
            });
        }
        if clock.micros() > VIRTUAL_TIME_MAX.as_micros() {
            break Err(fail("no end after an hour of virtual time".into()));
        }
        if !clock.advance() {
            break Err(fail("every task is blocked and no timer is set".into()));
        }
    };
    executor.shutdown();
    clock.clear_timers();
    outcome
}

type Validators = Arc<SimNetwork>;

async fn orchestrate(
    config: SimulationConfig,
    executor: Executor,
    clock: SimClock,
) -> Result<SimulationReport, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let validator_keys: Vec<Arc<SecretKey>> = (0..config.validators + config.reconfigurations)
        .map(|index| Arc::new(SecretKey::from_test_seed(10_000 + index as u64)))
        .collect();
    // The key each validator may rotate to (when the run changes committees).
    let next_keys: Vec<Option<Arc<SecretKey>>> = (0..validator_keys.len())
        .map(|index| {
            (config.reconfigurations > 0)
                .then(|| Arc::new(SecretKey::from_test_seed(30_000 + index as u64)))
        })
        .collect();
    let user_keys: Vec<Arc<SecretKey>> = (0..config.users)
        .map(|index| Arc::new(SecretKey::from_test_seed(20_000 + index as u64)))
        .collect();
    let members = validator_keys[..config.validators]
        .iter()
        .map(|key| {
            let state = ValidatorState {
                network_address: String::new(),
                votes: 1,
            };
            (ValidatorPublicKey::from(&key.public()), state)
        })
        .collect();
    let genesis_balance = Amount::from_attos(1_000_000);
    let genesis = GenesisConfig {
        admin_chain: 0,
        committee: Committee::new(members).map_err(|error| error.to_string())?,
        chains: (0..config.users * config.chains_per_user)
            .map(|index| GenesisChain {
                owner: AccountOwner::from(user_keys[index % config.users].public()),
                balance: genesis_balance,
            })
            .collect(),
        timestamp: Timestamp::default(),
    };
    let supply = genesis.total_supply().map_err(|error| error.to_string())?;

    // Validators, each with genesis in its store (the spares too: a joining validator
    // starts from the genesis file).
    let mut stores = Vec::new();
    for _ in 0..validator_keys.len() {
        let store = MemoryStore::new();
        let worker = Worker::new(Storage::new(store.clone()), None, Arc::new(clock.clone()));
        for chain in genesis.chain_configs() {
            worker
                .initialize_chain(chain)
                .await
                .map_err(|error| error.to_string())?;
        }
        stores.push(store);
    }
    let network = SimNetwork::new(
        validator_keys
            .iter()
            .cloned()
            .zip(next_keys.iter().cloned())
            .collect(),
        stores,
        config.shards,
        ChaCha8Rng::seed_from_u64(rng.gen()),
        NetworkFaults::calm(),
        clock.clone(),
        executor.clone(),
    );
    let entries: Vec<ValidatorEntry> = validator_keys
        .iter()
        .enumerate()
        .map(|(index, key)| {
            let node = Arc::new(SimNode {
                network: network.clone(),
                index,
            });
            let faulty = FaultyNode::new(
                node as Arc<dyn ValidatorNode>,
                key.clone(),
                Arc::new(clock.clone()),
            );
            if index == 0 {
                match config.byzantine_fault() {
                    Some(ByzantineFault::VoteForDifferentBlock) => {
                        faulty.set_fault(Fault::VoteForDifferentBlock)
                    }
                    Some(ByzantineFault::ForgedSignature) => {
                        faulty.set_fault(Fault::ForgedSignature)
                    }
                    Some(ByzantineFault::VoteForAnything) => network.set_votes_for_anything(0),
                    None => {}
                }
            }
            ValidatorEntry {
                public_key: ValidatorPublicKey::from(&key.public()),
                node: Arc::new(faulty) as Arc<dyn ValidatorNode>,
            }
        })
        .collect();
    // Clients start with the genesis committee and reach members that join, or rotate
    // their key, by their key.
    let (genesis_entries, connect) = {
        let mut all = entries.clone();
        for (index, next_key) in next_keys.iter().enumerate() {
            if let Some(next_key) = next_key {
                all.push(ValidatorEntry {
                    public_key: ValidatorPublicKey::from(&next_key.public()),
                    node: Arc::new(SimNode {
                        network: network.clone(),
                        index,
                    }),
                });
            }
        }
        let connect: crate::client::Connect = Arc::new(move |key, _| {
            all.iter()
                .find(|entry| entry.public_key == *key)
                .map(|entry| entry.node.clone())
                .ok_or_else(|| crate::node::NodeError::Unreachable(format!("{key:?}")))
        });
        (entries[..config.validators].to_vec(), connect)
    };

    // Users.
    let spawner: Spawner = {
        let executor = executor.clone();
        Arc::new(move |task| executor.spawn(task))
    };
    let client_config = ClientConfig {
        request_timeout: TimeDelta::from_secs(2),
        retry_delay: TimeDelta::from_millis(20),
        sync_attempts: 10,
    };
    // A client with a node of its own, in memory: a user's, or a validator's proposer's.
    let new_client = || {
        Client::new(
            Storage::new(MemoryStore::new()),
            &genesis,
            genesis_entries.clone(),
            Arc::new(clock.clone()),
            spawner.clone(),
            client_config,
        )
        .map(|client| {
            let client = client.map_err(|error| error.to_string())?;
            client.connect_new_validators_with(connect.clone());
            Ok::<_, String>(client)
        })
    };
    let registry = Registry::default();
    let mut users = Vec::new();
    for (index, key) in user_keys.iter().enumerate() {
        let client = new_client().await?;
        let chains = (0..genesis.chains.len())
            .filter(|chain| chain % config.users == index)
            .map(|chain| (GenesisConfig::chain_id(chain), false))
            .collect();
        users.push(Arc::new(User {
            client,
            key: key.clone(),
            chains: Mutex::new(chains),
        }));
    }
    for chain in 0..genesis.chains.len() {
        registry.add(GenesisConfig::chain_id(chain));
    }
    open_shared_chains(&config, &users, &registry).await?;
    // Every validator runs a public-chain proposer, started before public chains open.
    // (Only when there are public chains: a proposer's timers keep the clock going, which
    // would hide a run where every other task is stuck.)
    let proposing_validators = if config.public_chains > 0 {
        validator_keys.as_slice()
    } else {
        &[]
    };
    for (index, key) in proposing_validators.iter().enumerate() {
        let client = new_client().await?;
        let own = Arc::new(SimNode {
            network: network.clone(),
            index,
        });
        let config = ProposerConfig {
            recheck_interval: TimeDelta::from_secs(1),
            retry_delay: TimeDelta::from_millis(50),
        };
        let keys = crate::worker::ValidatorKeys::new(key.copy())
            .with_previous(next_keys[index].iter().map(|key| key.copy()));
        let proposer = PublicChainProposer::new(client, keys, own, config);
        let network = network.clone();
        let clock = clock.clone();
        // The proposer follows whichever instance of its validator is running.
        executor.spawn(
            async move {
                loop {
                    let Some(validator) = network.validator(index) else {
                        clock.sleep(TimeDelta::from_millis(50)).await;
                        continue;
                    };
                    let run = proposer.clone().run(validator.subscribe());
                    let replaced = async {
                        loop {
                            clock.sleep(TimeDelta::from_millis(50)).await;
                            let current = network.validator(index);
                            if !current.is_some_and(|current| Arc::ptr_eq(&current, &validator)) {
                                break;
                            }
                        }
                    };
                    futures::future::select(Box::pin(run), Box::pin(replaced)).await;
                }
            }
            .boxed(),
        );
    }
    open_public_chains(&config, &users, &registry).await?;
    network.set_faults(config.faults);

    // Chaos: validators crash and restart while users work.
    let active = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let crashes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    if config.max_crashed > 0 {
        let network = network.clone();
        let clock = clock.clone();
        let active = active.clone();
        let crashes = crashes.clone();
        let max_crashed = config.max_crashed;
        let first_crashable = usize::from(config.byzantine);
        executor.spawn(
            async move {
                while active.load(std::sync::atomic::Ordering::SeqCst) {
                    let pause = 5_000 + network.random_below(60_000);
                    clock.sleep(TimeDelta::from_micros(pause)).await;
                    if !active.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let index = first_crashable
                        + usize::try_from(
                            network.random_below((network.len() - first_crashable) as u64),
                        )
                        .unwrap_or(0);
                    let down = (0..network.len())
                        .filter(|i| !network.is_running(*i) && !network.is_retired(*i))
                        .count();
                    if network.is_running(index) {
                        if down < max_crashed {
                            network.crash(index);
                            crashes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    } else {
                        network.start(index);
                    }
                }
            }
            .boxed(),
        );
    }
    // Validators re-send unacknowledged messages now and then, as a real one does.
    {
        let network = network.clone();
        let clock = clock.clone();
        let active = active.clone();
        executor.spawn(
            async move {
                while active.load(std::sync::atomic::Ordering::SeqCst) {
                    clock.sleep(TimeDelta::from_millis(200)).await;
                    network.retry_all().await;
                }
            }
            .boxed(),
        );
    }

    // The committee changes while users work.
    let validator_public_keys: Vec<ValidatorPublicKey> = validator_keys
        .iter()
        .map(|key| ValidatorPublicKey::from(&key.public()))
        .collect();
    let next_public_keys = next_keys
        .iter()
        .map(|key| {
            key.as_ref()
                .map(|key| ValidatorPublicKey::from(&key.public()))
        })
        .collect();
    let committees = Arc::new(Mutex::new(reconfiguration::Committees::new(
        validator_public_keys,
        next_public_keys,
        genesis.committee.clone(),
        (config.validators..validator_keys.len()).collect(),
        config.byzantine.then_some(0),
    )));
    let reconfigured = {
        let (sender, receiver) = oneshot::channel();
        let task = reconfiguration::run(
            users[0].clone(),
            committees.clone(),
            network.clone(),
            clock.clone(),
            config.reconfigurations,
        );
        executor.spawn(
            async move {
                let _ = sender.send(task.await);
            }
            .boxed(),
        );
        receiver
    };

    // Users work.
    let mut handles = Vec::new();
    for (index, user) in users.iter().enumerate() {
        let (sender, receiver) = oneshot::channel();
        let task = workload::run_user(
            user.clone(),
            index,
            registry.clone(),
            clock.clone(),
            config.seed.wrapping_add(index as u64 * 7_919),
            config.operations_per_user,
        );
        executor.spawn(
            async move {
                let _ = sender.send(task.await);
            }
            .boxed(),
        );
        handles.push(receiver);
    }
    let mut operations = UserStats::default();
    for handle in handles {
        let stats = handle
            .await
            .map_err(|_| "a user task vanished".to_string())?;
        operations.succeeded += stats.succeeded;
        operations.failed += stats.failed;
    }
    reconfigured
        .await
        .map_err(|_| "the reconfiguration task vanished".to_string())??;
    executor.spawn(
        reconfiguration::retire_after_grace(committees.clone(), network.clone(), clock.clone())
            .boxed(),
    );

    // Calm: no more crashes or lost messages; everyone back up.
    active.store(false, std::sync::atomic::Ordering::SeqCst);
    network.set_faults(NetworkFaults::calm());
    for index in 0..network.len() {
        network.start(index);
    }
    let chains = settle(&users, &network, &registry, &clock).await?;
    let (newest, honest) = {
        let committees = committees.lock();
        (committees.newest(), committees.newest_members())
    };
    let chains = if newest > skein_base::Epoch::ZERO {
        migrate_every_chain(&users, &registry, newest).await?;
        settle(&users, &network, &registry, &clock).await?
    } else {
        chains
    };
    check(&users, &network, &honest, &chains, supply).await?;
    for index in &honest {
        let validator = network
            .validator(*index)
            .ok_or(format!("validator {index} is down"))?;
        checker::check_epochs(&validator, &chains, newest)
            .await
            .map_err(|error| format!("validator {index}: {error}"))?;
    }

    let mut blocks = 0;
    let mut later_round_blocks = 0;
    let mut public_blocks = 0;
    let validator = network
        .validator(honest[0])
        .ok_or("a validator of the newest committee is down")?;
    for chain_id in &chains {
        let certificates = checker::certificates_of(validator.worker(chain_id), *chain_id).await?;
        blocks += certificates.len() as u64;
        if registry.is_public(chain_id) {
            public_blocks += certificates.len() as u64;
            continue;
        }
        later_round_blocks += certificates
            .iter()
            .filter(|certificate| {
                !matches!(
                    certificate.round,
                    skein_base::Round::Fast | skein_base::Round::MultiLeader(0)
                )
            })
            .count() as u64;
    }
    let (changes, key_rotations) = {
        let committees = committees.lock();
        (committees.changes, committees.rotations)
    };
    Ok(SimulationReport {
        chains: chains.len(),
        blocks,
        later_round_blocks,
        public_blocks,
        operations,
        crashes: crashes.load(std::sync::atomic::Ordering::SeqCst),
        reconfigurations: changes,
        key_rotations,
        virtual_micros: 0,
    })
}

/// Opens the chains all users share, from user 0's first chain, while the network is calm.
async fn open_shared_chains(
    config: &SimulationConfig,
    users: &[Arc<User>],
    registry: &Registry,
) -> Result<(), String> {
    let owners = users
        .iter()
        .enumerate()
        .map(|(index, user)| (AccountOwner::from(user.key.public()), index as u64 + 1));
    let ownership = ChainOwnership {
        timeout_config: TimeoutConfig {
            base_timeout: config.base_timeout,
            timeout_increment: TimeDelta::from_millis(50),
        },
        ..ChainOwnership::multiple(owners, config.multi_leader_rounds)
    };
    let opener = &users[0];
    let parent = opener.chain_ids()[0];
    let chain = opener.client.chain(parent, opener.key.copy());
    for _ in 0..config.shared_chains {
        let (chain_id, _) = chain
            .open_chain(ownership.clone(), Amount::from_attos(100_000))
            .await
            .map_err(|error| format!("opening a shared chain failed: {error}"))?;
        registry.add_shared(chain_id);
        for user in users {
            user.chains.lock().push((chain_id, false));
        }
    }
    Ok(())
}

/// Opens the public chains, from user 0's first chain, while the network is calm.
async fn open_public_chains(
    config: &SimulationConfig,
    users: &[Arc<User>],
    registry: &Registry,
) -> Result<(), String> {
    let ownership = ChainOwnership {
        timeout_config: TimeoutConfig {
            base_timeout: config.base_timeout,
            timeout_increment: TimeDelta::from_millis(50),
        },
        ..ChainOwnership::public()
    };
    let opener = &users[0];
    let chain = opener
        .client
        .chain(opener.chain_ids()[0], opener.key.copy());
    for _ in 0..config.public_chains {
        let (chain_id, _) = chain
            .open_chain(ownership.clone(), Amount::from_attos(100_000))
            .await
            .map_err(|error| format!("opening a public chain failed: {error}"))?;
        registry.add_public(chain_id);
    }
    Ok(())
}

/// Processes every inbox until nothing moves (the validators' proposers empty the public
/// chains' inboxes), then brings every validator up to date.
/// Returns every chain of the run.
async fn settle(
    users: &[Arc<User>],
    network: &Validators,
    registry: &Registry,
    clock: &SimClock,
) -> Result<Vec<skein_base::ChainId>, String> {
    let mut last_error = None;
    for round in 0..SETTLE_ROUNDS_MAX {
        network.retry_all().await;
        clock.sleep(TimeDelta::from_millis(100)).await;
        discover_chains(users, registry).await?;
        let mut moved = false;
        for user in users {
            for chain_id in user.chain_ids() {
                let chain = user.client.chain(chain_id, user.key.copy());
                match chain.process_inbox().await {
                    Ok(certificates) => moved |= !certificates.is_empty(),
                    Err(error) => {
                        tracing::debug!(round, %error, "settling");
                        last_error = Some(format!("{chain_id:?}: {error}"));
                        moved = true;
                    }
                }
            }
        }
        // Validators that missed a public chain's blocks (crashed meanwhile) still list
        // the messages those blocks received; any client brings them up to date, as the
        // next proposal there would.
        for chain_id in registry.public_chains() {
            let client = &users[0].client;
            if client.synchronize_from_validators(chain_id).await.is_ok() {
                let _ = client.update_validators(chain_id).await;
            }
        }
        let mut pending = false;
        for index in 0..network.len() {
            if let Some(validator) = network.validator(index) {
                pending |= validator
                    .has_pending_outboxes()
                    .await
                    .map_err(|e| e.to_string())?;
                for chain_id in registry.public_chains() {
                    let query = ChainInfoQuery {
                        request_pending_bundles: true,
                        ..ChainInfoQuery::new(chain_id)
                    };
                    let info = validator
                        .worker(&chain_id)
                        .handle_chain_info_query(query)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !info.requested_pending_bundles.is_empty() {
                        pending = true;
                        last_error = Some(format!("messages wait on public chain {chain_id:?}"));
                    }
                }
            }
        }
        if !moved && !pending {
            let chains = registry.chains();
            for user in users {
                for chain_id in user.chain_ids() {
                    let failures = user
                        .client
                        .update_validators(chain_id)
                        .await
                        .map_err(|error| error.to_string())?;
                    if let Some((validator, error)) = failures.first() {
                        return Err(format!(
                            "could not update {validator:?} on {chain_id:?}: {error}"
                        ));
                    }
                }
            }
            // Let the last cross-chain deliveries land.
            clock.sleep(TimeDelta::from_millis(100)).await;
            return Ok(chains);
        }
    }
    Err(format!(
        "the network did not settle in {SETTLE_ROUNDS_MAX} rounds (last error: {})",
        last_error.unwrap_or_default()
    ))
}

/// Once calm, moves every chain still in an older epoch to `newest`: users' chains (and
/// shared ones) by their owners' migrating blocks, public chains by a transfer they
/// receive, which the validators' proposers take in a block that migrates.
async fn migrate_every_chain(
    users: &[Arc<User>],
    registry: &Registry,
    newest: skein_base::Epoch,
) -> Result<(), String> {
    for user in users {
        user.client
            .follow_admin_chain()
            .await
            .map_err(|error| format!("following the admin chain: {error}"))?;
    }
    let sender = &users[0];
    let from = sender
        .client
        .chain(sender.chain_ids()[0], sender.key.copy());
    // Amounts the workload never uses (it pays 1 + 1,000 × user + operation), so that the
    // checker still tells each transfer apart.
    let first_unused = 1_000 * users.len() as u128 + 1;
    for (index, chain_id) in registry.public_chains().into_iter().enumerate() {
        from.transfer(
            None,
            Amount::from_attos(first_unused + index as u128),
            skein_base::Account::chain(chain_id),
        )
        .await
        .map_err(|error| format!("waking public chain {chain_id:?}: {error}"))?;
    }
    for user in users {
        for chain_id in user.chain_ids() {
            if registry.is_public(&chain_id) {
                continue;
            }
            let chain = user.client.chain(chain_id, user.key.copy());
            let info = chain
                .chain_info()
                .await
                .map_err(|error| error.to_string())?;
            if info.epoch >= newest {
                continue;
            }
            let migrate = skein_execution::SystemOperation::MigrateToEpoch { epoch: newest };
            if let Err(error) = chain.execute_operation(migrate).await {
                // Another owner of a shared chain may have migrated it meanwhile.
                let info = user
                    .client
                    .synchronize_from_validators(chain_id)
                    .await
                    .map_err(|error| error.to_string())?;
                if info.epoch < newest {
                    return Err(format!("migrating {chain_id:?} failed: {error}"));
                }
            }
        }
    }
    Ok(())
}

/// Adds chains that users opened without learning it (the opening block was certified
/// after the user's request had failed).
async fn discover_chains(users: &[Arc<User>], registry: &Registry) -> Result<(), String> {
    for user in users {
        let mut index = 0;
        while index < user.chain_ids().len() {
            let chain_id = user.chain_ids()[index];
            let certificates = checker::certificates_of(user.client.local_node(), chain_id).await?;
            let owner = AccountOwner::from(user.key.public());
            for (child, ownership) in checker::opened_chains(&certificates) {
                if ownership.is_owner(&owner) && !registry.chains().contains(&child) {
                    registry.add(child);
                    user.chains.lock().push((child, false));
                }
            }
            index += 1;
        }
    }
    Ok(())
}

async fn check(
    users: &[Arc<User>],
    network: &Validators,
    honest: &[usize],
    chains: &[skein_base::ChainId],
    supply: Amount,
) -> Result<(), String> {
    // Every operation a user submitted is confirmed: nothing is left pending.
    for (index, user) in users.iter().enumerate() {
        for chain_id in user.chain_ids() {
            let chain = user.client.chain(chain_id, user.key.copy());
            if chain
                .has_unfinished_work()
                .await
                .map_err(|error| error.to_string())?
            {
                return Err(format!(
                    "user {index} still has unconfirmed work on {chain_id:?} once calm"
                ));
            }
        }
    }
    let validators: Vec<Arc<LocalValidator<SimStore>>> = honest
        .iter()
        .map(|index| {
            network
                .validator(*index)
                .ok_or(format!("validator {index} is down"))
        })
        .collect::<Result<_, _>>()?;
    // Invariant 1, over validators' shards and clients' local nodes.
    for (index, validator) in validators.iter().enumerate() {
        for chain_id in chains {
            let nodes = vec![(format!("validator {index}"), validator.worker(chain_id))];
            checker::check_single_certificate_per_height(&nodes, &[*chain_id]).await?;
        }
    }
    let client_nodes: Vec<(String, &Worker<MemoryStore>)> = users
        .iter()
        .enumerate()
        .map(|(index, user)| (format!("client {index}"), user.client.local_node()))
        .collect();
    checker::check_single_certificate_per_height(&client_nodes, chains).await?;
    let mut reference = None;
    for (index, validator) in validators.iter().enumerate() {
        checker::check_exactly_once_delivery(validator, chains)
            .await
            .map_err(|error| format!("validator {index}: {error}"))?;
        checker::check_supply(validator, chains, supply)
            .await
            .map_err(|error| format!("validator {index}: {error}"))?;
        let states = checker::chain_states(validator, chains).await?;
        match &reference {
            None => reference = Some(states),
            Some(expected) => {
                if let Some(position) = (0..chains.len()).find(|i| states[*i] != expected[*i]) {
                    return Err(format!(
                        "validator {index} has {:?} for chain {:?}, validator 0 has {:?}",
                        states[position], chains[position], expected[position]
                    ));
                }
            }
        }
    }
    // Certificates across validators: one per height, the same everywhere.
    for chain_id in chains {
        let nodes: Vec<(String, &Worker<SimStore>)> = validators
            .iter()
            .enumerate()
            .map(|(index, validator)| (format!("validator {index}"), validator.worker(chain_id)))
            .collect();
        checker::check_single_certificate_per_height(&nodes, &[*chain_id]).await?;
    }
    let reference = validators.first().ok_or("no validator")?;
    checker::check_transfers_at_most_once(reference, chains).await?;
    Ok(())
}
