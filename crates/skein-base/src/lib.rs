//! The vocabulary every Skein layer shares: identifiers, amounts, heights, rounds, time,
//! committees, keys, signatures, hashes and the canonical encoding.
//!
//! This crate compiles to `wasm32-unknown-unknown`, so applications use the same types as
//! validators.

mod amount;
mod application;
mod calls;
mod committee;
pub mod crypto;
mod data_types;
pub mod encoding;
mod identifiers;
pub mod limits;

pub use amount::{Amount, ArithmeticError, ParseAmountError};
pub use application::{ApplicationDescription, CallContext, MessageInfo, SendMessageRequest};
pub use calls::{
    CallRequest, CallResult, ChannelRequest, HandleCallInput, HandleCallOutput,
    HandleSessionCallInput, HandleSessionCallOutput, OpenChainRequest, SessionCallRequest,
    SessionId, TransferRequest,
};
pub use committee::{Committee, CommitteeError, ValidatorPublicKey, ValidatorState};
pub use data_types::{BlockHeight, Epoch, Round, TimeDelta, Timestamp};
pub use identifiers::{
    Account, AccountOwner, ApplicationId, BlobId, BlobType, BytecodeId, ChainDescription, ChainId,
};

/// Returns early with an error when a condition does not hold: one line per rule.
#[macro_export]
macro_rules! ensure {
    ($condition:expr, $error:expr $(,)?) => {
        if !$condition {
            return Err($error.into());
        }
    };
}

#[cfg(test)]
#[path = "unit_tests/amount_tests.rs"]
mod amount_tests;

#[cfg(test)]
#[path = "unit_tests/committee_tests.rs"]
mod committee_tests;

#[cfg(test)]
#[path = "unit_tests/crypto_tests.rs"]
mod crypto_tests;

#[cfg(test)]
#[path = "unit_tests/identifiers_tests.rs"]
mod identifiers_tests;
