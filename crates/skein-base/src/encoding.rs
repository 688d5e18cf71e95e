//! Canonical encoding: BCS, with the size checked before any decoding work.

use serde::{de::DeserializeOwned, Serialize};

/// Why bytes could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// The input is larger than the limit for its kind.
    #[error("{what} is {size} bytes, above the limit of {limit}")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit that applies.
        limit: usize,
    },
    /// The bytes are not a valid encoding of the expected type.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What the decoder found wrong.
        reason: String,
    },
}

/// Encodes a value as BCS.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    bcs::to_bytes(value).expect("our types encode: no non-canonical maps, bounded depth")
}

/// The length of a value's BCS encoding, without building it: for size limits.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    bcs::serialized_size(value).expect("our types encode: no non-canonical maps, bounded depth")
}

/// Decodes BCS after checking the input against `limit`. `what` names the input in errors.
pub fn decode<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, EncodingError> {
    if bytes.len() > limit {
        return Err(EncodingError::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    bcs::from_bytes_with_limit(bytes, crate::limits::ENCODING_DEPTH_MAX).map_err(|error| {
        EncodingError::Malformed {
            what,
            reason: error.to_string(),
        }
    })
}
