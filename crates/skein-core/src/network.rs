//! [`InProcessNetwork`]: a whole network — validators, genesis, clients — in one process,
//! for tests, benchmarks and demos.

use std::{collections::BTreeMap, sync::Arc};

use parking_lot::Mutex;
use skein_base::{
    crypto::SecretKey, AccountOwner, Amount, ChainId, Committee, Timestamp, ValidatorPublicKey,
    ValidatorState,
};
use skein_storage::Storage;
use skein_views::{KeyValueStore, MemoryStore};

use crate::{
    client::{ChainClient, Client, ClientConfig, ClientError, Spawner, ValidatorEntry},
    clock::Clock,
    faults::{FaultyNode, StoppedNode},
    genesis::{GenesisChain, GenesisConfig},
    node::ValidatorNode,
    proposer::{ProposerConfig, PublicChainProposer},
    validator::LocalValidator,
};

/// Opens validator `index`'s store; called again when that validator restarts.
pub type StoreFactory<S> = Box<dyn Fn(usize) -> S + Send + Sync>;

/// How to build an [`InProcessNetwork`].
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Validators, one vote each.
    pub validators: usize,
    /// Shards per validator.
    pub shards: usize,
    /// Genesis chains, each with its own owner.
    pub chains: usize,
    /// The balance of each genesis chain.
    pub balance: Amount,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            validators: 4,
            shards: 2,
            chains: 4,
            balance: Amount::from_tokens(1_000),
        }
    }
}

/// Validators and genesis in one process. Each validator sits behind a [`FaultyNode`], so
/// tests can take it offline, slow it down or make it Byzantine, and can restart it.
pub struct InProcessNetwork<S> {
    /// The genesis configuration.
    pub genesis: GenesisConfig,
    /// The validators as clients reach them.
    pub nodes: Vec<Arc<FaultyNode>>,
    /// The owners' keys of the genesis chains, by chain index.
    pub owner_keys: Vec<Arc<SecretKey>>,
    validators: Mutex<Vec<Option<Arc<LocalValidator<S>>>>>,
    validator_keys: Vec<Arc<SecretKey>>,
    /// Every validator's node by key, for clients that learn of a validator from the
    /// admin chain.
    registry: Arc<Mutex<BTreeMap<ValidatorPublicKey, Arc<dyn ValidatorNode>>>>,
    store_factory: StoreFactory<S>,
    shards: usize,
    clock: Arc<dyn Clock>,
}

impl InProcessNetwork<MemoryStore> {
    /// A network whose validators keep their data in memory (kept across restarts; one
    /// more store for each validator added later).
    pub async fn in_memory(config: NetworkConfig, clock: Arc<dyn Clock>) -> Self {
        let stores: Mutex<Vec<MemoryStore>> = Mutex::default();
        let factory = move |index: usize| {
            let mut stores = stores.lock();
            while stores.len() <= index {
                stores.push(MemoryStore::new());
            }
            stores[index].clone()
        };
        Self::new(config, clock, Box::new(factory)).await
    }

    /// A network for an application's tests, on a tokio runtime: four validators of two
    /// shards in memory, on the system clock, with `chains` genesis chains of 10 tokens.
    /// Give each chain a client of its own with [`InProcessNetwork::own_chain`].
    pub async fn for_tests(chains: usize) -> Self {
        let config = NetworkConfig {
            validators: 4,
            shards: 2,
            chains,
            balance: skein_base::Amount::from_tokens(10),
        };
        Self::in_memory(config, Arc::new(crate::SystemClock)).await
    }
}

impl<S: KeyValueStore> InProcessNetwork<S> {
    /// Builds the network and runs genesis on every validator.
    pub async fn new(
        config: NetworkConfig,
        clock: Arc<dyn Clock>,
        store_factory: StoreFactory<S>,
    ) -> Self {
        let validator_keys: Vec<Arc<SecretKey>> = (0..config.validators)
            .map(|index| Arc::new(SecretKey::from_test_seed(1_000 + index as u64)))
            .collect();
        let owner_keys: Vec<Arc<SecretKey>> = (0..config.chains)
            .map(|index| Arc::new(SecretKey::from_test_seed(2_000 + index as u64)))
            .collect();
        let members: BTreeMap<ValidatorPublicKey, ValidatorState> = validator_keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let state = ValidatorState {
                    network_address: format!("in-process:{index}"),
                    votes: 1,
                };
                (ValidatorPublicKey::from(&key.public()), state)
            })
            .collect();
        let genesis = GenesisConfig {
            admin_chain: 0,
            committee: Committee::new(members).expect("at least one validator"),
            chains: owner_keys
                .iter()
                .map(|key| GenesisChain {
                    owner: AccountOwner::from(key.public()),
                    balance: config.balance,
                })
                .collect(),
            timestamp: Timestamp::default(),
        };
        let mut validators = Vec::new();
        let mut nodes = Vec::new();
        for (index, key) in validator_keys.iter().enumerate() {
            let validator = Self::start(&store_factory, index, key, config.shards, &clock);
            for chain in genesis.chain_configs() {
                validator
                    .initialize_chain(chain)
                    .await
                    .expect("genesis on a fresh store");
            }
            nodes.push(Arc::new(FaultyNode::new(
                validator.clone() as Arc<dyn ValidatorNode>,
                key.clone(),
                clock.clone(),
            )));
            validators.push(Some(validator));
        }
        let registry = validator_keys
            .iter()
            .zip(&nodes)
            .map(|(key, node)| {
                let node = node.clone() as Arc<dyn ValidatorNode>;
                (ValidatorPublicKey::from(&key.public()), node)
            })
            .collect();
        Self {
            genesis,
            nodes,
            owner_keys,
            validators: Mutex::new(validators),
            validator_keys,
            registry: Arc::new(Mutex::new(registry)),
            store_factory,
            shards: config.shards,
            clock,
        }
    }

    fn start(
        factory: &StoreFactory<S>,
        index: usize,
        key: &SecretKey,
        shards: usize,
        clock: &Arc<dyn Clock>,
    ) -> Arc<LocalValidator<S>> {
        Arc::new(LocalValidator::new(
            factory(index),
            shards,
            key.copy(),
            clock.clone(),
        ))
    }

    /// Validator `index` (the current instance, after any restart).
    pub fn validator(&self, index: usize) -> Arc<LocalValidator<S>> {
        self.validators.lock()[index]
            .clone()
            .expect("the validator is running")
    }

    /// Restarts validator `index`: a new instance on a reopened store, which then re-sends
    /// whatever cross-chain messages were not acknowledged. Clients see it as unreachable
    /// meanwhile.
    pub async fn restart_validator(&self, index: usize) {
        self.nodes[index].replace_inner(Arc::new(StoppedNode));
        let old = self.validators.lock()[index]
            .take()
            .expect("the validator is running");
        // Requests in flight hold the old instance; its store can be reopened once they end.
        while Arc::strong_count(&old) > 1 {
            self.clock
                .sleep(skein_base::TimeDelta::from_millis(1))
                .await;
        }
        drop(old);
        let validator = Self::start(
            &self.store_factory,
            index,
            &self.validator_keys[index],
            self.shards,
            &self.clock,
        );
        self.validators.lock()[index] = Some(validator.clone());
        self.nodes[index].replace_inner(validator.clone() as Arc<dyn ValidatorNode>);
        if let Err(error) = validator.retry_pending().await {
            tracing::warn!(%error, "re-sending after restart failed");
        }
    }

    /// Starts one more validator, outside the committee: a validator about to join, started
    /// from the genesis as an operator would start it. Returns its index.
    pub async fn add_validator(&mut self) -> usize {
        let index = self.nodes.len();
        let key = Arc::new(SecretKey::from_test_seed(1_000 + index as u64));
        let validator = Self::start(&self.store_factory, index, &key, self.shards, &self.clock);
        for chain in self.genesis.chain_configs() {
            validator
                .initialize_chain(chain)
                .await
                .expect("genesis on a fresh store");
        }
        let node = Arc::new(FaultyNode::new(
            validator.clone() as Arc<dyn ValidatorNode>,
            key.clone(),
            self.clock.clone(),
        ));
        self.registry.lock().insert(
            ValidatorPublicKey::from(&key.public()),
            node.clone() as Arc<dyn ValidatorNode>,
        );
        self.nodes.push(node);
        self.validators.lock().push(Some(validator));
        self.validator_keys.push(key);
        index
    }

    /// The key of validator `index`, as committees name it.
    pub fn validator_public_key(&self, index: usize) -> ValidatorPublicKey {
        ValidatorPublicKey::from(&self.validator_keys[index].public())
    }

    /// How clients of this network reach a validator they learn of from the admin chain.
    pub fn connect(&self) -> crate::client::Connect {
        let registry = self.registry.clone();
        Arc::new(move |key, _state| {
            registry.lock().get(key).cloned().ok_or_else(|| {
                crate::node::NodeError::Unreachable(format!("no validator {key:?} here"))
            })
        })
    }

    /// The validators of the genesis committee as a client lists them.
    pub fn entries(&self) -> Vec<ValidatorEntry> {
        let members = self.genesis.committee.validators();
        self.nodes
            .iter()
            .zip(&self.validator_keys)
            .filter(|(_, key)| members.contains_key(&ValidatorPublicKey::from(&key.public())))
            .map(|(node, key)| ValidatorEntry {
                public_key: ValidatorPublicKey::from(&key.public()),
                node: node.clone() as Arc<dyn ValidatorNode>,
            })
            .collect()
    }

    /// A client with its own store.
    pub async fn client<T: KeyValueStore>(
        &self,
        store: T,
        spawner: Spawner,
        config: ClientConfig,
    ) -> Result<Arc<Client<T>>, ClientError> {
        let client = Client::new(
            Storage::new(store),
            &self.genesis,
            self.entries(),
            self.clock.clone(),
            spawner,
            config,
        )
        .await?;
        client.connect_new_validators_with(self.connect());
        client.learn_committees().await?;
        Ok(client)
    }

    /// The chain client of genesis chain `index`, with its owner's key.
    pub fn chain_client<T: KeyValueStore>(
        &self,
        client: &Arc<Client<T>>,
        index: usize,
    ) -> ChainClient<T> {
        client.chain(
            GenesisConfig::chain_id(index),
            self.owner_keys[index].copy(),
        )
    }

    /// Genesis chain `index` with a client of its own (its own node in memory, requests
    /// timing out after five seconds), as its owner's wallet would have: on a tokio runtime.
    pub async fn own_chain(&self, index: usize) -> ChainClient<MemoryStore> {
        let config = ClientConfig {
            request_timeout: skein_base::TimeDelta::from_secs(5),
            ..ClientConfig::default()
        };
        let client = self
            .client(MemoryStore::new(), crate::tokio_spawner(), config)
            .await
            .expect("a client of an in-process network starts");
        self.chain_client(&client, index)
    }

    /// The id of genesis chain `index`.
    pub fn chain_id(&self, index: usize) -> ChainId {
        GenesisConfig::chain_id(index)
    }

    /// The owner of genesis chain `index`.
    pub fn owner(&self, index: usize) -> AccountOwner {
        AccountOwner::from(self.owner_keys[index].public())
    }

    /// The key of the owner of genesis chain `index`.
    pub fn owner_key(&self, index: usize) -> SecretKey {
        self.owner_keys[index].copy()
    }

    /// The key of validator `index`.
    pub fn validator_key(&self, index: usize) -> SecretKey {
        self.validator_keys[index].copy()
    }

    /// The network's genesis configuration.
    pub fn genesis(&self) -> &GenesisConfig {
        &self.genesis
    }

    /// The public-chain proposer of validator `index`, with a client of its own on `store`,
    /// following the current instance of that validator. Run it with
    /// [`PublicChainProposer::run`] on the validator's notifications.
    pub async fn proposer<T: KeyValueStore>(
        &self,
        index: usize,
        store: T,
        spawner: Spawner,
        config: ProposerConfig,
    ) -> Result<Arc<PublicChainProposer<T>>, ClientError> {
        let client = self.client(store, spawner, ClientConfig::default()).await?;
        Ok(PublicChainProposer::new(
            client,
            self.validator_keys[index].copy(),
            self.nodes[index].clone() as Arc<dyn ValidatorNode>,
            config,
        ))
    }
}
