//! Certificates checked against a committee, as validators and clients check what they
//! are sent.

use skein_base::Committee;
use skein_chain::{AnyCertificate, ConfirmedBlock, UncheckedCertificate};

/// The committee of the fuzzed network (see [`crate::validator::network_config`]).
pub fn committee() -> &'static Committee {
    &crate::validator::harness().network.genesis.committee
}

/// The first byte picks a confirmed certificate or any kind; the rest is decoded and,
/// if it decodes, checked.
pub fn certificate(data: &[u8]) {
    let Some((kind, bytes)) = crate::choose(data, 2) else {
        return;
    };
    if kind == 0 {
        if let Some(certificate) =
            crate::wire::decode_canonical::<UncheckedCertificate<ConfirmedBlock>>(bytes)
        {
            let _ = certificate.check(committee());
        }
        return;
    }
    match crate::wire::decode_canonical::<AnyCertificate>(bytes) {
        Some(AnyCertificate::Confirmed(certificate)) => drop(certificate.check(committee())),
        Some(AnyCertificate::Validated(certificate)) => drop(certificate.check(committee())),
        Some(AnyCertificate::Timeout(certificate)) => drop(certificate.check(committee())),
        None => {}
    }
}
