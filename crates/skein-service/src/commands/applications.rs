//! Commands for applications: publishing their code.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use skein_base::ChainId;
use skein_execution::wasm::{Bytecode, WasmRuntime};

use crate::context::Context;

/// `skein publish-bytecode CONTRACT SERVICE [--chain CHAIN]`
pub async fn publish_bytecode(
    context: &mut Context,
    contract: PathBuf,
    service: PathBuf,
    chain: Option<ChainId>,
) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    let contract = runnable_module(&contract, "contract")?;
    let service = runnable_module(&service, "service")?;
    let chain = context.chain_client(chain_id)?;
    let (id, certificate) = chain.publish_bytecode(contract, service).await?;
    println!("{id}");
    tracing::info!(%chain_id, height = %certificate.value().block.height, "published bytecode");
    Ok(())
}

/// The module at `path`, once validators' runtime agrees it can run it: a module it would
/// refuse is not worth a block.
fn runnable_module(path: &Path, part: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the {part} module {}", path.display()))?;
    WasmRuntime::new()?
        .prepare(&Bytecode::new(bytes.clone()))
        .with_context(|| format!("the {part} module {}", path.display()))?;
    Ok(bytes)
}
