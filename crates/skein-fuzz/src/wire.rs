//! Every message of the gRPC services, requests and answers, decoded as a server (or a
//! client, from a validator it does not trust) decodes it.

use serde::{de::DeserializeOwned, Serialize};
use skein_base::{encoding, limits};
use skein_rpc::wire::{
    BlobResponse, BlockProposal, CertificateRequest, CertificatesResponse, ChainInfoQuery,
    ChainInfoResponse, CrossChainRequest, CrossChainResponse, DownloadBlobRequest,
    DownloadCertificatesRequest, Notification, ProposalResponse, SubscribeRequest, TimeoutRequest,
};

/// Decodes `T` as the gRPC codec does; if the bytes decode, they must be the value's one
/// encoding (no two byte strings for one message: signatures cover encodings).
pub fn decode_canonical<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let value: T = encoding::decode("message", bytes, limits::REQUEST_BYTES_MAX).ok()?;
    let encoded = bcs::to_bytes(&value).expect("a decoded value encodes");
    assert_eq!(encoded, bytes, "decoding then encoding changed the bytes");
    Some(value)
}

/// The first byte picks a message type, the rest is decoded as it.
pub fn message(data: &[u8]) {
    let Some((kind, bytes)) = crate::choose(data, 14) else {
        return;
    };
    match kind {
        0 => drop(decode_canonical::<BlockProposal>(bytes)),
        1 => drop(decode_canonical::<CertificateRequest>(bytes)),
        2 => drop(decode_canonical::<TimeoutRequest>(bytes)),
        3 => drop(decode_canonical::<ChainInfoQuery>(bytes)),
        4 => drop(decode_canonical::<DownloadCertificatesRequest>(bytes)),
        5 => drop(decode_canonical::<DownloadBlobRequest>(bytes)),
        6 => drop(decode_canonical::<SubscribeRequest>(bytes)),
        7 => drop(decode_canonical::<CrossChainRequest>(bytes)),
        8 => drop(decode_canonical::<ProposalResponse>(bytes)),
        9 => drop(decode_canonical::<ChainInfoResponse>(bytes)),
        10 => drop(decode_canonical::<CertificatesResponse>(bytes)),
        11 => drop(decode_canonical::<BlobResponse>(bytes)),
        12 => drop(decode_canonical::<CrossChainResponse>(bytes)),
        _ => drop(decode_canonical::<Notification>(bytes)),
    }
}
