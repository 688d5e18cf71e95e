//! Commands for applications: publishing their code, creating them, asking their
//! services.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use skein_base::{ApplicationId, BytecodeId, ChainId};
use skein_core::ChainClient;
use skein_execution::wasm::{Bytecode, WasmRuntime};
use skein_storage::LogStore;

use crate::{cli::ApplicationArguments, context::Context};

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
    output_line!("{id}");
    tracing::info!(%chain_id, height = %certificate.value().block.height, "published bytecode");
    Ok(())
}

/// `skein create-application BYTECODE_ID [ARGUMENTS] [--chain CHAIN]`
pub async fn create_application(
    context: &mut Context,
    bytecode_id: BytecodeId,
    arguments: ApplicationArguments,
    chain: Option<ChainId>,
) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    let arguments = CreationArguments::parse(arguments)?;
    let chain = context.chain_client(chain_id)?;
    let id = create(&chain, bytecode_id, arguments).await?;
    output_line!("{id}");
    Ok(())
}

/// `skein publish-and-create CONTRACT SERVICE [ARGUMENTS] [--chain CHAIN]`
pub async fn publish_and_create(
    context: &mut Context,
    contract: PathBuf,
    service: PathBuf,
    arguments: ApplicationArguments,
    chain: Option<ChainId>,
) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    // Everything is checked before the first block.
    let arguments = CreationArguments::parse(arguments)?;
    let contract = runnable_module(&contract, "contract")?;
    let service = runnable_module(&service, "service")?;
    let chain = context.chain_client(chain_id)?;
    let (bytecode_id, _) = chain.publish_bytecode(contract, service).await?;
    tracing::info!(%chain_id, %bytecode_id, "published bytecode");
    let id = create(&chain, bytecode_id, arguments).await?;
    output_line!("{id}");
    Ok(())
}

/// `skein request-application APPLICATION --from CHAIN [--chain CHAIN]`
pub async fn request_application(
    context: &mut Context,
    application_id: ApplicationId,
    from: ChainId,
    chain: Option<ChainId>,
) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    let chain = context.chain_client(chain_id)?;
    chain.request_application(application_id, from).await?;
    output_line!("asked {from} for application {application_id}; once it answers, run: skein process-inbox {chain_id}");
    Ok(())
}

/// `skein execute-operation APPLICATION OPERATION [--chain CHAIN]`
pub async fn execute_operation(
    context: &mut Context,
    application_id: ApplicationId,
    operation: &str,
    chain: Option<ChainId>,
) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    let operation = json("the operation", operation)?;
    let chain = context.chain_client(chain_id)?;
    chain.synchronize().await?;
    let certificate = chain
        .execute_application_json(application_id, operation)
        .await?;
    output_line!(
        "confirmed at height {} of {chain_id}",
        certificate.value().block.height
    );
    Ok(())
}

/// `skein query-application APPLICATION QUERY [--chain CHAIN]`
pub async fn query_application(
    context: &mut Context,
    application_id: ApplicationId,
    query: &str,
    chain: Option<ChainId>,
) -> anyhow::Result<()> {
    let chain_id = context.chain_or_default(chain)?;
    let query = json("query", query)?;
    let chain = context.chain_client(chain_id)?;
    chain.synchronize().await?;
    let answer = chain.query_application(application_id, query).await?;
    let answer: serde_json::Value = serde_json::from_slice(&answer)
        .context("the service answered something that is not JSON")?;
    output_line!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

/// An application's creation arguments, checked to be JSON.
struct CreationArguments {
    parameters: Vec<u8>,
    argument: Vec<u8>,
    required_application_ids: Vec<ApplicationId>,
}

impl CreationArguments {
    fn parse(arguments: ApplicationArguments) -> anyhow::Result<Self> {
        Ok(Self {
            parameters: json("--json-parameters", &arguments.json_parameters)?,
            argument: json("--json-argument", &arguments.json_argument)?,
            required_application_ids: arguments.required_application_ids,
        })
    }
}

async fn create(
    chain: &ChainClient<LogStore>,
    bytecode_id: BytecodeId,
    arguments: CreationArguments,
) -> anyhow::Result<ApplicationId> {
    let (id, certificate) = chain
        .create_application(
            bytecode_id,
            arguments.parameters,
            arguments.argument,
            arguments.required_application_ids,
        )
        .await?;
    tracing::info!(chain_id = %chain.chain_id(), height = %certificate.value().block.height, %id, "created application");
    Ok(id)
}

/// `text`, checked to be JSON, as bytes.
fn json(what: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    serde_json::from_str::<serde_json::Value>(text)
        .with_context(|| format!("{what} is not valid JSON: {text}"))?;
    Ok(text.as_bytes().to_vec())
}

/// The module at `path`, once it passes the admission check validators run: a module they
/// would refuse is not worth a block.
fn runnable_module(path: &Path, part: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the {part} module {}", path.display()))?;
    WasmRuntime::new()?
        .admit(&Bytecode::new(bytes.clone()))
        .with_context(|| format!("the {part} module {}", path.display()))?;
    Ok(bytes)
}
