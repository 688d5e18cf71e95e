//! The market maker's service, as a Wasm module (`--target wasm32-unknown-unknown`);
//! natively this binary does nothing.

#![cfg_attr(target_arch = "wasm32", no_main)]

skein_sdk::service!(amm::AmmService, operation = amm::Operation);

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
