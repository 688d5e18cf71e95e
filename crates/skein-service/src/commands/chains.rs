//! Commands that make blocks, or bring chains up to date.

use anyhow::{anyhow, bail};
use skein_base::{
    crypto::{PublicKey, SecretKey},
    Account, AccountOwner, Amount, ChainId, TimeDelta,
};
use skein_core::{ChainInfo, ChainInfoQuery};
use skein_execution::{ChainOwnership, TimeoutConfig};

use crate::{cli::ChangeOwnershipOptions, context::Context};

/// `skein balance [ACCOUNT]`
pub async fn balance(context: &mut Context, account: Option<Account>) -> anyhow::Result<()> {
    let account = match account {
        Some(account) => account,
        None => Account::chain(context.chain_or_default(None)?),
    };
    let (amount, height) = if context.wallet.key_for_chain(&account.chain_id).is_some() {
        let chain = context.chain_client(account.chain_id)?;
        let info = chain.synchronize().await?;
        let amount = match account.owner {
            Some(owner) => chain.owner_balance(owner).await?,
            None => info.chain_balance,
        };
        (amount, info.next_block_height)
    } else {
        let info = query_highest(context, account).await?;
        let amount = match account.owner {
            Some(_) => info.requested_owner_balance.unwrap_or_default(),
            None => info.chain_balance,
        };
        (amount, info.next_block_height)
    };
    output_line!("{amount}");
    tracing::info!(%account, %height, "balance");
    Ok(())
}

/// The most advanced answer about a chain that isn't in the wallet, among the validators.
async fn query_highest(context: &Context, account: Account) -> anyhow::Result<ChainInfo> {
    let query = ChainInfoQuery {
        request_owner_balance: account.owner,
        ..ChainInfoQuery::new(account.chain_id)
    };
    let answers = futures::future::join_all(
        context
            .client
            .validators()
            .iter()
            .map(|validator| validator.node.handle_chain_info_query(query.clone())),
    )
    .await;
    let mut errors = Vec::new();
    let mut best: Option<ChainInfo> = None;
    for answer in answers {
        match answer {
            Ok(info) if info.is_active() => {
                if best
                    .as_ref()
                    .is_none_or(|best| info.next_block_height > best.next_block_height)
                {
                    best = Some(info);
                }
            }
            Ok(_) => {}
            Err(error) => errors.push(error.to_string()),
        }
    }
    match best {
        Some(info) => Ok(info),
        None if errors.len() == context.client.validators().len() => {
            bail!("no validator could be reached: {}", errors.join("; "))
        }
        None => bail!("chain {} is unknown to the validators", account.chain_id),
    }
}

/// `skein transfer AMOUNT --from ACCOUNT --to ACCOUNT`
pub async fn transfer(
    context: &mut Context,
    amount: Amount,
    from: Option<Account>,
    to: Account,
) -> anyhow::Result<()> {
    let from = match from {
        Some(from) => from,
        None => Account::chain(context.chain_or_default(None)?),
    };
    // From a chain of the wallet, when the account is the chain's or its signer's.
    if let Some(key) = context.wallet.key_for_chain(&from.chain_id) {
        let signer = AccountOwner::from(key.public());
        if from.owner.is_none() || from.owner == Some(signer) {
            let chain = context.chain_client(from.chain_id)?;
            let certificate = chain.transfer(from.owner, amount, to).await?;
            output_line!(
                "transferred {amount} from {from} to {to} in block {} of chain {}",
                certificate.value().block.height,
                from.chain_id
            );
            return Ok(());
        }
    }
    // From the user's account on another chain: claim it from there.
    let Some(owner) = from.owner else {
        bail!(
            "chain {} is not in the wallet; to spend from your account on it, write OWNER@{}",
            from.chain_id,
            from.chain_id
        );
    };
    let key = context
        .wallet
        .key_for_owner(&owner)
        .ok_or_else(|| anyhow!("the wallet holds no key for the owner {owner}"))?;
    let public_key = key.public();
    let signer_chain = context
        .wallet
        .chains()
        .iter()
        .find(|chain| chain.public_key == public_key)
        .map(|chain| chain.chain_id)
        .ok_or_else(|| {
            anyhow!("to claim from {from}, the wallet needs a chain owned by {owner}")
        })?;
    let chain = context.chain_client(signer_chain)?;
    let certificate = chain.claim(from.chain_id, amount, to).await?;
    output_line!(
        "claimed {amount} from {from} to {to} in block {} of chain {signer_chain}; it arrives once {} processes its inbox",
        certificate.value().block.height,
        from.chain_id
    );
    Ok(())
}

/// `skein open-chain`
pub async fn open_chain(
    context: &mut Context,
    from: Option<ChainId>,
    owner: Option<PublicKey>,
    initial_balance: Amount,
) -> anyhow::Result<()> {
    let from = context.chain_or_default(from)?;
    let chain = context.chain_client(from)?;
    let (public_key, fresh) = match owner {
        Some(owner) => (owner, false),
        None => (context.wallet.add_key(SecretKey::generate()), true),
    };
    if fresh {
        context.wallet.save()?;
    }
    let ownership = ChainOwnership::single(AccountOwner::from(public_key));
    let (chain_id, certificate) = chain.open_chain(ownership, initial_balance).await?;
    if context.wallet.key_for_public(&public_key).is_some() {
        context.wallet.add_chain(chain_id, public_key);
        context.wallet.save()?;
    }
    output_line!("{chain_id}");
    tracing::info!(height = %certificate.value().block.height, %from, "opened chain");
    Ok(())
}

/// `skein close-chain CHAIN`
pub async fn close_chain(context: &mut Context, chain_id: ChainId) -> anyhow::Result<()> {
    let chain = context.chain_client(chain_id)?;
    let certificate = chain.close_chain().await?;
    output_line!(
        "closed chain {chain_id} in block {}",
        certificate.value().block.height
    );
    Ok(())
}

/// `skein change-ownership CHAIN (--owner KEY | --owners KEY[:WEIGHT]… | --super-owners KEY… | --public)`
pub async fn change_ownership(
    context: &mut Context,
    options: ChangeOwnershipOptions,
) -> anyhow::Result<()> {
    let ownership = ownership_from(&options)?;
    let chain_id = options.chain;
    let chain = context.chain_client(chain_id)?;
    chain.change_ownership(ownership.clone()).await?;
    // Keep proposing with a key of this wallet, if one is still an owner.
    let keys: Vec<PublicKey> = context
        .wallet
        .keys()
        .iter()
        .map(|key| key.public_key)
        .collect();
    if let Some(key) = keys
        .into_iter()
        .find(|key| ownership.is_owner(&AccountOwner::from(key)))
    {
        context.wallet.add_chain(chain_id, key);
        context.wallet.save()?;
    }
    output_line!("chain {chain_id} now belongs to {}", describe(&ownership));
    if !ownership.super_owners.is_empty() && !ownership.owners.is_empty() {
        output_line!(
            "note: while the chain has super owners it stays in the fast round, so only they propose"
        );
    }
    Ok(())
}

/// The ownership the options describe.
fn ownership_from(options: &ChangeOwnershipOptions) -> anyhow::Result<ChainOwnership> {
    if let Some(owner) = options.owner {
        return Ok(ChainOwnership::single(AccountOwner::from(owner)));
    }
    let timeout_config = TimeoutConfig {
        base_timeout: TimeDelta::from_millis(options.base_timeout_ms),
        timeout_increment: TimeDelta::from_millis(options.timeout_increment_ms),
    };
    if options.public {
        return Ok(ChainOwnership {
            timeout_config,
            ..ChainOwnership::public()
        });
    }
    if options.owners.is_empty() && options.super_owners.is_empty() {
        bail!("name the new owners: --owner KEY, --owners KEY[:WEIGHT]…, --super-owners KEY… or --public");
    }
    let mut owners = std::collections::BTreeMap::new();
    for weighted in &options.owners {
        if owners
            .insert(AccountOwner::from(weighted.key), weighted.weight)
            .is_some()
        {
            bail!("{} is named twice in --owners", weighted.key);
        }
    }
    Ok(ChainOwnership {
        super_owners: options
            .super_owners
            .iter()
            .map(AccountOwner::from)
            .collect(),
        owners,
        multi_leader_rounds: options.multi_leader_rounds,
        open_multi_leader_rounds: options.open_multi_leader_rounds,
        validators_propose: false,
        timeout_config,
    })
}

/// Who owns a chain, in a few words.
fn describe(ownership: &ChainOwnership) -> String {
    let mut parts = Vec::new();
    if !ownership.super_owners.is_empty() {
        let names: Vec<String> = ownership
            .super_owners
            .iter()
            .map(ToString::to_string)
            .collect();
        parts.push(format!("super owners {}", names.join(", ")));
    }
    if !ownership.owners.is_empty() {
        let names: Vec<String> = ownership
            .owners
            .iter()
            .map(|(owner, weight)| format!("{owner} (weight {weight})"))
            .collect();
        parts.push(format!(
            "owners {} with {} multi-leader rounds",
            names.join(", "),
            ownership.multi_leader_rounds
        ));
    }
    if ownership.validators_propose {
        parts.push("the validators, in turns (a public chain: send it messages)".to_string());
    }
    parts.join("; ")
}

/// `skein assign CHAIN [--key KEY]`
pub async fn assign(
    context: &mut Context,
    chain_id: ChainId,
    key: Option<PublicKey>,
) -> anyhow::Result<()> {
    let info = query_highest(context, Account::chain(chain_id)).await?;
    let candidates: Vec<PublicKey> = match key {
        Some(key) => {
            if context.wallet.key_for_public(&key).is_none() {
                bail!("key {key} is not in this wallet");
            }
            vec![key]
        }
        None => context
            .wallet
            .keys()
            .iter()
            .map(|key| key.public_key)
            .collect(),
    };
    let key = candidates
        .into_iter()
        .find(|key| info.ownership.is_owner(&AccountOwner::from(key)))
        .ok_or_else(|| match key {
            Some(key) => anyhow!("key {key} does not own chain {chain_id}"),
            None => anyhow!("no key of this wallet owns chain {chain_id}"),
        })?;
    context.wallet.add_chain(chain_id, key);
    context.wallet.save()?;
    let chain = context.chain_client(chain_id)?;
    let info = chain.synchronize().await?;
    output_line!(
        "chain {chain_id} assigned to {key}: height {}, balance {}",
        info.next_block_height,
        info.chain_balance
    );
    Ok(())
}

/// `skein sync [CHAIN]`
pub async fn sync(context: &mut Context, chain: Option<ChainId>) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    if context.wallet.key_for_chain(&chain_id).is_none() {
        // Find which of the wallet's keys owns it, then track it.
        let info = query_highest(context, Account::chain(chain_id)).await?;
        let key = context
            .wallet
            .keys()
            .iter()
            .find(|key| {
                info.ownership
                    .is_owner(&AccountOwner::from(&key.public_key))
            })
            .map(|key| key.public_key)
            .ok_or_else(|| anyhow!("no key of this wallet owns chain {chain_id}"))?;
        context.wallet.add_chain(chain_id, key);
        context.wallet.save()?;
    }
    let chain = context.chain_client(chain_id)?;
    let info = chain.synchronize().await?;
    let pending = chain
        .chain_info_with_pending()
        .await?
        .requested_pending_bundles
        .len();
    output_line!(
        "chain {chain_id}: height {}, balance {}, {pending} incoming bundles waiting",
        info.next_block_height,
        info.chain_balance
    );
    Ok(())
}

/// `skein process-inbox [CHAIN]`
pub async fn process_inbox(context: &mut Context, chain: Option<ChainId>) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    let chain = context.chain_client(chain_id)?;
    let certificates = chain.process_inbox().await?;
    let bundles: usize = certificates
        .iter()
        .map(|certificate| certificate.value().block.incoming_bundles.len())
        .sum();
    output_line!(
        "processed {bundles} incoming bundles in {} blocks; balance {}",
        certificates.len(),
        chain.chain_balance().await?
    );
    Ok(())
}
