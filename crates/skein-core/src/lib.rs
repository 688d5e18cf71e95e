//! The protocol engine.
//!
//! - [`Worker`]: one validator shard's logic — proposals, certificates, cross-chain
//!   requests, queries — returning [`Effects`] instead of doing I/O.
//! - [`LocalValidator`]: shards on one store, in this process, behind the [`ValidatorNode`]
//!   trait that clients talk to; [`FaultyNode`] makes one misbehave.
//! - [`Client`] and [`ChainClient`]: drive a user's chains to certificates, synchronising
//!   lagging validators.
//! - [`PublicChainProposer`]: a validator's turns on public chains.
//! - [`simulation`]: the whole protocol under a seeded scheduler, with invariant checks.

mod budget;
mod byzantine;
pub mod client;
mod clock;
mod faults;
mod forward;
mod genesis;
pub mod network;
mod node;
mod proposer;
mod requests;
mod shards;
pub mod simulation;
mod validator;
mod worker;

pub use byzantine::ByzantineVoter;
pub use client::{
    tokio_spawner, ChainClient, Client, ClientConfig, ClientError, Spawner, ValidatorEntry,
};
pub use clock::{Clock, Sleep, SystemClock};
pub use faults::{Fault, FaultyNode, StoppedNode};
pub use forward::{Forward, NodeRequest, Route};
pub use genesis::{GenesisChain, GenesisConfig};
pub use network::{InProcessNetwork, NetworkConfig};
pub use node::{NodeError, ValidatorNode};
pub use proposer::{ProposerConfig, PublicChainProposer};
pub use requests::{
    ChainInfo, ChainInfoQuery, CrossChainRequest, Effects, ManagerInfo, Notification,
    NotificationReason, TimeoutRequest,
};
pub use shards::{shard_of, Shards};
pub use validator::{CrossChainFaults, CrossChainTransport, LocalValidator};
pub use worker::{WithEffects, Worker, WorkerError};
