//! Each command-line error is one clear line and a non-zero exit code.

use std::time::{Duration, Instant};

use super::common::*;

#[test]
fn test_command_line_errors() {
    let net = Net::small(1, 2);
    let (a, b) = (chain(0), chain(1));
    let stranger = skein_base::ChainId::root(999).to_string();

    let error = fails(
        net.skein(&["transfer", "1.2.3", "--from", &a, "--to", &b]),
        2,
    );
    assert!(error.contains("invalid amount"), "{error}");
    let error = fails(
        net.skein(&["transfer", "1", "--from", &a, "--to", "not-a-chain"]),
        2,
    );
    assert!(error.contains("invalid chain id"), "{error}");
    let error = fails(
        net.skein(&["transfer", "1", "--from", &stranger, "--to", &b]),
        1,
    );
    assert!(error.contains("not in the wallet"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    let error = fails(net.skein(&["balance", &stranger]), 1);
    assert!(error.contains("unknown to the validators"), "{error}");
    let error = fails(
        net.skein(&["transfer", "2000000", "--from", &a, "--to", &b]),
        1,
    );
    assert!(error.contains("insufficient balance"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert_eq!(
        ok(net.skein(&["balance", &a])),
        "1000000",
        "nothing was spent"
    );

    // A file that is not Wasm: one line naming the module, nothing published.
    let junk = net.directory.path().join("junk.wasm");
    std::fs::write(&junk, b"this is not a wasm module").unwrap();
    let junk = junk.to_str().unwrap();
    let error = fails(net.skein(&["publish-bytecode", junk, junk]), 1);
    assert!(error.contains("the contract module"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    // A benchmark too large to finish is refused before anything is opened.
    let error = fails(net.skein(&["benchmark", "--chains", "100000000"]), 1);
    assert!(error.contains("--chains must be between 2 and"), "{error}");
    assert_eq!(ok(net.skein(&["balance", &a])), "1000000");

    // `net up` with addresses that do not match its validators: refused before anything
    // starts.
    let up = |hosts: &str| {
        let directory = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(skein_binary())
            .arg("--wallet")
            .arg(directory.path().join("wallet.json"))
            .args(["net", "up", "--validators", "4", "--hosts", hosts, "--path"])
            .arg(directory.path().join("net"))
            .output()
            .unwrap();
        (output, directory)
    };
    let (output, directory) = up("127.0.0.1,127.0.0.2");
    let error = fails(output, 1);
    assert!(
        error.contains("--hosts gives 2 addresses for 4 validators"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        !directory.path().join("net").exists(),
        "nothing was written"
    );
    let (output, _directory) = up("127.0.0.1,not-an-address");
    let error = fails(output, 2);
    assert!(error.contains("invalid IP address syntax"), "{error}");

    let missing = net.directory.path().join("missing.json");
    let error = fails(skein_with(&missing, &["balance"]), 1);
    assert!(error.contains("no wallet at"), "{error}");
    let output = std::process::Command::new(skein_binary())
        .arg("balance")
        .env_remove("SKEIN_WALLET")
        .output()
        .unwrap();
    let error = fails(output, 1);
    assert!(error.contains("no wallet given"), "{error}");

    // Every validator gone: a clear error, soon.
    let wallet = net.wallet.clone();
    let keep = tempfile::tempdir().unwrap();
    let copy = keep.path().join("wallet.json");
    std::fs::copy(&wallet, &copy).unwrap();
    net.down();
    let started = Instant::now();
    let error = fails(
        skein_with(&copy, &["transfer", "1", "--from", &a, "--to", &b]),
        1,
    );
    assert!(
        error.contains("unreachable") || error.contains("not enough validators"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the error comes quickly"
    );
}
