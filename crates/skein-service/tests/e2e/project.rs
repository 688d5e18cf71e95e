//! `skein project new` writes an application that `skein project test` tests, builds for
//! Wasm and finds runnable by validators, and `skein project publish-and-create` puts on
//! a chain.

use std::{path::PathBuf, process::Command};

use super::common::*;

#[test]
fn test_a_new_project_builds_into_modules_validators_can_run() {
    let turn = one_at_a_time();
    let directory = tempfile::tempdir().expect("a temporary directory");
    // Its own build directory: the test's is locked by the build that runs it. Kept
    // between runs when the tests have a target directory outside the clone.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join("project-template");
    let skein = |arguments: &[&str]| {
        Command::new(skein_binary())
            .args(arguments)
            .current_dir(directory.path())
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("skein runs")
    };
    let refused = fails(skein(&["project", "new", "Not A Name"]), 1);
    assert!(refused.contains("invalid application name"), "{refused}");

    let written = ok(skein(&["project", "new", "demo-app"]));
    assert!(written.contains("skein project test"), "{written}");
    let again = fails(skein(&["project", "new", "demo-app"]), 1);
    assert!(again.contains("already exists"), "{again}");

    let tested = ok(skein(&["project", "test", "--path", "demo-app"]));
    assert!(tested.contains("demo_app_contract.wasm"), "{tested}");
    assert!(tested.contains("demo_app_service.wasm"), "{tested}");
    assert!(
        tested.contains("validators can run its contract and service"),
        "{tested}"
    );

    let missing = fails(skein(&["project", "test", "--path", "nowhere"]), 1);
    assert!(missing.contains("no Cargo.toml"), "{missing}");
    drop(turn);

    // Publish both modules on a network: every validator checks and stores them.
    let net = Net::small(2, 1);
    let modules = target.join("wasm32-unknown-unknown/release");
    let contract = modules.join("demo_app_contract.wasm");
    let service = modules.join("demo_app_service.wasm");
    let published = ok(net.skein(&[
        "publish-bytecode",
        contract.to_str().unwrap(),
        service.to_str().unwrap(),
    ]));
    let (contract_hash, service_hash) = published.split_once(':').expect("CONTRACT:SERVICE");
    assert_eq!(contract_hash.len(), 64, "{published}");
    assert_eq!(service_hash.len(), 64, "{published}");
    // A file that is not a module is refused before anything is signed.
    let manifest = directory.path().join("demo-app/Cargo.toml");
    let refused = fails(
        net.skein(&[
            "publish-bytecode",
            manifest.to_str().unwrap(),
            service.to_str().unwrap(),
        ]),
        1,
    );
    assert!(refused.contains("contract module"), "{refused}");

    // Applications from the published code: created with a JSON argument, asked through
    // their service in JSON.
    let created = ok(net.skein(&["create-application", &published, "--json-argument", "5"]));
    let answer = ok(net.skein(&["query-application", &created, "null"]));
    let state: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
    assert_eq!(state["value"], 5, "{answer}");
    // Operations written in JSON, encoded by the application's service.
    let executed = ok(net.skein(&["execute-operation", &created, "3"]));
    assert!(executed.contains("confirmed at height"), "{executed}");
    let answer = ok(net.skein(&["query-application", &created, "null"]));
    let state: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
    assert_eq!(state["value"], 8, "{answer}");
    assert!(state["updated_at"].is_number(), "{answer}");
    let wrong = fails(net.skein(&["execute-operation", &created, "\"three\""]), 1);
    assert!(wrong.contains("operation does not decode"), "{wrong}");
    let second = ok(net.skein(&[
        "publish-and-create",
        contract.to_str().unwrap(),
        service.to_str().unwrap(),
        "--json-argument",
        "7",
    ]));
    assert_ne!(second, created, "each creation is a new application");
    let answer = ok(net.skein(&["query-application", &second, "null"]));
    assert!(answer.contains("\"value\": 7"), "{answer}");
    // The project, built, published and created in one command.
    let from_project = Command::new(skein_binary())
        .arg("--wallet")
        .arg(&net.wallet)
        .args([
            "project",
            "publish-and-create",
            "--path",
            "demo-app",
            "--json-argument",
            "9",
        ])
        .current_dir(directory.path())
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("skein runs");
    let from_project = ok(from_project);
    assert_eq!(from_project.len(), 64, "an application id: {from_project}");
    let answer = ok(net.skein(&["query-application", &from_project, "null"]));
    assert!(answer.contains("\"value\": 9"), "{answer}");
    let nowhere = fails(
        net.skein(&["project", "publish-and-create", "--path", "/nowhere"]),
        1,
    );
    assert!(nowhere.contains("no Cargo.toml"), "{nowhere}");
    // Refusals, before anything is signed, or from the chain.
    let bad_json = fails(
        net.skein(&["create-application", &published, "--json-argument", "{oops"]),
        1,
    );
    assert!(bad_json.contains("not valid JSON"), "{bad_json}");
    let wrong_type = fails(
        net.skein(&[
            "create-application",
            &published,
            "--json-argument",
            "\"five\"",
        ]),
        1,
    );
    assert!(wrong_type.contains("does not decode"), "{wrong_type}");
    let unknown = fails(
        net.skein(&["query-application", &"ab".repeat(32), "null"]),
        1,
    );
    assert!(unknown.contains("not registered"), "{unknown}");
    net.down();
}
