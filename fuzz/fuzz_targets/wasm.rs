//! The `wasm` target: see `skein_fuzz::wasm::admission`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skein_fuzz::wasm::admission(data));
