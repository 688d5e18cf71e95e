//! The counter's service, as a Wasm module (`--target wasm32-unknown-unknown`); natively
//! this binary does nothing.

#![cfg_attr(target_arch = "wasm32", no_main)]

skein_sdk::service!(counter::CounterService, operation = u64);

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
