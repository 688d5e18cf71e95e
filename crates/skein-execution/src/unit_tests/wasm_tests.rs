//! The Wasm runtime on hand-written modules: a working one, and one for each way a module
//! can fail. After every failure the same runtime keeps serving.

use futures::{executor::block_on, future::BoxFuture};

use super::*;

/// A host whose store fails every read.
struct BrokenHost;

impl Host for BrokenHost {
    fn read(&mut self, _key: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>, HostError>> {
        Box::pin(async { Err(HostError::Storage("disk on fire".into())) })
    }

    fn find_keys(&mut self, _prefix: Vec<u8>) -> BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>> {
        Box::pin(async { Err(HostError::Storage("disk on fire".into())) })
    }

    fn write(&mut self, _key: Vec<u8>, _value: Vec<u8>) -> Result<(), HostError> {
        Ok(())
    }

    fn remove(&mut self, _key: Vec<u8>) -> Result<(), HostError> {
        Ok(())
    }

    fn context(&self) -> Vec<u8> {
        Vec::new()
    }

    fn parameters(&self) -> Vec<u8> {
        Vec::new()
    }

    fn send_message(&mut self, _request: skein_base::SendMessageRequest) -> Result<(), HostError> {
        Ok(())
    }
}

const FUEL: u64 = 1_000_000;

/// The convention's boilerplate around `body`, the body of `skein_execute_operation`.
fn module(imports: &str, body: &str) -> Bytecode {
    let text = format!(
        r#"(module
            (import "skein" "output" (func $output (param i32 i32)))
            (import "skein" "abort" (func $abort (param i32 i32)))
            (import "skein" "read" (func $read (param i32 i32) (result i32)))
            (import "skein" "take" (func $take (param i32)))
            (import "skein" "write" (func $write (param i32 i32 i32 i32)))
            (import "skein" "context" (func $context (result i32)))
            {imports}
            (memory (export "memory") 1)
            (data (i32.const 0) "n")
            (data (i32.const 32) "no such account")
            (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                (local $found i32)
                {body}))"#
    );
    Bytecode::new(wat::parse_str(text).expect("valid test module"))
}

/// Adds the input's first byte to the counter under key "n" (8 bytes at address 16) and
/// outputs the new value.
fn counter() -> Bytecode {
    module(
        "",
        r#"
        (local.set $found (call $read (i32.const 0) (i32.const 1)))
        (if (i32.ne (local.get $found) (i32.const -1))
            (then (call $take (i32.const 16))))
        (i64.store (i32.const 16)
            (i64.add (i64.load (i32.const 16)) (i64.load8_u (local.get $ptr))))
        (call $write (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 8))
        (call $output (i32.const 16) (i32.const 8))"#,
    )
}

/// Calls the operation entry with input `[5]`: the result and the fuel burnt.
fn call(
    runtime: &WasmRuntime,
    bytecode: &Bytecode,
    host: &MemoryHost,
    fuel: u64,
) -> (Result<Vec<u8>, WasmError>, u64) {
    let outcome = block_on(runtime.call(
        bytecode,
        Entry::ExecuteOperation,
        &[5],
        Box::new(host.clone()),
        fuel,
    ));
    (outcome.result, outcome.fuel_used)
}

fn failure(bytecode: &Bytecode) -> WasmError {
    let runtime = WasmRuntime::new().unwrap();
    let (result, _) = call(&runtime, bytecode, &MemoryHost::default(), FUEL);
    result.expect_err("the call fails")
}

#[test]
fn test_a_module_reads_and_writes_its_state_and_burns_the_same_fuel_every_time() {
    let runtime = WasmRuntime::new().unwrap();
    let bytecode = counter();
    let host = MemoryHost::default();
    let mut fuel_per_call = Vec::new();
    for expected in [5u64, 10, 15] {
        let (result, fuel) = call(&runtime, &bytecode, &host, FUEL);
        assert_eq!(result.unwrap(), expected.to_le_bytes());
        fuel_per_call.push(fuel);
    }
    assert_eq!(host.get(b"n").unwrap(), 15u64.to_le_bytes());
    // The first call found no value; the later two did the same work.
    assert_eq!(fuel_per_call[1], fuel_per_call[2]);
    assert!(fuel_per_call[1] > 3 * skein_base::limits::HOST_CALL_FUEL);
    // A fresh runtime counts exactly the same.
    let (_, fuel) = call(
        &WasmRuntime::new().unwrap(),
        &bytecode,
        &MemoryHost::default(),
        FUEL,
    );
    assert_eq!(fuel, fuel_per_call[0]);
}

#[test]
fn test_an_endless_loop_runs_out_of_fuel() {
    let runtime = WasmRuntime::new().unwrap();
    let endless = module("", "(loop $again (br $again))");
    let (result, fuel) = call(&runtime, &endless, &MemoryHost::default(), FUEL);
    assert_eq!(result, Err(WasmError::OutOfFuel { limit: FUEL }));
    assert_eq!(fuel, FUEL);
    // The runtime is fine afterwards.
    let (result, _) = call(&runtime, &counter(), &MemoryHost::default(), FUEL);
    assert_eq!(result.unwrap(), 5u64.to_le_bytes());
}

#[test]
fn test_host_calls_cost_fuel() {
    let chatty = module(
        "",
        r#"
        (loop $again (drop (call $context)) (br $again))"#,
    );
    let runtime = WasmRuntime::new().unwrap();
    let (result, _) = call(
        &runtime,
        &chatty,
        &MemoryHost::default(),
        10 * skein_base::limits::HOST_CALL_FUEL,
    );
    assert!(matches!(result, Err(WasmError::OutOfFuel { .. })));
}

#[test]
fn test_growing_memory_past_the_limit_fails() {
    let pages = skein_base::limits::WASM_MEMORY_BYTES_MAX / 65_536 + 1;
    let greedy = module("", &format!("(drop (memory.grow (i32.const {pages})))"));
    assert!(matches!(
        failure(&greedy),
        WasmError::MemoryLimit { requested, .. } if requested > skein_base::limits::WASM_MEMORY_BYTES_MAX
    ));
}

#[test]
fn test_imports_the_host_does_not_offer_are_refused() {
    let foreign = module(r#"(import "env" "random" (func $random (result i32)))"#, "");
    assert_eq!(
        failure(&foreign),
        WasmError::MissingImport {
            module: "env".into(),
            name: "random".into()
        }
    );
    let unknown = module(r#"(import "skein" "time" (func $time (result i64)))"#, "");
    assert!(matches!(failure(&unknown), WasmError::MissingImport { name, .. } if name == "time"));
}

#[test]
fn test_traps_and_aborts_fail_the_call() {
    assert!(matches!(
        failure(&module("", "unreachable")),
        WasmError::Trap(_)
    ));
    let divide = module("", "(drop (i32.div_u (i32.const 1) (i32.const 0)))");
    assert!(matches!(failure(&divide), WasmError::Trap(_)));
    let abort = module("", "(call $abort (i32.const 32) (i32.const 15))");
    assert_eq!(
        failure(&abort),
        WasmError::Aborted("no such account".into())
    );
}

#[test]
fn test_memory_past_its_end_traps_and_grown_memory_starts_zeroed() {
    // Bounds are checked in the compiled code: just past the end, and far past it.
    for address in ["65536", "65533", "2147483647"] {
        let past = module("", &format!("(drop (i32.load (i32.const {address})))"));
        assert!(matches!(failure(&past), WasmError::Trap(_)), "{address}");
    }
    // Pooled memories are reused: what one call left in grown memory is gone for the
    // next, whichever slot it gets.
    let dirty = module(
        "",
        r#"(drop (memory.grow (i32.const 1)))
           (if (i32.ne (i32.load (i32.const 65536)) (i32.const 0)) (then unreachable))
           (i32.store (i32.const 65536) (i32.const 0xdead))
           (call $output (i32.const 0) (i32.const 0))"#,
    );
    let runtime = WasmRuntime::new().unwrap();
    for _ in 0..300 {
        let (result, _) = call(&runtime, &dirty, &MemoryHost::default(), FUEL);
        assert_eq!(result, Ok(Vec::new()));
    }
}

#[test]
fn test_breaking_the_convention_fails_the_call() {
    // No output.
    assert!(matches!(failure(&module("", "")), WasmError::Convention(_)));
    // Output twice.
    let twice = module(
        "",
        "(call $output (i32.const 0) (i32.const 1)) (call $output (i32.const 0) (i32.const 1))",
    );
    assert!(matches!(failure(&twice), WasmError::Convention(_)));
    // Output past the end of memory, or with a negative length.
    let outside = module("", "(call $output (i32.const 65000) (i32.const 1000))");
    assert!(matches!(failure(&outside), WasmError::Convention(_)));
    let negative = module("", "(call $output (i32.const 0) (i32.const -1))");
    assert!(matches!(failure(&negative), WasmError::Convention(_)));
    // Taking a result that was never announced.
    let take = module("", "(call $take (i32.const 0))");
    assert!(matches!(failure(&take), WasmError::Convention(_)));
}

#[test]
fn test_modules_missing_parts_of_the_convention_are_refused() {
    let runtime = WasmRuntime::new().unwrap();
    let no_alloc =
        Bytecode::new(wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap());
    assert_eq!(
        runtime.prepare(&no_alloc),
        Err(WasmError::MissingExport("skein_alloc".into()))
    );
    // The operation entry exists, the message entry does not.
    let outcome = block_on(runtime.call(
        &counter(),
        Entry::ExecuteMessage,
        &[1],
        Box::new(MemoryHost::default()),
        FUEL,
    ));
    assert_eq!(
        outcome.result,
        Err(WasmError::MissingExport("skein_execute_message".into()))
    );
    assert!(matches!(
        runtime.prepare(&Bytecode::new(b"not wasm at all".to_vec())),
        Err(WasmError::InvalidModule(_))
    ));
    let huge = Bytecode::new(vec![0; skein_base::limits::BYTECODE_BYTES_MAX + 1]);
    assert!(matches!(
        runtime.prepare(&huge),
        Err(WasmError::BytecodeTooLarge { .. })
    ));
}

#[test]
fn test_a_failing_store_is_the_hosts_fault() {
    let runtime = WasmRuntime::new().unwrap();
    let outcome = block_on(runtime.call(
        &counter(),
        Entry::ExecuteOperation,
        &[5],
        Box::new(BrokenHost),
        FUEL,
    ));
    assert_eq!(outcome.result, Err(WasmError::Host("disk on fire".into())));
}

#[test]
fn test_a_module_removes_keys_and_lists_a_prefix() {
    let lister = module(
        r#"(import "skein" "find_keys" (func $find_keys (param i32 i32) (result i32)))
           (import "skein" "remove" (func $remove (param i32 i32)))
           (data (i32.const 64) "a1a2b3")"#,
        r#"
        (call $write (i32.const 64) (i32.const 2) (i32.const 0) (i32.const 1))
        (call $write (i32.const 66) (i32.const 2) (i32.const 0) (i32.const 1))
        (call $write (i32.const 68) (i32.const 2) (i32.const 0) (i32.const 1))
        (call $remove (i32.const 64) (i32.const 2))
        (local.set $found (call $find_keys (i32.const 64) (i32.const 1)))
        (call $take (i32.const 128))
        (call $output (i32.const 128) (local.get $found))"#,
    );
    let runtime = WasmRuntime::new().unwrap();
    let host = MemoryHost::default();
    let (result, _) = call(&runtime, &lister, &host, FUEL);
    let keys: Vec<Vec<u8>> = bcs::from_bytes(&result.unwrap()).unwrap();
    assert_eq!(keys, vec![b"2".to_vec()]);
    assert_eq!(host.len(), 2);
}

#[test]
fn test_huge_ranges_are_refused_before_anything_is_allocated() {
    // The length is checked against the guest's memory before the host copies anything.
    let huge = module("", "(call $output (i32.const 0) (i32.const 2147483647))");
    assert!(matches!(failure(&huge), WasmError::Convention(_)));
    let huge_key = module(
        "",
        "(drop (call $read (i32.const 0) (i32.const 2147483647)))",
    );
    assert!(matches!(failure(&huge_key), WasmError::Convention(_)));
}

#[test]
fn test_modules_that_cannot_run_are_refused_when_prepared() {
    let runtime = WasmRuntime::new().unwrap();
    let pages = skein_base::limits::WASM_MEMORY_BYTES_MAX / 65_536 + 1;
    let big_memory = Bytecode::new(
        wat::parse_str(format!(
            r#"(module (memory (export "memory") {pages})
                (func (export "skein_alloc") (param i32) (result i32) (i32.const 0)))"#
        ))
        .unwrap(),
    );
    assert!(matches!(
        runtime.prepare(&big_memory),
        Err(WasmError::InvalidModule(_))
    ));
    let wrong_alloc = Bytecode::new(
        wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func (export "skein_alloc") (param i64) (result i32) (i32.const 0)))"#,
        )
        .unwrap(),
    );
    assert!(matches!(
        runtime.prepare(&wrong_alloc),
        Err(WasmError::InvalidModule(_))
    ));
}

#[test]
fn test_a_service_reads_but_cannot_write() {
    let service = |body: &str| {
        Bytecode::new(
            wat::parse_str(format!(
                r#"(module
                    (import "skein" "output" (func $output (param i32 i32)))
                    (import "skein" "read" (func $read (param i32 i32) (result i32)))
                    (import "skein" "take" (func $take (param i32)))
                    (import "skein" "write" (func $write (param i32 i32 i32 i32)))
                    (memory (export "memory") 1)
                    (data (i32.const 0) "n")
                    (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
                    (func (export "skein_handle_query") (param i32 i32) {body}))"#
            ))
            .unwrap(),
        )
    };
    let runtime = WasmRuntime::new().unwrap();
    let host = MemoryHost::default();
    call(&runtime, &counter(), &host, FUEL).0.unwrap();
    let reader = service(
        "(drop (call $read (i32.const 0) (i32.const 1))) (call $take (i32.const 16)) (call $output (i32.const 16) (i32.const 8))",
    );
    let outcome = block_on(runtime.query(&reader, &[], Box::new(host.clone()), FUEL));
    assert_eq!(outcome.result.unwrap(), 5u64.to_le_bytes());
    let writer = service("(call $write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))");
    let outcome = block_on(runtime.query(&writer, &[], Box::new(host.clone()), FUEL));
    assert!(
        matches!(&outcome.result, Err(WasmError::Aborted(message)) if message.contains("cannot change")),
        "{:?}",
        outcome.result
    );
    assert_eq!(host.get(b"n").unwrap(), 5u64.to_le_bytes());
}

/// A module importing each host function with the signature admission expects links to
/// the host functions `define` registers; one with another signature is refused.
#[test]
fn test_admission_knows_the_host_functions_signatures() {
    let runtime = WasmRuntime::new().unwrap();
    let i32s = |count: usize| vec!["i32"; count].join(" ");
    for (name, params, results) in host::SIGNATURES {
        let with = |params: usize| {
            Bytecode::new(
                wat::parse_str(format!(
                    r#"(module (import "skein" "{name}" (func (param {}) (result {})))
                        (memory (export "memory") 1)
                        (func (export "skein_alloc") (param i32) (result i32) (i32.const 0)))"#,
                    i32s(params),
                    i32s(results)
                ))
                .unwrap(),
            )
        };
        assert_eq!(runtime.prepare(&with(params)), Ok(()), "{name}");
        assert!(
            matches!(runtime.admit(&with(params + 1)), Err(WasmError::InvalidModule(error)) if error.contains(name)),
            "{name}"
        );
    }
}

#[test]
fn test_admission_refuses_what_an_instance_could_not_hold() {
    let runtime = WasmRuntime::new().unwrap();
    let refused = |text: &str| runtime.admit(&Bytecode::new(wat::parse_str(text).unwrap()));
    let alloc = r#"(func (export "skein_alloc") (param i32) (result i32) (i32.const 0))"#;
    assert!(matches!(
        refused(&format!(
            r#"(module (import "skein" "memory" (memory 1)) (export "memory" (memory 0)) {alloc})"#
        )),
        Err(WasmError::MissingImport { .. })
    ));
    assert!(matches!(
        refused(&format!(
            r#"(module (memory (export "memory") 1) (memory 1) {alloc})"#
        )),
        Err(WasmError::InvalidModule(_))
    ));
    assert!(matches!(
        refused(&format!(
            r#"(module (memory (export "memory") 1) (table 100001 funcref) {alloc})"#
        )),
        Err(WasmError::InvalidModule(_))
    ));
    assert!(matches!(
        refused(&format!(
            r#"(module (global (export "memory") i32 (i32.const 0)) {alloc})"#
        )),
        Err(WasmError::InvalidModule(_))
    ));
    assert_eq!(runtime.admit(&counter()), Ok(()));
    assert_eq!(runtime.compilations(), 0, "admission compiles nothing");
}

#[test]
fn test_a_module_is_compiled_once_whether_it_runs_or_not() {
    let runtime = WasmRuntime::new().unwrap();
    // Refused by admission (no `skein_alloc`): the refusal is remembered, never compiled.
    let no_alloc =
        Bytecode::new(wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap());
    let refusal = runtime.prepare(&no_alloc).unwrap_err();
    for _ in 0..5 {
        assert_eq!(runtime.admit(&no_alloc), Err(refusal.clone()));
        let (result, fuel) = call(&runtime, &no_alloc, &MemoryHost::default(), FUEL);
        assert_eq!(result, Err(refusal.clone()));
        assert_eq!(fuel, 0);
    }
    assert_eq!(
        runtime.compilations(),
        0,
        "a refused module is never compiled"
    );
    let counter = counter();
    for _ in 0..5 {
        runtime.prepare(&counter).unwrap();
        call(&runtime, &counter, &MemoryHost::default(), FUEL)
            .0
            .unwrap();
    }
    assert_eq!(runtime.compilations(), 1);
}

/// Many applications in use (more than the 64 modules once kept) are each compiled once.
#[test]
fn test_a_hundred_applications_in_turn_are_compiled_once_each() {
    let runtime = WasmRuntime::new().unwrap();
    let modules: Vec<Bytecode> = (0..100)
        .map(|index| {
            module(
                "",
                &format!("(call $output (i32.const 0) (i32.const {index}))"),
            )
        })
        .collect();
    for _ in 0..3 {
        for bytecode in &modules {
            call(&runtime, bytecode, &MemoryHost::default(), FUEL)
                .0
                .unwrap();
        }
    }
    assert_eq!(runtime.compilations(), 100);
}

/// Calls that find a module not compiled yet wait for one compilation, off their thread.
#[test]
fn test_first_calls_at_once_share_one_compilation() {
    let runtime = WasmRuntime::new().unwrap();
    let counter = counter();
    let calls = (0..8).map(|_| {
        runtime.call(
            &counter,
            Entry::ExecuteOperation,
            &[1],
            Box::new(MemoryHost::default()),
            FUEL,
        )
    });
    for outcome in block_on(futures::future::join_all(calls)) {
        outcome.result.unwrap();
    }
    assert_eq!(runtime.compilations(), 1);
    // Warming a module compiled, or refused, does nothing.
    runtime.warm(&counter);
    assert_eq!(runtime.compilations(), 1);
}

#[test]
fn test_warming_compiles_in_the_background() {
    let runtime = WasmRuntime::new().unwrap();
    let counter = counter();
    runtime.warm(&counter);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while runtime.compilations() == 0 {
        assert!(std::time::Instant::now() < deadline, "never compiled");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    call(&runtime, &counter, &MemoryHost::default(), FUEL)
        .0
        .unwrap();
    assert_eq!(runtime.compilations(), 1);
}

/// Instantiation is paid: one unit per byte of data segments on top of a fixed cost, and
/// a call with less fuel than that runs out before the guest starts.
#[test]
fn test_instantiation_is_metered() {
    let runtime = WasmRuntime::new().unwrap();
    let with_data = |bytes: usize| {
        Bytecode::new(
            wat::parse_str(format!(
                r#"(module (memory (export "memory") 2)
                    (data (i32.const 0) "{}")
                    (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
                    (func (export "skein_execute_operation") (param i32 i32)))"#,
                "x".repeat(bytes)
            ))
            .unwrap(),
        )
    };
    let fuel_of = |bytecode: &Bytecode, fuel: u64| {
        let outcome = block_on(runtime.call(
            bytecode,
            Entry::ExecuteOperation,
            &[],
            Box::new(MemoryHost::default()),
            fuel,
        ));
        (outcome.result, outcome.fuel_used)
    };
    let (_, small) = fuel_of(&with_data(1), FUEL);
    let (_, large) = fuel_of(&with_data(100_001), FUEL);
    assert_eq!(large - small, 100_000);
    assert!(small > skein_base::limits::INSTANTIATION_FUEL);
    let (result, used) = fuel_of(&with_data(100_001), 50_000);
    assert_eq!(result, Err(WasmError::OutOfFuel { limit: 50_000 }));
    assert_eq!(used, 50_000);
}

/// `memory.fill` and `memory.copy` cost by the byte, not one unit each: a guest cannot
/// clear megabytes for the price of an instruction.
#[test]
fn test_bulk_memory_costs_by_the_byte() {
    let runtime = WasmRuntime::new().unwrap();
    let bulk = |body: &str| {
        Bytecode::new(
            wat::parse_str(format!(
                r#"(module (memory (export "memory") 64)
                    (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
                    (func (export "skein_execute_operation") (param i32 i32) {body}))"#
            ))
            .unwrap(),
        )
    };
    let fuel_of = |bytecode: &Bytecode| {
        block_on(runtime.call(
            bytecode,
            Entry::ExecuteOperation,
            &[],
            Box::new(MemoryHost::default()),
            FUEL * 10,
        ))
        .fuel_used
    };
    let nothing = fuel_of(&bulk(""));
    let fill = fuel_of(&bulk(
        "(memory.fill (i32.const 0) (i32.const 7) (i32.const 1000000))",
    ));
    let copy = fuel_of(&bulk(
        "(memory.copy (i32.const 0) (i32.const 2000000) (i32.const 1000000))",
    ));
    assert!(fill - nothing >= 1_000_000, "{fill} - {nothing}");
    assert!(copy - nothing >= 1_000_000, "{copy} - {nothing}");
}

/// A host whose reads wait until released: calls hold their instances meanwhile.
struct WaitingHost(futures::future::Shared<futures::channel::oneshot::Receiver<()>>);

impl Host for WaitingHost {
    fn read(&mut self, _key: Vec<u8>) -> BoxFuture<'_, Result<Option<Vec<u8>>, HostError>> {
        let released = self.0.clone();
        Box::pin(async move {
            let _ = released.await;
            Ok(None)
        })
    }

    fn find_keys(&mut self, _prefix: Vec<u8>) -> BoxFuture<'_, Result<Vec<Vec<u8>>, HostError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn write(&mut self, _key: Vec<u8>, _value: Vec<u8>) -> Result<(), HostError> {
        Ok(())
    }

    fn remove(&mut self, _key: Vec<u8>) -> Result<(), HostError> {
        Ok(())
    }

    fn context(&self) -> Vec<u8> {
        Vec::new()
    }

    fn parameters(&self) -> Vec<u8> {
        Vec::new()
    }

    fn send_message(&mut self, _request: skein_base::SendMessageRequest) -> Result<(), HostError> {
        Ok(())
    }
}

/// With every instance slot taken, a call fails as this node's failure (`Host`, which the
/// chain retries and never records, so validators with free slots do not disagree), not
/// as the application's; once slots free up, calls run again.
#[test]
fn test_a_full_instance_pool_is_the_nodes_failure_not_the_applications() {
    use futures::FutureExt;
    let runtime = WasmRuntime::new().unwrap();
    let counter = counter();
    runtime.prepare(&counter).unwrap();
    let (release, released) = futures::channel::oneshot::channel::<()>();
    let released = released.shared();
    block_on(async {
        let mut waiting: Vec<_> = (0..128)
            .map(|_| {
                Box::pin(runtime.call(
                    &counter,
                    Entry::ExecuteOperation,
                    &[1],
                    Box::new(WaitingHost(released.clone())),
                    FUEL,
                ))
            })
            .collect();
        for call in &mut waiting {
            assert!(futures::poll!(call.as_mut()).is_pending());
        }
        let outcome = runtime
            .call(
                &counter,
                Entry::ExecuteOperation,
                &[1],
                Box::new(MemoryHost::default()),
                FUEL,
            )
            .await;
        assert!(
            matches!(outcome.result, Err(WasmError::Host(_))),
            "{:?}",
            outcome.result
        );
        release.send(()).unwrap();
        for call in waiting {
            call.await.result.unwrap();
        }
    });
    call(&runtime, &counter, &MemoryHost::default(), FUEL)
        .0
        .unwrap();
}

/// A module whose `skein_execute_operation` runs `body` (with `$ptr` and `$len`) and then
/// outputs nothing, beside the functions in `functions`.
fn recursing(functions: &str, body: &str) -> Bytecode {
    Bytecode::new(
        wat::parse_str(format!(
            r#"(module
                (import "skein" "output" (func $output (param i32 i32)))
                (memory (export "memory") 1)
                (func (export "skein_alloc") (param i32) (result i32) (i32.const 1024))
                {functions}
                (func (export "skein_execute_operation") (param $ptr i32) (param $len i32)
                    {body}
                    (call $output (i32.const 0) (i32.const 0))))"#
        ))
        .unwrap(),
    )
}

/// How deep a guest may recurse follows from the module alone: each call costs its frame
/// (8 units), its locals with its parameters, its parameters again and the highest its
/// operand stack gets, and a chain of calls may hold 65,536 units. Here the entry costs
/// 8 + 2 + 2 + 2 and each level 8 + 1 + 1 + 2, so 5,460 levels fit and 5,461 do not, on
/// any machine.
#[test]
fn test_recursion_runs_out_of_stack_at_a_depth_the_module_determines() {
    let countdown = recursing(
        r#"(func $deeper (param $left i32)
            (if (local.get $left)
                (then (call $deeper (i32.sub (local.get $left) (i32.const 1))))))"#,
        "(call $deeper (i32.load (local.get $ptr)))",
    );
    let runtime = WasmRuntime::new().unwrap();
    let levels = |levels: u32| {
        let input = (levels - 1).to_le_bytes();
        let outcome = block_on(runtime.call(
            &countdown,
            Entry::ExecuteOperation,
            &input,
            Box::new(MemoryHost::default()),
            FUEL * 100,
        ));
        outcome.result
    };
    assert_eq!(14 + 12 * 5_460, 65_534);
    assert_eq!(levels(5_460), Ok(Vec::new()));
    assert_eq!(
        levels(5_461),
        Err(WasmError::StackExhausted { limit: 65_536 })
    );
    // The counter starts from nothing in every call.
    assert_eq!(levels(5_460), Ok(Vec::new()));
}

/// Guests that recurse without end, with frames of every shape (nothing in them, many
/// vector locals live across the call, many parameters, scalar or vector, a deep operand
/// stack of vectors),
/// run out of counted stack long before the native one, so they fail alike on every run
/// and every runtime: as `StackExhausted`, never as wasmtime's stack overflow, whose depth
/// depends on the machine.
#[test]
fn test_endless_recursion_of_any_frame_runs_out_of_counted_stack_first() {
    let loads = |count: usize, ty: &str| format!("({ty}.load (i32.const 0))").repeat(count);
    let vector_locals: String = (0..64)
        .map(|index| format!("(local.set {index} (v128.load (i32.const 0)))"))
        .collect();
    let sum_locals: String = (1..64)
        .map(|index| format!("(local.set 0 (i32x4.add (local.get 0) (local.get {index})))"))
        .collect();
    // A function of `count` parameters of type `ty` that passes them on to itself.
    let passing_on = |count: usize, ty: &str| {
        let args: String = (0..count)
            .map(|index| format!("(local.get {index})"))
            .collect();
        (
            format!(
                "(func $f (param {}) {args} (call $f))",
                format!("{ty} ").repeat(count)
            ),
            format!("{} (call $f)", loads(count, ty)),
        )
    };
    let shapes = [
        ("(func $f (call $f))".to_string(), "(call $f)".to_string()),
        (
            format!(
                "(func $f (local {}) {vector_locals} (call $f) {sum_locals} \
                 (v128.store (i32.const 0) (local.get 0)))",
                "v128 ".repeat(64)
            ),
            "(call $f)".to_string(),
        ),
        passing_on(50, "i64"),
        passing_on(50, "v128"),
        (
            format!(
                "(func $f (i32.const 0) {} (call $f) {} (v128.store))",
                loads(40, "v128"),
                "(i32x4.add)".repeat(39)
            ),
            "(call $f)".to_string(),
        ),
    ];
    for (functions, body) in &shapes {
        let endless = recursing(functions, body);
        let mut outcomes = Vec::new();
        for runtime in [WasmRuntime::new().unwrap(), WasmRuntime::new().unwrap()] {
            for _ in 0..2 {
                outcomes.push(call(&runtime, &endless, &MemoryHost::default(), FUEL * 100));
            }
        }
        assert_eq!(
            outcomes[0].0,
            Err(WasmError::StackExhausted { limit: 65_536 }),
            "{functions}"
        );
        assert!(outcomes.iter().all(|outcome| *outcome == outcomes[0]));
    }
}

/// A module may not export the name the runtime gives its stack counter.
#[test]
fn test_a_module_may_not_export_the_stack_counter() {
    let impostor = recursing(
        r#"(global (export "skein:stack-units") (mut i32) (i32.const 0))"#,
        "",
    );
    let runtime = WasmRuntime::new().unwrap();
    assert!(matches!(
        runtime.admit(&impostor),
        Err(WasmError::InvalidModule(message)) if message.contains("skein:stack-units")
    ));
}
