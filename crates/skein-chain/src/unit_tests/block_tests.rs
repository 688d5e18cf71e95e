//! Where a block's transactions sit: the ids of the chains it opens.

use skein_base::{
    crypto::{CryptoHash, SecretKey},
    Account, AccountOwner, Amount, BlockHeight, ChainId, Epoch, Timestamp,
};
use skein_execution::{ChainOwnership, Operation, SystemOperation};

use crate::{IncomingBundle, MessageAction, MessageBundle, ProposedBlock};

fn open_chain() -> Operation {
    let owner = AccountOwner::from(SecretKey::from_test_seed(1).public());
    Operation::System(SystemOperation::OpenChain {
        ownership: ChainOwnership::single(owner),
        balance: Amount::from_attos(5),
    })
}

#[test]
fn test_opened_chains_count_bundles_and_a_migration_first() {
    let chain_id = ChainId::root(3);
    let height = BlockHeight(7);
    let bundle = IncomingBundle {
        origin: ChainId::root(0),
        bundle: MessageBundle {
            height: BlockHeight(1),
            timestamp: Timestamp::from_micros(1),
            block_hash: CryptoHash::from_bytes([4; 32]),
            transaction_index: 0,
            messages: Vec::new(),
        },
        action: MessageAction::Accept,
    };
    let transfer = Operation::System(SystemOperation::Transfer {
        owner: None,
        recipient: Account::chain(ChainId::root(1)),
        amount: Amount::from_attos(1),
    });
    let block = ProposedBlock {
        chain_id,
        epoch: Epoch::ZERO,
        height,
        timestamp: Timestamp::from_micros(2),
        authenticated_signer: None,
        previous_block_hash: None,
        incoming_bundles: vec![bundle],
        operations: vec![
            Operation::System(SystemOperation::MigrateToEpoch { epoch: Epoch(1) }),
            open_chain(),
            transfer,
            open_chain(),
        ],
    };
    // Transaction 0 is the bundle, 1 the migration, 2 and 4 open chains.
    assert_eq!(
        block.opened_chains(),
        vec![
            ChainId::child(chain_id, height, 2),
            ChainId::child(chain_id, height, 4)
        ]
    );
    let alone = ProposedBlock {
        incoming_bundles: Vec::new(),
        operations: vec![open_chain()],
        ..block
    };
    assert_eq!(
        alone.opened_chains(),
        vec![ChainId::child(chain_id, height, 0)]
    );
}
