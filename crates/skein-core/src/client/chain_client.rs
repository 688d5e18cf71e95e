//! [`ChainClient`]: operations on one chain the user owns.

use std::sync::Arc;

use skein_base::{
    crypto::SecretKey, limits, Account, AccountOwner, Amount, ApplicationId, ChainId, Round,
    ValidatorPublicKey,
};
use skein_chain::{
    BlockProposal, ChainError, ConfirmedBlock, ConfirmedBlockCertificate, Hashed, IncomingBundle,
    MessageAction, ProposalContent, ProposedBlock,
};
use skein_execution::{ChainOwnership, Operation, SystemOperation};
use skein_views::{KeyValueStore, RegisterView, View, ViewContext};

use super::{rounds::Patience, Client, ClientError};
use crate::{
    budget::ByteBudget,
    node::NodeError,
    requests::{ChainInfo, ChainInfoQuery},
    worker::WorkerError,
};

/// Proposes blocks on one chain with the owner's key.
pub struct ChainClient<S> {
    pub(super) client: Arc<Client<S>>,
    pub(super) chain_id: ChainId,
    pub(super) key: Arc<SecretKey>,
}

impl<S> Clone for ChainClient<S> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            chain_id: self.chain_id,
            key: self.key.clone(),
        }
    }
}

impl<S: KeyValueStore> ChainClient<S> {
    pub(crate) fn new(client: Arc<Client<S>>, chain_id: ChainId, key: Arc<SecretKey>) -> Self {
        Self {
            client,
            chain_id,
            key,
        }
    }

    /// The chain.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The owner this client signs as.
    pub fn owner(&self) -> AccountOwner {
        AccountOwner::from(self.key.public())
    }

    /// Whether this client signs as a validator of the committee, who takes turns proposing
    /// on public chains.
    fn is_validator(&self) -> bool {
        let key = ValidatorPublicKey::from(&self.key.public());
        self.client.membership().committee.is_member(&key)
    }

    /// The chain as the local node knows it.
    pub async fn chain_info(&self) -> Result<ChainInfo, ClientError> {
        Ok(self
            .client
            .local
            .handle_chain_info_query(ChainInfoQuery::new(self.chain_id))
            .await?)
    }

    /// The chain as the local node knows it, with the bundles waiting in its inboxes.
    pub async fn chain_info_with_pending(&self) -> Result<ChainInfo, ClientError> {
        let query = ChainInfoQuery {
            request_pending_bundles: true,
            ..ChainInfoQuery::new(self.chain_id)
        };
        Ok(self.client.local.handle_chain_info_query(query).await?)
    }

    /// The chain's own balance, as the local node knows it.
    pub async fn chain_balance(&self) -> Result<Amount, ClientError> {
        Ok(self.chain_info().await?.chain_balance)
    }

    /// An owner's balance on this chain, as the local node knows it.
    pub async fn owner_balance(&self, owner: AccountOwner) -> Result<Amount, ClientError> {
        let query = ChainInfoQuery {
            request_owner_balance: Some(owner),
            ..ChainInfoQuery::new(self.chain_id)
        };
        let info = self.client.local.handle_chain_info_query(query).await?;
        Ok(info.requested_owner_balance.unwrap_or_default())
    }

    /// Moves tokens from the chain's balance (`owner: None`) or the signer's account to any
    /// account.
    pub async fn transfer(
        &self,
        owner: Option<AccountOwner>,
        amount: Amount,
        recipient: Account,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operation(SystemOperation::Transfer {
            owner,
            recipient,
            amount,
        })
        .await
    }

    /// Withdraws from the signer's account on `target_chain` to `recipient`.
    pub async fn claim(
        &self,
        target_chain: ChainId,
        amount: Amount,
        recipient: Account,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operation(SystemOperation::Claim {
            owner: self.owner(),
            target_chain,
            recipient,
            amount,
        })
        .await
    }

    /// Opens a chain owned by `ownership`, funded with `balance` from this chain. Returns
    /// its id.
    pub async fn open_chain(
        &self,
        ownership: ChainOwnership,
        balance: Amount,
    ) -> Result<(ChainId, ConfirmedBlockCertificate), ClientError> {
        let certificate = self
            .execute_operation(SystemOperation::OpenChain { ownership, balance })
            .await?;
        // The block may migrate the chain first: its own operation comes after.
        let chain_id = *certificate
            .value()
            .block
            .opened_chains()
            .first()
            .expect("the certified block holds the operation it was made for");
        Ok((chain_id, certificate))
    }

    /// Closes the chain for good.
    pub async fn close_chain(&self) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operation(SystemOperation::CloseChain).await
    }

    /// Publishes an application's contract and service modules; validators store them as
    /// blobs. Returns the id applications are created from.
    pub async fn publish_bytecode(
        &self,
        contract: Vec<u8>,
        service: Vec<u8>,
    ) -> Result<(skein_base::BytecodeId, ConfirmedBlockCertificate), ClientError> {
        let id = skein_base::BytecodeId::of(&contract, &service);
        let certificate = self
            .execute_operation(SystemOperation::PublishBytecode { contract, service })
            .await?;
        Ok((id, certificate))
    }

    /// Creates an application from published bytecode, instantiating it on this chain with
    /// `argument`. Returns its id.
    pub async fn create_application(
        &self,
        bytecode_id: skein_base::BytecodeId,
        parameters: Vec<u8>,
        argument: Vec<u8>,
        required_application_ids: Vec<ApplicationId>,
    ) -> Result<(ApplicationId, ConfirmedBlockCertificate), ClientError> {
        let operation = SystemOperation::CreateApplication {
            bytecode_id,
            parameters,
            instantiation_argument: argument,
            required_application_ids,
        };
        let certificate = self.execute_operation(operation.clone()).await?;
        let block = &certificate.value().block;
        let offset = block
            .operations
            .iter()
            .position(|candidate| *candidate == Operation::System(operation.clone()))
            .expect("the certified block holds the operation it was made for");
        let context = skein_execution::OperationContext {
            chain_id: self.chain_id,
            height: block.height,
            index: u32::try_from(block.incoming_bundles.len() + offset)
                .expect("transactions per block are bounded"),
            authenticated_signer: block.authenticated_signer,
            timestamp: block.timestamp,
        };
        let description = operation
            .created_application(&context)
            .expect("a CreateApplication describes an application");
        Ok((description.id(), certificate))
    }

    /// Asks `chain_id` (where the application is registered: its creator, say) to register
    /// it on this chain; it is once this chain receives the answer (see
    /// [`ChainClient::process_inbox`]).
    pub async fn request_application(
        &self,
        application_id: ApplicationId,
        chain_id: ChainId,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operation(SystemOperation::RequestApplication {
            application_id,
            chain_id,
        })
        .await
    }

    /// Runs an operation of a user application (`bytes`, in the application's encoding) in
    /// a block of its own.
    pub async fn execute_application_operation(
        &self,
        application_id: ApplicationId,
        bytes: Vec<u8>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operations(vec![Operation::User {
            application_id,
            bytes,
        }])
        .await
    }

    /// Runs an application operation written in JSON, which the application's service
    /// encodes as its contract reads it, in a block of its own.
    pub async fn execute_application_json(
        &self,
        application_id: ApplicationId,
        json: Vec<u8>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let bytes = self.encode_operation(application_id, json).await?;
        self.execute_application_operation(application_id, bytes)
            .await
    }

    /// An application operation written in JSON, as the application's service encodes it
    /// for its contract.
    pub async fn encode_operation(
        &self,
        application_id: ApplicationId,
        json: Vec<u8>,
    ) -> Result<Vec<u8>, ClientError> {
        let local = &self.client.local;
        Ok(self
            .client
            .with_blobs(|| local.encode_operation(self.chain_id, application_id, json.clone()))
            .await?)
    }

    /// Asks an application's service `query` (in the service's encoding) about this chain,
    /// as the local node knows it: call [`ChainClient::synchronize`] first for the latest.
    pub async fn query_application(
        &self,
        application_id: ApplicationId,
        query: Vec<u8>,
    ) -> Result<Vec<u8>, ClientError> {
        let local = &self.client.local;
        Ok(self
            .client
            .with_blobs(|| local.query_application(self.chain_id, application_id, query.clone()))
            .await?)
    }

    /// Hands the chain to new owners.
    pub async fn change_ownership(
        &self,
        ownership: ChainOwnership,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operation(SystemOperation::ChangeOwnership(ownership))
            .await
    }

    /// Runs one system operation in a block of its own.
    pub async fn execute_operation(
        &self,
        operation: SystemOperation,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        self.execute_operations(vec![Operation::System(operation)])
            .await
    }

    /// Runs operations in one block. In the fast round, first completes any block signed
    /// earlier and not yet certified, so no height is ever signed twice. On a shared chain,
    /// if another owner's block takes the height, the operations go into a block at the
    /// next one.
    pub async fn execute_operations(
        &self,
        operations: Vec<Operation>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let lock = self.client.chain_lock(self.chain_id);
        let _guard = lock.lock().await;
        let (fast, _) = self.prepare().await?;
        if !fast {
            return self.run_in_rounds(operations).await;
        }
        let block = self.new_block(Vec::new(), operations.clone()).await?;
        let value = self.client.stage_block(block.clone()).await?;
        match self.sign_and_certify(value).await {
            // The chain's epoch was revoked and this client had not heard: it learns from
            // the admin chain, completes or drops the block (validators still vote for it
            // during the revocation's grace), and if dropped proposes again in the epoch the
            // chain migrates to.
            Err(ClientError::NoQuorum { errors, .. }) if errors.iter().any(revoked_epoch) => {
                self.client.follow_admin_chain().await?;
                if let Some(certificate) = self.finish_signed_block().await? {
                    if certificate.value().block == block {
                        return Ok(certificate);
                    }
                }
                let block = self.new_block(Vec::new(), operations).await?;
                let value = self.client.stage_block(block).await?;
                self.sign_and_certify(value).await
            }
            result => result,
        }
    }

    /// Gets ready to propose: in the fast round, completes a block signed earlier; on a
    /// chain with rounds, catches up with the blocks other owners added and completes
    /// operations left pending. Returns whether the chain uses the fast round, and the
    /// certificate of what was completed.
    async fn prepare(&self) -> Result<(bool, Option<ConfirmedBlockCertificate>), ClientError> {
        let info = self.active_info().await?;
        if info.ownership.first_round() == Round::Fast {
            return Ok((true, self.finish_signed_block().await?));
        }
        self.client
            .synchronize_from_validators(self.chain_id)
            .await?;
        Ok((false, self.finish_pending_operations().await?))
    }

    /// Gets a staged block certified: signed once and recorded in the fast round, or taken
    /// through the rounds. `None` if another owner's block took the height instead.
    pub(super) async fn certify_staged(
        &self,
        value: Hashed<ConfirmedBlock>,
        fast: bool,
    ) -> Result<Option<ConfirmedBlockCertificate>, ClientError> {
        if fast {
            return self.sign_and_certify(value).await.map(Some);
        }
        let certificate = self
            .client
            .confirm_at_height(&value, self.owner(), &self.key, Patience::Rounds)
            .await?;
        if certificate.value().block == value.block {
            Ok(Some(certificate))
        } else {
            tracing::info!(
                chain_id = %self.chain_id,
                height = %value.block.height,
                "another owner's block took the height; proposing again at the next one"
            );
            Ok(None)
        }
    }

    /// Picks every received bundle into blocks until the inbox is empty, first learning from
    /// the validators what arrived. Bundles whose execution fails are rejected (tracked
    /// messages bounce back); on a closed chain every rejectable bundle is rejected. Returns
    /// the certificates of the blocks made, including a block signed earlier and completed
    /// first.
    pub async fn process_inbox(&self) -> Result<Vec<ConfirmedBlockCertificate>, ClientError> {
        let lock = self.client.chain_lock(self.chain_id);
        let _guard = lock.lock().await;
        let (fast, finished) = self.prepare().await?;
        let mut certificates: Vec<ConfirmedBlockCertificate> = finished.into_iter().collect();
        loop {
            let fetched = self.client.fetch_incoming_bundles(self.chain_id).await?;
            let mut staged = false;
            // If another owner's block took the height, its bundles may be consumed: look
            // again.
            while let Some(value) = self.stage_pending_bundles().await? {
                certificates.extend(self.certify_staged(value, fast).await?);
                staged = true;
            }
            // Validators answer a page of bundles at a time: after a page, ask for the next.
            if fetched == 0 || !staged {
                return Ok(certificates);
            }
        }
    }

    /// A validator's turn on a public chain: if it leads the current round, proposes a
    /// block receiving the waiting bundles (or the block another validator locked) and gets
    /// it confirmed in that round. Returns the block confirmed at the height, which may be
    /// another's; `None` if nothing waits.
    pub(crate) async fn take_turn(&self) -> Result<Option<ConfirmedBlockCertificate>, ClientError> {
        let lock = self.client.chain_lock(self.chain_id);
        let _guard = lock.lock().await;
        self.client
            .synchronize_from_validators(self.chain_id)
            .await?;
        self.client.fetch_incoming_bundles(self.chain_id).await?;
        let Some(value) = self.stage_pending_bundles().await? else {
            return Ok(None);
        };
        let certificate = self
            .client
            .confirm_at_height(&value, self.owner(), &self.key, Patience::CurrentRound)
            .await?;
        Ok(Some(certificate))
    }

    /// Executes, in the local node, a block picking the bundles waiting in the inboxes (as
    /// many as a block holds). Bundles whose execution fails are rejected (tracked messages
    /// bounce back); on a closed chain every rejectable bundle is. `None` if none wait.
    async fn stage_pending_bundles(&self) -> Result<Option<Hashed<ConfirmedBlock>>, ClientError> {
        let query = ChainInfoQuery {
            request_pending_bundles: true,
            ..ChainInfoQuery::new(self.chain_id)
        };
        let info = self.client.local.handle_chain_info_query(query).await?;
        if info.requested_pending_bundles.is_empty() {
            return Ok(None);
        }
        // The bundles that fit in one block, with room to spare for its other fields; the
        // others wait for the next block.
        let bundles = info
            .requested_pending_bundles
            .into_iter()
            .take(limits::INCOMING_BUNDLES_PER_BLOCK_MAX)
            .map(|(origin, bundle)| {
                let action = if info.is_closed && bundle.is_rejectable() {
                    MessageAction::Reject
                } else {
                    MessageAction::Accept
                };
                IncomingBundle {
                    origin,
                    bundle,
                    action,
                }
            });
        let mut incoming: Vec<IncomingBundle> =
            ByteBudget::new(limits::BLOCK_BYTES_MAX - BLOCK_HEADROOM_BYTES).take(bundles);
        loop {
            let block = self.new_block(incoming.clone(), Vec::new()).await?;
            match self.client.stage_block(block).await {
                Ok(value) => return Ok(Some(value)),
                Err(WorkerError::Chain(ChainError::BlockTooLarge { .. })) if incoming.len() > 1 => {
                    // What the bundles make the block send is too large to certify at once:
                    // the later half waits for the next block.
                    incoming.truncate(incoming.len() / 2);
                }
                Err(WorkerError::Chain(ChainError::BlockTooLarge { .. }))
                    if incoming[0].action == MessageAction::Accept
                        && incoming[0].bundle.is_rejectable() =>
                {
                    // Accepting this bundle alone would make a block too large to certify.
                    incoming[0].action = MessageAction::Reject;
                }
                Err(WorkerError::Chain(ChainError::Execution {
                    transaction_index,
                    error,
                })) => {
                    if error.is_node_failure() {
                        // Not the bundle's fault: rejecting it would lose it.
                        return Err(ClientError::Local(WorkerError::Chain(
                            ChainError::Execution {
                                transaction_index,
                                error,
                            },
                        )));
                    }
                    let index = usize::try_from(transaction_index).unwrap_or(usize::MAX);
                    if index > 0 && index < incoming.len() && ran_out_of_fuel(&error) {
                        // The block's fuel ran out, maybe not for this bundle's fault: it
                        // and those after it wait for the next block, where it comes first.
                        incoming.truncate(index);
                        continue;
                    }
                    match incoming.get_mut(index) {
                        Some(bundle)
                            if bundle.action == MessageAction::Accept
                                && bundle.bundle.is_rejectable() =>
                        {
                            bundle.action = MessageAction::Reject;
                        }
                        _ => return Err(self.staging_error(transaction_index)),
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    fn staging_error(&self, transaction_index: u32) -> ClientError {
        ClientError::UnusableIncomingBundle {
            chain_id: self.chain_id,
            transaction_index,
        }
    }

    /// Brings the local node up to date with the validators: the chain's blocks and the
    /// bundles waiting in its inboxes.
    pub async fn synchronize(&self) -> Result<ChainInfo, ClientError> {
        let info = self
            .client
            .synchronize_from_validators(self.chain_id)
            .await?;
        self.client.fetch_incoming_bundles(self.chain_id).await?;
        Ok(info)
    }

    /// Whether a block this client signed, or operations it proposed, still wait to be
    /// confirmed: the next request on the chain (or [`ChainClient::process_inbox`])
    /// completes them.
    pub async fn has_unfinished_work(&self) -> Result<bool, ClientError> {
        let next = self.chain_info().await?.next_block_height;
        let signed = self.load_signed_record().await?.get().clone();
        let unfinished_block = signed.is_some_and(|proposal| proposal.content.block.height >= next);
        Ok(unfinished_block || self.has_pending_operations().await?)
    }

    /// Completes a block signed earlier and not certified (after a restart or a failure).
    pub async fn retry_signed_block(
        &self,
    ) -> Result<Option<ConfirmedBlockCertificate>, ClientError> {
        let lock = self.client.chain_lock(self.chain_id);
        let _guard = lock.lock().await;
        self.finish_signed_block().await
    }

    async fn finish_signed_block(&self) -> Result<Option<ConfirmedBlockCertificate>, ClientError> {
        let Some(proposal) = self.load_signed_record().await?.get().clone() else {
            return Ok(None);
        };
        let info = self.chain_info().await?;
        if proposal.content.block.height < info.next_block_height {
            return Ok(None);
        }
        // The validators may have certified it while we were away.
        let info = self
            .client
            .synchronize_from_validators(self.chain_id)
            .await?;
        if proposal.content.block.height < info.next_block_height {
            return Ok(None);
        }
        let value = match self
            .client
            .local
            .stage_block(proposal.content.block.clone())
            .await
        {
            Ok(value) => value,
            Err(WorkerError::Chain(error)) if error.refuses_block_for_good() => {
                // The local node, which knows more now than when it signed, refuses it. If
                // the validators do too, it can never be certified.
                if self.refused_for_good_by_quorum(&proposal).await {
                    self.abandon_signed_block(&proposal).await?;
                    return Ok(None);
                }
                return Err(ClientError::Local(WorkerError::Chain(error)));
            }
            Err(error) => return Err(error.into()),
        };
        match self.certify(proposal.clone(), value).await {
            Err(ClientError::NoQuorum { errors, action })
                if errors
                    .iter()
                    .any(|(_, error)| error.refuses_block_for_good()) =>
            {
                if self.refused_for_good_by_quorum(&proposal).await {
                    self.abandon_signed_block(&proposal).await?;
                    return Ok(None);
                }
                Err(ClientError::NoQuorum { errors, action })
            }
            result => result.map(Some),
        }
    }

    /// Whether validators weighing a quorum refuse the signed block for good. Then it can
    /// never be certified, and a block replacing it can: validators never vote for two
    /// blocks in one round, and those that refused this one never voted for it.
    async fn refused_for_good_by_quorum(&self, proposal: &BlockProposal) -> bool {
        let Ok(membership) = self
            .client
            .membership_of(proposal.content.block.epoch)
            .await
        else {
            return false;
        };
        let committee = &membership.committee;
        let quorum = committee.quorum_threshold();
        let spare = committee.total_votes() - quorum;
        let client = &self.client;
        // Only refusals for good are errors here; a vote or a failure that may pass is not.
        // A request that times out is an error too, but not one for good, and the count
        // below leaves it out.
        let answers = client
            .ask_until_of(
                &membership,
                |validator| {
                    let validator = validator.clone();
                    async move {
                        match client.propose_to(&validator, proposal).await {
                            Err(error) if error.refuses_block_for_good() => Err(error),
                            _ => Ok(()),
                        }
                    }
                },
                |other, failed| failed >= quorum || other > spare,
            )
            .await;
        let refused: u64 = answers
            .iter()
            .filter(|(_, answer)| matches!(answer, Err(error) if error.refuses_block_for_good()))
            .map(|(validator, _)| committee.weight(validator))
            .sum();
        refused >= quorum
    }

    /// Forgets a signed block that validators refused for good, so that the next block at
    /// its height can be signed: validators never vote for two blocks in one round, and too
    /// many of them refused this one for it ever to be certified, so no height can end up
    /// with two certificates, and the chain does not stay stuck on a block that cannot pass.
    async fn abandon_signed_block(&self, proposal: &BlockProposal) -> Result<(), ClientError> {
        tracing::warn!(
            chain_id = %self.chain_id,
            height = %proposal.content.block.height,
            "validators refused the signed block for good; abandoning it"
        );
        self.write_record(self.signed_record_context(), &None::<&BlockProposal>)
            .await
    }

    /// The chain as the local node knows it, learnt from the validators if it is new here.
    pub(super) async fn active_info(&self) -> Result<ChainInfo, ClientError> {
        let info = self.chain_info().await?;
        if info.is_active() {
            return Ok(info);
        }
        self.client.synchronize_from_validators(self.chain_id).await
    }

    pub(super) async fn new_block(
        &self,
        incoming_bundles: Vec<IncomingBundle>,
        operations: Vec<Operation>,
    ) -> Result<ProposedBlock, ClientError> {
        self.client.learn_committees().await?;
        let mut info = self.active_info().await?;
        if info.epoch > self.client.membership().epoch {
            // Another client migrated the chain to a committee this one has not learnt.
            self.client.follow_admin_chain().await?;
            info = self.active_info().await?;
        }
        let ownership = &info.ownership;
        // On a public chain, validators propose blocks that only receive messages.
        let public = ownership.validators_propose;
        if public && (!operations.is_empty() || !self.is_validator()) {
            return Err(ClientError::PublicChain(self.chain_id));
        }
        let may_propose = public
            || ownership.is_owner(&self.owner())
            || (ownership.open_multi_leader_rounds && ownership.multi_leader_rounds > 0);
        if !may_propose {
            return Err(ClientError::NotAnOwner {
                chain_id: self.chain_id,
                owner: self.owner(),
            });
        }
        // A closed chain runs no operations, but may still migrate.
        let own_work = operations
            .iter()
            .any(|operation| operation.migrates_to().is_none());
        if info.is_closed && own_work {
            return Err(ClientError::ClosedChain(self.chain_id));
        }
        // The client proposes to the newest committee it knows: a chain still in an older
        // epoch migrates first, in the same block (public and closed chains too).
        let newest = self.client.membership().epoch;
        let mut operations = operations;
        let mut migrates_to = operations.first().and_then(Operation::migrates_to);
        if info.epoch < newest && migrates_to.is_none() {
            let migrate = SystemOperation::MigrateToEpoch { epoch: newest };
            operations.insert(0, Operation::System(migrate));
            migrates_to = Some(newest);
        }
        let timestamp = self.client.clock.now().max(info.timestamp);
        // The chain's committee certifies the migration while its epoch lives; once that is
        // revoked, the committee it migrates to does, so that the chain can still move.
        let epoch = match migrates_to {
            Some(target) if self.client.deciding_epoch(info.epoch).await? > info.epoch => target,
            _ => info.epoch,
        };
        Ok(ProposedBlock {
            chain_id: self.chain_id,
            epoch,
            height: info.next_block_height,
            timestamp,
            authenticated_signer: (!public).then(|| self.owner()),
            previous_block_hash: info.block_hash,
            incoming_bundles,
            operations,
        })
    }

    /// Signs the staged block, records the signature durably, then certifies it.
    async fn sign_and_certify(
        &self,
        value: Hashed<ConfirmedBlock>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let proposal = BlockProposal::new(
            ProposalContent {
                block: value.block.clone(),
                round: Round::Fast,
            },
            &self.key,
        );
        self.write_record(self.signed_record_context(), &Some(&proposal))
            .await?;
        self.certify(proposal, value).await
    }

    async fn certify(
        &self,
        proposal: BlockProposal,
        value: Hashed<ConfirmedBlock>,
    ) -> Result<ConfirmedBlockCertificate, ClientError> {
        let certificate = self.client.communicate_proposal(proposal, value).await?;
        let (_, effects) = self
            .client
            .local
            .handle_checked_certificate(&certificate)
            .await?;
        self.client.deliver_locally(effects).await?;
        Ok(certificate)
    }

    /// Writes a record of this client straight to the store, in the encoding of the
    /// register at `context`, without reading the previous value first.
    pub(super) async fn write_record<T: serde::Serialize>(
        &self,
        context: ViewContext<S>,
        value: &T,
    ) -> Result<(), ClientError> {
        self.client
            .local
            .storage()
            .write_record(&context, value)
            .await
            .map_err(|error| WorkerError::Storage(error.to_string()))?;
        Ok(())
    }

    /// Where the durable record of the last block this client signed on the chain lives.
    fn signed_record_context(&self) -> ViewContext<S> {
        let mut name = b"signed-proposal/".to_vec();
        name.extend_from_slice(self.chain_id.0.as_bytes());
        self.client.local.storage().record_context(&name)
    }

    /// The durable record of the last block this client signed on the chain.
    async fn load_signed_record(
        &self,
    ) -> Result<RegisterView<S, Option<BlockProposal>>, ClientError> {
        RegisterView::load(self.signed_record_context())
            .await
            .map_err(|error| ClientError::Local(WorkerError::Storage(error.to_string())))
    }
}

/// Room in a block for its fields other than incoming bundles. The first bundle always
/// goes: one bundle is far smaller than a block (its messages are bounded per transaction).
const BLOCK_HEADROOM_BYTES: usize = 64 << 10;

/// Whether an application's call failed for lack of fuel.
fn ran_out_of_fuel(error: &skein_execution::ExecutionError) -> bool {
    matches!(
        error,
        skein_execution::ExecutionError::Application {
            error: skein_execution::wasm::WasmError::OutOfFuel { .. },
            ..
        }
    )
}

/// Whether a validator refused because the block's epoch was revoked.
fn revoked_epoch((_, error): &(skein_base::ValidatorPublicKey, NodeError)) -> bool {
    matches!(error, NodeError::Chain(ChainError::RevokedEpoch { .. }))
}
