//! The wallet: one file holding the network's genesis, the user's keys and the chains the
//! user owns. It is written atomically and locked while a command uses it, so two `skein`
//! processes never interleave their writes.

use std::{
    fs::{File, OpenOptions},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use skein_base::{
    crypto::{PublicKey, SecretKey},
    AccountOwner, ChainId,
};
use skein_core::GenesisConfig;
use skein_rpc::config::write_atomically;

/// The environment variable naming the wallet file.
pub const WALLET_ENV: &str = "SKEIN_WALLET";

/// How long a command waits for another one using the same wallet.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A key the wallet holds.
#[derive(Serialize, Deserialize)]
pub struct WalletKey {
    /// The public half.
    pub public_key: PublicKey,
    /// The secret half.
    pub secret_key: SecretKey,
}

/// A chain the wallet proposes blocks on.
#[derive(Clone, Serialize, Deserialize)]
pub struct WalletChain {
    /// The chain.
    pub chain_id: ChainId,
    /// The key that owns it.
    pub public_key: PublicKey,
}

/// What the wallet file holds.
#[derive(Serialize, Deserialize)]
pub struct WalletFile {
    /// The network.
    pub genesis: GenesisConfig,
    /// The user's keys.
    pub keys: Vec<WalletKey>,
    /// The user's chains.
    pub chains: Vec<WalletChain>,
    /// The chain commands use when none is named.
    pub default_chain: Option<ChainId>,
}

/// An open, locked wallet.
pub struct Wallet {
    path: PathBuf,
    file: WalletFile,
    _lock: File,
}

fn lock(path: &Path) -> anyhow::Result<File> {
    let lock_path = path.with_extension("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open the wallet lock {}", lock_path.display()))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                bail!(
                    "the wallet {} is in use by another skein process",
                    path.display()
                )
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(error).context("cannot lock the wallet");
            }
        }
    }
}

impl Wallet {
    /// Creates a wallet for the network of `genesis`. Refuses to overwrite one.
    pub fn create(path: &Path, genesis: GenesisConfig) -> anyhow::Result<Self> {
        if path.exists() {
            bail!("a wallet already exists at {}", path.display());
        }
        let lock = lock(path)?;
        let wallet = Self {
            path: path.to_path_buf(),
            file: WalletFile {
                genesis,
                keys: Vec::new(),
                chains: Vec::new(),
                default_chain: None,
            },
            _lock: lock,
        };
        wallet.save()?;
        Ok(wallet)
    }

    /// Opens and locks the wallet at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            bail!(
                "no wallet at {}: create one with `skein wallet init --genesis FILE`, or start a local network with `skein net up`",
                path.display()
            );
        }
        let lock = lock(path)?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the wallet {}", path.display()))?;
        let file: WalletFile = serde_json::from_str(&text)
            .with_context(|| format!("the wallet {} is not valid", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            _lock: lock,
        })
    }

    /// Writes the wallet back, atomically.
    pub fn save(&self) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(&self.file)?;
        write_atomically(&self.path, text.as_bytes())?;
        Ok(())
    }

    /// Where the wallet is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of the client's local node, next to the wallet file.
    pub fn store_path(&self) -> PathBuf {
        self.path.with_extension("store")
    }

    /// The network.
    pub fn genesis(&self) -> &GenesisConfig {
        &self.file.genesis
    }

    /// The user's chains.
    pub fn chains(&self) -> &[WalletChain] {
        &self.file.chains
    }

    /// The user's keys.
    pub fn keys(&self) -> &[WalletKey] {
        &self.file.keys
    }

    /// The chain commands use when none is named.
    pub fn default_chain(&self) -> Option<ChainId> {
        self.file
            .default_chain
            .or_else(|| self.file.chains.first().map(|chain| chain.chain_id))
    }

    /// Adds a key; returns its public half.
    pub fn add_key(&mut self, secret_key: SecretKey) -> PublicKey {
        let public_key = secret_key.public();
        if !self
            .file
            .keys
            .iter()
            .any(|key| key.public_key == public_key)
        {
            self.file.keys.push(WalletKey {
                public_key,
                secret_key,
            });
        }
        public_key
    }

    /// Adds a chain owned by one of the wallet's keys.
    pub fn add_chain(&mut self, chain_id: ChainId, public_key: PublicKey) {
        if let Some(chain) = self
            .file
            .chains
            .iter_mut()
            .find(|chain| chain.chain_id == chain_id)
        {
            chain.public_key = public_key;
        } else {
            self.file.chains.push(WalletChain {
                chain_id,
                public_key,
            });
        }
        if self.file.default_chain.is_none() {
            self.file.default_chain = Some(chain_id);
        }
    }

    /// Makes `chain_id` the default chain.
    pub fn set_default_chain(&mut self, chain_id: ChainId) {
        self.file.default_chain = Some(chain_id);
    }

    /// The key that owns a chain of the wallet.
    pub fn key_for_chain(&self, chain_id: &ChainId) -> Option<SecretKey> {
        let chain = self
            .file
            .chains
            .iter()
            .find(|chain| chain.chain_id == *chain_id)?;
        self.key_for_public(&chain.public_key)
    }

    /// The secret key of a public key of the wallet.
    pub fn key_for_public(&self, public_key: &PublicKey) -> Option<SecretKey> {
        self.file
            .keys
            .iter()
            .find(|key| key.public_key == *public_key)
            .map(|key| key.secret_key.copy())
    }

    /// The key of the wallet whose owner identity is `owner`.
    pub fn key_for_owner(&self, owner: &AccountOwner) -> Option<SecretKey> {
        self.file
            .keys
            .iter()
            .find(|key| AccountOwner::from(&key.public_key) == *owner)
            .map(|key| key.secret_key.copy())
    }
}
