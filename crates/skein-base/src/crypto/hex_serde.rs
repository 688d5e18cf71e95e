//! 32-byte arrays as hex strings in human-readable formats (JSON, TOML) and as raw
//! bytes in BCS.

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.serialize_str(&hex::encode(bytes))
    } else {
        serde::Serialize::serialize(bytes, serializer)
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<[u8; 32], D::Error> {
    if deserializer.is_human_readable() {
        let text = String::deserialize(deserializer)?;
        decode_hex(&text).map_err(D::Error::custom)
    } else {
        <[u8; 32]>::deserialize(deserializer)
    }
}

/// Decodes exactly `N` bytes of hex, with or without a `0x` prefix.
pub(crate) fn decode_hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 2 * N {
        return Err(format!(
            "expected {} hex digits, found {}",
            2 * N,
            digits.len()
        ));
    }
    let mut bytes = [0u8; N];
    hex::decode_to_slice(digits, &mut bytes).map_err(|error| format!("invalid hex: {error}"))?;
    Ok(bytes)
}
