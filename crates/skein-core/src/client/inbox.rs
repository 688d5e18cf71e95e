//! Learning what other chains sent to ours: pending bundles reported by validators are
//! checked against their certified blocks before entering the local inbox, so a lying
//! validator cannot make the client propose a block that consumes invented messages.

use std::collections::{BTreeMap, BTreeSet};

use skein_base::{crypto::CryptoHash, limits, ChainId};
use skein_chain::{ConfirmedBlock, Cursor, MessageBundle, UncheckedCertificate};
use skein_views::KeyValueStore;

use super::{Client, ClientError};
use crate::requests::{ChainInfoQuery, CrossChainRequest};

impl<S: KeyValueStore> Client<S> {
    /// Asks the validators which bundles wait in the inboxes of `chain_id`, checks each one
    /// against the certificate of its sending block, and adds the new ones to the local
    /// inboxes. Only validators no further along the chain than the local node are heard
    /// (synchronize first). Returns how many bundles were checked.
    pub(crate) async fn fetch_incoming_bundles(
        &self,
        chain_id: ChainId,
    ) -> Result<usize, ClientError> {
        let known = self.local.inbox_cursors(chain_id).await?;
        let local_height = self
            .local
            .handle_chain_info_query(ChainInfoQuery::new(chain_id))
            .await?
            .next_block_height;
        let mut candidates: BTreeMap<ChainId, BTreeMap<Cursor, MessageBundle>> = BTreeMap::new();
        let query = ChainInfoQuery {
            request_pending_bundles: true,
            ..ChainInfoQuery::new(chain_id)
        };
        // The first quorum's answers: a validator that is not needed is not waited for
        // (what it alone holds, the next look finds).
        let answers = self
            .ask_quorum(|validator| {
                let (node, query) = (validator.node.clone(), query.clone());
                async move { node.handle_chain_info_query(query).await }
            })
            .await;
        // A validator that holds later blocks of the chain than we do has already
        // consumed bundles we lack: its pending ones would leave gaps in our inboxes.
        let comparable = answers
            .into_iter()
            .filter_map(|(_, answer)| answer.ok())
            .filter(|info| info.next_block_height <= local_height);
        for info in comparable {
            for (origin, bundle) in info.requested_pending_bundles {
                let cursor = bundle.cursor();
                if known.get(&origin).is_some_and(|next| cursor < *next) {
                    continue;
                }
                candidates
                    .entry(origin)
                    .or_default()
                    .entry(cursor)
                    .or_insert(bundle);
            }
        }
        let hashes: BTreeSet<CryptoHash> = candidates
            .values()
            .flat_map(|bundles| bundles.values().map(|bundle| bundle.block_hash))
            .collect();
        let blocks = self.download_checked_blocks(hashes).await;
        let mut checked = 0;
        for (origin, bundles) in candidates {
            let mut verified = Vec::new();
            for bundle in bundles.into_values() {
                let genuine = blocks.get(&bundle.block_hash).is_some_and(|block| {
                    block.block.chain_id == origin
                        && block
                            .bundles_for(chain_id, bundle.block_hash)
                            .contains(&bundle)
                });
                if !genuine {
                    // Without this bundle the later ones cannot be added in order.
                    tracing::warn!(%origin, height = %bundle.height, "could not verify an incoming bundle");
                    break;
                }
                verified.push(bundle);
            }
            if verified.is_empty() {
                continue;
            }
            checked += verified.len();
            let request = CrossChainRequest::UpdateRecipient {
                sender: origin,
                recipient: chain_id,
                bundles: verified,
            };
            let effects = self.local.handle_cross_chain_request(request).await?;
            self.deliver_locally(effects).await?;
        }
        Ok(checked)
    }

    /// Downloads the certified blocks with these hashes from the validators, keeping only
    /// certificates that check against the committee.
    async fn download_checked_blocks(
        &self,
        mut missing: BTreeSet<CryptoHash>,
    ) -> BTreeMap<CryptoHash, ConfirmedBlock> {
        let mut blocks = BTreeMap::new();
        for validator in &self.validators_by_preference() {
            if missing.is_empty() {
                break;
            }
            // Ask this validator in batches for as long as it keeps providing blocks.
            let mut skipped = BTreeSet::new();
            loop {
                let wanted: Vec<CryptoHash> = missing
                    .difference(&skipped)
                    .take(limits::CERTIFICATES_PER_QUERY_MAX)
                    .copied()
                    .collect();
                if wanted.is_empty() {
                    break;
                }
                let Ok(certificates) = self
                    .ask(
                        validator,
                        validator.node.download_certificates(wanted.clone()),
                    )
                    .await
                else {
                    break;
                };
                // The answer leaves out what the validator lacks, and may stop early to stay
                // within a message's bytes: what comes after its last certificate is asked
                // again, what it passed over is not.
                let answered = certificates
                    .iter()
                    .filter_map(|certificate| {
                        let hash = certificate.value.hash();
                        wanted.iter().position(|wanted| *wanted == hash)
                    })
                    .max()
                    .map_or(wanted.len(), |last| last + 1);
                skipped.extend(wanted[..answered].iter().copied());
                for certificate in certificates {
                    let certificate: UncheckedCertificate<ConfirmedBlock> = certificate;
                    let hash = certificate.value.hash();
                    if !missing.contains(&hash) {
                        continue;
                    }
                    let Some(committee) = self.committee_of(certificate.value.block.epoch).await
                    else {
                        continue;
                    };
                    match certificate.check(&committee) {
                        Ok(certificate) => {
                            missing.remove(&hash);
                            blocks.insert(hash, certificate.value().clone());
                        }
                        Err(error) => {
                            tracing::warn!(?validator.public_key, %error, "served an invalid certificate");
                        }
                    }
                }
            }
        }
        blocks
    }
}
