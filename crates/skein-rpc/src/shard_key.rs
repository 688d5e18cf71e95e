//! [`ShardKey`]: the secret a validator's own processes share, so that only they use its
//! internal shard service.
//!
//! Shards trust the cross-chain requests they receive: a request adds bundles to an inbox,
//! so whoever could send one could mint tokens. Every request to a shard therefore carries
//! the key (gRPC metadata), and a shard refuses, and logs, any request without it. The key
//! travels in the clear: between hosts, the shard network needs TLS as well.

use std::{path::Path, sync::Arc};

use tonic::{
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    Request, Status,
};

use crate::config::{write_private, ConfigError};

/// The metadata entry that carries the key.
const METADATA_NAME: &str = "x-skein-shard-key";

/// Bytes of randomness in a key.
const KEY_BYTES: usize = 32;

/// The secret shared by a validator's proxy and shards.
#[derive(Clone, PartialEq, Eq)]
pub struct ShardKey([u8; KEY_BYTES]);

impl std::fmt::Debug for ShardKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ShardKey(..)")
    }
}

impl ShardKey {
    /// A fresh key from the system's randomness.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        Self(bytes)
    }

    /// Reads a key file: the key in hex, on one line.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let invalid = || ConfigError::Invalid {
            path: path.to_path_buf(),
            reason: format!("a shard key is {} hexadecimal digits", 2 * KEY_BYTES),
        };
        let bytes = hex::decode(text.trim()).map_err(|_| invalid())?;
        Ok(Self(bytes.try_into().map_err(|_| invalid())?))
    }

    /// Writes the key file, readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        write_private(path, format!("{}\n", hex::encode(self.0)).as_bytes())
    }

    fn token(&self) -> MetadataValue<Ascii> {
        MetadataValue::try_from(hex::encode(self.0)).expect("hex is valid metadata")
    }

    /// Whether `presented` is this key's token, compared in constant time.
    fn admits(&self, presented: &[u8]) -> bool {
        let expected = hex::encode(self.0);
        presented.len() == expected.len()
            && presented
                .iter()
                .zip(expected.as_bytes())
                .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                == 0
    }

    /// Adds this key to every request of a client.
    pub fn presenter(&self) -> PresentShardKey {
        PresentShardKey(self.token())
    }

    /// Lets through only the requests that carry this key.
    pub fn guard(&self) -> RequireShardKey {
        RequireShardKey(Arc::new(self.clone()))
    }
}

/// A client's side of the key: every request carries it.
#[derive(Clone)]
pub struct PresentShardKey(MetadataValue<Ascii>);

impl Interceptor for PresentShardKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert(METADATA_NAME, self.0.clone());
        Ok(request)
    }
}

/// A shard's side of the key: requests without it are refused with `UNAUTHENTICATED`, and
/// logged with where they came from.
#[derive(Clone)]
pub struct RequireShardKey(Arc<ShardKey>);

impl Interceptor for RequireShardKey {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request.metadata().get(METADATA_NAME);
        if presented.is_some_and(|token| self.0.admits(token.as_bytes())) {
            return Ok(request);
        }
        let peer = request.remote_addr().map_or_else(
            || "an unknown address".to_string(),
            |address| address.to_string(),
        );
        tracing::warn!(
            %peer,
            key_presented = presented.is_some(),
            "refused a request to the internal shard service without this validator's shard key"
        );
        Err(Status::unauthenticated(
            "this is a validator's internal service: requests need the validator's shard key",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_only_the_key_itself_is_admitted() {
        let key = ShardKey::generate();
        let other = ShardKey::generate();
        assert_ne!(key, other);
        let token = key.token();
        assert!(key.admits(token.as_bytes()));
        assert!(!key.admits(other.token().as_bytes()));
        assert!(!key.admits(&token.as_bytes()[1..]));
        assert!(!key.admits(b""));
        let mut guard = key.guard();
        let mut presenter = key.presenter();
        assert!(guard
            .call(presenter.call(Request::new(())).unwrap())
            .is_ok());
        let refused = guard.call(Request::new(())).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        let refused = guard
            .call(other.presenter().call(Request::new(())).unwrap())
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn test_a_key_file_round_trips_and_junk_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("shard.key");
        let key = ShardKey::generate();
        key.save(&path).unwrap();
        assert_eq!(ShardKey::load(&path).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only its owner may read the key");
        }
        for junk in [
            "",
            "abc",
            &"zz".repeat(KEY_BYTES),
            &"ab".repeat(KEY_BYTES + 1),
        ] {
            std::fs::write(&path, junk).unwrap();
            let error = ShardKey::load(&path).unwrap_err().to_string();
            assert!(error.contains("64 hexadecimal digits"), "{error}");
        }
        assert!(
            format!("{key:?}").contains(".."),
            "the key never shows in logs"
        );
    }
}
