//! `skein benchmark --verify`: after the load, the network is checked as an auditor would.
//! Every benchmark chain receives what was sent to it, and then the tokens funded must all
//! be there, no more and no less; every validator is brought up to date, and then all must
//! agree on each chain's tip, state and balance. A validator killed and restarted during
//! the load must pass like the others.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use skein_base::Amount;
use skein_core::{ChainClient, ChainInfoQuery, Client};
use skein_views::MemoryStore;

/// How long the verification waits for messages still between validators.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

/// How long one validator may take to answer one query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the verification found.
pub struct Verification {
    /// Chains checked.
    pub chains: usize,
    /// Validators that agree on every one of them.
    pub validators: usize,
    /// The tokens on the benchmark chains, which is what they were funded with.
    pub total: Amount,
}

/// Receives every chain's messages until the funded tokens are all on the chains, brings
/// every validator up to date and compares what each says of every chain.
pub async fn verify(
    client: &Client<MemoryStore>,
    chains: &[ChainClient<MemoryStore>],
    funded: Amount,
) -> anyhow::Result<Verification> {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    let total = loop {
        let mut total = Amount::ZERO;
        for chain in chains {
            chain
                .process_inbox()
                .await
                .with_context(|| format!("chain {} cannot receive", chain.chain_id()))?;
            total = total
                .try_add(chain.chain_balance().await?)
                .context("the balances overflow")?;
        }
        if total == funded {
            break total;
        }
        if total > funded {
            bail!("the benchmark chains hold {total} tokens, but were funded with {funded}");
        }
        if Instant::now() >= deadline {
            bail!(
                "the benchmark chains hold {total} tokens after {} s, but were funded with \
                 {funded}: messages were lost",
                DELIVERY_DEADLINE.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let mut disagreements = Vec::new();
    for chain in chains {
        let chain_id = chain.chain_id();
        for (validator, error) in client.update_validators(chain_id).await? {
            disagreements.push(format!(
                "chain {chain_id}: validator {validator} cannot be brought up to date: {error}"
            ));
        }
        let expected = chain.chain_info().await?;
        for validator in client.validators() {
            let answer = tokio::time::timeout(
                QUERY_TIMEOUT,
                validator
                    .node
                    .handle_chain_info_query(ChainInfoQuery::new(chain_id)),
            )
            .await;
            let info = match answer {
                Ok(Ok(info)) => info,
                Ok(Err(error)) => {
                    disagreements.push(format!(
                        "chain {chain_id}: validator {} answers {error}",
                        validator.public_key
                    ));
                    continue;
                }
                Err(_) => {
                    disagreements.push(format!(
                        "chain {chain_id}: validator {} does not answer",
                        validator.public_key
                    ));
                    continue;
                }
            };
            let seen = (
                info.next_block_height,
                info.block_hash,
                info.state_hash,
                info.chain_balance,
            );
            let wanted = (
                expected.next_block_height,
                expected.block_hash,
                expected.state_hash,
                expected.chain_balance,
            );
            if seen != wanted {
                disagreements.push(format!(
                    "chain {chain_id}: validator {} is at height {} with balance {} (state {}), \
                     the chain at height {} with balance {} (state {})",
                    validator.public_key,
                    info.next_block_height,
                    info.chain_balance,
                    info.state_hash,
                    expected.next_block_height,
                    expected.chain_balance,
                    expected.state_hash,
                ));
            }
        }
    }
    if !disagreements.is_empty() {
        bail!("the validators disagree:\n{}", disagreements.join("\n"));
    }
    Ok(Verification {
        chains: chains.len(),
        validators: client.validators().len(),
        total,
    })
}
