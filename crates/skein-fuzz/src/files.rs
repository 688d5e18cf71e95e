//! The files an operator or a user is handed, or finds damaged on disk: genesis,
//! validator configuration, wallet, key files, storage URIs. Each is read by the function
//! the programs read it with, from a directory that holds valid companions (a key, a
//! genesis), so that a configuration gets as far as it can.

use std::{path::PathBuf, sync::OnceLock};

use skein_base::crypto::SecretKey;
use skein_core::GenesisConfig;
use skein_rpc::{
    config::{load_genesis, save_genesis, KeyFile, ValidatorConfig},
    ShardKey,
};
use skein_service::wallet::Wallet;
use skein_storage::StorageUri;

/// A directory with a valid key file and genesis file, for configurations to name.
fn directory() -> &'static PathBuf {
    static DIRECTORY: OnceLock<PathBuf> = OnceLock::new();
    DIRECTORY.get_or_init(|| {
        let directory = tempfile::tempdir().expect("a temporary directory").keep();
        let key = KeyFile {
            public_key: skein_base::ValidatorPublicKey::from(
                &SecretKey::from_test_seed(1).public(),
            ),
            secret_key: SecretKey::from_test_seed(1),
        };
        key.save(&directory.join("validator.key.json"))
            .expect("a key file");
        let genesis = GenesisConfig {
            admin_chain: 0,
            committee: crate::certificates::committee().clone(),
            chains: Vec::new(),
            timestamp: skein_base::Timestamp::default(),
        };
        save_genesis(&genesis, &directory.join("genesis.json")).expect("a genesis file");
        ShardKey::generate()
            .save(&directory.join("shard.key"))
            .expect("a shard key");
        directory
    })
}

/// Writes `bytes` to `name` in the directory and returns its path.
fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = directory().join(name);
    std::fs::write(&path, bytes).expect("the fuzz directory is writable");
    path
}

/// The first byte picks a kind of file; the rest is its content.
pub fn file(data: &[u8]) {
    let Some((kind, bytes)) = crate::choose(data, 6) else {
        return;
    };
    match kind {
        0 => {
            if let Ok(genesis) = load_genesis(&write("fuzzed-genesis.json", bytes)) {
                let _ = genesis.chain_configs();
                let _ = genesis.committee.quorum_threshold();
            }
        }
        1 => drop(ValidatorConfig::load(&write("fuzzed.toml", bytes))),
        2 => {
            let path = write("fuzzed-wallet.json", bytes);
            drop(Wallet::open(&path));
        }
        3 => drop(KeyFile::load(&write("fuzzed.key.json", bytes))),
        4 => drop(ShardKey::load(&write("fuzzed.shard-key", bytes))),
        _ => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let _ = text.parse::<StorageUri>();
            }
        }
    }
}
