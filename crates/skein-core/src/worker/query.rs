//! Answering questions about chains.

use skein_base::{crypto::CryptoHash, limits, ApplicationId, CallContext, ChainId};
use skein_chain::{round_leader, ChainError, ConfirmedBlock, UncheckedCertificate};
use skein_views::{KeyValueStore, View};

use super::{ChainGuard, Worker, WorkerError};
use crate::budget::ByteBudget;
use crate::requests::{ChainInfo, ChainInfoQuery, ManagerInfo};

/// What a service is asked.
enum ServiceRequest {
    Query(Vec<u8>),
    EncodeOperation(Vec<u8>),
}

impl<S: KeyValueStore> Worker<S> {
    /// Answers a query. A chain this node has never seen is described as inactive.
    pub async fn handle_chain_info_query(
        &self,
        query: ChainInfoQuery,
    ) -> Result<ChainInfo, WorkerError> {
        let mut chain = self.lock_chain(query.chain_id).await?;
        self.chain_info(&mut chain, &query).await
    }

    /// Asks an application's service a read-only `query` about a chain, as of its latest
    /// block, with at most [`limits::FUEL_PER_QUERY_MAX`] fuel.
    pub async fn query_application(
        &self,
        chain_id: ChainId,
        application_id: ApplicationId,
        query: Vec<u8>,
    ) -> Result<Vec<u8>, WorkerError> {
        self.ask_service(chain_id, application_id, ServiceRequest::Query(query))
            .await
    }

    /// Asks an application's service to encode an operation written in JSON.
    pub async fn encode_operation(
        &self,
        chain_id: ChainId,
        application_id: ApplicationId,
        json: Vec<u8>,
    ) -> Result<Vec<u8>, WorkerError> {
        self.ask_service(
            chain_id,
            application_id,
            ServiceRequest::EncodeOperation(json),
        )
        .await
    }

    async fn ask_service(
        &self,
        chain_id: ChainId,
        application_id: ApplicationId,
        request: ServiceRequest,
    ) -> Result<Vec<u8>, WorkerError> {
        let mut chain = self.lock_chain(chain_id).await?;
        let context = CallContext {
            application_id,
            chain_id,
            height: chain.tip().next_block_height,
            timestamp: chain.timestamp(),
            authenticated_signer: None,
            message: None,
            authenticated_caller: None,
        };
        let state = chain.execution_state_mut();
        let fuel = limits::FUEL_PER_QUERY_MAX;
        let answer = match &request {
            ServiceRequest::Query(query) => {
                state
                    .query_application(&self.runtime, context, query, fuel)
                    .await
            }
            ServiceRequest::EncodeOperation(json) => {
                state
                    .encode_operation(&self.runtime, context, json, fuel)
                    .await
            }
        };
        // A service cannot write; loading the application's state is all that happened.
        chain.rollback();
        answer.map_err(|error| {
            WorkerError::Chain(ChainError::Execution {
                transaction_index: 0,
                error,
            })
        })
    }

    /// A blob, if this node has it.
    pub async fn handle_download_blob(
        &self,
        blob_id: skein_base::BlobId,
    ) -> Result<Option<Vec<u8>>, WorkerError> {
        Ok(self.storage.read_blob(&blob_id).await?)
    }

    /// Certificates by hash, skipping those this node does not have.
    pub async fn handle_download_certificates(
        &self,
        hashes: Vec<CryptoHash>,
    ) -> Result<Vec<UncheckedCertificate<ConfirmedBlock>>, WorkerError> {
        if hashes.len() > limits::CERTIFICATES_PER_QUERY_MAX {
            return Err(WorkerError::TooManyCertificatesRequested {
                count: hashes.len(),
                limit: limits::CERTIFICATES_PER_QUERY_MAX,
            });
        }
        self.certificates_within(&hashes, &mut ByteBudget::for_answer())
            .await
    }

    /// The certificates with these hashes that this node has, in order, as many as
    /// `budget` admits. They are read a few at a time, so a long list of large ones is
    /// never all in memory to answer with a page of it.
    async fn certificates_within(
        &self,
        hashes: &[CryptoHash],
        budget: &mut ByteBudget,
    ) -> Result<Vec<UncheckedCertificate<ConfirmedBlock>>, WorkerError> {
        const READ_AT_ONCE: usize = 8;
        let mut certificates = Vec::new();
        for chunk in hashes.chunks(READ_AT_ONCE) {
            let read = self.storage.read_certificates(chunk).await?;
            if !budget.take_into(read.into_iter().flatten().collect(), &mut certificates) {
                break;
            }
        }
        Ok(certificates)
    }

    /// This node's certificates of `chain_id` at heights `[from, to)`, as far as it has
    /// them, in order.
    pub async fn certificates_in_range(
        &self,
        chain_id: skein_base::ChainId,
        from: skein_base::BlockHeight,
        to: skein_base::BlockHeight,
    ) -> Result<Vec<UncheckedCertificate<ConfirmedBlock>>, WorkerError> {
        let count = to.0.saturating_sub(from.0);
        let hashes = {
            let chain = self.lock_chain(chain_id).await?;
            chain.block_hashes(from, count).await?
        };
        let certificates = self.storage.read_certificates(&hashes).await?;
        Ok(certificates
            .into_iter()
            .map_while(|certificate| certificate)
            .collect())
    }

    /// Everything a chain holds: its balance plus every owner's. For audits and tests.
    pub async fn chain_total_balance(
        &self,
        chain_id: skein_base::ChainId,
    ) -> Result<skein_base::Amount, WorkerError> {
        let chain = self.lock_chain(chain_id).await?;
        chain
            .system()
            .total_balance()
            .await
            .map_err(|error| WorkerError::Storage(error.to_string()))
    }

    /// Every owner's account on a chain that holds tokens, by owner.
    pub async fn owner_balances(
        &self,
        chain_id: skein_base::ChainId,
    ) -> Result<Vec<(skein_base::AccountOwner, skein_base::Amount)>, WorkerError> {
        let chain = self.lock_chain(chain_id).await?;
        chain
            .system()
            .owner_balances()
            .await
            .map_err(|error| WorkerError::Storage(error.to_string()))
    }

    /// The applications a chain knows: those created on it and those its messages
    /// registered, by id.
    pub async fn applications(
        &self,
        chain_id: skein_base::ChainId,
    ) -> Result<Vec<(ApplicationId, skein_base::ApplicationDescription)>, WorkerError> {
        let chain = self.lock_chain(chain_id).await?;
        chain
            .system()
            .applications()
            .await
            .map_err(|error| WorkerError::Storage(error.to_string()))
    }

    /// Where each inbox of `chain_id` expects its next bundle.
    pub async fn inbox_cursors(
        &self,
        chain_id: skein_base::ChainId,
    ) -> Result<std::collections::BTreeMap<skein_base::ChainId, skein_chain::Cursor>, WorkerError>
    {
        let mut chain = self.lock_chain(chain_id).await?;
        let mut cursors = std::collections::BTreeMap::new();
        for origin in chain.inbox_origins().await? {
            let cursor = chain.inbox(&origin).await?.next_cursor_to_add();
            cursors.insert(origin, cursor);
        }
        Ok(cursors)
    }

    pub(crate) async fn chain_info(
        &self,
        chain: &mut ChainGuard<S>,
        query: &ChainInfoQuery,
    ) -> Result<ChainInfo, WorkerError> {
        // The leader is drawn by the committee deciding the next height. Only validator
        // rounds draw from a committee: the revocation is read (I/O) only for them, not for
        // every query of a chain in the fast round.
        let own_epoch = chain.system().epoch();
        let current_round = chain.manager().current_round(chain.system().ownership());
        let deciding = match current_round {
            skein_base::Round::Validator(_) => self.deciding_epoch(own_epoch).await?,
            _ => own_epoch,
        };
        let deciding_committee = match deciding == own_epoch {
            true => chain.system().committee(own_epoch).cloned(),
            false => self.epoch_record(deciding).await?.committee,
        };
        let state = chain.system();
        let tip = chain.tip();
        let mut info = ChainInfo {
            chain_id: query.chain_id,
            description: state.description(),
            ownership: state.ownership().clone(),
            is_closed: state.is_closed(),
            epoch: state.epoch(),
            next_block_height: tip.next_block_height,
            block_hash: tip.block_hash,
            timestamp: state.timestamp(),
            chain_balance: state.chain_balance(),
            state_hash: chain.execution_state().hash()?,
            pending_vote: chain.manager().pending_vote().map(|vote| vote.lite()),
            manager: manager_info(chain, query.chain_id, deciding_committee.as_ref()),
            requested_owner_balance: None,
            requested_pending_bundles: Vec::new(),
            requested_received_log: Vec::new(),
            received_log_count: chain.received_log_count(),
            requested_certificates: Vec::new(),
            requested_committees: None,
        };
        if let Some(owner) = &query.request_owner_balance {
            info.requested_owner_balance = Some(
                state
                    .owner_balance(owner)
                    .await
                    .map_err(|error| WorkerError::Storage(error.to_string()))?,
            );
        }
        if query.request_committees {
            info.requested_committees = Some(state.committees().clone());
        }
        if let Some(start) = query.request_received_log_from {
            info.requested_received_log = chain
                .received_log(start, limits::RECEIVED_LOG_ENTRIES_PER_QUERY_MAX as u64)
                .await?;
        }
        // Certificates and bundles share one answer's bytes; each list is a page.
        let mut budget = ByteBudget::for_answer();
        if let Some(start) = query.request_certificates_from {
            let hashes = chain
                .block_hashes(start, limits::CERTIFICATES_PER_QUERY_MAX as u64)
                .await?;
            info.requested_certificates = self.certificates_within(&hashes, &mut budget).await?;
        }
        if query.request_pending_bundles {
            info.requested_pending_bundles = self.pending_bundles(chain, &mut budget).await?;
        }
        Ok(info)
    }

    async fn pending_bundles(
        &self,
        chain: &mut ChainGuard<S>,
        budget: &mut ByteBudget,
    ) -> Result<Vec<(skein_base::ChainId, skein_chain::MessageBundle)>, WorkerError> {
        let mut pending = Vec::new();
        for origin in chain.inbox_origins().await? {
            let remaining = limits::PENDING_BUNDLES_PER_QUERY_MAX.saturating_sub(pending.len());
            if remaining == 0 {
                break;
            }
            let bundles = chain.inbox_bundles(&origin, remaining).await?;
            let bundles = bundles.into_iter().map(|bundle| (origin, bundle)).collect();
            if !budget.take_into(bundles, &mut pending) {
                break;
            }
        }
        Ok(pending)
    }
}

/// Where consensus on the chain's next height stands here, with the round's leader drawn by
/// `committee` (the one deciding that height).
fn manager_info<S: KeyValueStore>(
    chain: &ChainGuard<S>,
    chain_id: skein_base::ChainId,
    committee: Option<&skein_base::Committee>,
) -> ManagerInfo {
    let state = chain.system();
    let ownership = state.ownership();
    let manager = chain.manager();
    let current_round = manager.current_round(ownership);
    let leader = committee.and_then(|committee| {
        round_leader(
            chain_id,
            chain.tip().next_block_height,
            current_round,
            ownership,
            committee,
        )
    });
    ManagerInfo {
        current_round,
        leader,
        round_deadline: manager.round_deadline(ownership, state.timestamp()),
        locked: manager.locked().cloned().map(Box::new),
        timeout: manager.timeout().cloned().map(Box::new),
        timeout_vote: manager.timeout_vote().map(|vote| vote.lite()),
    }
}
