//! What one call into a Wasm contract costs: the counter's operation, run by the
//! validators' runtime (pooled instantiation, module cached, one host read and one write).
//!
//! ```text
//! cargo run --release -p counter --example bench_wasm -- [CALLS]
//! ```

use std::time::Instant;

use futures::executor::block_on;
use skein_execution::wasm::{Bytecode, Entry, MemoryHost, WasmRuntime};

fn main() {
    let calls: u32 = std::env::args()
        .nth(1)
        .map_or(Ok(20_000), |text| text.parse())
        .unwrap_or_else(|error| panic!("CALLS must be a number: {error}"));
    let module = Bytecode::new(skein_sdk::build::wasm_module(
        env!("CARGO_MANIFEST_DIR"),
        "counter_contract",
    ));
    let runtime = WasmRuntime::new().expect("runtime");
    let context = skein_sdk::CallContext {
        application_id: skein_sdk::ApplicationId(skein_sdk::CryptoHash::of_bytes(b"counter")),
        chain_id: skein_sdk::ChainId(skein_sdk::CryptoHash::of_bytes(b"chain")),
        height: skein_sdk::BlockHeight(1),
        timestamp: skein_sdk::Timestamp::from_micros(1),
        authenticated_signer: None,
        message: None,
        authenticated_caller: None,
    };
    let host = MemoryHost::with_context(bcs::to_bytes(&context).expect("encodes"));
    let argument = b"0".to_vec();
    let compile = Instant::now();
    runtime.prepare(&module).expect("the counter compiles");
    let compile = compile.elapsed();
    let outcome = block_on(runtime.call(
        &module,
        Entry::Instantiate,
        &argument,
        Box::new(host.clone()),
        u64::MAX,
    ));
    outcome.result.expect("instantiated");

    let increment = bcs::to_bytes(&1u64).expect("encodes");
    let mut fuel = 0;
    let start = Instant::now();
    for _ in 0..calls {
        let outcome = block_on(runtime.call(
            &module,
            Entry::ExecuteOperation,
            &increment,
            Box::new(host.clone()),
            10_000_000,
        ));
        outcome.result.expect("the operation succeeds");
        fuel = outcome.fuel_used;
    }
    let elapsed = start.elapsed();
    println!(
        "module: {} bytes, compiled in {compile:.1?}; {calls} operations in {elapsed:.2?}: {:.1} us per operation, {fuel} fuel each",
        module.bytes().len(),
        elapsed.as_secs_f64() * 1e6 / f64::from(calls),
    );
}
