//! Building an application for Wasm from its tests and benchmarks.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Builds the crate at `manifest_dir` (an application's crate) for
/// `wasm32-unknown-unknown` and returns the module of its target `name` (a binary, such
/// as `counter_contract`, or a `cdylib` library). It builds in a target directory of its own (under the
/// `CARGO_TARGET_DIR` of the test, or the workspace's `target/`), so that it does not wait
/// for the build that runs the test. Panics with cargo's output if the build fails.
///
/// In a test: `skein_sdk::build::wasm_module(env!("CARGO_MANIFEST_DIR"), "counter_contract")`.
pub fn wasm_module(manifest_dir: &str, name: &str) -> Vec<u8> {
    let root = PathBuf::from(manifest_dir);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_target(&root), PathBuf::from)
        .join("wasm-guests");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        // A 64 KiB stack at the bottom of memory: the pages a call touches stay few and
        // resident between calls (the default is 1 MiB).
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            "-C link-arg=-zstack-size=65536",
        )
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo: {error}"));
    assert!(
        output.status.success(),
        "building {name} for Wasm failed (is the target installed? `rustup target add wasm32-unknown-unknown`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = target
        .join("wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&file).unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()))
}

/// The `target/` directory of the workspace holding `crate_dir`: beside the nearest
/// `Cargo.lock` above it.
fn workspace_target(crate_dir: &Path) -> PathBuf {
    crate_dir
        .ancestors()
        .find(|directory| directory.join("Cargo.lock").exists())
        .unwrap_or(crate_dir)
        .join("target")
}
