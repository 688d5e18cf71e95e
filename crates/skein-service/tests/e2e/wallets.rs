//! Two wallets, their chains and their transfers, through the command line.

use super::common::*;

/// A second user: open a chain for them, pay them, let them pay back, close their chain,
/// and watch a transfer to the closed chain bounce.
#[test]
fn test_two_wallets_open_use_and_close_a_chain() {
    let net = Net::small(2, 3);
    let (a, b) = (chain(0), chain(1));
    assert_eq!(ok(net.skein(&["balance", &a])), "1000000");

    // The second wallet: same network, its own key.
    let second = net.directory.path().join("second.json");
    let genesis = net.path().join("genesis.json");
    ok(skein_with(
        &second,
        &["wallet", "init", "--genesis", genesis.to_str().unwrap()],
    ));
    let key = ok(skein_with(&second, &["keygen"]));
    assert_eq!(key.len(), 64);

    // A chain for it, opened by the first wallet.
    let opened = ok(net.skein(&["open-chain", "--owner", &key, "--initial-balance", "10"]));
    let c = opened.lines().last().unwrap().to_string();
    let synced = ok(skein_with(&second, &["sync", &c]));
    assert!(synced.contains("balance 10"), "{synced}");
    assert!(ok(skein_with(&second, &["wallet", "show"])).contains(&c));

    // The first wallet pays the second; the second receives.
    ok(net.skein(&["transfer", "5.5", "--from", &a, "--to", &c]));
    // Two bundles: the one that opened the chain, and the transfer.
    let processed = ok(skein_with(&second, &["process-inbox", &c]));
    assert!(
        processed.contains("processed 2 incoming bundles"),
        "{processed}"
    );
    assert_eq!(ok(skein_with(&second, &["balance", &c])), "15.5");
    assert_eq!(ok(net.skein(&["balance", &a])), "999984.5");

    // The second pays someone of the first wallet.
    ok(skein_with(
        &second,
        &["transfer", "3", "--from", &c, "--to", &b],
    ));
    ok(net.skein(&["process-inbox", &b]));
    assert_eq!(ok(net.skein(&["balance", &b])), "1000003");
    assert_eq!(ok(skein_with(&second, &["balance", &c])), "12.5");

    // Closed: no more transfers from it, and transfers to it come back.
    ok(skein_with(&second, &["close-chain", &c]));
    let refused = fails(
        skein_with(&second, &["transfer", "1", "--from", &c, "--to", &a]),
        1,
    );
    assert!(refused.contains("closed"), "{refused}");
    ok(net.skein(&["transfer", "4", "--from", &a, "--to", &c]));
    assert_eq!(ok(net.skein(&["balance", &a])), "999980.5");
    ok(skein_with(&second, &["process-inbox", &c]));
    ok(net.skein(&["process-inbox", &a]));
    assert_eq!(
        ok(net.skein(&["balance", &a])),
        "999984.5",
        "the transfer bounced back"
    );
    assert_eq!(ok(skein_with(&second, &["balance", &c])), "12.5");

    // Looking around.
    let block = ok(net.skein(&["show-block", &a, "0"]));
    assert!(
        block.contains("signatures  3 of the committee")
            || block.contains("signatures  4 of the committee"),
        "{block}"
    );
    let validators = ok(net.skein(&["query-validators"]));
    assert!(
        validators.contains("4 of 4 validators reachable"),
        "{validators}"
    );
    net.down();
}

/// The owner of an account on someone else's chain moves it with a claim.
#[test]
fn test_transfer_from_an_account_on_another_chain_claims_it() {
    let net = Net::small(1, 2);
    let (a, b) = (chain(0), chain(1));
    let show = ok(net.skein(&["wallet", "show"]));
    // The owner of chain B, as listed under keys (second key).
    let owners: Vec<&str> = show
        .lines()
        .filter(|line| line.contains("owner ") && !line.contains("owner key"))
        .map(|line| line.split_whitespace().last().unwrap())
        .collect();
    let owner_b = owners[1];
    // A pays into B's owner's account on chain A.
    ok(net.skein(&[
        "transfer",
        "7",
        "--from",
        &a,
        "--to",
        &format!("{owner_b}@{a}"),
    ]));
    assert_eq!(ok(net.skein(&["balance", &format!("{owner_b}@{a}")])), "7");
    // B's owner claims 2 of it to chain B.
    let claimed = ok(net.skein(&[
        "transfer",
        "2",
        "--from",
        &format!("{owner_b}@{a}"),
        "--to",
        &b,
    ]));
    assert!(claimed.contains("claimed"), "{claimed}");
    ok(net.skein(&["process-inbox", &a]));
    ok(net.skein(&["process-inbox", &b]));
    assert_eq!(ok(net.skein(&["balance", &format!("{owner_b}@{a}")])), "5");
    assert_eq!(ok(net.skein(&["balance", &b])), "1000002");
    net.down();
}

/// `skein watch` prints new blocks and incoming messages as they happen.
#[test]
fn test_watch_prints_notifications() {
    use std::{
        io::{BufRead, BufReader},
        process::{Command, Stdio},
        sync::mpsc,
        time::Duration,
    };
    let net = Net::small(2, 2);
    let (a, b) = (chain(0), chain(1));
    let mut watcher = Command::new(skein_binary())
        .arg("--wallet")
        .arg(&net.wallet)
        .args(["watch", &b])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watcher.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let first = receiver.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(first.starts_with("watching"), "{first}");
    // Let the subscription reach the validator before anything happens.
    std::thread::sleep(Duration::from_millis(500));
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    let incoming = receiver.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(
        incoming.contains(&format!("{b}  incoming messages from {a}")),
        "{incoming}"
    );
    ok(net.skein(&["process-inbox", &b]));
    let block = receiver.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(
        block.contains(&format!("{b}  new block at height 0")),
        "{block}"
    );
    let _ = watcher.kill();
    let _ = watcher.wait();
    net.down();
}

/// Two wallets own one chain and transfer from it at the same time, 100 times each: every
/// transfer lands exactly once, whoever wins each height.
#[test]
fn test_two_wallets_share_a_chain_and_transfer_concurrently() {
    const TRANSFERS: usize = 100;
    let net = Net::small(2, 2);
    let second = net.directory.path().join("second.json");
    let genesis = net.path().join("genesis.json");
    ok(skein_with(
        &second,
        &["wallet", "init", "--genesis", genesis.to_str().unwrap()],
    ));
    let first_key = ok(net.skein(&["keygen"]));
    let second_key = ok(skein_with(&second, &["keygen"]));

    // The first wallet opens the chain and shares it with the second.
    let opened = ok(net.skein(&[
        "open-chain",
        "--owner",
        &first_key,
        "--initial-balance",
        "1000",
    ]));
    let shared = opened.lines().last().unwrap().to_string();
    let changed = ok(net.skein(&[
        "change-ownership",
        &shared,
        "--owners",
        &first_key,
        &format!("{second_key}:2"),
        "--multi-leader-rounds",
        "2",
        "--base-timeout-ms",
        "300",
        "--timeout-increment-ms",
        "100",
    ]));
    assert!(changed.contains("weight 2"), "{changed}");
    let assigned = ok(skein_with(&second, &["assign", &shared]));
    assert!(assigned.contains("balance 1000"), "{assigned}");

    let recipient = chain(1);
    let transfers = |wallet: std::path::PathBuf| {
        let (shared, recipient) = (shared.clone(), recipient.clone());
        move || {
            for _ in 0..TRANSFERS {
                ok(skein_with(
                    &wallet,
                    &["transfer", "0.5", "--from", &shared, "--to", &recipient],
                ));
            }
        }
    };
    let first = std::thread::spawn(transfers(net.wallet.clone()));
    let second_thread = std::thread::spawn(transfers(second.clone()));
    first.join().expect("the first wallet's transfers");
    second_thread.join().expect("the second wallet's transfers");

    // 200 transfers of 0.5 left the shared chain, and arrive once each.
    assert_eq!(ok(net.skein(&["balance", &shared])), "900");
    assert_eq!(ok(skein_with(&second, &["balance", &shared])), "900");
    ok(net.skein(&["process-inbox", &recipient]));
    assert_eq!(ok(net.skein(&["balance", &recipient])), "1000100");
    net.down();
}
