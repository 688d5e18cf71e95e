//! The system schema, served at `/`: the wallet's chains, their blocks and inboxes;
//! transfers, new chains and other blocks; notifications as a subscription.

use std::sync::Arc;

use async_graphql::{Context, Json, Object, Subscription};
use futures::{Stream, StreamExt};
use skein_base::BlockHeight;
use skein_chain::{Certificate, ConfirmedBlock};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    failure,
    objects::{node, Block, Chain, Chains, Notification},
    scalars::{
        Account, AccountOwner, Amount, ApplicationId, BytecodeId, ChainId, CryptoHash, PublicKey,
    },
    Result,
};

/// How many blocks one `blocks` query returns at most.
pub const BLOCKS_PER_QUERY_MAX: u32 = 100;

/// What the system schema answers.
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The version of this node service.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// The wallet's chains, and its default one.
    async fn chains(&self, context: &Context<'_>) -> Chains {
        let (list, default) = node(context).chains().await;
        Chains::new(list, default)
    }

    /// A chain this node knows: one of the wallet's, or one that sent them messages.
    async fn chain(&self, context: &Context<'_>, chain_id: ChainId) -> Result<Chain> {
        let info = node(context)
            .known_chain(chain_id.0)
            .await
            .map_err(failure)?;
        Ok(Chain { info })
    }

    /// A block of a chain: the latest if no height is given; none if this node does not
    /// have it.
    async fn block(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        height: Option<u64>,
    ) -> Result<Option<Block>> {
        let height = match height {
            Some(height) => height,
            None => {
                let info = node(context)
                    .known_chain(chain_id.0)
                    .await
                    .map_err(failure)?;
                match info.next_block_height.0.checked_sub(1) {
                    Some(latest) => latest,
                    None => return Ok(None),
                }
            }
        };
        let blocks = certificates(context, chain_id, height, 1).await?;
        Ok(blocks.first().map(Block::new))
    }

    /// Consecutive blocks of a chain, oldest first: from `from`, or the latest ones if
    /// `from` is omitted; at most `limit` (10 unless given, 100 at most).
    #[graphql(complexity = "5 + limit as usize * child_complexity")]
    async fn blocks(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        from: Option<u64>,
        #[graphql(default = 10)] limit: u32,
    ) -> Result<Vec<Block>> {
        let limit = limit.min(BLOCKS_PER_QUERY_MAX);
        let from = match from {
            Some(from) => from,
            None => {
                let info = node(context)
                    .known_chain(chain_id.0)
                    .await
                    .map_err(failure)?;
                info.next_block_height.0.saturating_sub(u64::from(limit))
            }
        };
        let blocks = certificates(context, chain_id, from, limit).await?;
        Ok(blocks.iter().map(Block::new).collect())
    }
}

/// This node's certificates of a chain at heights `[from, from + count)`, as far as it
/// has them.
async fn certificates(
    context: &Context<'_>,
    chain_id: ChainId,
    from: u64,
    count: u32,
) -> Result<Vec<Certificate<ConfirmedBlock>>> {
    let to = from.saturating_add(u64::from(count));
    let certificates = node(context)
        .client()
        .local_node()
        .certificates_in_range(chain_id.0, BlockHeight(from), BlockHeight(to))
        .await
        .map_err(failure)?;
    // The local node checked them before storing them.
    Ok(certificates
        .into_iter()
        .map(|certificate| certificate.trusted_from_own_storage())
        .collect())
}

/// What the system schema does: each mutation makes blocks on a chain of the wallet and
/// answers once they are confirmed.
pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Transfers tokens from a chain of the wallet (its own account, or `owner`'s, which
    /// must be the chain's key) to an account; the block's hash.
    async fn transfer(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        owner: Option<AccountOwner>,
        recipient: Account,
        amount: Amount,
    ) -> Result<CryptoHash> {
        let chain = node(context).writer(chain_id.0).await.map_err(failure)?;
        let certificate = chain
            .transfer(owner.map(|owner| owner.0), amount.0, recipient.0)
            .await
            .map_err(failure)?;
        Ok(certificate.hash().into())
    }

    /// Asks `source` to send the signer's tokens there to `recipient`, from a chain of the
    /// wallet whose key owns the account; the block's hash. The tokens move once `source`
    /// processes its inbox.
    async fn claim(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        source: ChainId,
        recipient: Account,
        amount: Amount,
    ) -> Result<CryptoHash> {
        let chain = node(context).writer(chain_id.0).await.map_err(failure)?;
        let certificate = chain
            .claim(source.0, amount.0, recipient.0)
            .await
            .map_err(failure)?;
        Ok(certificate.hash().into())
    }

    /// Opens a chain, paid for by `chainId`, owned by `owner` (a new key of the wallet if
    /// omitted) and funded with `balance`; the new chain. It joins the wallet if the wallet
    /// holds its key.
    async fn open_chain(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        owner: Option<PublicKey>,
        balance: Option<Amount>,
    ) -> Result<ChainId> {
        let balance = balance.map(|balance| balance.0).unwrap_or_default();
        let opened = node(context)
            .open_chain(chain_id.0, owner.map(|owner| owner.0), balance)
            .await
            .map_err(failure)?;
        Ok(opened.into())
    }

    /// Closes a chain of the wallet for good; the block's hash.
    async fn close_chain(&self, context: &Context<'_>, chain_id: ChainId) -> Result<CryptoHash> {
        let chain = node(context).writer(chain_id.0).await.map_err(failure)?;
        let certificate = chain.close_chain().await.map_err(failure)?;
        Ok(certificate.hash().into())
    }

    /// Accepts every message waiting in a chain's inbox; the hashes of the blocks made.
    async fn process_inbox(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
    ) -> Result<Vec<CryptoHash>> {
        let chain = node(context).writer(chain_id.0).await.map_err(failure)?;
        let certificates = chain.process_inbox().await.map_err(failure)?;
        Ok(certificates
            .iter()
            .map(|certificate| certificate.hash().into())
            .collect())
    }

    /// Brings a chain of the wallet up to date with the validators; its next height.
    async fn synchronize(&self, context: &Context<'_>, chain_id: ChainId) -> Result<u64> {
        let chain = node(context)
            .chain_client(chain_id.0)
            .await
            .map_err(failure)?;
        let info = chain.synchronize().await.map_err(failure)?;
        Ok(info.next_block_height.0)
    }

    /// Creates an application from published code on a chain of the wallet, with its
    /// parameters and instantiation argument in JSON; the application.
    async fn create_application(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        bytecode_id: BytecodeId,
        parameters: Option<Json<serde_json::Value>>,
        argument: Option<Json<serde_json::Value>>,
        #[graphql(default)] required_application_ids: Vec<ApplicationId>,
    ) -> Result<ApplicationId> {
        let chain = node(context).writer(chain_id.0).await.map_err(failure)?;
        let json = |value: Option<Json<serde_json::Value>>| {
            serde_json::to_vec(&value.map_or(serde_json::Value::Null, |value| value.0))
        };
        let (id, _) = chain
            .create_application(
                bytecode_id.0,
                json(parameters)?,
                json(argument)?,
                required_application_ids
                    .into_iter()
                    .map(|id| id.0)
                    .collect(),
            )
            .await
            .map_err(failure)?;
        Ok(id.into())
    }

    /// Asks `source`, where an application is registered, to register it on a chain of
    /// the wallet too; the block's hash. It is, once the chain processes the answer.
    async fn request_application(
        &self,
        context: &Context<'_>,
        chain_id: ChainId,
        application_id: ApplicationId,
        source: ChainId,
    ) -> Result<CryptoHash> {
        let chain = node(context).writer(chain_id.0).await.map_err(failure)?;
        let certificate = chain
            .request_application(application_id.0, source.0)
            .await
            .map_err(failure)?;
        Ok(certificate.hash().into())
    }
}

/// What the system schema pushes, over WebSocket at `/ws`.
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// What happens on the given chains (on every chain if none is given), from now on, as
    /// the validators announce it: new blocks and arriving messages.
    async fn notifications(
        &self,
        context: &Context<'_>,
        #[graphql(default)] chain_ids: Vec<ChainId>,
    ) -> impl Stream<Item = Notification> {
        let chains: Vec<skein_base::ChainId> = chain_ids.into_iter().map(|id| id.0).collect();
        let node: &Arc<_> = node(context);
        BroadcastStream::new(node.notifications()).filter_map(move |notification| {
            // A subscriber that fell behind skips what it missed.
            let notification = notification
                .ok()
                .filter(|notification| chains.is_empty() || chains.contains(&notification.chain_id))
                .map(Notification::from);
            async move { notification }
        })
    }
}
