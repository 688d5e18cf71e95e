//! What applications are and what a call into one runs for: [`ApplicationDescription`]
//! (whose hash is the application's id) and [`CallContext`], shared by the host that tells
//! it and the application (in Wasm) that asks.

use serde::{Deserialize, Serialize};

use crate::{
    crypto::{BcsHashable, CryptoHash},
    AccountOwner, ApplicationId, BlockHeight, BytecodeId, ChainId, Timestamp,
};

/// How an application came to exist: its code, where it was created and what with. Its
/// hash is the [`ApplicationId`], so every chain that learns the description can check the
/// id, and an application is never created twice (a transaction is never repeated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDescription {
    /// The published contract and service modules.
    pub bytecode_id: BytecodeId,
    /// The chain that created it, where it was instantiated.
    pub creator_chain_id: ChainId,
    /// The height of the creating block.
    pub creation_height: BlockHeight,
    /// The index of the creating transaction in that block.
    pub creation_index: u32,
    /// Fixed for the application's life, readable by its code on every chain.
    pub parameters: Vec<u8>,
    /// Applications this one calls or relies on: registered with it wherever it goes.
    pub required_application_ids: Vec<ApplicationId>,
}

impl BcsHashable for ApplicationDescription {
    const TYPE_TAG: &'static str = "ApplicationDescription";
}

impl ApplicationDescription {
    /// The id of the application so described.
    pub fn id(&self) -> ApplicationId {
        ApplicationId(CryptoHash::new(self))
    }
}

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
    /// Who signed the block (or, for a message, the signer it carries), if anyone. In a
    /// call from another application, only if the caller chose to pass it on.
    pub authenticated_signer: Option<AccountOwner>,
    /// For a message: where it comes from and whether it is coming back.
    pub message: Option<MessageInfo>,
    /// For a call from another application (or into a session): the caller.
    pub authenticated_caller: Option<ApplicationId>,
}

/// Where a message an application receives comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageInfo {
    /// The chain that sent it.
    pub origin: ChainId,
    /// Whether it is a tracked message the recipient rejected, returning to its sender:
    /// the application should undo what sending it did (refund, say).
    pub is_bouncing: bool,
}

/// A message an application sends to its instance on another chain: the argument of the
/// `send_message` host call, BCS-encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// The recipient chain.
    pub destination: ChainId,
    /// Whether the message carries the signer of the block (or message) being executed,
    /// so the recipient may act on that user's behalf.
    pub authenticated: bool,
    /// Whether a rejected message comes back to this application (bouncing), so that what
    /// it carries is never lost.
    pub tracked: bool,
    /// The message, as the application encodes it.
    pub message: Vec<u8>,
}
