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
fn test_the_amm_walkthrough() {
    let (stdout, graphql) = run_walkthrough("examples/amm/README.md", "null");
    assert!(
        stdout.contains("\"181.867783\""),
        "the pool's reserve of B: {stdout}"
    );
    assert!(stdout.contains("818.132217"), "your B: {stdout}");
    assert!(graphql.contains("\"181.867783\""), "{graphql}");
}

#[test]
fn test_the_counter_walkthrough() {
    let (stdout, graphql) =
        run_walkthrough("examples/counter/README.md", r#"{query: "{ value }"}"#);
    assert!(stdout.contains("\"value\": 42"), "{stdout}");
    assert!(graphql.contains("\"value\":42"), "{graphql}");
}

#[test]
fn test_the_fungible_walkthrough() {
    let (stdout, graphql) = run_walkthrough("examples/fungible/README.md", "\"Accounts\"");
    assert!(stdout.contains("\"30\""), "Bob's 30: {stdout}");
    assert!(stdout.contains("\"70\""), "Alice's 70: {stdout}");
    assert!(
        graphql.contains("\"30\"") && graphql.contains("\"70\""),
        "{graphql}"
    );
}

#[test]
fn test_the_social_walkthrough() {
    let (stdout, graphql) = run_walkthrough("examples/social/README.md", "\"Feed\"");
    assert!(
        stdout.contains("Hello, followers"),
        "the reader's feed: {stdout}"
    );
    assert!(graphql.contains("Hello, followers"), "{graphql}");
}

#[test]
fn test_the_crowd_funding_walkthrough() {
    let (stdout, graphql) = run_walkthrough("examples/crowd-funding/README.md", "null");
    assert!(stdout.contains("\"25\""), "the backer's 25 left: {stdout}");
    assert!(stdout.contains("\"75\""), "the campaign's 75: {stdout}");
    assert!(stdout.contains("Collected"), "{stdout}");
    assert!(graphql.contains("Collected"), "{graphql}");
}

/// Builds what the walkthrough of `readme` builds, starts a network, runs the rest of the
/// walkthrough against it and returns what it printed, and then what every application on
/// every chain of the wallet answers to `request` (GraphQL, through `skein service`).
fn run_walkthrough(readme: &str, request: &str) -> (String, String) {
    let binaries = skein_binary().parent().unwrap().to_path_buf();
    let (build, rest): (Vec<String>, Vec<String>) = walkthrough(readme)
        .into_iter()
        .partition(|line| line.starts_with("cargo build"));
    let target = build_examples(&build.join("\n"));
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
    let graphql = answers_over_graphql(&net, request);
    net.down();
    (stdout, graphql)
}

/// What every application on every chain of the wallet answers to `request`, one answer
/// a line; applications that cannot read it are left out.
fn answers_over_graphql(net: &Net, request: &str) -> String {
    let service = Service::start(&net.wallet, &[]);
    let chains = service.data("/", "{ chains { list } }");
    let mut answers = Vec::new();
    for chain_id in chains["chains"]["list"].as_array().expect("a list") {
        let chain = service.data(
            "/",
            &format!("{{ chain(chainId: {chain_id}) {{ applications {{ link }} }} }}"),
        );
        for application in chain["chain"]["applications"].as_array().expect("a list") {
            let link = application["link"].as_str().expect("a link");
            let answer = service.graphql(link, &format!("{{ query(request: {request}) }}"));
            if answer.get("errors").is_none() {
                answers.push(answer["data"]["query"].to_string());
            }
        }
    }
    service.stop();
    answers.join("\n")
}

/// Runs the example builds of `commands` (`cargo build --release …` lines) in a target
/// directory of their own, since the tests' is locked by the build that runs them;
/// returns that directory.
pub(super) fn build_examples(commands: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join("examples-walkthrough");
    let build = commands.replace(
        "cargo build --release",
        &format!(
            "cargo build --quiet --release --target-dir {}",
            target.display()
        ),
    );
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
    target
}

#[test]
fn test_the_benchmark_transfers_a_fungible_token() {
    let target =
        build_examples("cargo build --release --target wasm32-unknown-unknown -p fungible");
    let modules = target.join("wasm32-unknown-unknown/release");
    let net = Net::up(&[]);
    let output = ok(net.skein(&[
        "benchmark",
        "--chains",
        "4",
        "--transfers",
        "60",
        "--fungible",
        modules.to_str().unwrap(),
    ]));
    assert!(output.contains("each chain holds 1000"), "{output}");
    assert!(output.contains("blocks failed: 0"), "{output}");
    assert!(output.contains("transfers/s:"), "{output}");
    // Modules that are not the token are refused before the benchmark starts.
    let wrong = target.join("wasm32-unknown-unknown/release/not-here");
    let refused = fails(
        net.skein(&[
            "benchmark",
            "--chains",
            "2",
            "--fungible",
            wrong.to_str().unwrap(),
        ]),
        1,
    );
    assert!(refused.contains("cannot read"), "{refused}");
    net.down();
}
