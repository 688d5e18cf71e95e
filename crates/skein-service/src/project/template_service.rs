//! The service's Wasm module (built with `--target wasm32-unknown-unknown`).

#![cfg_attr(target_arch = "wasm32", no_main)]

skein_sdk::service!(__CRATE__::__TYPE__Service, operation = u64);

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
