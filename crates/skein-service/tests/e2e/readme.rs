//! The README's walkthrough works when pasted: its commands run, in order, against a
//! network started the way the README starts it.

use std::process::Command;

use super::common::*;

#[test]
fn test_readme_walkthrough() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the README");
    let block = readme
        .split("<!-- walkthrough -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /walkthrough -->").next())
        .expect("the README marks its walkthrough");
    let commands: Vec<&str> = block
        .lines()
        .filter(|line| !line.starts_with("```") && !line.trim().is_empty())
        .collect();
    assert!(commands.len() >= 5, "{commands:?}");
    let run_line = readme
        .lines()
        .find(|line| line.contains("-- net up"))
        .expect("the README's run command");
    let readme_path = run_line
        .split("--path ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the run command names its directory");

    let net = Net::up(&[]);
    let binaries = skein_binary().parent().unwrap().to_path_buf();
    let script = commands
        .iter()
        .map(|line| {
            line.replace("$PWD/target/release", &binaries.display().to_string())
                .replace(readme_path, &net.path().display().to_string())
                // The benchmark's full run is for people; a short one proves it works.
                .replace("--transfers 10000", "--transfers 200")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let output = Command::new("bash")
        .args(["-e", "-c", &script])
        .env_remove("SKEIN_WALLET")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the walkthrough failed:\n{script}\n--- stdout:\n{stdout}\n--- stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1000010"), "the transfer arrived: {stdout}");
    assert!(stdout.contains("transfers/s:"), "{stdout}");
    net.down();
}
