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
    // SIGPIPE stays ignored, as the Rust runtime leaves it: a socket of a validator that
    // died gives EPIPE, an error the client handles. A reader of our output that goes away
    // ends the command by SIGPIPE all the same (see skein_service's output module).
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
