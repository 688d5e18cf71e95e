//! [`CallContext`]: what a call into an application runs for, shared by the host that
//! tells it and the application (in Wasm) that asks.

use serde::{Deserialize, Serialize};

use crate::{AccountOwner, ApplicationId, BlockHeight, ChainId, Timestamp};

/// The chain, block and signer an application's call runs for: the answer to the `context`
/// host call, BCS-encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    /// The application called.
    pub application_id: ApplicationId,
    /// The chain it runs on.
    pub chain_id: ChainId,
    /// The height of the block being executed.
    pub height: BlockHeight,
    /// The block's timestamp: the only clock an application has.
    pub timestamp: Timestamp,
    /// Who signed the block (or, for a message, the signer it carries), if anyone.
    pub authenticated_signer: Option<AccountOwner>,
}
