//! The market maker's contract, as a Wasm module (`--target wasm32-unknown-unknown`);
//! natively this binary does nothing.

#![cfg_attr(target_arch = "wasm32", no_main)]

skein_sdk::contract!(amm::Amm);

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
