//! The `certificate` target: see `skein_fuzz::certificates::certificate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skein_fuzz::certificates::certificate(data));
