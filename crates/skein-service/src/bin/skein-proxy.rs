//! `skein-proxy`: the public endpoint of a validator whose shards run as separate processes.
//!
//! ```text
//! skein-proxy --config validator-0.toml
//! ```

use std::path::PathBuf;

use clap::Parser;

/// mimalloc: the protocol allocates many small buffers per request, which it serves
/// markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use skein_rpc::config::ValidatorConfig;
use skein_service::logging;

/// Runs the proxy of a Skein validator.
#[derive(Parser)]
#[command(name = "skein-proxy", version, about)]
struct Options {
    /// The validator's configuration file.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() {
    logging::init("info");
    let options = Options::parse();
    let result = async {
        let config = ValidatorConfig::load(&options.config)?;
        skein_rpc::run_proxy(config, logging::shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
