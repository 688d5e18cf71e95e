//! [`GenesisConfig`]: the committee and the chains a network starts with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skein_base::{
    AccountOwner, Amount, ArithmeticError, ChainDescription, ChainId, Committee, Epoch, Timestamp,
};
use skein_execution::{ChainConfig, ChainOwnership};

/// One genesis chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisChain {
    /// Its single owner.
    pub owner: AccountOwner,
    /// Its initial balance.
    pub balance: Amount,
}

/// Everything every node must agree on before the first block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisConfig {
    /// The committee of epoch 0.
    pub committee: Committee,
    /// The root chains, numbered in order.
    pub chains: Vec<GenesisChain>,
    /// The time of genesis; no block may be earlier.
    pub timestamp: Timestamp,
}

impl GenesisConfig {
    /// The id of the `index`-th genesis chain.
    pub fn chain_id(index: usize) -> ChainId {
        ChainId::root(u32::try_from(index).expect("fewer than 2^32 genesis chains"))
    }

    /// The configurations of the genesis chains.
    pub fn chain_configs(&self) -> Vec<ChainConfig> {
        self.chains
            .iter()
            .enumerate()
            .map(|(index, chain)| ChainConfig {
                description: ChainDescription::Root(
                    u32::try_from(index).expect("fewer than 2^32 genesis chains"),
                ),
                ownership: ChainOwnership::single(chain.owner),
                epoch: Epoch::ZERO,
                committees: BTreeMap::from([(Epoch::ZERO, self.committee.clone())]),
                balance: chain.balance,
                timestamp: self.timestamp,
            })
            .collect()
    }

    /// The tokens in existence.
    pub fn total_supply(&self) -> Result<Amount, ArithmeticError> {
        self.chains
            .iter()
            .try_fold(Amount::ZERO, |total, chain| total.try_add(chain.balance))
    }
}
