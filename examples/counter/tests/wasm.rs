//! The counter compiled to Wasm, run by the validators' runtime: state kept between calls,
//! a failing operation reported with its message, fuel counted alike every time.

use futures::executor::block_on;
use skein_execution::wasm::{Bytecode, Entry, MemoryHost, WasmError, WasmRuntime};
use skein_sdk::{ApplicationId, BlockHeight, CallContext, ChainId, CryptoHash, Timestamp};

fn build(binary: &str) -> Bytecode {
    Bytecode::new(skein_sdk::build::wasm_module(
        env!("CARGO_MANIFEST_DIR"),
        binary,
    ))
}

const FUEL: u64 = 10_000_000;

fn call(
    runtime: &WasmRuntime,
    module: &Bytecode,
    entry: Entry,
    input: u64,
    host: &MemoryHost,
) -> (Result<Vec<u8>, WasmError>, u64) {
    let input = bcs::to_bytes(&input).unwrap();
    let outcome = block_on(runtime.call(module, entry, &input, Box::new(host.clone()), FUEL));
    (outcome.result, outcome.fuel_used)
}

#[test]
fn test_the_counter_runs_in_wasm() {
    let module = build("counter_contract");
    let runtime = WasmRuntime::new().unwrap();
    runtime
        .prepare(&module)
        .expect("the counter follows the convention");
    let context = CallContext {
        application_id: ApplicationId(CryptoHash::of_bytes(b"counter")),
        chain_id: ChainId(CryptoHash::of_bytes(b"chain")),
        height: BlockHeight(3),
        timestamp: Timestamp::from_micros(1),
        authenticated_signer: None,
        message: None,
        authenticated_caller: None,
    };
    let host = MemoryHost::with_context(bcs::to_bytes(&context).unwrap());
    let outcome = block_on(runtime.call(
        &module,
        Entry::Instantiate,
        b"40",
        Box::new(host.clone()),
        FUEL,
    ));
    outcome.result.expect("instantiated from JSON");
    let mut fuel = Vec::new();
    for expected in [41u64, 42] {
        let (result, used) = call(&runtime, &module, Entry::ExecuteOperation, 1, &host);
        assert_eq!(bcs::from_bytes::<u64>(&result.unwrap()).unwrap(), expected);
        fuel.push(used);
    }
    assert_eq!(fuel[0], fuel[1], "the same work burns the same fuel");
    // The contract read its context through the host; the service reads the state.
    let service = build("counter_service");
    let request = br#"{"query": "{ value updatedAt }"}"#;
    let outcome = block_on(runtime.query(&service, request, Box::new(host.clone()), FUEL));
    let answer: serde_json::Value = serde_json::from_slice(&outcome.result.unwrap()).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({ "data": { "value": 42, "updatedAt": 3 } })
    );
    // Its schema is there to explore, as GraphiQL does.
    let request = br#"{"query": "{ __type(name: \"CounterState\") { fields { name } } }"}"#;
    let outcome = block_on(runtime.query(&service, request, Box::new(host.clone()), FUEL));
    let answer = String::from_utf8(outcome.result.unwrap()).unwrap();
    assert!(answer.contains("updatedAt"), "{answer}");
    // A request that is not GraphQL is refused by the service.
    let outcome = block_on(runtime.query(&service, b"null", Box::new(host.clone()), FUEL));
    assert!(outcome.result.is_err());

    // Overflowing fails with the contract's message; the caller drops what it staged.
    let (result, _) = call(&runtime, &module, Entry::ExecuteOperation, u64::MAX, &host);
    match result {
        Err(WasmError::Aborted(message)) => assert!(message.contains("overflow"), "{message}"),
        other => panic!("expected the contract to abort, got {other:?}"),
    }
    // Input that is not an operation fails too.
    let outcome = block_on(runtime.call(
        &module,
        Entry::ExecuteOperation,
        &[1, 2],
        Box::new(host.clone()),
        FUEL,
    ));
    assert!(
        matches!(&outcome.result, Err(WasmError::Aborted(message)) if message.contains("does not decode")),
        "{:?}",
        outcome.result
    );
}
