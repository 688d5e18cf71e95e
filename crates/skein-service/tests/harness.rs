//! Validators and the CLI do not link the test harness: skein-core's `testing` feature
//! (the in-process network, the fault-injecting and Byzantine nodes, the simulator) is off
//! in what skein-rpc and skein-service build, whatever their tests turn on.

use std::process::Command;

/// The features of skein-core that `package` turns on through its normal dependencies, as
/// `cargo tree` prints them.
fn skein_core_features_of(package: &str) -> String {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            package,
            "-e",
            "normal,features",
            "-i",
            "skein-core",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo prints text")
}

#[test]
fn test_the_product_does_not_link_the_test_harness() {
    for package in ["skein-rpc", "skein-service"] {
        let tree = skein_core_features_of(package);
        assert!(
            tree.contains("skein-core"),
            "{package} depends on skein-core:\n{tree}"
        );
        assert!(
            !tree.contains("feature \"testing\""),
            "{package} links skein-core's test harness:\n{tree}"
        );
    }
    // The check can see the feature where it is on: the fuzzers use the harness.
    assert!(skein_core_features_of("skein-fuzz").contains("feature \"testing\""));
}
