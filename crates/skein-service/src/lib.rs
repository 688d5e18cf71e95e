//! The `skein` command line, its wallet, `skein net up` and `skein benchmark`; the
//! `skein-server` and `skein-proxy` binaries live beside it.

pub mod benchmark;
pub mod cli;
mod commands;
mod context;
pub mod logging;
pub mod net;
pub mod wallet;

use cli::{Cli, Command, NetCommand, WalletCommand};
use context::Context;

/// Runs one `skein` command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let wallet = cli.wallet;
    match cli.command {
        Command::Net(NetCommand::Up(options)) => net::net_up(options, wallet).await,
        Command::Wallet(WalletCommand::Init { genesis }) => commands::wallet_init(wallet, &genesis),
        Command::Wallet(WalletCommand::Show) => commands::wallet_show(wallet),
        Command::Keygen { output } => commands::keygen(wallet, output),
        Command::Balance { account } => commands::balance(&mut Context::open(wallet).await?, account).await,
        Command::Transfer { amount, from, to } => {
            commands::transfer(&mut Context::open(wallet).await?, amount, from, to).await
        }
        Command::OpenChain {
            from,
            owner,
            initial_balance,
        } => commands::open_chain(&mut Context::open(wallet).await?, from, owner, initial_balance).await,
        Command::CloseChain { chain } => commands::close_chain(&mut Context::open(wallet).await?, chain).await,
        Command::ChangeOwnership { chain, owner } => {
            commands::change_ownership(&mut Context::open(wallet).await?, chain, owner).await
        }
        Command::Sync { chain } => commands::sync(&mut Context::open(wallet).await?, chain).await,
        Command::ProcessInbox { chain } => {
            commands::process_inbox(&mut Context::open(wallet).await?, chain).await
        }
        Command::QueryValidators => commands::query_validators(&Context::open(wallet).await?).await,
        Command::ShowBlock { chain, height } => {
            commands::show_block(&Context::open(wallet).await?, chain, cli::height(height)).await
        }
        Command::Watch { chain } => commands::watch(&Context::open(wallet).await?, chain).await,
        Command::Benchmark(options) => {
            let mut context = Context::open(wallet).await?;
            let report = benchmark::benchmark(&mut context, options).await?;
            println!(
                "blocks failed: {}, elapsed: {:.2} s",
                report.errors,
                report.elapsed.as_secs_f64()
            );
            println!(
                "transfers/s: {:.0}  latency p50/p90/p99 ms: {:.1}/{:.1}/{:.1}",
                report.transfers_per_second(),
                report.latency_ms(0.5),
                report.latency_ms(0.9),
                report.latency_ms(0.99)
            );
            Ok(())
        }
    }
}
