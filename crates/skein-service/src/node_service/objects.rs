//! What the system schema answers: chains, blocks, bundles, applications and
//! notifications, as the local node knows them.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject, Union};
use skein_chain::{Certificate, ConfirmedBlock, MessageAction};
use skein_core::{ChainInfo, ChainInfoQuery, NotificationReason};
use skein_execution::MessageKind;

use super::{
    failure,
    node::Node,
    scalars::{AccountOwner, Amount, ApplicationId, BytecodeId, ChainId, CryptoHash},
    Result,
};
use crate::describe;

/// A chain, as this node knows it: the wallet's chains are kept up to date as their
/// validators announce blocks.
pub struct Chain {
    pub info: ChainInfo,
}

#[Object]
impl Chain {
    /// The chain.
    async fn chain_id(&self) -> ChainId {
        self.info.chain_id.into()
    }

    /// The chain's own balance.
    async fn balance(&self) -> Amount {
        self.info.chain_balance.into()
    }

    /// The height its next block will have.
    async fn next_block_height(&self) -> u64 {
        self.info.next_block_height.0
    }

    /// The hash of its latest block, if it has one.
    async fn tip_hash(&self) -> Option<CryptoHash> {
        self.info.block_hash.map(CryptoHash)
    }

    /// The timestamp of its latest block, in microseconds since the Unix epoch.
    async fn timestamp(&self) -> u64 {
        self.info.timestamp.micros()
    }

    /// The epoch whose committee certifies its blocks.
    async fn epoch(&self) -> u32 {
        self.info.epoch.0
    }

    /// Whether it was closed: it makes no more blocks.
    async fn is_closed(&self) -> bool {
        self.info.is_closed
    }

    /// Who may propose its blocks: super owners first, then owners.
    async fn owners(&self) -> Vec<AccountOwner> {
        let ownership = &self.info.ownership;
        ownership
            .super_owners
            .iter()
            .chain(ownership.owners.keys())
            .map(|owner| AccountOwner(*owner))
            .collect()
    }

    /// The balance of one owner's account on the chain.
    async fn owner_balance(&self, context: &Context<'_>, owner: AccountOwner) -> Result<Amount> {
        let info = self
            .ask(
                context,
                ChainInfoQuery {
                    request_owner_balance: Some(owner.0),
                    ..ChainInfoQuery::new(self.info.chain_id)
                },
            )
            .await?;
        Ok(info.requested_owner_balance.unwrap_or_default().into())
    }

    /// Every owner's account on the chain that holds tokens.
    #[graphql(complexity = "super::COMPLEXITY_LIST + child_complexity")]
    async fn accounts(&self, context: &Context<'_>) -> Result<Vec<AccountBalance>> {
        let balances = node(context)
            .client()
            .local_node()
            .owner_balances(self.info.chain_id)
            .await
            .map_err(failure)?;
        Ok(balances
            .into_iter()
            .map(|(owner, amount)| AccountBalance {
                owner: owner.into(),
                amount: amount.into(),
            })
            .collect())
    }

    /// The bundles of messages received and not yet accepted or rejected, by sender, in
    /// the order a block would pick them.
    #[graphql(complexity = "super::COMPLEXITY_LIST + child_complexity")]
    async fn inbox(&self, context: &Context<'_>) -> Result<Vec<PendingBundle>> {
        let info = self
            .ask(
                context,
                ChainInfoQuery {
                    request_pending_bundles: true,
                    ..ChainInfoQuery::new(self.info.chain_id)
                },
            )
            .await?;
        Ok(info
            .requested_pending_bundles
            .into_iter()
            .map(|(origin, bundle)| PendingBundle {
                origin: origin.into(),
                height: bundle.height.0,
                timestamp: bundle.timestamp.micros(),
                block_hash: bundle.block_hash.into(),
                messages: bundle
                    .messages
                    .iter()
                    .map(|posted| describe::message(&posted.message))
                    .collect(),
            })
            .collect())
    }

    /// The applications the chain knows, with where their services answer.
    #[graphql(complexity = "super::COMPLEXITY_LIST + child_complexity")]
    async fn applications(&self, context: &Context<'_>) -> Result<Vec<Application>> {
        let chain_id = self.info.chain_id;
        let applications = node(context)
            .client()
            .local_node()
            .applications(chain_id)
            .await
            .map_err(failure)?;
        Ok(applications
            .into_iter()
            .map(|(id, description)| Application {
                id: id.into(),
                bytecode_id: description.bytecode_id.into(),
                creator_chain_id: description.creator_chain_id.into(),
                creation_height: description.creation_height.0,
                required_application_ids: description
                    .required_application_ids
                    .into_iter()
                    .map(ApplicationId)
                    .collect(),
                link: format!("/chains/{chain_id}/applications/{id}"),
                graphql: format!("/chains/{chain_id}/applications/{id}/graphql"),
            })
            .collect())
    }
}

impl Chain {
    /// The local node's answer to `query` about this chain.
    async fn ask(&self, context: &Context<'_>, query: ChainInfoQuery) -> Result<ChainInfo> {
        node(context)
            .client()
            .local_node()
            .handle_chain_info_query(query)
            .await
            .map_err(failure)
    }
}

/// Tokens an owner holds on a chain.
#[derive(SimpleObject)]
pub struct AccountBalance {
    /// The owner.
    owner: AccountOwner,
    /// The tokens.
    amount: Amount,
}

/// Messages another chain sent in one transaction, waiting in an inbox.
#[derive(SimpleObject)]
pub struct PendingBundle {
    /// The sender.
    origin: ChainId,
    /// The height of the sending block.
    height: u64,
    /// The sending block's timestamp, in microseconds since the Unix epoch.
    timestamp: u64,
    /// The sending block's hash.
    block_hash: CryptoHash,
    /// The messages, each in one line.
    messages: Vec<String>,
}

/// An application registered on a chain.
#[derive(SimpleObject)]
pub struct Application {
    /// The application.
    id: ApplicationId,
    /// Its published code.
    bytecode_id: BytecodeId,
    /// The chain that created it.
    creator_chain_id: ChainId,
    /// The height of the block that created it.
    creation_height: u64,
    /// The applications it relies on.
    required_application_ids: Vec<ApplicationId>,
    /// Where its service answers on this chain, from this server's root, in JSON carried
    /// by GraphQL (`query(request: …)`, `execute(operation: …)`).
    link: String,
    /// Where its service answers GraphQL of its own, if it speaks it (services built with
    /// `skein_sdk::graphql`).
    graphql: String,
}

/// A confirmed block.
#[derive(SimpleObject)]
pub struct Block {
    /// Its hash: what certificates sign.
    hash: CryptoHash,
    /// Its chain.
    chain_id: ChainId,
    /// Its height.
    height: u64,
    /// Its timestamp, in microseconds since the Unix epoch.
    timestamp: u64,
    /// The epoch whose committee certified it.
    epoch: u32,
    /// The owner who signed the proposal, if any.
    authenticated_signer: Option<AccountOwner>,
    /// The chain's previous block.
    previous_block_hash: Option<CryptoHash>,
    /// The hash of the chain's execution state after it.
    state_hash: CryptoHash,
    /// Bundles it accepted or rejected, in order.
    incoming_bundles: Vec<IncomingBundle>,
    /// Its operations, each in one line.
    operations: Vec<String>,
    /// What its transactions sent, in order.
    sent_messages: Vec<SentMessage>,
    /// How many validators signed its certificate.
    signatures: usize,
}

impl Block {
    /// The block a certificate confirms.
    pub fn new(certificate: &Certificate<ConfirmedBlock>) -> Self {
        let ConfirmedBlock { block, outcome } = certificate.value();
        Self {
            hash: certificate.hash().into(),
            chain_id: block.chain_id.into(),
            height: block.height.0,
            timestamp: block.timestamp.micros(),
            epoch: block.epoch.0,
            authenticated_signer: block.authenticated_signer.map(AccountOwner),
            previous_block_hash: block.previous_block_hash.map(CryptoHash),
            state_hash: outcome.state_hash.into(),
            incoming_bundles: block
                .incoming_bundles
                .iter()
                .map(|incoming| IncomingBundle {
                    origin: incoming.origin.into(),
                    height: incoming.bundle.height.0,
                    action: match incoming.action {
                        MessageAction::Accept => BundleAction::Accept,
                        MessageAction::Reject => BundleAction::Reject,
                    },
                    messages: incoming
                        .bundle
                        .messages
                        .iter()
                        .map(|posted| describe::message(&posted.message))
                        .collect(),
                })
                .collect(),
            operations: block.operations.iter().map(describe::operation).collect(),
            sent_messages: outcome
                .messages
                .iter()
                .enumerate()
                .flat_map(|(transaction, messages)| {
                    messages.iter().map(move |sent| SentMessage {
                        transaction: transaction as u64,
                        destination: sent.destination.into(),
                        kind: match sent.kind {
                            MessageKind::Simple => Kind::Simple,
                            MessageKind::Tracked => Kind::Tracked,
                            MessageKind::Bouncing => Kind::Bouncing,
                        },
                        message: describe::message(&sent.message),
                    })
                })
                .collect(),
            signatures: certificate.signatures().len(),
        }
    }
}

/// A bundle a block picked from an inbox.
#[derive(SimpleObject)]
pub struct IncomingBundle {
    /// The sender.
    origin: ChainId,
    /// The height of the sending block.
    height: u64,
    /// Whether the block executed its messages or skipped them.
    action: BundleAction,
    /// The messages, each in one line.
    messages: Vec<String>,
}

/// What a block did with a bundle.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum BundleAction {
    /// Executed its messages.
    Accept,
    /// Skipped them; tracked ones went back to their sender.
    Reject,
}

/// A message a block sent.
#[derive(SimpleObject)]
pub struct SentMessage {
    /// The index of the transaction that sent it.
    transaction: u64,
    /// The recipient chain.
    destination: ChainId,
    /// Whether and how it may be rejected.
    kind: Kind,
    /// The message, in one line.
    message: String,
}

/// Whether and how a message may be rejected.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// May be rejected; then it is dropped.
    Simple,
    /// May be rejected; then it returns to its sender.
    Tracked,
    /// A tracked message on its way back; cannot be rejected.
    Bouncing,
}

/// The wallet's chains.
#[derive(SimpleObject)]
pub struct Chains {
    /// Every chain of the wallet.
    list: Vec<ChainId>,
    /// The chain commands use when none is named.
    default: Option<ChainId>,
}

impl Chains {
    pub fn new(list: Vec<skein_base::ChainId>, default: Option<skein_base::ChainId>) -> Self {
        Self {
            list: list.into_iter().map(ChainId).collect(),
            default: default.map(ChainId),
        }
    }
}

/// Something that happened on a chain.
#[derive(SimpleObject)]
pub struct Notification {
    /// The chain.
    chain_id: ChainId,
    /// What happened.
    reason: Reason,
}

impl From<skein_core::Notification> for Notification {
    fn from(notification: skein_core::Notification) -> Self {
        Self {
            chain_id: notification.chain_id.into(),
            reason: match notification.reason {
                NotificationReason::NewBlock { height, hash } => Reason::NewBlock(NewBlock {
                    height: height.0,
                    hash: hash.into(),
                }),
                NotificationReason::NewIncomingBundle { origin, height } => {
                    Reason::NewIncomingBundle(NewIncomingBundle {
                        origin: origin.into(),
                        height: height.0,
                    })
                }
            },
        }
    }
}

/// What happened on a chain.
#[derive(Union)]
pub enum Reason {
    /// A block was added.
    NewBlock(NewBlock),
    /// Messages arrived in an inbox.
    NewIncomingBundle(NewIncomingBundle),
}

/// A block was added.
#[derive(SimpleObject)]
pub struct NewBlock {
    /// Its height.
    height: u64,
    /// Its hash.
    hash: CryptoHash,
}

/// Messages arrived in an inbox.
#[derive(SimpleObject)]
pub struct NewIncomingBundle {
    /// The sender.
    origin: ChainId,
    /// The height of the sending block.
    height: u64,
}

/// The node the request is served by.
pub fn node<'a>(context: &Context<'a>) -> &'a Arc<Node> {
    context.data_unchecked::<Arc<Node>>()
}
