//! The schema of `/chains/CHAIN/applications/APPLICATION`: one application on one chain.
//!
//! An application's service reads and answers JSON, in the types its author chose; this
//! schema carries that JSON. A query asks the service, as of the chain's latest block
//! this node has; a mutation has the service encode operations and runs them in a new
//! block of the chain, answering the block's hash once it is confirmed. Aliases ask
//! several questions at once:
//!
//! ```graphql
//! query { ticker: query(request: "Ticker") bob: query(request: {Balance: {owner: "…"}}) }
//! mutation { execute(operation: {Transfer: {owner: "…", amount: "30", target: {…}}}) }
//! ```

use async_graphql::{Context, Json, Object};
use serde_json::Value;
use skein_base::{ApplicationId, ChainId};
use skein_execution::Operation;

use super::{failure, objects::node, scalars::CryptoHash, Result};

/// How many operations one `execute` mutation may put in its block.
pub const OPERATIONS_PER_MUTATION_MAX: usize = 100;

/// The application and chain a request addresses, from its path.
#[derive(Clone, Copy)]
pub struct Target {
    pub chain_id: ChainId,
    pub application_id: ApplicationId,
}

fn target(context: &Context<'_>) -> Target {
    *context.data_unchecked::<Target>()
}

/// What an application's endpoint answers.
pub struct ApplicationQuery;

#[Object]
impl ApplicationQuery {
    /// The application's service's answer to `request` (JSON, in the service's own types;
    /// `null` if omitted), about the chain as of its latest block here.
    #[graphql(complexity = "super::COMPLEXITY_SERVICE_CALL")]
    async fn query(
        &self,
        context: &Context<'_>,
        request: Option<Json<Value>>,
    ) -> Result<Json<Value>> {
        let Target {
            chain_id,
            application_id,
        } = target(context);
        let request = serde_json::to_vec(&request.map_or(Value::Null, |request| request.0))?;
        let answer = node(context)
            .client()
            .local_node()
            .query_application(chain_id, application_id, request)
            .await
            .map_err(failure)?;
        let answer: Value = serde_json::from_slice(&answer).map_err(|error| {
            failure(format!(
                "the service answered something that is not JSON: {error}"
            ))
        })?;
        Ok(Json(answer))
    }
}

/// What an application's endpoint does.
pub struct ApplicationMutation;

#[Object]
impl ApplicationMutation {
    /// Runs `operation` (JSON, which the application's service encodes as its contract
    /// reads it) in a new block of the chain, which must be the wallet's; the block's hash.
    #[graphql(complexity = "super::COMPLEXITY_SERVICE_CALL")]
    async fn execute(&self, context: &Context<'_>, operation: Json<Value>) -> Result<CryptoHash> {
        execute(context, vec![operation]).await
    }

    /// Runs several operations, in order, in one new block: all of them, or, if one fails,
    /// none. The block's hash.
    #[graphql(complexity = "super::COMPLEXITY_SERVICE_CALL * operations.len()")]
    async fn execute_all(
        &self,
        context: &Context<'_>,
        operations: Vec<Json<Value>>,
    ) -> Result<CryptoHash> {
        execute(context, operations).await
    }
}

async fn execute(context: &Context<'_>, operations: Vec<Json<Value>>) -> Result<CryptoHash> {
    if operations.is_empty() || operations.len() > OPERATIONS_PER_MUTATION_MAX {
        return Err(failure(format!(
            "a block takes from 1 to {OPERATIONS_PER_MUTATION_MAX} operations, not {}",
            operations.len()
        )));
    }
    let Target {
        chain_id,
        application_id,
    } = target(context);
    let chain = node(context).writer(chain_id).await.map_err(failure)?;
    chain.synchronize().await.map_err(failure)?;
    let mut encoded = Vec::with_capacity(operations.len());
    for operation in operations {
        let bytes = chain
            .encode_operation(application_id, serde_json::to_vec(&operation.0)?)
            .await
            .map_err(failure)?;
        encoded.push(Operation::User {
            application_id,
            bytes,
        });
    }
    let certificate = chain.execute_operations(encoded).await.map_err(failure)?;
    Ok(certificate.hash().into())
}
