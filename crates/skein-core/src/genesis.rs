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
    /// Which of them is the admin chain, whose owners create committees (the first,
    /// unless the genesis file says otherwise).
    #[serde(default)]
    pub admin_chain: u32,
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
                admin_chain: ChainId::root(self.admin_chain),
                ownership: ChainOwnership::single(chain.owner),
                epoch: Epoch::ZERO,
                committees: BTreeMap::from([(Epoch::ZERO, self.committee.clone())]),
                balance: chain.balance,
                timestamp: self.timestamp,
            })
            .collect()
    }

    /// Refuses a genesis that no network could start from: the admin chain must be one of
    /// the chains.
    pub fn check(&self) -> Result<(), String> {
        if usize::try_from(self.admin_chain).map_or(true, |index| index >= self.chains.len()) {
            return Err(format!(
                "the admin chain is chain {}, but the genesis has {} chains",
                self.admin_chain,
                self.chains.len()
            ));
        }
        Ok(())
    }

    /// The admin chain's id.
    pub fn admin_chain_id(&self) -> ChainId {
        ChainId::root(self.admin_chain)
    }

    /// The tokens in existence.
    pub fn total_supply(&self) -> Result<Amount, ArithmeticError> {
        self.chains
            .iter()
            .try_fold(Amount::ZERO, |total, chain| total.try_add(chain.balance))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use skein_base::{
        crypto::SecretKey, AccountOwner, Amount, Committee, Timestamp, ValidatorPublicKey,
        ValidatorState,
    };

    use super::{GenesisChain, GenesisConfig};

    fn genesis(chains: usize, admin_chain: u32) -> GenesisConfig {
        let key = ValidatorPublicKey::from(&SecretKey::from_test_seed(0).public());
        let state = ValidatorState {
            network_address: "127.0.0.1:9000".into(),
            votes: 1,
        };
        GenesisConfig {
            committee: Committee::new(BTreeMap::from([(key, state)])).unwrap(),
            chains: (0..chains)
                .map(|seed| GenesisChain {
                    owner: AccountOwner::from(SecretKey::from_test_seed(seed as u64).public()),
                    balance: Amount::ONE,
                })
                .collect(),
            admin_chain,
            timestamp: Timestamp::default(),
        }
    }

    #[test]
    fn test_every_genesis_chain_knows_the_admin_chain() {
        let genesis = genesis(3, 2);
        assert_eq!(genesis.check(), Ok(()));
        for config in genesis.chain_configs() {
            assert_eq!(config.admin_chain, GenesisConfig::chain_id(2));
        }
        assert_eq!(genesis.admin_chain_id(), GenesisConfig::chain_id(2));
    }

    #[test]
    fn test_an_admin_chain_outside_the_genesis_is_refused() {
        assert!(genesis(3, 3).check().unwrap_err().contains("chain 3"));
        assert!(genesis(0, 0).check().is_err());
    }

    #[test]
    fn test_a_genesis_file_without_an_admin_chain_names_the_first() {
        let mut json = serde_json::to_value(genesis(2, 0)).unwrap();
        json.as_object_mut().unwrap().remove("admin_chain");
        let decoded: GenesisConfig = serde_json::from_value(json).unwrap();
        assert_eq!(decoded.admin_chain_id(), GenesisConfig::chain_id(0));
    }
}
