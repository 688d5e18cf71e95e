//! The examples' README walkthroughs work when pasted: their commands run, in order,
//! against a network started the way the top-level README starts it, and show what the
//! READMEs say they show.

use std::{path::PathBuf, process::Command};

use super::common::*;

/// The commands between the walkthrough marks of `readme` (a path from the repository).
fn walkthrough(readme: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{}/../../{readme}", env!("CARGO_MANIFEST_DIR")))
        .expect("the README");
    let block = text
        .split("<!-- walkthrough -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /walkthrough -->").next())
        .expect("the README marks its walkthrough");
    block
        .lines()
        .filter(|line| !line.starts_with("```") && !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn test_the_counter_walkthrough() {
    let stdout = run_walkthrough("examples/counter/README.md");
    assert!(stdout.contains("\"value\": 42"), "{stdout}");
}

#[test]
fn test_the_fungible_walkthrough() {
    let stdout = run_walkthrough("examples/fungible/README.md");
    assert!(stdout.contains("\"30\""), "Bob's 30: {stdout}");
    assert!(stdout.contains("\"70\""), "Alice's 70: {stdout}");
}

#[test]
fn test_the_social_walkthrough() {
    let stdout = run_walkthrough("examples/social/README.md");
    assert!(
        stdout.contains("Hello, followers"),
        "the reader's feed: {stdout}"
    );
}

#[test]
fn test_the_crowd_funding_walkthrough() {
    let stdout = run_walkthrough("examples/crowd-funding/README.md");
    assert!(stdout.contains("\"25\""), "the backer's 25 left: {stdout}");
    assert!(stdout.contains("\"75\""), "the campaign's 75: {stdout}");
    assert!(stdout.contains("Collected"), "{stdout}");
}

/// Builds what the walkthrough of `readme` builds, starts a network, runs the rest of the
/// walkthrough against it and returns what it printed.
fn run_walkthrough(readme: &str) -> String {
    // Built in a directory of its own: the tests' is locked by the build that runs them.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join("examples-walkthrough");
    let binaries = skein_binary().parent().unwrap().to_path_buf();
    let (build, rest): (Vec<String>, Vec<String>) = walkthrough(readme)
        .into_iter()
        .partition(|line| line.starts_with("cargo build"));
    let build = build.join("\n").replace(
        "cargo build --release",
        &format!(
            "cargo build --quiet --release --target-dir {}",
            target.display()
        ),
    );
    {
        // The build uses every core: not while other tests run networks.
        let _turn = one_at_a_time();
        let built = Command::new("bash")
            .args(["-e", "-c", &build])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .output()
            .expect("bash runs");
        assert!(
            built.status.success(),
            "{build} failed: {}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
    let net = Net::up(&[]);
    let script = rest
        .iter()
        .map(|line| {
            line.replace("$PWD/target/release", &binaries.display().to_string())
                .replace("/tmp/skein-demo", &net.path().display().to_string())
                .replace("MODULES=target/", &format!("MODULES={}/", target.display()))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let output = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env_remove("SKEIN_WALLET")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the walkthrough failed:\n{script}\n--- stdout:\n{stdout}\n--- stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    net.down();
    stdout
}
