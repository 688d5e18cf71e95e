//! A block's fuel is shared by the bundles it receives: when it runs out part-way, the
//! receiving client leaves the remaining bundles for its next block instead of rejecting
//! them.

use skein_base::{limits, SendMessageRequest};

use super::common::*;

/// A contract whose operation sends the message its input describes, and whose message
/// handler burns `iterations` loop turns of fuel and stores the message under "k"; its
/// service answers the value under "k". Its memory holds `pages` of 64 KiB.
pub(super) fn heavy(iterations: u64, pages: u32) -> (Vec<u8>, Vec<u8>) {
    let contract = wat::parse_str(format!(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "write" (func $write (param i32 i32 i32 i32)))
            (import "skein" "send_message" (func $send (param i32 i32)))
            (memory (export "memory") {pages})
            (data (i32.const 0) "k")
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_instantiate") (param i32 i32)
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (call $send (local.get $ptr) (local.get $len))
                (call $output (i32.const 0) (i32.const 0)))
            (func (export "skein_execute_message") (param $ptr i32) (param $len i32)
                (local $left i64)
                (local.set $left (i64.const {iterations}))
                (loop $burn
                    (local.set $left (i64.sub (local.get $left) (i64.const 1)))
                    (br_if $burn (i64.ne (local.get $left) (i64.const 0))))
                (call $write (i32.const 0) (i32.const 1) (local.get $ptr) (local.get $len))
                (call $output (i32.const 0) (i32.const 0))))"#
    ))
    .expect("a valid module");
    let service = wat::parse_str(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "read" (func $read (param i32 i32) (result i32)))
            (import "skein" "take" (func $take (param i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "k")
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_handle_query") (param i32 i32)
                (local $found i32)
                (local.set $found (call $read (i32.const 0) (i32.const 1)))
                (call $take (i32.const 64))
                (call $output (i32.const 64) (local.get $found))))"#,
    )
    .expect("a valid module");
    (contract, service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_bundles_past_the_blocks_fuel_wait_for_the_next_block() {
    let network = network(4, 1, 2).await;
    let client = client(&network).await;
    let sender = network.chain_client(&client, 0);
    let receiver = network.chain_client(&client, 1);
    // Each message burns over half of a block's fuel (a loop turn costs about six units).
    let iterations = limits::FUEL_PER_BLOCK_MAX / 10;
    let (contract, service) = heavy(iterations, 1);
    let (code, _) = sender.publish_bytecode(contract, service).await.unwrap();
    let (app, _) = sender
        .create_application(code, b"null".to_vec(), b"null".to_vec(), Vec::new())
        .await
        .unwrap();
    for byte in [b'1', b'2'] {
        let request = SendMessageRequest {
            destination: receiver.chain_id(),
            authenticated: false,
            tracked: true,
            message: vec![byte],
        };
        sender
            .execute_application_operation(app, bcs::to_bytes(&request).unwrap())
            .await
            .unwrap();
    }
    let blocks = receiver.process_inbox().await.unwrap();
    assert_eq!(blocks.len(), 2, "one heavy message per block");
    for block in &blocks {
        assert!(block
            .value()
            .block
            .incoming_bundles
            .iter()
            .all(|bundle| bundle.action == skein_chain::MessageAction::Accept));
    }
    let value = receiver.query_application(app, Vec::new()).await.unwrap();
    assert_eq!(value, b"2", "both messages ran, in order");
}
