//! Publishing application code: the modules travel in a block and every validator stores
//! them as blobs when it commits it; what is not Wasm is refused before it is signed.

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
    let huge = vec![0; skein_base::limits::BYTECODE_BYTES_MAX + 1];
    assert!(chain.publish_bytecode(module(""), huge).await.is_err());
    // Nothing was signed: the chain is where it was.
    assert_eq!(
        state_at(&network, 0, network.chain_id(0)).await.0,
        skein_base::BlockHeight(0)
    );
}
