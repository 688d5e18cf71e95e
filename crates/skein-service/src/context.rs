//! What every command needs: the wallet, and a client whose local node lives next to it.

use std::{path::PathBuf, sync::Arc};

use anyhow::{anyhow, bail, Context as _};
use skein_base::{ChainId, TimeDelta, ValidatorPublicKey};
use skein_core::{
    tokio_spawner, ChainClient, Client, ClientConfig, GenesisConfig, SystemClock, ValidatorEntry,
};
use skein_storage::{LogStore, Storage};

use crate::wallet::Wallet;

/// A wallet and its client.
pub struct Context {
    /// The wallet, locked for this command.
    pub wallet: Wallet,
    /// The client, with its local node in the wallet's store directory.
    pub client: Arc<Client<LogStore>>,
}

/// The wallet file a command uses: `--wallet`, or `SKEIN_WALLET`.
pub fn wallet_path(argument: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    argument.ok_or_else(|| {
        anyhow!(
            "no wallet given: pass --wallet PATH or set SKEIN_WALLET (`skein net up` prints how)"
        )
    })
}

/// The validators of the genesis committee, reached over gRPC.
pub fn validator_entries(genesis: &GenesisConfig) -> anyhow::Result<Vec<ValidatorEntry>> {
    Ok(skein_rpc::validator_entries(&genesis.committee)?)
}

/// Timing for interactive commands: fail fast on a validator that does not answer.
pub fn client_config() -> ClientConfig {
    ClientConfig {
        request_timeout: TimeDelta::from_secs(10),
        ..ClientConfig::default()
    }
}

impl Context {
    /// Opens the wallet at `path` and its client.
    pub async fn open(path: Option<PathBuf>) -> anyhow::Result<Self> {
        let wallet = Wallet::open(&wallet_path(path)?)?;
        // Signing records must survive a crash of the machine, not only of the process.
        let store = LogStore::open(&wallet.store_path(), true).map_err(|error| {
            anyhow!(
                "cannot open the wallet's store {}: {error}",
                wallet.store_path().display()
            )
        })?;
        let client = Client::new(
            Storage::new(store),
            wallet.genesis(),
            validator_entries(wallet.genesis())?,
            Arc::new(SystemClock),
            tokio_spawner(),
            client_config(),
        )
        .await
        .context("cannot start the client")?;
        client.connect_new_validators_with(skein_rpc::grpc_connect());
        client
            .learn_committees()
            .await
            .context("cannot follow the committees the wallet's node knows")?;
        Ok(Self { wallet, client })
    }

    /// `chain`, or the wallet's default chain.
    pub fn chain_or_default(&self, chain: Option<ChainId>) -> anyhow::Result<ChainId> {
        match chain {
            Some(chain) => Ok(chain),
            None => self.wallet.default_chain().ok_or_else(|| {
                anyhow!("the wallet has no chains: open one, or `skein sync CHAIN` one you own")
            }),
        }
    }

    /// A client for a chain of the wallet.
    pub fn chain_client(&self, chain_id: ChainId) -> anyhow::Result<ChainClient<LogStore>> {
        let Some(key) = self.wallet.key_for_chain(&chain_id) else {
            bail!(
                "chain {chain_id} is not in the wallet (if one of your keys owns it, run `skein sync {chain_id}`)"
            );
        };
        Ok(self.client.chain(chain_id, key))
    }

    /// The validators of the current committee, by key, with their addresses.
    pub fn validator_addresses(&self) -> Vec<(ValidatorPublicKey, String)> {
        self.client
            .membership()
            .committee
            .validators()
            .iter()
            .map(|(key, state)| (*key, state.network_address.clone()))
            .collect()
    }
}
