//! The `skein` command line, its wallet, `skein net up` and `skein benchmark`; the
//! `skein-server` and `skein-proxy` binaries live beside it.

#[macro_use]
mod output;
pub mod benchmark;
pub mod cli;
mod commands;
mod context;
mod describe;
pub mod logging;
pub mod net;
mod node_service;
mod project;
pub mod wallet;

use cli::{Cli, Command, NetCommand, ProjectCommand, WalletCommand};
use context::Context;

/// How long a command waits, after its own work, for certificates still on their way to
/// slower validators.
const BACKGROUND_WAIT: skein_base::TimeDelta = skein_base::TimeDelta::from_secs(10);

/// Runs one `skein` command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let wallet = cli.wallet;
    match cli.command {
        Command::Net(NetCommand::Up(options)) => net::net_up(options, wallet).await,
        Command::Net(NetCommand::AddValidator { path, host }) => {
            net::add_validator(&path, host).await
        }
        Command::Net(NetCommand::StopValidator { path, index, kill }) => {
            net::stop_validator(&path, index, kill).await
        }
        Command::Net(NetCommand::RotateKey { path, index }) => net::rotate_key(&path, index).await,
        Command::Wallet(WalletCommand::Init { genesis }) => commands::wallet_init(wallet, &genesis),
        Command::Wallet(WalletCommand::Show) => commands::wallet_show(wallet),
        Command::Wallet(WalletCommand::Owner { chain }) => commands::wallet_owner(wallet, chain),
        Command::Keygen { output, shard_key } => commands::keygen(wallet, output, shard_key),
        // Watching runs for long: it reads the wallet once and holds no lock.
        Command::Watch { chain } => commands::watch(wallet, chain).await,
        Command::Server(options) => {
            let config = skein_rpc::config::ValidatorConfig::load(&options.config)?;
            match options.shard {
                Some(index) => {
                    skein_rpc::run_shard(config, index, logging::shutdown_signal()).await?
                }
                None => skein_rpc::run_validator(config, logging::shutdown_signal()).await?,
            }
            Ok(())
        }
        Command::Proxy { config } => {
            let config = skein_rpc::config::ValidatorConfig::load(&config)?;
            Ok(skein_rpc::run_proxy(config, logging::shutdown_signal()).await?)
        }
        Command::Project(ProjectCommand::New { name, sdk }) => project::new(&name, sdk),
        Command::Project(ProjectCommand::Test { path }) => project::test(path),
        Command::Project(ProjectCommand::PublishAndCreate {
            path,
            arguments,
            chain,
        }) => {
            // Built before the wallet is locked: a build takes a while.
            let modules = project::build(path)?;
            let command = Command::PublishAndCreate {
                contract: modules.contract,
                service: modules.service,
                arguments,
                chain,
            };
            run_in_wallet(wallet, command).await
        }
        Command::Service(options) => {
            let context = Context::open(wallet).await?;
            node_service::serve(context, options, logging::shutdown_signal()).await
        }
        command => run_in_wallet(wallet, command).await,
    }
}

/// Runs a command that needs the wallet, then lets its deliveries finish.
async fn run_in_wallet(wallet: Option<std::path::PathBuf>, command: Command) -> anyhow::Result<()> {
    let mut context = Context::open(wallet).await?;
    let result = run_with_context(&mut context, command).await;
    // Let deliveries to slower validators finish: exiting would cut them short.
    context
        .client
        .finish_background_tasks_before_exit(BACKGROUND_WAIT)
        .await;
    result
}

async fn run_with_context(context: &mut Context, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Balance { account } => commands::balance(context, account).await,
        Command::Transfer { amount, from, to } => {
            commands::transfer(context, amount, from, to).await
        }
        Command::OpenChain {
            from,
            owner,
            initial_balance,
        } => commands::open_chain(context, from, owner, initial_balance).await,
        Command::CloseChain { chain } => commands::close_chain(context, chain).await,
        Command::PublishBytecode {
            contract,
            service,
            chain,
        } => commands::publish_bytecode(context, contract, service, chain).await,
        Command::CreateApplication {
            bytecode_id,
            arguments,
            chain,
        } => commands::create_application(context, bytecode_id, arguments, chain).await,
        Command::PublishAndCreate {
            contract,
            service,
            arguments,
            chain,
        } => commands::publish_and_create(context, contract, service, arguments, chain).await,
        Command::RequestApplication {
            application_id,
            from,
            chain,
        } => commands::request_application(context, application_id, from, chain).await,
        Command::ExecuteOperation {
            application_id,
            operation,
            chain,
        } => commands::execute_operation(context, application_id, &operation, chain).await,
        Command::QueryApplication {
            application_id,
            query,
            chain,
        } => commands::query_application(context, application_id, &query, chain).await,
        Command::ChangeOwnership(options) => commands::change_ownership(context, options).await,
        Command::Assign { chain, key } => commands::assign(context, chain, key).await,
        Command::Sync { chain } => commands::sync(context, chain).await,
        Command::ProcessInbox { chain } => commands::process_inbox(context, chain).await,
        Command::QueryValidators { chain } => commands::query_validators(context, chain).await,
        Command::Validator(command) => commands::validator(context, command).await,
        Command::RevokeEpochs { epoch } => commands::revoke_epochs(context, epoch).await,
        Command::ShowBlock { chain, height } => {
            commands::show_block(context, chain, cli::height(height)).await
        }
        Command::Benchmark(options) => {
            let report = benchmark::benchmark(context, options).await?;
            output_line!(
                "blocks failed: {}, elapsed: {:.2} s",
                report.errors,
                report.elapsed.as_secs_f64()
            );
            output_line!(
                "transfers/s: {:.0}  latency p50/p90/p99 ms: {:.1}/{:.1}/{:.1}",
                report.transfers_per_second(),
                report.latency_ms(0.5),
                report.latency_ms(0.9),
                report.latency_ms(0.99)
            );
            if let Some(verification) = report.verification {
                output_line!(
                    "verified: {} validators agree on the tips of {} chains, which hold the {} tokens they were funded with",
                    verification.validators, verification.chains, verification.total
                );
            }
            Ok(())
        }
        Command::Net(_)
        | Command::Wallet(_)
        | Command::Keygen { .. }
        | Command::Watch { .. }
        | Command::Server(_)
        | Command::Proxy { .. }
        | Command::Service(_)
        | Command::Project(_) => {
            unreachable!("handled without a wallet context")
        }
    }
}
