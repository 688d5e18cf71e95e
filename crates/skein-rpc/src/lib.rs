//! The wire protocol of Skein validators.
//!
//! A validator is a *proxy* — its public gRPC endpoint, the `Validator` service — and
//! *shards* that each own the chains hashing to them and serve the internal `Shard` service
//! to the proxy and to each other. Messages are the protocol's own types carried as BCS
//! ([`codec::BcsCodec`]); every message is size-bounded and a malformed one is refused with
//! `INVALID_ARGUMENT` before any work.

pub mod codec;
pub mod wire;

/// The gRPC services, generated from Rust types by `build.rs`.
#[allow(clippy::all, missing_docs)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/skein.rpc.Validator.rs"));
    include!(concat!(env!("OUT_DIR"), "/skein.rpc.Shard.rs"));
}

mod admission;
mod client;
pub mod config;
mod cross_chain_queue;
mod proxy;
mod run;
mod service;
mod shard;
mod shard_key;

pub use client::{
    channel, grpc_connect, status_to_error, validator_entries, GrpcShard, GrpcValidatorNode,
};
pub use cross_chain_queue::{CrossChainQueue, SendToPeer};
pub use proxy::ProxyNode;
pub use run::{run_proxy, run_shard, run_validator, ServerError};
pub use service::{NotificationSource, NotificationStream, PublicService, ShardService};
pub use shard::ShardNode;
pub use shard_key::{PresentShardKey, RequireShardKey, ShardKey};
