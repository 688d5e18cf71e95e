//! The `wire` target: see `skein_fuzz::wire::message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skein_fuzz::wire::message(data));
