//! Users break things: a validator's machine hangs (SIGSTOP: the connection stays open and
//! nothing answers), and a `skein` command is killed with SIGKILL at any moment.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use skein_rpc::config::load_genesis;

use super::common::*;

/// The `net up` process of the validator the client asks first (the committee's first).
fn first_validator_process(net: &Net) -> String {
    let genesis = load_genesis(&net.path().join("genesis.json")).unwrap();
    let first = genesis
        .committee
        .validators()
        .values()
        .next()
        .expect("a validator")
        .network_address
        .clone();
    (0..4)
        .map(|index| format!("validator-{index}"))
        .find(|name| {
            std::fs::read_to_string(net.path().join(format!("{name}.toml")))
                .unwrap()
                .contains(&format!("\"{first}\""))
        })
        .expect("the first validator's configuration")
}

/// A validator whose machine hangs (SIGSTOP) slows no command: each answers with the
/// first quorum well within the client's 10-second request timeout, which every command
/// used to wait for (10 to 20 s), and the validator catches up once it resumes.
#[test]
fn test_a_hung_validator_stalls_no_command() {
    let net = Net::small(2, 2);
    let (a, b) = (chain(0), chain(1));
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    let (pid, _) = net.process(&first_validator_process(&net));
    signal(pid, "-STOP");
    let resume = Resume(pid);

    let commands: [&[&str]; 5] = [
        &["transfer", "1", "--from", &a, "--to", &b],
        &["process-inbox", &b],
        &["balance", &b],
        &["sync", &b],
        &["transfer", "2", "--from", &b, "--to", &a],
    ];
    for command in commands {
        let started = Instant::now();
        ok(net.skein(command));
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "`skein {}` took {took:?}: it waited for the hung validator",
            command.join(" ")
        );
    }
    assert_eq!(ok(net.skein(&["balance", &b])), "1000000");

    drop(resume);
    ok(net.skein(&["process-inbox", &a]));
    assert_eq!(ok(net.skein(&["balance", &a])), "1000000");
    net.down();
}

/// `skein transfer` killed with SIGKILL at 40 moments from 10 to 95 ms in (before, during
/// and after its block is certified, and while its node hands the block's messages to
/// itself): afterwards the wallet still works, the recipient receives every transfer that
/// was made exactly once, and no token is created or lost.
#[test]
fn test_transfers_killed_at_random_moments_lose_nothing() {
    let net = Net::small(1, 2);
    let (a, b) = (chain(0), chain(1));
    // A fixed pseudo-random sequence of delays, so a failure replays.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_millis(10 + state % 86);
        let mut child = Command::new(skein_binary())
            .arg("--wallet")
            .arg(&net.wallet)
            .args(["transfer", "1", "--from", &a, "--to", &b])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("skein runs");
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
    }
    // The next commands complete whatever a killed one left signed.
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    ok(net.skein(&["process-inbox", &b]));
    let sent = 1_000_000 - ok(net.skein(&["balance", &a])).parse::<i64>().unwrap();
    let received = ok(net.skein(&["balance", &b])).parse::<i64>().unwrap() - 1_000_000;
    assert!(sent >= 1, "at least the last transfer was made");
    assert_eq!(sent, received, "every transfer made is received, once");
    // And the recipient's chain still moves.
    ok(net.skein(&["transfer", "1", "--from", &b, "--to", &a]));
    ok(net.skein(&["process-inbox", &a]));
    assert_eq!(
        ok(net.skein(&["balance", &a])).parse::<i64>().unwrap()
            + ok(net.skein(&["balance", &b])).parse::<i64>().unwrap(),
        2_000_000,
        "supply is conserved"
    );
    net.down();
}

/// `skein service` keeps the wallet's chains up to date while the validator it heard from
/// first hangs with its notification stream open: the other validators' notifications
/// reach it, and it accepts an incoming transfer on its own.
#[test]
fn test_the_node_service_hears_past_a_hung_validator() {
    let net = Net::small(1, 2);
    let (a, b) = (chain(0), chain(1));
    let service = Service::start(&net.wallet, &[]);
    // Let it subscribe to every validator before one hangs.
    std::thread::sleep(Duration::from_millis(500));
    let (pid, _) = net.process(&first_validator_process(&net));
    signal(pid, "-STOP");
    let resume = Resume(pid);

    let started = Instant::now();
    service.data(
        "/",
        &format!(r#"mutation {{ transfer(chainId: "{a}", recipient: "{b}", amount: "3") }}"#),
    );
    let deadline = started + Duration::from_secs(30);
    loop {
        let data = service.data(
            "/",
            &format!(r#"{{ chain(chainId: "{b}") {{ balance }} }}"#),
        );
        if data["chain"]["balance"] == serde_json::json!("1000003") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not accept the transfer: {data}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(resume);
    service.stop();
    net.down();
}
