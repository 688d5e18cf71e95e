use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::{crypto::SecretKey, Account, AccountOwner, BlobType, BlockHeight, BytecodeId, ChainId};

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

#[test]
fn test_bytecode_ids_name_both_modules_and_round_trip_as_text() {
    let id = BytecodeId::of(b"contract", b"service");
    assert_eq!(id.contract.blob_type, BlobType::ContractBytecode);
    assert_eq!(id.service.blob_type, BlobType::ServiceBytecode);
    assert_ne!(id, BytecodeId::of(b"service", b"contract"));
    assert_eq!(id.to_string().parse::<BytecodeId>(), Ok(id));
    assert!("no-colon".parse::<BytecodeId>().is_err());
    assert!("aa:bb".parse::<BytecodeId>().is_err());
}

proptest! {
    /// Owners are their text form in JSON and the compact enum in BCS, and both round-trip.
    #[test]
    fn prop_owner_encodings_round_trip(bytes in any::<[u8; 32]>(), application in any::<bool>()) {
        let hash = crate::crypto::CryptoHash::of_bytes(&bytes);
        let owner = if application {
            AccountOwner::Application(crate::ApplicationId(hash))
        } else {
            AccountOwner::User(hash)
        };
        let json = serde_json::to_string(&owner).unwrap();
        prop_assert_eq!(&json, &format!("\"{owner}\""));
        prop_assert_eq!(serde_json::from_str::<AccountOwner>(&json).unwrap(), owner);
        let binary = bcs::to_bytes(&owner).unwrap();
        prop_assert_eq!(binary.len(), 33);
        prop_assert_eq!(bcs::from_bytes::<AccountOwner>(&binary).unwrap(), owner);
    }
}
