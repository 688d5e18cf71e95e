//! The `validator` target: see `skein_fuzz::validator::request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skein_fuzz::validator::request(data));
