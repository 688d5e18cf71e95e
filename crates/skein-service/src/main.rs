//! `skein`: the command line of Skein. `skein --help` lists the commands; each has its own
//! `--help` with an example.

use clap::Parser;

/// mimalloc: the protocol allocates many small buffers per request, which it serves
/// markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use skein_service::{cli::Cli, logging};

#[tokio::main]
async fn main() {
    logging::init("warn");
    let cli = Cli::parse();
    use skein_service::cli::Command;
    let owns_processes_or_sockets = matches!(
        cli.command,
        Command::Net(_) | Command::Server(_) | Command::Proxy { .. }
    );
    if !owns_processes_or_sockets {
        // Like other command-line tools, stop quietly when the reader of our output goes
        // away (`skein wallet show | head`). Servers must not: a client closing its
        // connection would kill them; nor `net up`, which owns processes.
        #[cfg(unix)]
        // SAFETY: restoring the default disposition of SIGPIPE, before any thread writes.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if let Err(error) = skein_service::run(cli).await {
        eprintln!("error: {}", one_line(&error));
        std::process::exit(1);
    }
}

/// An error and its causes on one line: some causes (a Wasm module's parse error, say)
/// carry several lines of their own.
fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "Caused by:")
        .collect::<Vec<_>>()
        .join(" ")
}
