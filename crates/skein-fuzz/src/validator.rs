//! Requests as a client sends them, handled by a whole validator (two shards, in memory)
//! that lives as long as the fuzzer: what one request leaves behind is there for the next.
//! Proposals can come signed by the first genesis chain's owner, so that they get past
//! the signature check and into the rules and execution behind it.

use std::sync::{Arc, OnceLock};

use skein_base::{crypto::CryptoHash, BlobId};
use skein_chain::{AnyCertificate, BlockProposal, ProposalContent};
use skein_core::{
    ChainInfoQuery, InProcessNetwork, LocalValidator, NetworkConfig, SystemClock, TimeoutRequest,
    ValidatorNode,
};
use skein_views::MemoryStore;
use tokio::runtime::Runtime;

use crate::wire::decode_canonical;

/// The network the fuzzed validator belongs to: four validators of two shards in memory,
/// two genesis chains. `write_seeds` builds the same one, so that its certificates are
/// signed by this committee.
pub fn network_config() -> NetworkConfig {
    NetworkConfig {
        validators: 4,
        shards: 2,
        chains: 2,
        balance: skein_base::Amount::from_tokens(1_000),
    }
}

/// A runtime and the network of [`network_config`], made once.
pub struct Harness {
    /// Runs the requests.
    pub runtime: Runtime,
    /// The network; its first validator is the one fuzzed.
    pub network: InProcessNetwork<MemoryStore>,
    validator: Arc<LocalValidator<MemoryStore>>,
}

/// The harness, made on first use.
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        let network = runtime.block_on(InProcessNetwork::in_memory(
            network_config(),
            Arc::new(SystemClock),
        ));
        let validator = network.validator(0);
        Harness {
            runtime,
            network,
            validator,
        }
    })
}

/// The first byte picks a request; the rest is decoded as it and, if it decodes, sent to
/// the validator. Any answer is fine; a panic is not.
pub fn request(data: &[u8]) {
    let Some((kind, bytes)) = crate::choose(data, 7) else {
        return;
    };
    let harness = harness();
    let node = &*harness.validator;
    harness.runtime.block_on(async {
        match kind {
            0 => {
                if let Some(proposal) = decode_canonical::<BlockProposal>(bytes) {
                    let _ = node.handle_block_proposal(proposal).await;
                }
            }
            1 => {
                if let Some(content) = decode_canonical::<ProposalContent>(bytes) {
                    let owner = harness.network.owner_key(0);
                    let proposal = BlockProposal::new(content, &owner);
                    let _ = node.handle_block_proposal(proposal).await;
                }
            }
            2 => {
                if let Some(certificate) = decode_canonical::<AnyCertificate>(bytes) {
                    let _ = node.handle_certificate(certificate).await;
                }
            }
            3 => {
                if let Some(request) = decode_canonical::<TimeoutRequest>(bytes) {
                    let _ = node.handle_timeout_request(request).await;
                }
            }
            4 => {
                if let Some(query) = decode_canonical::<ChainInfoQuery>(bytes) {
                    let _ = node.handle_chain_info_query(query).await;
                }
            }
            5 => {
                if let Some(hashes) = decode_canonical::<Vec<CryptoHash>>(bytes) {
                    let _ = node.download_certificates(hashes).await;
                }
            }
            _ => {
                if let Some(blob_id) = decode_canonical::<BlobId>(bytes) {
                    let _ = node.download_blob(blob_id).await;
                }
            }
        }
    });
}
