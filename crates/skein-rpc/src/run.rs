//! Running validators: a whole validator in one process, one shard, or a proxy. Each runs
//! until `shutdown` completes.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use skein_base::limits;
use skein_core::{
    tokio_spawner, Client, ClientConfig, LocalValidator, Notification, ProposerConfig,
    PublicChainProposer, SystemClock, ValidatorNode, Worker,
};
use skein_storage::{AnyStore, Storage};
use skein_views::MemoryStore;
use tokio::sync::broadcast;
use tonic::service::interceptor::InterceptedService;
use tower_layer::{Identity, Stack};

use crate::{
    admission::AdmissionLayer,
    config::LoadedValidatorConfig,
    generated::{shard_server::ShardServer, validator_server::ValidatorServer},
    proxy::ProxyNode,
    service::{PublicService, ShardService},
    shard::ShardNode,
};

/// How often validators re-send messages their recipients have not acknowledged.
const RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address to listen on is not valid.
    #[error("cannot listen on {address}: {reason}")]
    Address {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The store could not be opened or initialised.
    #[error("storage: {0}")]
    Storage(String),
    /// The configuration cannot run this way.
    #[error("configuration: {0}")]
    Config(String),
    /// The public-chain proposer could not start.
    #[error("public-chain proposer: {0}")]
    Proposer(String),
    /// The gRPC server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

async fn resolve(address: &str) -> Result<SocketAddr, ServerError> {
    let error = |reason: String| ServerError::Address {
        address: address.to_string(),
        reason,
    };
    tokio::net::lookup_host(address)
        .await
        .map_err(|io| error(io.to_string()))?
        .next()
        .ok_or_else(|| error("no such host".into()))
}

/// Remotely reset streams a connection may accumulate before the server closes it: above
/// h2's default of 20, since clients legitimately cancel requests whose answer they no
/// longer need, yet bounded, against floods of resets.
const RESET_STREAMS_MAX: usize = 1_000;

/// Requests one connection may have open at once (subscriptions included): past this, its
/// new requests wait for a free stream, so a client flooding its connection slows itself.
const STREAMS_PER_CONNECTION_MAX: u32 = 256;

/// Requests of one connection handled at once; the rest of its streams queue.
const REQUESTS_PER_CONNECTION_AT_ONCE: usize = 64;

/// Longest a request may take to be answered (a subscription: to be opened), so that
/// nothing a peer sends holds a handler forever. Handlers leave their chain as they found
/// it when dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How often an idle connection is pinged, and how long its peer has to answer: a peer
/// that hung (its machine stopped, not its socket closed) is let go, and its subscriptions
/// with it.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server for the validator's own processes (shards): its connections carry the
/// traffic of every client at once, so they are not limited per connection.
fn server_builder() -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .http2_max_pending_accept_reset_streams(Some(RESET_STREAMS_MAX))
        .timeout(REQUEST_TIMEOUT)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
}

/// Requests of one peer (an IP address, or an IPv6 /64) handled at once over all its
/// connections; the rest wait (see [`crate::admission`]).
const REQUESTS_PER_PEER_AT_ONCE: usize = 64;

/// A server for the public: each connection is one client, bounded in what it may ask at
/// once, and each peer, however many connections it opens, waits for its own requests.
fn public_server_builder() -> tonic::transport::Server<Stack<AdmissionLayer, Identity>> {
    server_builder()
        .max_concurrent_streams(STREAMS_PER_CONNECTION_MAX)
        .concurrency_limit_per_connection(REQUESTS_PER_CONNECTION_AT_ONCE)
        .layer(AdmissionLayer::new(REQUESTS_PER_PEER_AT_ONCE))
}

/// Runs a whole validator — proxy and every shard — in this process, on `config`'s storage.
pub async fn run_validator(
    config: LoadedValidatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let address = resolve(&config.config.public_address).await?;
    let store = AnyStore::open(&config.storage)
        .await
        .map_err(|error| ServerError::Storage(error.to_string()))?;
    let validator = Arc::new(LocalValidator::new(
        store,
        config.config.shards.len(),
        config.keys(),
        Arc::new(SystemClock),
    ));
    for chain in config.genesis.chain_configs() {
        validator
            .initialize_chain(chain)
            .await
            .map_err(|error| ServerError::Storage(error.to_string()))?;
    }
    let retrying = validator.clone();
    let retries = tokio::spawn(async move {
        loop {
            if let Err(error) = retrying.retry_pending().await {
                tracing::warn!(%error, "re-sending unacknowledged messages failed");
            }
            tokio::time::sleep(RETRY_INTERVAL).await;
        }
    });
    let proposer = spawn_proposer(
        &config,
        validator.clone() as Arc<dyn ValidatorNode>,
        validator.subscribe(),
    )
    .await?;
    let notifications = validator.clone();
    let service = PublicService::new(
        validator as Arc<dyn ValidatorNode>,
        Arc::new(move || notifications.subscribe()),
    );
    tracing::info!(name = %config.config.name, %address, "validator listening");
    let result = public_server_builder()
        .add_service(public_server(service))
        .serve_with_shutdown(address, shutdown)
        .await;
    retries.abort();
    proposer.abort();
    Ok(result?)
}

fn public_server(service: PublicService) -> ValidatorServer<PublicService> {
    ValidatorServer::new(service)
        .max_decoding_message_size(limits::REQUEST_BYTES_MAX)
        .max_encoding_message_size(limits::REQUEST_BYTES_MAX)
}

/// Runs shard `index` of a validator whose shards share a database.
pub async fn run_shard(
    config: LoadedValidatorConfig,
    index: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let shard_address = config
        .config
        .shards
        .get(index)
        .ok_or_else(|| ServerError::Address {
            address: format!("shard {index}"),
            reason: format!(
                "the configuration has {} shards",
                config.config.shards.len()
            ),
        })?
        .address
        .clone();
    let address = resolve(&shard_address).await?;
    let key = config
        .require_shard_key()
        .map_err(ServerError::Config)?
        .clone();
    let store = AnyStore::open(&config.storage)
        .await
        .map_err(|error| ServerError::Storage(error.to_string()))?;
    let worker = Worker::new(
        Storage::new(store),
        Some(Arc::new(config.keys())),
        Arc::new(SystemClock),
    );
    let peers: Vec<String> = config
        .config
        .shards
        .iter()
        .map(|shard| shard.address.clone())
        .collect();
    let shard =
        ShardNode::new(worker, index, &peers, &key).map_err(|error| ServerError::Address {
            address: shard_address.clone(),
            reason: error.to_string(),
        })?;
    for chain in config.genesis.chain_configs() {
        if shard.owns(&chain.description.id()) {
            shard
                .worker()
                .initialize_chain(chain)
                .await
                .map_err(|error| ServerError::Storage(error.to_string()))?;
        }
    }
    let retrying = shard.clone();
    let retries = tokio::spawn(async move {
        loop {
            if let Err(error) = retrying.retry_pending().await {
                tracing::warn!(%error, "re-sending unacknowledged messages failed");
            }
            tokio::time::sleep(RETRY_INTERVAL).await;
        }
    });
    tracing::info!(name = %config.config.name, index, %address, "shard listening");
    let result = server_builder()
        .add_service(InterceptedService::new(
            ShardServer::new(ShardService::new(shard))
                .max_decoding_message_size(limits::REQUEST_BYTES_MAX)
                .max_encoding_message_size(limits::REQUEST_BYTES_MAX),
            key.guard(),
        ))
        .serve_with_shutdown(address, shutdown)
        .await;
    retries.abort();
    Ok(result?)
}

/// Runs the proxy of a validator whose shards run as separate processes.
pub async fn run_proxy(
    config: LoadedValidatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let address = resolve(&config.config.public_address).await?;
    let key = config.require_shard_key().map_err(ServerError::Config)?;
    let shards: Vec<String> = config
        .config
        .shards
        .iter()
        .map(|shard| shard.address.clone())
        .collect();
    let proxy = ProxyNode::new(&shards, key).map_err(|error| ServerError::Address {
        address: config.config.public_address.clone(),
        reason: error.to_string(),
    })?;
    let proposer = spawn_proposer(
        &config,
        proxy.clone() as Arc<dyn ValidatorNode>,
        proxy.subscribe(),
    )
    .await?;
    let notifications = proxy.clone();
    let service = PublicService::new(
        proxy as Arc<dyn ValidatorNode>,
        Arc::new(move || notifications.subscribe()),
    );
    tracing::info!(name = %config.config.name, %address, "proxy listening");
    let result = public_server_builder()
        .add_service(public_server(service))
        .serve_with_shutdown(address, shutdown)
        .await;
    proposer.abort();
    Ok(result?)
}

/// Starts the validator's turns on public chains: a proposer with a client of its own (in
/// memory), reaching this validator directly and the others over gRPC, woken by this
/// validator's `notifications`.
async fn spawn_proposer(
    config: &LoadedValidatorConfig,
    own: Arc<dyn ValidatorNode>,
    notifications: broadcast::Receiver<Notification>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let error = |error: String| ServerError::Proposer(error);
    let keys = config.keys();
    let mut validators = crate::client::validator_entries(&config.genesis.committee)
        .map_err(|e| error(e.to_string()))?;
    for entry in &mut validators {
        if keys.named(&entry.public_key).is_some() {
            entry.node = own.clone();
        }
    }
    let client = Client::new(
        Storage::new(MemoryStore::new()),
        &config.genesis,
        validators,
        Arc::new(SystemClock),
        tokio_spawner(),
        ClientConfig::default(),
    )
    .await
    .map_err(|e| error(e.to_string()))?;
    client.connect_new_validators_with(crate::client::grpc_connect());
    let proposer = PublicChainProposer::new(client, keys, own, ProposerConfig::default());
    Ok(tokio::spawn(proposer.run(notifications)))
}
