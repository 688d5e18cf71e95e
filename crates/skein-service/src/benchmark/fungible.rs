//! `skein benchmark --fungible`: the token of `examples/fungible`, published and handed to
//! every benchmark chain, whose transfers the benchmark makes instead of native ones.

use std::{collections::HashMap, path::Path};

use anyhow::{bail, Context as _};
use serde::Serialize;
use skein_base::{limits, AccountOwner, Amount, ApplicationId, ChainId};
use skein_core::ChainClient;
use skein_execution::Operation;
use skein_views::MemoryStore;

/// The token's transfer as its contract reads it (BCS): checked at set-up against what the
/// token's own service encodes, so a different module is refused rather than misused.
#[derive(Serialize)]
enum TokenOperation {
    Transfer {
        owner: AccountOwner,
        amount: Amount,
        target: TokenAccount,
    },
}

#[derive(Serialize)]
struct TokenAccount {
    chain_id: ChainId,
    owner: AccountOwner,
}

/// The token and who owns each benchmark chain.
pub struct Token {
    id: ApplicationId,
    owners: HashMap<ChainId, AccountOwner>,
}

impl Token {
    /// The operation moving `amount` of the token from `sender`'s owner to `recipient`'s.
    fn operation(&self, sender: ChainId, recipient: ChainId, amount: Amount) -> Operation {
        let operation = TokenOperation::Transfer {
            owner: self.owners[&sender],
            amount,
            target: TokenAccount {
                chain_id: recipient,
                owner: self.owners[&recipient],
            },
        };
        Operation::User {
            application_id: self.id,
            bytes: bcs::to_bytes(&operation).expect("an operation encodes"),
        }
    }

    /// The benchmark's transfer: one atto from `sender`'s owner to `recipient`'s.
    pub fn transfer(&self, sender: ChainId, recipient: ChainId) -> Operation {
        self.operation(sender, recipient, Amount::from_attos(1))
    }
}

/// The token's two modules, read from `directory` (before anything is spent).
pub struct Modules {
    contract: Vec<u8>,
    service: Vec<u8>,
}

impl Modules {
    /// Reads `fungible_contract.wasm` and `fungible_service.wasm` in `directory`.
    pub fn read(directory: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            let path = directory.join(name);
            std::fs::read(&path).with_context(|| {
                format!(
                    "cannot read {} (build it: cargo build --release --target wasm32-unknown-unknown -p fungible)",
                    path.display()
                )
            })
        };
        Ok(Self {
            contract: read("fungible_contract.wasm")?,
            service: read("fungible_service.wasm")?,
        })
    }
}

/// Publishes the token from the first chain and gives every other chain's owner a
/// thousand tokens on its own chain.
pub async fn set_up(
    modules: Modules,
    chains: &[ChainClient<MemoryStore>],
) -> anyhow::Result<Token> {
    let creator = &chains[0];
    let (code, _) = creator
        .publish_bytecode(modules.contract, modules.service)
        .await?;
    let supply = Amount::from_tokens(1_000).try_mul(chains.len() as u128)?;
    let argument = format!(r#"{{"accounts":[["{}","{supply}"]]}}"#, creator.owner());
    let (id, _) = creator
        .create_application(
            code,
            br#"{"ticker":"BENCH"}"#.to_vec(),
            argument.into_bytes(),
            Vec::new(),
        )
        .await?;
    let token = Token {
        id,
        owners: chains
            .iter()
            .map(|chain| (chain.chain_id(), chain.owner()))
            .collect(),
    };
    check_encoding(creator, &token).await?;
    let grants: Vec<Operation> = chains[1..]
        .iter()
        .map(|chain| {
            token.operation(
                creator.chain_id(),
                chain.chain_id(),
                Amount::from_tokens(1_000),
            )
        })
        .collect();
    for batch in grants.chunks(limits::OPERATIONS_PER_BLOCK_MAX) {
        creator.execute_operations(batch.to_vec()).await?;
    }
    for chain in &chains[1..] {
        chain.process_inbox().await?;
    }
    output_line!("published the token {id}; each chain holds 1000");
    Ok(token)
}

/// Whether the token's service encodes a transfer as [`Token::transfer`] does.
async fn check_encoding(creator: &ChainClient<MemoryStore>, token: &Token) -> anyhow::Result<()> {
    let chain_id = creator.chain_id();
    let json = format!(
        r#"{{"Transfer":{{"owner":"{owner}","amount":"0.000000000000000001","target":{{"chain_id":"{chain_id}","owner":"{owner}"}}}}}}"#,
        owner = creator.owner()
    );
    let encoded = creator
        .encode_operation(token.id, json.into_bytes())
        .await?;
    let Operation::User { bytes, .. } = token.transfer(chain_id, chain_id) else {
        unreachable!("a token transfer is a user operation")
    };
    if encoded != bytes {
        bail!("these modules are not the token of examples/fungible: they encode transfers differently");
    }
    Ok(())
}
