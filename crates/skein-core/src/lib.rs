//! The protocol engine.
//!
//! - [`Worker`]: one validator shard's logic — proposals, certificates, cross-chain
//!   requests, queries — returning [`Effects`] instead of doing I/O.
//! - [`LocalValidator`]: shards on one store, in this process, behind the [`ValidatorNode`]
//!   trait that clients talk to; [`Shards`] routes requests to a shard, [`Forward`]
//!   passes them on and [`Delivery`] hands on the cross-chain requests they produce.
//! - [`Client`] and [`ChainClient`]: drive a user's chains to certificates, synchronising
//!   lagging validators.
//! - [`PublicChainProposer`]: a validator's turns on public chains.
//!
//! The test harness is built only with the `testing` feature: tests, benchmarks, demos and
//! the fuzzers turn it on; validators and the CLI do not link it. It holds
//! `InProcessNetwork` (a whole network in one process), `FaultyNode` and `ByzantineVoter`
//! (validators that misbehave on purpose) and `simulation` (the whole protocol under a
//! seeded scheduler, with invariant checks).

mod budget;
#[cfg(feature = "testing")]
mod byzantine;
pub mod client;
mod clock;
mod delivery;
#[cfg(feature = "testing")]
mod faults;
mod forward;
mod genesis;
#[cfg(feature = "testing")]
pub mod network;
mod node;
mod proposer;
mod requests;
mod shards;
#[cfg(feature = "testing")]
pub mod simulation;
mod validator;
mod worker;

#[cfg(feature = "testing")]
pub use byzantine::ByzantineVoter;
pub use client::{
    tokio_spawner, ChainClient, Client, ClientConfig, ClientError, Connect, Membership, Spawner,
    ValidatorEntry,
};
pub use clock::{Clock, Sleep, SystemClock};
pub use delivery::{Delivery, Inlet};
#[cfg(feature = "testing")]
pub use faults::{CrossChainFaults, Fault, FaultyNode, StoppedNode};
pub use forward::{Forward, NodeRequest, Route};
pub use genesis::{GenesisChain, GenesisConfig};
#[cfg(feature = "testing")]
pub use network::{InProcessNetwork, NetworkConfig};
pub use node::{NodeError, ValidatorNode};
pub use proposer::{ProposerConfig, PublicChainProposer};
pub use requests::{
    ChainInfo, ChainInfoQuery, CrossChainRequest, Effects, ManagerInfo, Notification,
    NotificationReason, TimeoutRequest,
};
pub use shards::{shard_of, Shards};
pub use validator::{CrossChainTransport, LocalValidator};
pub use worker::{ValidatorKeys, WithEffects, Worker, WorkerError};
