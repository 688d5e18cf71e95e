//! Commands that look, and the wallet's own commands.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use anyhow::{anyhow, bail, Context as _};
use futures::StreamExt;
use skein_base::{crypto::SecretKey, BlockHeight, ChainId};
use skein_core::{ChainInfoQuery, NotificationReason, ValidatorNode};
use skein_rpc::{
    config::{load_genesis, KeyFile},
    GrpcValidatorNode,
};

use crate::{
    context::{wallet_path, Context},
    describe,
    wallet::Wallet,
};

/// `skein keygen [[--shard-key] --output FILE]`
pub fn keygen(
    wallet: Option<PathBuf>,
    output: Option<PathBuf>,
    shard_key: bool,
) -> anyhow::Result<()> {
    if let Some(output) = output {
        if output.exists() {
            bail!("{} exists already", output.display());
        }
        if shard_key {
            skein_rpc::ShardKey::generate().save(&output)?;
            output_line!("wrote a shard key to {}", output.display());
            return Ok(());
        }
        let key = KeyFile::generate();
        key.save(&output)?;
        output_line!("{}", key.public_key);
        return Ok(());
    }
    let mut wallet = Wallet::open(&wallet_path(wallet)?)?;
    let public_key = wallet.add_key(SecretKey::generate());
    wallet.save()?;
    output_line!("{public_key}");
    Ok(())
}

/// `skein wallet init --genesis FILE`
pub fn wallet_init(wallet: Option<PathBuf>, genesis: &Path) -> anyhow::Result<()> {
    let path = wallet_path(wallet)?;
    let genesis = load_genesis(genesis)?;
    Wallet::create(&path, genesis)?;
    output_line!("created the wallet {}", path.display());
    Ok(())
}

/// `skein wallet show`
pub fn wallet_show(wallet: Option<PathBuf>) -> anyhow::Result<()> {
    let wallet = Wallet::open(&wallet_path(wallet)?)?;
    output_line!("wallet {}", wallet.path().display());
    output_line!(
        "network: {} validators, {} genesis chains",
        wallet.genesis().committee.validators().len(),
        wallet.genesis().chains.len()
    );
    let default = wallet.default_chain();
    output_line!("chains:");
    for chain in wallet.chains() {
        let marker = if Some(chain.chain_id) == default {
            " (default)"
        } else {
            ""
        };
        output_line!(
            "  {}  owner key {}{marker}",
            chain.chain_id,
            chain.public_key
        );
    }
    output_line!("keys:");
    for key in wallet.keys() {
        output_line!(
            "  {}  owner {}",
            key.public_key,
            skein_base::AccountOwner::from(&key.public_key)
        );
    }
    Ok(())
}

/// `skein wallet owner [CHAIN]`
pub fn wallet_owner(wallet: Option<PathBuf>, chain: Option<ChainId>) -> anyhow::Result<()> {
    let wallet = Wallet::open(&wallet_path(wallet)?)?;
    let chain_id = match chain.or(wallet.default_chain()) {
        Some(chain_id) => chain_id,
        None => bail!("the wallet has no default chain; name one"),
    };
    let Some(chain) = wallet
        .chains()
        .iter()
        .find(|chain| chain.chain_id == chain_id)
    else {
        bail!("chain {chain_id} is not in the wallet");
    };
    output_line!("{}", skein_base::AccountOwner::from(&chain.public_key));
    Ok(())
}

/// `skein query-validators`
pub async fn query_validators(context: &Context, chain: Option<ChainId>) -> anyhow::Result<()> {
    let chain_id = chain
        .or(context.wallet.default_chain())
        .unwrap_or(ChainId::root(0));
    let mut reachable = 0;
    let entries = context.validator_addresses();
    let committee = context.client.membership().committee.clone();
    for (public_key, address) in &entries {
        let node = GrpcValidatorNode::new(address).map_err(|error| anyhow!("{error}"))?;
        let started = Instant::now();
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            node.handle_chain_info_query(ChainInfoQuery::new(chain_id)),
        )
        .await;
        let votes = committee.weight(public_key);
        match answer {
            Ok(Ok(info)) => {
                reachable += 1;
                output_line!(
                    "{address:<22} {public_key}  votes {votes}  ok in {:.1} ms  chain {chain_id} state {} at height {}",
                    started.elapsed().as_secs_f64() * 1_000.0,
                    info.state_hash,
                    info.next_block_height
                );
            }
            Ok(Err(error)) => {
                output_line!("{address:<22} {public_key}  votes {votes}  error: {error}")
            }
            Err(_) => output_line!("{address:<22} {public_key}  votes {votes}  no answer in 5 s"),
        }
    }
    output_line!("{reachable} of {} validators reachable", entries.len());
    Ok(())
}

/// `skein show-block CHAIN HEIGHT`
pub async fn show_block(
    context: &Context,
    chain_id: ChainId,
    height: BlockHeight,
) -> anyhow::Result<()> {
    let query = ChainInfoQuery {
        request_certificates_from: Some(height),
        ..ChainInfoQuery::new(chain_id)
    };
    let mut last_error = None;
    for validator in context.client.validators() {
        match validator.node.handle_chain_info_query(query.clone()).await {
            Ok(info) => {
                let Some(certificate) = info.requested_certificates.into_iter().next() else {
                    last_error = Some(anyhow!(
                        "chain {chain_id} has no block at height {height} (its next height is {})",
                        info.next_block_height
                    ));
                    continue;
                };
                let epoch = certificate.value.block.epoch;
                let committee = context.client.committee_of(epoch).await.ok_or_else(|| {
                    anyhow!("the certificate is of epoch {epoch}, whose committee this wallet does not know")
                })?;
                let certificate = certificate
                    .check(&committee)
                    .context("a validator served an invalid certificate")?;
                let block = &certificate.value().block;
                output_line!(
                    "block {} of chain {chain_id} at height {height}",
                    certificate.hash()
                );
                output_line!("  round       {}", certificate.round());
                output_line!("  timestamp   {}", block.timestamp);
                output_line!("  epoch       {}", block.epoch);
                if let Some(signer) = block.authenticated_signer {
                    output_line!("  signer      {signer}");
                }
                if let Some(previous) = block.previous_block_hash {
                    output_line!("  previous    {previous}");
                }
                output_line!("  state hash  {}", certificate.value().outcome.state_hash);
                output_line!(
                    "  signatures  {} of the committee",
                    certificate.signatures().len()
                );
                for incoming in &block.incoming_bundles {
                    output_line!(
                        "  {:?} bundle from {} height {} ({} messages)",
                        incoming.action,
                        incoming.origin,
                        incoming.bundle.height,
                        incoming.bundle.messages.len()
                    );
                }
                for operation in &block.operations {
                    output_line!("  operation   {}", describe::operation(operation));
                }
                return Ok(());
            }
            Err(error) => last_error = Some(anyhow!("{error}")),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("no validator answered")))
}

/// `skein watch [CHAIN]`
pub async fn watch(wallet: Option<PathBuf>, chain: Option<ChainId>) -> anyhow::Result<()> {
    let (chains, addresses) = {
        let wallet = Wallet::open(&wallet_path(wallet)?)?;
        let chains: Vec<ChainId> = match chain {
            Some(chain) => vec![chain],
            None => wallet.chains().iter().map(|chain| chain.chain_id).collect(),
        };
        let addresses: Vec<String> = wallet
            .genesis()
            .committee
            .validators()
            .values()
            .map(|state| state.network_address.clone())
            .collect();
        (chains, addresses)
    };
    if chains.is_empty() {
        bail!("the wallet has no chains to watch; name one");
    }
    let nodes: Vec<Arc<GrpcValidatorNode>> = addresses
        .iter()
        .map(|address| {
            GrpcValidatorNode::new(address)
                .map(Arc::new)
                .map_err(|error| anyhow!("{error}"))
        })
        .collect::<Result<_, _>>()?;
    output_line!("watching {} chains (Ctrl-C to stop)", chains.len());
    // Follow one validator; when it goes away, the next.
    let mut index = 0;
    let mut failures = 0;
    loop {
        let node = &nodes[index % nodes.len()];
        match node.subscribe(chains.clone()).await {
            Ok(mut stream) => {
                failures = 0;
                while let Some(Ok(notification)) = stream.next().await {
                    match notification.reason {
                        NotificationReason::NewBlock { height, hash } => {
                            output_line!(
                                "{}  new block at height {height}: {hash}",
                                notification.chain_id
                            )
                        }
                        NotificationReason::NewIncomingBundle { origin, height } => output_line!(
                            "{}  incoming messages from {origin} (its height {height})",
                            notification.chain_id
                        ),
                    }
                }
                eprintln!(
                    "lost the connection to {}; switching validator",
                    node.address()
                );
            }
            Err(error) => {
                failures += 1;
                if failures >= nodes.len() {
                    bail!("no validator accepts subscriptions: {error}");
                }
            }
        }
        index += 1;
    }
}
