//! Publishing application code: the modules travel in a block and every validator stores
//! them as blobs when it commits it; what is not Wasm, or not a module Skein can run, is
//! refused before it is signed.

use skein_base::TimeDelta;
use skein_core::{ClientError, ValidatorNode};

use super::common::*;

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 0))
            {body})"#
    ))
    .expect("a valid module")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_published_modules_are_stored_by_every_validator() {
    let network = network(4, 2, 1).await;
    let client = client(&network).await;
    let chain = network.chain_client(&client, 0);
    let contract = module(r#"(func (export "skein_execute_operation") (param i32 i32))"#);
    let service = module(r#"(func (export "skein_handle_query") (param i32 i32))"#);
    let (id, _) = chain
        .publish_bytecode(contract.clone(), service.clone())
        .await
        .unwrap();
    client
        .finish_background_tasks(TimeDelta::from_secs(5))
        .await;
    for index in 0..4 {
        let validator = network.validator(index);
        assert_eq!(
            validator.download_blob(id.contract).await.unwrap(),
            Some(contract.clone())
        );
        assert_eq!(
            validator.download_blob(id.service).await.unwrap(),
            Some(service.clone())
        );
    }
    // The client's own node keeps them too.
    assert_eq!(
        client
            .local_node()
            .handle_chain_info_query(skein_core::ChainInfoQuery::new(network.chain_id(0)))
            .await
            .unwrap()
            .next_block_height,
        skein_base::BlockHeight(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_what_is_not_wasm_is_refused_before_signing() {
    let network = network(4, 1, 1).await;
    let client = client(&network).await;
    let chain = network.chain_client(&client, 0);
    let refused = chain
        .publish_bytecode(b"#!/bin/sh".to_vec(), module(""))
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Local(error)) if error.to_string().contains("not Wasm")),
        "{refused:?}"
    );
    // Wasm, but not a module Skein can run: refused when executed, so never signed.
    let no_alloc = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let refused = chain.publish_bytecode(module(""), no_alloc).await;
    assert!(
        matches!(&refused, Err(ClientError::Local(error))
            if error.to_string().contains("the service module cannot run")),
        "{refused:?}"
    );
    let imports = wat::parse_str(
        r#"(module (import "env" "abort" (func)) (memory (export "memory") 1)
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let refused = chain.publish_bytecode(imports, module("")).await;
    assert!(
        matches!(&refused, Err(ClientError::Local(error))
            if error.to_string().contains("the contract module cannot run")),
        "{refused:?}"
    );
    let huge = vec![0; skein_base::limits::BYTECODE_BYTES_MAX + 1];
    assert!(chain.publish_bytecode(module(""), huge).await.is_err());
    // Nothing was signed: the chain is where it was.
    assert_eq!(
        state_at(&network, 0, network.chain_id(0)).await.0,
        skein_base::BlockHeight(0)
    );
}

/// A client that skips its own execution and signs a publication of a module that cannot
/// run gets no vote: every validator compiles the modules when it executes the block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_validators_refuse_to_vote_for_a_module_that_cannot_run() {
    let network = network(4, 1, 1).await;
    let no_alloc = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let block = skein_chain::ProposedBlock {
        chain_id: network.chain_id(0),
        epoch: skein_base::Epoch::ZERO,
        height: skein_base::BlockHeight(0),
        timestamp: skein_base::Timestamp::default(),
        authenticated_signer: Some(network.owner(0)),
        previous_block_hash: None,
        incoming_bundles: Vec::new(),
        operations: vec![skein_execution::Operation::System(
            skein_execution::SystemOperation::PublishBytecode {
                contract: module(""),
                service: no_alloc,
            },
        )],
    };
    let proposal = skein_chain::BlockProposal::new(
        skein_chain::ProposalContent {
            block,
            round: skein_base::Round::Fast,
        },
        &network.owner_keys[0],
    );
    for node in &network.nodes {
        let refused = node.handle_block_proposal(proposal.clone()).await;
        assert!(
            matches!(&refused, Err(error) if error.to_string().contains("the service module cannot run")),
            "{refused:?}"
        );
    }
}
