use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::{crypto::SecretKey, Account, AccountOwner, BlockHeight, ChainId};

#[test]
fn test_child_chain_ids_are_distinct() {
    let parent = ChainId::root(0);
    let mut ids = BTreeSet::new();
    for height in 0..10 {
        for index in 0..10 {
            assert!(ids.insert(ChainId::child(parent, BlockHeight(height), index)));
        }
    }
    for root in 0..10 {
        assert!(ids.insert(ChainId::root(root)));
    }
    assert!(ids.insert(ChainId::child(ChainId::root(1), BlockHeight(0), 0)));
}

#[test]
fn test_account_text_forms() {
    let chain = ChainId::root(3);
    let owner = AccountOwner::from(SecretKey::from_test_seed(1).public());
    let with_owner = Account::owner(chain, owner);
    let text = with_owner.to_string();
    assert_eq!(text, format!("{owner}@{chain}"));
    assert_eq!(text.parse::<Account>().unwrap(), with_owner);
    assert_eq!(
        chain.to_string().parse::<Account>().unwrap(),
        Account::chain(chain)
    );
    assert!("nonsense@".parse::<Account>().is_err());
    assert!("12@34".parse::<Account>().is_err());
}

proptest! {
    #[test]
    fn prop_account_roundtrip(chain in 0u32..1000, seed in any::<u64>(), with_owner in any::<bool>()) {
        let chain = ChainId::root(chain);
        let account = if with_owner {
            Account::owner(chain, AccountOwner::from(SecretKey::from_test_seed(seed).public()))
        } else {
            Account::chain(chain)
        };
        prop_assert_eq!(account.to_string().parse::<Account>().unwrap(), account);
        let bytes = bcs::to_bytes(&account).unwrap();
        prop_assert_eq!(bcs::from_bytes::<Account>(&bytes).unwrap(), account);
    }
}
