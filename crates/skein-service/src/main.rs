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
    if let Err(error) = skein_service::run(cli).await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
