//! [`ChainManager`]: what a validator promised at the chain's next height.
//!
//! On a single-owner chain the owner proposes in the fast round and the validator votes at
//! most once per height: a second proposal for another block at the same height is refused,
//! the same proposal gets the same vote again. The vote is kept until the height is
//! certified.

use serde::{Deserialize, Serialize};

use crate::{block::ConfirmedBlock, certificate::Vote};

/// Consensus state at the next height.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainManager {
    /// This validator's vote at the next height, if it cast one.
    pub pending_vote: Option<Vote<ConfirmedBlock>>,
}
