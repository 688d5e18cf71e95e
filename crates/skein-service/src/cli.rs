//! The `skein` command line: its arguments and their help.

use std::{net::IpAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use skein_base::{
    crypto::PublicKey, Account, Amount, ApplicationId, BlockHeight, BytecodeId, ChainId,
    ValidatorPublicKey,
};

use crate::wallet::WALLET_ENV;

/// Skein: microchains owned by their users, served by elastic validators.
#[derive(Parser)]
#[command(name = "skein", version, about, propagate_version = true)]
pub struct Cli {
    /// The wallet file (also from the SKEIN_WALLET environment variable).
    #[arg(long, global = true, env = WALLET_ENV)]
    pub wallet: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Start a whole local network on 127.0.0.1 and write a funded wallet; runs until Ctrl-C.
    ///
    /// Example: skein net up --validators 4 --shards 2 --path /tmp/my-net
    #[command(subcommand)]
    Net(NetCommand),

    /// Manage the wallet.
    #[command(subcommand)]
    Wallet(WalletCommand),

    /// Generate a key pair, add it to the wallet and print the public key (or write a
    /// validator key file with --output, or a shard key with --shard-key --output).
    ///
    /// Example: skein keygen
    Keygen {
        /// Write a validator key file here instead of adding a key to the wallet.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Write a shard key instead: the secret a validator's proxy and shards share
        /// (`shard_key_file` in its configuration).
        #[arg(long, requires = "output")]
        shard_key: bool,
    },

    /// Show the balance of an account (`owner@chain`) or of a chain (the default chain if
    /// none is given).
    ///
    /// Example: skein balance 0b9d…e1
    Balance {
        /// The account or chain.
        account: Option<Account>,
    },

    /// Transfer tokens between accounts. From a chain of the wallet, or from your account
    /// on any chain (then the tokens are claimed from there).
    ///
    /// Example: skein transfer 1.5 --from 0b9d…e1 --to 77ac…02
    Transfer {
        /// How many tokens, with up to 18 decimals ("1.5").
        amount: Amount,
        /// The account to debit (`owner@chain` or a chain); the default chain if omitted.
        #[arg(long)]
        from: Option<Account>,
        /// The account to credit (`owner@chain` or a chain).
        #[arg(long)]
        to: Account,
    },

    /// Open a new chain, funded from a chain of the wallet, for a key of this wallet (a new
    /// one if --owner is omitted) or of someone else.
    ///
    /// Example: skein open-chain --owner 5f2c…9a --initial-balance 10
    OpenChain {
        /// The chain paying for it; the default chain if omitted.
        #[arg(long)]
        from: Option<ChainId>,
        /// The public key of the new chain's owner; a fresh key of this wallet if omitted.
        #[arg(long)]
        owner: Option<PublicKey>,
        /// Tokens moved to the new chain.
        #[arg(long, default_value = "0")]
        initial_balance: Amount,
    },

    /// Publish an application's code, its contract and service modules (built for
    /// `wasm32-unknown-unknown`), from a chain of the wallet; prints the bytecode id.
    ///
    /// Example: skein publish-bytecode target/wasm32-unknown-unknown/release/my_app_contract.wasm target/wasm32-unknown-unknown/release/my_app_service.wasm
    PublishBytecode {
        /// The contract's module.
        contract: PathBuf,
        /// The service's module.
        service: PathBuf,
        /// The chain that publishes it; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Create an application from published bytecode, on a chain of the wallet, where it
    /// is instantiated; prints the application id.
    ///
    /// Example: skein create-application 3f1e…c0:9a4b…d2 --json-parameters '{"ticker":"SKN"}' --json-argument '{"accounts":[]}'
    CreateApplication {
        /// The bytecode id `skein publish-bytecode` printed.
        bytecode_id: BytecodeId,
        /// What the application is created with.
        #[command(flatten)]
        arguments: ApplicationArguments,
        /// The chain that creates it; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Publish an application's modules and create the application from them, in two
    /// blocks of one chain; prints the application id.
    ///
    /// Example: skein publish-and-create counter_contract.wasm counter_service.wasm --json-argument 5
    PublishAndCreate {
        /// The contract's module.
        contract: PathBuf,
        /// The service's module.
        service: PathBuf,
        /// What the application is created with.
        #[command(flatten)]
        arguments: ApplicationArguments,
        /// The chain that publishes and creates it; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Ask a chain where an application is registered (its creator, say) to register it on
    /// a chain of the wallet too; run `skein process-inbox` on that chain once the other
    /// chain has answered.
    ///
    /// Example: skein request-application 5d0c…7e --from 77ac…02
    RequestApplication {
        /// The application.
        application_id: ApplicationId,
        /// A chain that knows it.
        #[arg(long)]
        from: ChainId,
        /// The chain that wants it; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Run an application's operation, written in JSON, in a block of a chain of the
    /// wallet: the application's service encodes it as its contract reads it.
    ///
    /// Example: skein execute-operation 5d0c…7e '{"Post":{"text":"hello"}}'
    ExecuteOperation {
        /// The application.
        application_id: ApplicationId,
        /// The operation, in JSON.
        operation: String,
        /// The chain whose block runs it; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Ask an application's service a JSON query about a chain (after bringing the chain
    /// up to date); prints the JSON answer.
    ///
    /// Example: skein query-application 5d0c…7e '"Accounts"'
    QueryApplication {
        /// The application.
        application_id: ApplicationId,
        /// The query, in JSON.
        query: String,
        /// The chain to ask about; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Close a chain of the wallet for good: it will only reject incoming messages, so
    /// transfers to it bounce back.
    ///
    /// Example: skein close-chain 77ac…02
    CloseChain {
        /// The chain.
        chain: ChainId,
    },

    /// Hand a chain of the wallet to other keys: one owner (--owner), or several who share
    /// it (--owners, with weights for the leader draw), or super owners whose blocks
    /// confirm in one round trip (--super-owners; the chain then stays in that fast round),
    /// or to the validators, who take turns receiving its messages (--public).
    ///
    /// Example: skein change-ownership 77ac…02 --owners 5f2c…9a 0d3b…41:2 --multi-leader-rounds 3
    ChangeOwnership(ChangeOwnershipOptions),

    /// Start proposing on a chain a key of this wallet owns (say, a chain shared with
    /// another wallet): add it to the wallet and bring it up to date.
    ///
    /// Example: skein assign 77ac…02
    Assign {
        /// The chain.
        chain: ChainId,
        /// The wallet key to propose with; any owning key of the wallet if omitted.
        #[arg(long)]
        key: Option<PublicKey>,
    },

    /// Bring the wallet's view of a chain up to date with the validators; a chain owned by
    /// one of the wallet's keys is added to the wallet.
    ///
    /// Example: skein sync 77ac…02
    Sync {
        /// The chain; the default chain if omitted.
        chain: Option<ChainId>,
    },

    /// Receive what other chains sent: pick every pending message into blocks.
    ///
    /// Example: skein process-inbox 77ac…02
    ProcessInbox {
        /// The chain; the default chain if omitted.
        chain: Option<ChainId>,
    },

    /// See and change the committee: the admin chain's owners create a new epoch with a
    /// validator added, removed or moved.
    #[command(subcommand)]
    Validator(ValidatorCommand),

    /// End every live epoch up to EPOCH (older than the current one): their committees
    /// certify no new blocks. Run by an owner of the admin chain.
    ///
    /// Example: skein revoke-epochs 2
    RevokeEpochs {
        /// The last epoch to revoke.
        epoch: u32,
    },

    /// Check every validator of the committee: reachable, how fast, how far it has a chain
    /// (its height and state hash).
    ///
    /// Example: skein query-validators --chain 77ac…02
    QueryValidators {
        /// The chain asked about; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },

    /// Show a block of a chain.
    ///
    /// Example: skein show-block 77ac…02 3
    ShowBlock {
        /// The chain.
        chain: ChainId,
        /// The height.
        height: u64,
    },

    /// Print notifications (new blocks, incoming messages) as they arrive, until Ctrl-C.
    ///
    /// Example: skein watch 77ac…02
    Watch {
        /// The chain; every chain of the wallet if omitted.
        chain: Option<ChainId>,
    },

    /// Serve the wallet's chains over GraphQL on 127.0.0.1 until Ctrl-C: queries, transfers
    /// and other blocks, notifications as subscriptions, and each application's service at
    /// /chains/CHAIN/applications/APPLICATION. Open the address in a browser for GraphiQL.
    /// The wallet stays locked while it runs.
    ///
    /// Example: skein service --port 8080
    Service(ServiceOptions),

    /// Load a running network with transfers between many chains, and report throughput
    /// and latency.
    ///
    /// Example: skein benchmark --chains 16 --transfers 20000
    Benchmark(BenchmarkOptions),

    /// Write, test and build applications.
    ///
    /// Example: skein project new my-app
    #[command(subcommand)]
    Project(ProjectCommand),

    /// Run a validator, or one of its shards (what `skein-server` does; `net up` uses it).
    #[command(hide = true)]
    Server(ServerOptions),

    /// Run a validator's proxy (what `skein-proxy` does; `net up` uses it).
    #[command(hide = true)]
    Proxy {
        /// The validator's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

/// Options of `skein change-ownership`.
#[derive(Args, Clone)]
pub struct ChangeOwnershipOptions {
    /// The chain.
    pub chain: ChainId,
    /// Hand the chain to this one key, which proposes in the fast round (the same as
    /// `--super-owners KEY`).
    #[arg(long, conflicts_with_all = [
        "owners", "super_owners", "public", "multi_leader_rounds", "open_multi_leader_rounds",
        "base_timeout_ms", "timeout_increment_ms",
    ])]
    pub owner: Option<PublicKey>,
    /// Owners sharing the chain, each as KEY or KEY:WEIGHT (weight 1 if omitted): any of
    /// them proposes in the multi-leader rounds, then one per round, drawn by weight.
    #[arg(long, num_args = 1.., value_name = "KEY[:WEIGHT]")]
    pub owners: Vec<WeightedKey>,
    /// Super owners: they propose in the fast round, where a block confirms in one round
    /// trip. A super owner must never propose two blocks at one height.
    #[arg(long, num_args = 1.., value_name = "KEY")]
    pub super_owners: Vec<PublicKey>,
    /// Make the chain public: validators take turns proposing, and its blocks only receive
    /// messages. No one can run an operation on it again, so this cannot be undone.
    #[arg(long, conflicts_with_all = [
        "owners", "super_owners", "multi_leader_rounds", "open_multi_leader_rounds",
    ])]
    pub public: bool,
    /// Rounds at each height in which any owner may propose, before one leader per round.
    #[arg(long, default_value_t = 2)]
    pub multi_leader_rounds: u32,
    /// Let anyone, not only owners, propose in the multi-leader rounds.
    #[arg(long)]
    pub open_multi_leader_rounds: bool,
    /// How long the first round lasts before validators may time it out, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub base_timeout_ms: u64,
    /// How much longer each further round lasts, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub timeout_increment_ms: u64,
}

/// A public key with a weight: `KEY` or `KEY:WEIGHT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightedKey {
    /// The key.
    pub key: PublicKey,
    /// Its weight in the single-leader draw.
    pub weight: u64,
}

impl std::str::FromStr for WeightedKey {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let (key, weight) = match value.split_once(':') {
            Some((key, weight)) => {
                let weight = weight
                    .parse::<u64>()
                    .map_err(|_| format!("invalid weight {weight:?}: expected a whole number"))?;
                if weight == 0 {
                    return Err("a weight must be at least 1".into());
                }
                (key, weight)
            }
            None => (value, 1),
        };
        let key = key
            .parse::<PublicKey>()
            .map_err(|error| format!("invalid public key {key:?}: {error}"))?;
        Ok(Self { key, weight })
    }
}

/// Options of a validator process.
#[derive(Args, Clone)]
pub struct ServerOptions {
    /// The validator's configuration file.
    #[arg(long)]
    pub config: PathBuf,
    /// Run only this shard (the others and the proxy run as separate processes).
    #[arg(long)]
    pub shard: Option<usize>,
}

/// `skein net …`
#[derive(Subcommand)]
pub enum NetCommand {
    /// Start validators on this machine, write a funded wallet, print how to use it, and run
    /// until Ctrl-C; then stop every process started.
    ///
    /// Example: skein net up --validators 4 --shards 2 --initial-chains 10
    Up(NetUpOptions),

    /// Start one more validator beside those of a running `net up` (keys and
    /// configuration written beside theirs); it joins the committee once `skein validator
    /// add` creates an epoch with it. Prints its public key and address.
    ///
    /// Example: skein net add-validator --path /tmp/my-net
    AddValidator {
        /// The directory `net up` was started with.
        #[arg(long)]
        path: PathBuf,
        /// The IP address it is reached at.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
    },

    /// Stop validator N of a `net up` network (its processes, by `processes.json`), as an
    /// operator retiring it would: remove it from the committee first.
    ///
    /// Example: skein net stop-validator --path /tmp/my-net 0
    StopValidator {
        /// The directory `net up` was started with.
        #[arg(long)]
        path: PathBuf,
        /// The validator's number (`validator-N`).
        index: usize,
        /// Kill it at once (SIGKILL), as a crash would, instead of asking it to stop.
        #[arg(long)]
        kill: bool,
    },

    /// Give validator N of a `net up` network a new key: writes it beside the old one,
    /// which stays in `previous_key_files`, and restarts the validator with both. Prints
    /// the `skein validator rotate-key` command that puts the new key in the committee.
    ///
    /// Example: skein net rotate-key --path /tmp/my-net 1
    RotateKey {
        /// The directory `net up` was started with.
        #[arg(long)]
        path: PathBuf,
        /// The validator's number (`validator-N`).
        index: usize,
    },
}

/// Options of `skein net up`.
#[derive(Args, Clone)]
pub struct NetUpOptions {
    /// How many validators.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Shards per validator.
    #[arg(long, default_value_t = 2)]
    pub shards: usize,
    /// `memory`, `embedded` (under --path) or a `postgres://` URL; with PostgreSQL every
    /// shard is its own process.
    #[arg(long, default_value = "embedded")]
    pub storage: String,
    /// Genesis chains, all owned by the new wallet.
    #[arg(long, default_value_t = 10)]
    pub initial_chains: usize,
    /// Tokens on each genesis chain.
    #[arg(long, default_value = "1000000")]
    pub initial_balance: Amount,
    /// Where to put configurations, data, logs and the wallet; a new temporary directory
    /// if omitted.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// The IP address each validator is reached at (its proxy listens there; its shards
    /// stay on 127.0.0.1), one per validator in order, or one for all: so that validators
    /// on one machine can be told apart by address, by a firewall or a partition rehearsal.
    ///
    /// Example: --hosts 10.77.0.1,10.77.1.1,10.77.2.1,10.77.3.1
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
    pub hosts: Vec<IpAddr>,
}

/// `skein project …`
#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Write a ready-to-build application crate (a counter: contract, service and tests)
    /// in a new directory NAME.
    ///
    /// Example: skein project new my-app
    New {
        /// The application's name: lowercase letters, digits and `-`.
        name: String,
        /// Where the SDK is, for the new crate's dependency; found beside this `skein`'s
        /// sources if omitted.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Run the application's tests, build its contract and service for Wasm and check that
    /// validators can run both.
    ///
    /// Example: skein project test --path my-app
    Test {
        /// The application's directory; the current one if omitted.
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Build the application for Wasm, publish its code and create it, from a chain of
    /// the wallet; prints the application id.
    ///
    /// Example: skein project publish-and-create --path my-app --json-argument 0
    PublishAndCreate {
        /// The application's directory; the current one if omitted.
        #[arg(long)]
        path: Option<PathBuf>,
        /// What the application is created with.
        #[command(flatten)]
        arguments: ApplicationArguments,
        /// The chain that publishes and creates it; the default chain if omitted.
        #[arg(long)]
        chain: Option<ChainId>,
    },
}

/// `skein wallet …`
#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create an empty wallet for the network of a genesis file.
    ///
    /// Example: skein --wallet me.json wallet init --genesis genesis.json
    Init {
        /// The network's genesis file.
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Show the wallet's chains and keys.
    ///
    /// Example: skein wallet show
    Show,
    /// Print the account owner that signs for a chain of the wallet (the default chain if
    /// none is named): what applications see as the signer.
    ///
    /// Example: skein wallet owner
    Owner {
        /// The chain.
        chain: Option<ChainId>,
    },
}

/// `skein validator …`
#[derive(Subcommand)]
pub enum ValidatorCommand {
    /// Show the committee of every live epoch, as the admin chain holds them.
    ///
    /// Example: skein validator list
    List,
    /// Create the next epoch with one more validator.
    ///
    /// Example: skein validator add --public-key 5f1c…9a --address 127.0.0.1:13400
    Add {
        /// The validator's key (`skein keygen --output FILE` writes one).
        #[arg(long)]
        public_key: ValidatorPublicKey,
        /// Where clients reach its proxy, HOST:PORT.
        #[arg(long)]
        address: String,
        /// Its voting power.
        #[arg(long, default_value_t = 1)]
        votes: u64,
    },
    /// Create the next epoch without a validator.
    ///
    /// Example: skein validator remove 5f1c…9a
    Remove {
        /// The validator's key.
        public_key: ValidatorPublicKey,
    },
    /// Create the next epoch with a validator at a new address (or with a new voting power).
    ///
    /// Example: skein validator set-address 5f1c…9a 127.0.0.1:13500
    SetAddress {
        /// The validator's key.
        public_key: ValidatorPublicKey,
        /// Its new address, HOST:PORT.
        address: String,
        /// Its new voting power; unchanged if omitted.
        #[arg(long)]
        votes: Option<u64>,
    },
    /// Create the next epoch with a validator under a new key, at the same address and
    /// with the same votes. Restart the validator first with the new key as `key_file` and
    /// the old one in `previous_key_files`: it votes with the old key for chains that have
    /// not migrated yet.
    ///
    /// Example: skein validator rotate-key 5f1c…9a --new-public-key 8d2e…41
    RotateKey {
        /// The validator's key in the current committee.
        public_key: ValidatorPublicKey,
        /// The key it votes with from the next epoch on.
        #[arg(long)]
        new_public_key: ValidatorPublicKey,
    },
}

/// Options of `skein benchmark`.
#[derive(Args, Clone)]
pub struct BenchmarkOptions {
    /// Chains to open and fund for the benchmark.
    #[arg(long, default_value_t = 16)]
    pub chains: usize,
    /// Transfers in all.
    #[arg(long, default_value_t = 10_000)]
    pub transfers: usize,
    /// Transfers in each block.
    #[arg(long, default_value_t = 1)]
    pub transfers_per_block: usize,
    /// Blocks proposed concurrently (by different chains).
    #[arg(long)]
    pub clients: Option<usize>,
    /// Transfers per second to aim for; as fast as possible if omitted.
    #[arg(long)]
    pub target_tps: Option<u64>,
    /// The chain that funds the benchmark chains; the default chain if omitted.
    #[arg(long)]
    pub from: Option<ChainId>,
    /// Transfer tokens of `examples/fungible` instead of native tokens: the directory
    /// holding `fungible_contract.wasm` and `fungible_service.wasm` (built with `cargo
    /// build --release --target wasm32-unknown-unknown -p fungible`).
    #[arg(long, value_name = "MODULES_DIR")]
    pub fungible: Option<PathBuf>,
    /// Afterwards, check the network: every chain receives its transfers, the tokens
    /// funded are all there, and every validator agrees on each chain's tip and state
    /// (native tokens only). Exits with an error naming what differs.
    #[arg(long, conflicts_with = "fungible")]
    pub verify: bool,
}

/// The height argument as a [`BlockHeight`].
pub fn height(value: u64) -> BlockHeight {
    BlockHeight(value)
}

/// What an application is created with.
#[derive(Args, Debug)]
pub struct ApplicationArguments {
    /// Its parameters, in JSON, fixed for its life.
    #[arg(long, default_value = "null")]
    pub json_parameters: String,
    /// The argument its contract's `instantiate` gets, in JSON.
    #[arg(long, default_value = "null")]
    pub json_argument: String,
    /// Applications it relies on, registered on the creating chain.
    #[arg(long, num_args = 1..)]
    pub required_application_ids: Vec<ApplicationId>,
}

/// `skein service`
#[derive(Args, Clone, Debug)]
pub struct ServiceOptions {
    /// The port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Refuse mutations: serve queries and notifications only.
    #[arg(long)]
    pub read_only: bool,
    /// Leave incoming messages in the inboxes instead of accepting them in new blocks as
    /// they arrive.
    #[arg(long)]
    pub skip_process_inbox: bool,
}
