//! `skein project new`, `test` and `publish-and-create`: an application crate from a
//! template, the checks that it builds into modules validators can run, and its modules.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{anyhow, bail, Context as _};
use skein_execution::wasm::{Bytecode, WasmRuntime};

/// The template's files: where each goes, and its text with `__NAME__` (the package),
/// `__CRATE__` (its Rust name), `__TYPE__` (its type prefix) and `__SDK__` to fill in.
const TEMPLATE: [(&str, &str); 6] = [
    ("Cargo.toml", include_str!("template_cargo.toml")),
    (".cargo/config.toml", include_str!("template_config.toml")),
    ("README.md", include_str!("template_readme.md")),
    ("src/lib.rs", include_str!("template_lib.rs")),
    ("src/contract.rs", include_str!("template_contract.rs")),
    ("src/service.rs", include_str!("template_service.rs")),
];

/// `skein project new NAME [--sdk PATH]`
pub fn new(name: &str, sdk: Option<PathBuf>) -> anyhow::Result<()> {
    let valid = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        bail!("invalid application name {name:?}: use lowercase letters, digits and `-`, starting with a letter");
    }
    let directory = PathBuf::from(name);
    if directory.exists() {
        bail!("{} already exists", directory.display());
    }
    let sdk = match sdk {
        Some(sdk) => sdk,
        None => bundled_sdk()?,
    };
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("the SDK at {}", sdk.display()))?;
    if !sdk.join("Cargo.toml").exists() {
        bail!(
            "{} holds no crate: pass the skein-sdk directory with --sdk",
            sdk.display()
        );
    }
    let crate_name = name.replace('-', "_");
    let type_prefix: String = name
        .split('-')
        .map(|word| {
            let mut letters = word.chars();
            letters
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + letters.as_str())
                .unwrap_or_default()
        })
        .collect();
    let sdk_text = sdk.to_string_lossy();
    for (file, text) in TEMPLATE {
        let text = text
            .replace("__NAME__", name)
            .replace("__CRATE__", &crate_name)
            .replace("__TYPE__", &type_prefix)
            .replace("__SDK__", &sdk_text);
        let path = directory.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    // The workspace's lock file pins versions this toolchain builds; cargo drops the rest.
    if let Some(lock) = sdk
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|lock| lock.exists())
    {
        std::fs::copy(&lock, directory.join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lock.display()))?;
    }
    output_line!("wrote the application {name} in {}", directory.display());
    output_line!("next: cd {name} && skein project test");
    Ok(())
}

/// The SDK beside the sources this `skein` was built from.
fn bundled_sdk() -> anyhow::Result<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../skein-sdk");
    if sdk.join("Cargo.toml").exists() {
        Ok(sdk)
    } else {
        bail!(
            "the SDK is not at {} any more: pass its directory with --sdk",
            sdk.display()
        )
    }
}

/// `skein project test [--path DIR]`
pub fn test(path: Option<PathBuf>) -> anyhow::Result<()> {
    let directory = path.unwrap_or_else(|| PathBuf::from("."));
    manifest(&directory)?;
    cargo(&directory, &["test", "--quiet"])?;
    let modules = build(Some(directory))?;
    let runtime = WasmRuntime::new()?;
    for (part, module) in [("contract", modules.contract), ("service", modules.service)] {
        let bytes = std::fs::read(&module)
            .with_context(|| format!("the {part} module {}", module.display()))?;
        let size = bytes.len();
        runtime
            .prepare(&Bytecode::new(bytes))
            .with_context(|| format!("validators could not run the {part} {}", module.display()))?;
        output_line!("{part}: {} ({size} bytes)", module.display());
    }
    output_line!(
        "{}: tests pass, and validators can run its contract and service",
        modules.package
    );
    Ok(())
}

/// An application built for Wasm.
pub struct Modules {
    /// The application's package.
    pub package: String,
    /// Its contract's module.
    pub contract: PathBuf,
    /// Its service's module.
    pub service: PathBuf,
}

/// Builds the application in `path` (the current directory if `None`) for Wasm.
pub fn build(path: Option<PathBuf>) -> anyhow::Result<Modules> {
    let directory = path.unwrap_or_else(|| PathBuf::from("."));
    let (package, target_directory) = metadata(&manifest(&directory)?)?;
    cargo(
        &directory,
        &[
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-unknown-unknown",
        ],
    )
    .context("building for Wasm (once: `rustup target add wasm32-unknown-unknown`)")?;
    let crate_name = package.replace('-', "_");
    let module = |part: &str| {
        target_directory
            .join("wasm32-unknown-unknown/release")
            .join(format!("{crate_name}_{part}.wasm"))
    };
    Ok(Modules {
        contract: module("contract"),
        service: module("service"),
        package,
    })
}

/// The manifest of the application in `directory`, which must have one.
fn manifest(directory: &Path) -> anyhow::Result<PathBuf> {
    let manifest = directory.join("Cargo.toml");
    if !manifest.exists() {
        bail!(
            "{} is not an application's directory: it has no Cargo.toml",
            directory.display()
        );
    }
    Ok(manifest)
}

/// The package's name and its target directory, from `cargo metadata`.
fn metadata(manifest: &Path) -> anyhow::Result<(String, PathBuf)> {
    let output = Command::new(cargo_program())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let package = metadata["packages"][0]["name"]
        .as_str()
        .ok_or_else(|| anyhow!("cargo metadata names no package"))?
        .to_string();
    let target = metadata["target_directory"]
        .as_str()
        .ok_or_else(|| anyhow!("cargo metadata names no target directory"))?;
    Ok((package, PathBuf::from(target)))
}

/// Runs cargo in `directory`, its output shown.
fn cargo(directory: &Path, arguments: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(cargo_program())
        .args(arguments)
        .current_dir(directory)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed", arguments.join(" "));
    }
    Ok(())
}

/// Cargo: the one running us if any, else the one on the path.
fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
