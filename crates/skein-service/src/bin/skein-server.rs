//! `skein-server`: a validator in one process (proxy and every shard), or one shard of a
//! validator whose shards share a database.
//!
//! ```text
//! skein-server --config validator-0.toml             # the whole validator
//! skein-server --config validator-0.toml --shard 1   # shard 1 only (PostgreSQL storage)
//! ```

use std::path::PathBuf;

use clap::Parser;

/// mimalloc: the protocol allocates many small buffers per request, which it serves
/// markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use skein_rpc::config::ValidatorConfig;
use skein_service::logging;

/// Runs a Skein validator, or one of its shards.
#[derive(Parser)]
#[command(name = "skein-server", version, about)]
struct Options {
    /// The validator's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Run only this shard (the others and the proxy run as separate processes).
    #[arg(long)]
    shard: Option<usize>,
    /// Worker threads; one per core if omitted. Several validators sharing one machine
    /// (`skein net up`) run best with one each.
    #[arg(long)]
    threads: Option<usize>,
}

fn main() {
    logging::init("info");
    let options = Options::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = options.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    runtime.block_on(serve(options));
}

async fn serve(options: Options) {
    let result = async {
        let config = ValidatorConfig::load(&options.config)?;
        match options.shard {
            Some(index) => skein_rpc::run_shard(config, index, logging::shutdown_signal()).await?,
            None => skein_rpc::run_validator(config, logging::shutdown_signal()).await?,
        }
        anyhow::Ok(())
    }
    .await;
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
