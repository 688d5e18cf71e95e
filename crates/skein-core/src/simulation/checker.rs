//! The invariants checked after every simulation, kept apart from the code they check.
//!
//! 1. Never two certificates for different blocks at one (chain, height), at any validator
//!    or client.
//! 2. Every bundle of every certified block is consumed exactly once by its recipient, and
//!    no inbox holds anything when the network is calm.
//! 3. The total supply is conserved at every validator.
//! 4. Validators agree on every chain's height and state hash.
//! 5. No transfer runs twice, and no client is left with unconfirmed work once calm.
//! 6. After committee changes, every chain ends in the newest epoch, and each certificate
//!    is of its chain's epoch or of one its block migrates to.

use std::collections::{BTreeMap, BTreeSet};

use skein_base::{crypto::CryptoHash, Amount, BlockHeight, ChainId};
use skein_chain::{ConfirmedBlock, Cursor, UncheckedCertificate};
use skein_execution::{ChainOwnership, Message, Operation, SystemMessage, SystemOperation};
use skein_views::KeyValueStore;

use crate::{requests::ChainInfoQuery, validator::LocalValidator, worker::Worker};

/// Every certificate of a chain that a node has, in height order.
pub async fn certificates_of<S: KeyValueStore>(
    worker: &Worker<S>,
    chain_id: ChainId,
) -> Result<Vec<UncheckedCertificate<ConfirmedBlock>>, String> {
    let mut certificates = Vec::new();
    loop {
        let query = ChainInfoQuery {
            request_certificates_from: Some(BlockHeight(certificates.len() as u64)),
            ..ChainInfoQuery::new(chain_id)
        };
        let info = worker
            .handle_chain_info_query(query)
            .await
            .map_err(|error| format!("query of {chain_id:?} failed: {error}"))?;
        if info.requested_certificates.is_empty() {
            return Ok(certificates);
        }
        certificates.extend(info.requested_certificates);
    }
}

/// The chains opened by the blocks of `chain_id`, as `certificates` record them, with
/// their owners.
pub fn opened_chains(
    certificates: &[UncheckedCertificate<ConfirmedBlock>],
) -> Vec<(ChainId, ChainOwnership)> {
    certificates
        .iter()
        .flat_map(|certificate| certificate.value.outcome.messages.iter().flatten())
        .filter_map(|message| match &message.message {
            Message::System(SystemMessage::OpenChain(config)) => {
                Some((config.description.id(), config.ownership.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Checks invariant 1 across `nodes` (validators and clients' local nodes alike).
pub async fn check_single_certificate_per_height<S: KeyValueStore>(
    nodes: &[(String, &Worker<S>)],
    chains: &[ChainId],
) -> Result<(), String> {
    let mut seen: BTreeMap<(ChainId, BlockHeight), (CryptoHash, String)> = BTreeMap::new();
    for (name, worker) in nodes {
        for chain_id in chains {
            for certificate in certificates_of(worker, *chain_id).await? {
                let key = (*chain_id, certificate.value.block.height);
                let hash = certificate.value.hash();
                match seen.get(&key) {
                    Some((other, holder)) if *other != hash => {
                        return Err(format!(
                            "two certificates at {chain_id:?} height {}: {hash:?} at {name}, {other:?} at {holder}",
                            key.1
                        ));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key, (hash, name.clone()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks invariant 2 at one validator.
pub async fn check_exactly_once_delivery<S: KeyValueStore>(
    validator: &LocalValidator<S>,
    chains: &[ChainId],
) -> Result<(), String> {
    let mut sent: BTreeMap<ChainId, BTreeSet<(ChainId, Cursor)>> = BTreeMap::new();
    let mut consumed: BTreeMap<ChainId, BTreeSet<(ChainId, Cursor)>> = BTreeMap::new();
    for chain_id in chains {
        let worker = validator.worker(chain_id);
        for certificate in certificates_of(worker, *chain_id).await? {
            let hash = certificate.value.hash();
            for (recipient, bundles) in certificate.value.bundles(hash) {
                for bundle in bundles {
                    sent.entry(recipient)
                        .or_default()
                        .insert((*chain_id, bundle.cursor()));
                }
            }
            for incoming in &certificate.value.block.incoming_bundles {
                let entry = (incoming.origin, incoming.bundle.cursor());
                if !consumed.entry(*chain_id).or_default().insert(entry) {
                    return Err(format!("{chain_id:?} consumed the bundle {entry:?} twice"));
                }
            }
        }
        let query = ChainInfoQuery {
            request_pending_bundles: true,
            ..ChainInfoQuery::new(*chain_id)
        };
        let info = worker
            .handle_chain_info_query(query)
            .await
            .map_err(|error| error.to_string())?;
        if let Some((origin, bundle)) = info.requested_pending_bundles.first() {
            return Err(format!(
                "{chain_id:?} still holds a bundle from {origin:?} at height {} once calm",
                bundle.height
            ));
        }
    }
    for chain_id in chains {
        let sent = sent.remove(chain_id).unwrap_or_default();
        let consumed = consumed.remove(chain_id).unwrap_or_default();
        if let Some(missing) = sent.difference(&consumed).next() {
            return Err(format!(
                "{chain_id:?} never consumed the bundle {missing:?} sent to it"
            ));
        }
        if let Some(invented) = consumed.difference(&sent).next() {
            return Err(format!(
                "{chain_id:?} consumed {invented:?}, which no certified block sent"
            ));
        }
    }
    if let Some((chain_id, _)) = sent.iter().find(|(_, bundles)| !bundles.is_empty()) {
        return Err(format!(
            "bundles were sent to {chain_id:?}, a chain outside the simulation"
        ));
    }
    Ok(())
}

/// Checks invariant 3 at one validator.
pub async fn check_supply<S: KeyValueStore>(
    validator: &LocalValidator<S>,
    chains: &[ChainId],
    supply: Amount,
) -> Result<(), String> {
    let mut total = Amount::ZERO;
    for chain_id in chains {
        let balance = validator
            .worker(chain_id)
            .chain_total_balance(*chain_id)
            .await
            .map_err(|error| error.to_string())?;
        total = total
            .try_add(balance)
            .map_err(|error| format!("supply overflows: {error}"))?;
    }
    if total != supply {
        return Err(format!("total supply is {total}, not {supply}"));
    }
    Ok(())
}

/// The height and state hash of each chain at one node, for invariant 4.
pub async fn chain_states<S: KeyValueStore>(
    validator: &LocalValidator<S>,
    chains: &[ChainId],
) -> Result<Vec<(BlockHeight, CryptoHash)>, String> {
    let mut states = Vec::new();
    for chain_id in chains {
        let info = validator
            .worker(chain_id)
            .handle_chain_info_query(ChainInfoQuery::new(*chain_id))
            .await
            .map_err(|error| error.to_string())?;
        states.push((info.next_block_height, info.state_hash));
    }
    Ok(states)
}

/// Checks that no transfer runs twice: every transfer of the workload has its own amount,
/// so the same transfer operation in two certified blocks means one request ran twice.
pub async fn check_transfers_at_most_once<S: KeyValueStore>(
    validator: &LocalValidator<S>,
    chains: &[ChainId],
) -> Result<(), String> {
    let mut seen: BTreeMap<Vec<u8>, (ChainId, BlockHeight)> = BTreeMap::new();
    for chain_id in chains {
        for certificate in certificates_of(validator.worker(chain_id), *chain_id).await? {
            let block = &certificate.value.block;
            for operation in &block.operations {
                if !matches!(
                    operation,
                    Operation::System(SystemOperation::Transfer { .. })
                ) {
                    continue;
                }
                let key = skein_base::encoding::encode(operation);
                if let Some((chain, height)) = seen.insert(key, (*chain_id, block.height)) {
                    return Err(format!(
                        "the transfer {operation:?} ran twice: at {chain:?} height {height} and at {chain_id:?} height {}",
                        block.height
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Checks invariant 6 at `validator`: every chain is in epoch `newest`, and along each
/// chain the blocks' epochs never go back, each block of a later epoch than the one before
/// starting by migrating to it or following one that did.
pub async fn check_epochs<S: KeyValueStore>(
    validator: &LocalValidator<S>,
    chains: &[ChainId],
    newest: skein_base::Epoch,
) -> Result<(), String> {
    for chain_id in chains {
        let worker = validator.worker(chain_id);
        let info = worker
            .handle_chain_info_query(ChainInfoQuery::new(*chain_id))
            .await
            .map_err(|error| error.to_string())?;
        if info.epoch != newest {
            return Err(format!(
                "{chain_id:?} ends in epoch {:?}, not the newest {newest:?}",
                info.epoch
            ));
        }
        let mut chain_epoch = None;
        for certificate in certificates_of(worker, *chain_id).await? {
            let block = &certificate.value.block;
            let migrates_to = block.operations.first().and_then(Operation::migrates_to);
            match chain_epoch {
                Some(epoch) if block.epoch < epoch => {
                    return Err(format!(
                        "{chain_id:?} at {:?}: a block of epoch {:?} after epoch {epoch:?}",
                        block.height, block.epoch
                    ))
                }
                Some(epoch) if block.epoch > epoch && migrates_to != Some(block.epoch) => {
                    return Err(format!(
                        "{chain_id:?} at {:?}: a block of epoch {:?} that does not migrate there",
                        block.height, block.epoch
                    ))
                }
                _ => {}
            }
            // The admin chain moves to each epoch it creates at once.
            let created = block
                .operations
                .iter()
                .find_map(|operation| match operation {
                    Operation::System(SystemOperation::CreateCommittee { epoch, .. }) => {
                        Some(*epoch)
                    }
                    _ => None,
                });
            chain_epoch = [Some(block.epoch), migrates_to, created]
                .into_iter()
                .flatten()
                .max();
        }
    }
    Ok(())
}
