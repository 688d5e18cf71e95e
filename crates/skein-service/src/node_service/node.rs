//! What the node service's handlers share: the wallet, its client and the notifications
//! heard from the validators.

use std::sync::Arc;

use anyhow::{anyhow, bail};
use skein_base::{
    crypto::{PublicKey, SecretKey},
    AccountOwner, Amount, ChainId,
};
use skein_core::{ChainClient, Client, Notification};
use skein_execution::ChainOwnership;
use skein_storage::LogStore;
use tokio::sync::{broadcast, Mutex};

use crate::{cli::ServiceOptions, context::Context};

/// How many notifications a slow subscriber may fall behind before it skips some.
const NOTIFICATIONS_BUFFERED: usize = 1024;

/// The wallet's chains, served.
pub(super) struct Node {
    context: Mutex<Context>,
    client: Arc<Client<LogStore>>,
    notifications: broadcast::Sender<Notification>,
    read_only: bool,
    process_inbox: bool,
}

impl Node {
    pub fn new(context: Context, options: &ServiceOptions) -> Self {
        let client = context.client.clone();
        Self {
            context: Mutex::new(context),
            client,
            notifications: broadcast::channel(NOTIFICATIONS_BUFFERED).0,
            read_only: options.read_only,
            process_inbox: !options.skip_process_inbox && !options.read_only,
        }
    }

    /// The client, whose local node holds what the service reads.
    pub fn client(&self) -> &Client<LogStore> {
        &self.client
    }

    /// Whether the service accepts incoming messages on its own as they arrive.
    pub fn processes_inboxes(&self) -> bool {
        self.process_inbox
    }

    /// The wallet's chains, and its default chain.
    pub async fn chains(&self) -> (Vec<ChainId>, Option<ChainId>) {
        let context = self.context.lock().await;
        let chains = context
            .wallet
            .chains()
            .iter()
            .map(|chain| chain.chain_id)
            .collect();
        (chains, context.wallet.default_chain())
    }

    /// Whether the wallet holds a key for `chain_id`.
    pub async fn owns(&self, chain_id: ChainId) -> bool {
        self.context
            .lock()
            .await
            .wallet
            .key_for_chain(&chain_id)
            .is_some()
    }

    /// A client for a chain of the wallet, to read it; see [`Node::writer`] to make blocks.
    pub async fn chain_client(&self, chain_id: ChainId) -> anyhow::Result<ChainClient<LogStore>> {
        self.context.lock().await.chain_client(chain_id)
    }

    /// A client that makes blocks on a chain of the wallet, unless the service is
    /// read-only.
    pub async fn writer(&self, chain_id: ChainId) -> anyhow::Result<ChainClient<LogStore>> {
        if self.read_only {
            bail!("this service is read-only (--read-only): it makes no blocks");
        }
        self.chain_client(chain_id).await
    }

    /// Opens a chain from `from` for `owner` (a fresh key of the wallet if `None`); a chain
    /// whose key the wallet holds joins the wallet. The wallet is not locked while the
    /// block is made.
    pub async fn open_chain(
        &self,
        from: ChainId,
        owner: Option<PublicKey>,
        balance: Amount,
    ) -> anyhow::Result<ChainId> {
        let chain = self.writer(from).await?;
        let public_key = match owner {
            Some(owner) => owner,
            None => {
                let mut context = self.context.lock().await;
                let public_key = context.wallet.add_key(SecretKey::generate());
                context.wallet.save()?;
                public_key
            }
        };
        let ownership = ChainOwnership::single(AccountOwner::from(public_key));
        let (chain_id, _) = chain.open_chain(ownership, balance).await?;
        let mut context = self.context.lock().await;
        if context.wallet.key_for_public(&public_key).is_some() {
            context.wallet.add_chain(chain_id, public_key);
            context.wallet.save()?;
        }
        Ok(chain_id)
    }

    /// A chain the local node knows (the wallet's, or one that sent them messages).
    pub async fn known_chain(&self, chain_id: ChainId) -> anyhow::Result<skein_core::ChainInfo> {
        let info = self
            .client
            .local_node()
            .handle_chain_info_query(skein_core::ChainInfoQuery::new(chain_id))
            .await?;
        if info.description.is_none() {
            return Err(anyhow!(
                "chain {chain_id} is unknown to this node: add it to the wallet (`skein sync {chain_id}`) to follow it"
            ));
        }
        Ok(info)
    }

    /// Hands a notification to the subscribers.
    pub fn publish(&self, notification: Notification) {
        // No subscriber is not an error.
        let _ = self.notifications.send(notification);
    }

    /// The notifications from now on.
    pub fn notifications(&self) -> broadcast::Receiver<Notification> {
        self.notifications.subscribe()
    }

    /// The validators' addresses, to follow their notifications.
    pub async fn validator_addresses(&self) -> Vec<String> {
        self.context
            .lock()
            .await
            .validator_addresses()
            .into_iter()
            .map(|(_, address)| address)
            .collect()
    }
}
