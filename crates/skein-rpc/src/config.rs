//! The files that describe a validator and a network: a validator's key, its server
//! configuration (TOML), and the genesis configuration (JSON).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use skein_base::{crypto::SecretKey, ValidatorPublicKey};
use skein_core::{GenesisConfig, ValidatorKeys};
use skein_storage::StorageUri;

use crate::ShardKey;

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The file's content is not what was expected.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
        path: path.to_path_buf(),
        error,
    })
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Writes a file atomically: a temporary file in the same directory, synced, then a rename,
/// and the directory synced, so a crash (of the process or of the machine) never leaves half
/// a file, nor loses the rename.
pub fn write_atomically(path: &Path, content: &[u8]) -> Result<(), ConfigError> {
    write_file(path, content, false)
}

/// Writes a file atomically (as [`write_atomically`]), readable by its owner only from the
/// moment it exists, where the system allows: for secrets.
pub fn write_private(path: &Path, content: &[u8]) -> Result<(), ConfigError> {
    write_file(path, content, true)
}

fn write_file(path: &Path, content: &[u8], private: bool) -> Result<(), ConfigError> {
    use std::io::Write;

    let io = |error| ConfigError::Io {
        path: path.to_path_buf(),
        error,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(directory).map_err(io)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = directory.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&temporary).map_err(io)?;
    file.write_all(content).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io)?;
    std::fs::File::open(directory)
        .and_then(|directory| directory.sync_all())
        .map_err(io)
}

/// A validator's key pair, as `skein keygen` writes it.
#[derive(Serialize, Deserialize)]
pub struct KeyFile {
    /// The public key, for the committee.
    pub public_key: ValidatorPublicKey,
    /// The secret key.
    pub secret_key: SecretKey,
}

impl KeyFile {
    /// A fresh key.
    pub fn generate() -> Self {
        let secret_key = SecretKey::generate();
        Self {
            public_key: ValidatorPublicKey::from(&secret_key.public()),
            secret_key,
        }
    }

    /// Reads a key file, checking that its two halves match.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file: KeyFile =
            serde_json::from_str(&read(path)?).map_err(|error| invalid(path, error))?;
        if ValidatorPublicKey::from(&file.secret_key.public()) != file.public_key {
            return Err(invalid(
                path,
                "the public key does not match the secret key",
            ));
        }
        Ok(file)
    }

    /// Writes the key file (readable by its owner only, where the system allows).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = serde_json::to_string_pretty(self).map_err(|error| invalid(path, error))?;
        write_private(path, text.as_bytes())
    }
}

/// One shard of a validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardConfig {
    /// Where the shard listens for the proxy and the other shards (`host:port`).
    pub address: String,
}

/// How to run one validator: its proxy, its shards and its storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorConfig {
    /// A name for logs.
    pub name: String,
    /// The key file, relative to this file's directory.
    pub key_file: PathBuf,
    /// The key files of earlier committees, after a key rotation: the validator votes with
    /// them for chains that have not migrated yet. Drop them once the epochs that name them
    /// are revoked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_key_files: Vec<PathBuf>,
    /// Where the proxy (or the single-process validator) listens for clients (`host:port`).
    pub public_address: String,
    /// Where data lives: `memory`, `embedded:PATH`, `lsm:PATH` or a `postgres://` URL.
    /// Shards in separate processes need a shared database.
    pub storage: String,
    /// The shards, numbered in order.
    pub shards: Vec<ShardConfig>,
    /// The genesis file, relative to this file's directory.
    pub genesis_file: PathBuf,
    /// The secret the proxy and the shards share (see [`ShardKey`]), relative to this file's
    /// directory: needed when shards run as processes of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_key_file: Option<PathBuf>,
}

/// A validator configuration with its files read.
pub struct LoadedValidatorConfig {
    /// The configuration.
    pub config: ValidatorConfig,
    /// The validator's key.
    pub key: SecretKey,
    /// Its keys of earlier committees (see [`ValidatorConfig::previous_key_files`]).
    pub previous_keys: Vec<SecretKey>,
    /// The network's genesis.
    pub genesis: GenesisConfig,
    /// Where data lives, relative paths resolved.
    pub storage: StorageUri,
    /// The shard key, if the configuration names one.
    pub shard_key: Option<ShardKey>,
}

impl LoadedValidatorConfig {
    /// Every key the validator votes with.
    pub fn keys(&self) -> ValidatorKeys {
        ValidatorKeys::new(self.key.copy())
            .with_previous(self.previous_keys.iter().map(SecretKey::copy))
    }

    /// The shard key, which a validator split into processes cannot run without.
    pub fn require_shard_key(&self) -> Result<&ShardKey, String> {
        self.shard_key.as_ref().ok_or_else(|| {
            format!(
                "validator {}: shards in processes of their own need a shared secret: \
                 set shard_key_file in its configuration (`skein keygen --shard-key \
                 --output FILE` writes one)",
                self.config.name
            )
        })
    }
}

impl ValidatorConfig {
    /// Reads a configuration file and the files it names.
    pub fn load(path: &Path) -> Result<LoadedValidatorConfig, ConfigError> {
        let config: ValidatorConfig =
            toml::from_str(&read(path)?).map_err(|error| invalid(path, error))?;
        if config.shards.is_empty() {
            return Err(invalid(path, "a validator needs at least one shard"));
        }
        let directory = path.parent().unwrap_or(Path::new("."));
        let key = KeyFile::load(&directory.join(&config.key_file))?.secret_key;
        let previous_keys = config
            .previous_key_files
            .iter()
            .map(|file| Ok(KeyFile::load(&directory.join(file))?.secret_key))
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let genesis = load_genesis(&directory.join(&config.genesis_file))?;
        let mut storage: StorageUri = config
            .storage
            .parse()
            .map_err(|error: String| invalid(path, error))?;
        if let StorageUri::Embedded { path: data, .. } | StorageUri::Lsm { path: data, .. } =
            &mut storage
        {
            if data.is_relative() {
                *data = directory.join(&*data);
            }
        }
        // A validator outside the genesis committee is one joining later: it starts from
        // the genesis, and votes once the admin chain names it in a committee.
        let public = ValidatorPublicKey::from(&key.public());
        if !genesis.committee.is_member(&public) {
            tracing::info!(%public, "not in the genesis committee: joining a later one");
        }
        let shard_key = config
            .shard_key_file
            .as_ref()
            .map(|file| ShardKey::load(&directory.join(file)))
            .transpose()?;
        Ok(LoadedValidatorConfig {
            config,
            key,
            previous_keys,
            genesis,
            storage,
            shard_key,
        })
    }

    /// Writes the configuration as TOML.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self).map_err(|error| invalid(path, error))?;
        write_atomically(path, text.as_bytes())
    }
}

/// Reads a genesis file.
pub fn load_genesis(path: &Path) -> Result<GenesisConfig, ConfigError> {
    let genesis: GenesisConfig =
        serde_json::from_str(&read(path)?).map_err(|error| invalid(path, error))?;
    genesis.check().map_err(|error| invalid(path, error))?;
    Ok(genesis)
}

/// Writes a genesis file.
pub fn save_genesis(genesis: &GenesisConfig, path: &Path) -> Result<(), ConfigError> {
    let text = serde_json::to_string_pretty(genesis).map_err(|error| invalid(path, error))?;
    write_atomically(path, text.as_bytes())
}
