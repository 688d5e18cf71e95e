//! The counter compiled to Wasm, run by the validators' runtime: state kept between calls,
//! a failing operation reported with its message, fuel counted alike every time.

use std::{collections::BTreeMap, path::PathBuf, process::Command, sync::Arc};

use futures::{executor::block_on, future::BoxFuture};
use parking_lot::Mutex;
use skein_execution::wasm::{Entry, Host, HostError, WasmError, WasmRuntime};

/// Builds this crate for `wasm32-unknown-unknown` (in its own target directory, so as not
/// to wait on the build that runs this test) and returns the module.
fn build() -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("../../target"), PathBuf::from)
        .join("wasm-guests");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the counter for Wasm failed");
    std::fs::read(target.join("wasm32-unknown-unknown/release/counter.wasm")).expect("the module")
}

/// The chain side: a map shared with the test.
#[derive(Clone, Default)]
struct MapHost(Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>);

impl Host for MapHost {
    fn read(&mut self, key: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>, HostError>> {
        Box::pin(async move { Ok(self.0.lock().get(&key).cloned()) })
    }

    fn find_keys(&mut self, prefix: Vec<u8>) -> BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>> {
        Box::pin(async move {
            Ok(self
                .0
                .lock()
                .keys()
                .filter_map(|key| key.strip_prefix(prefix.as_slice()).map(<[u8]>::to_vec))
                .collect())
        })
    }

    fn write(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), HostError> {
        self.0.lock().insert(key, value);
        Ok(())
    }

    fn remove(&mut self, key: Vec<u8>) -> Result<(), HostError> {
        self.0.lock().remove(&key);
        Ok(())
    }

    fn context(&self) -> Vec<u8> {
        Vec::new()
    }
}

const FUEL: u64 = 10_000_000;

fn call(
    runtime: &WasmRuntime,
    module: &[u8],
    entry: Entry,
    input: u64,
    host: &MapHost,
) -> (Result<Vec<u8>, WasmError>, u64) {
    let input = bcs::to_bytes(&input).unwrap();
    let outcome = block_on(runtime.call(module, entry, &input, Box::new(host.clone()), FUEL));
    (outcome.result, outcome.fuel_used)
}

#[test]
fn test_the_counter_runs_in_wasm() {
    let module = build();
    let runtime = WasmRuntime::new().unwrap();
    runtime
        .prepare(&module)
        .expect("the counter follows the convention");
    let host = MapHost::default();
    let (result, _) = call(&runtime, &module, Entry::Instantiate, 40, &host);
    result.expect("instantiated");
    let mut fuel = Vec::new();
    for expected in [41u64, 42] {
        let (result, used) = call(&runtime, &module, Entry::ExecuteOperation, 1, &host);
        assert_eq!(bcs::from_bytes::<u64>(&result.unwrap()).unwrap(), expected);
        fuel.push(used);
    }
    assert_eq!(fuel[0], fuel[1], "the same work burns the same fuel");

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
