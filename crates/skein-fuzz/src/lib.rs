//! What the fuzz targets run: each function takes bytes as someone outside would send
//! them and feeds them to the code that decodes and handles them. None may panic, whatever
//! the bytes; where a decoder accepts bytes, the functions also check what must then hold
//! (BCS is canonical: what decodes re-encodes to the same bytes).
//!
//! The cargo-fuzz project in `fuzz/` has one target per entry of [`TARGETS`], each a call
//! of the function; this crate's tests replay `fuzz/seeds/TARGET/` and
//! `fuzz/regressions/TARGET/` (every crash found, kept) on every `cargo test`.
//!
//! ```
//! // Junk is refused without a panic.
//! skein_fuzz::wire::message(&[0xff; 40]);
//! ```

pub mod certificates;
pub mod files;
pub mod validator;
pub mod wasm;
pub mod wire;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its directory under `fuzz/seeds/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("wire", wire::message),
    ("validator", validator::request),
    ("certificate", certificates::certificate),
    ("files", files::file),
    ("wasm", wasm::admission),
];

/// Splits a fuzz input into a choice among `count` things and the rest.
fn choose(data: &[u8], count: u8) -> Option<(u8, &[u8])> {
    let (first, rest) = data.split_first()?;
    Some((first % count, rest))
}
