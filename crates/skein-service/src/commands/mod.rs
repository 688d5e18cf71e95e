//! The commands that use a wallet.

mod applications;
mod chains;
mod committees;
mod inspect;

pub use applications::{
    create_application, execute_operation, publish_and_create, publish_bytecode, query_application,
    request_application,
};
pub use chains::{
    assign, balance, change_ownership, close_chain, open_chain, process_inbox, sync, transfer,
};
pub use committees::{revoke_epochs, validator};
pub use inspect::{
    keygen, query_validators, show_block, wallet_init, wallet_owner, wallet_show, watch,
};
