//! The `files` target: see `skein_fuzz::files::file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skein_fuzz::files::file(data));
