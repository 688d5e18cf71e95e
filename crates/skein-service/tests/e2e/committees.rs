//! The committee changed from the command line on `net up`: a new epoch, chains migrating
//! as they are used, an old epoch revoked, and the mistakes an operator makes refused.

use skein_rpc::config::load_genesis;

use super::common::*;

#[test]
fn test_an_epoch_created_and_one_revoked_from_the_command_line() {
    let net = Net::small(1, 3);
    let (a, b) = (chain(1), chain(2));
    let listed = ok(net.skein(&["validator", "list"]));
    assert!(
        listed.contains("epoch 0 (current): 4 validators"),
        "{listed}"
    );

    // Validator 0 gets twice the votes (`net up` gives each 100): epoch 1.
    let genesis = load_genesis(&net.path().join("genesis.json")).unwrap();
    let (key, state) = genesis.committee.validators().iter().next().unwrap();
    let (key, address) = (key.to_string(), state.network_address.clone());
    let created = ok(net.skein(&["validator", "set-address", &key, &address, "--votes", "200"]));
    assert!(created.contains("created epoch 1"), "{created}");

    // Chains move to it as they are used: the transfer's block migrates chain 1 first.
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    let listed = ok(net.skein(&["validator", "list"]));
    assert!(
        listed.contains("epoch 1 (current): 4 validators, 500 votes"),
        "{listed}"
    );
    assert!(
        listed.contains("epoch 0: 4 validators, 400 votes"),
        "{listed}"
    );

    // The current epoch cannot be revoked; an older one can, and then only epoch 1 is live.
    let error = fails(net.skein(&["revoke-epochs", "1"]), 1);
    assert!(error.contains("cannot be revoked"), "{error}");
    let revoked = ok(net.skein(&["revoke-epochs", "0"]));
    assert!(revoked.contains("revoked epochs 0"), "{revoked}");
    let listed = ok(net.skein(&["validator", "list"]));
    assert!(!listed.contains("epoch 0"), "{listed}");

    // Chain 2 was still in epoch 0: it migrates past the revoked epoch as it receives.
    ok(net.skein(&["process-inbox", &b]));
    ok(net.skein(&["transfer", "1", "--from", &b, "--to", &a]));
    let balance = ok(net.skein(&["balance", &b]));
    assert!(balance.starts_with("1000000"), "{balance}");

    // Mistakes: a stranger removed, an address without a port, a key that is no key.
    let stranger = skein_base::ValidatorPublicKey::from(
        &skein_base::crypto::SecretKey::from_test_seed(77).public(),
    )
    .to_string();
    let error = fails(net.skein(&["validator", "remove", &stranger]), 1);
    assert!(error.contains("not a member"), "{error}");
    let error = fails(
        net.skein(&[
            "validator",
            "add",
            "--public-key",
            &stranger,
            "--address",
            "localhost",
        ]),
        1,
    );
    assert!(error.contains("HOST:PORT"), "{error}");
    fails(net.skein(&["validator", "remove", "not-a-key"]), 2);
    let listed = ok(net.skein(&["validator", "list"]));
    assert!(listed.contains("epoch 1 (current)"), "{listed}");
}

/// What `skein query-validators --chain CHAIN` says of each validator that answered: its
/// state hash and height of the chain.
fn tips(net: &Net, chain: &str) -> Vec<String> {
    let report = ok(net.skein(&["query-validators", "--chain", chain]));
    report
        .lines()
        .filter_map(|line| line.split_once(" state ").map(|(_, tip)| tip.to_string()))
        .collect()
}

/// Waits (up to 20 s) until `validators` answer for `chain` with one and the same tip.
fn wait_until_agreed(net: &Net, chain: &str, validators: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let tips = tips(net, chain);
        if tips.len() == validators && tips.iter().all(|tip| *tip == tips[0]) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "validators disagree on {chain}: {tips:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The README's five commands: a fifth validator started and added, an original one
/// removed and stopped. Chains opened before and after keep moving, a public chain keeps
/// receiving, and every remaining validator agrees on every tip.
#[test]
fn test_a_validator_joins_and_one_leaves_a_running_network() {
    let net = Net::small(1, 3);
    let path = net.path().display().to_string();
    let (a, b) = (chain(1), chain(2));
    ok(net.skein(&["transfer", "5", "--from", &a, "--to", &b]));
    let opened = ok(net.skein(&["open-chain", "--initial-balance", "10"]));
    let before = opened.lines().last().unwrap().to_string();
    let public = open_public_chain(&net, "1");

    let started = ok(net.skein(&["net", "add-validator", "--path", &path]));
    let field = |name: &str| {
        started
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| value.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in:\n{started}"))
    };
    let (key, address) = (field("public key:"), field("address:"));
    let added = ok(net.skein(&[
        "validator",
        "add",
        "--public-key",
        &key,
        "--address",
        &address,
    ]));
    assert!(added.contains("created epoch 1"), "{added}");
    let leaving = skein_rpc::config::KeyFile::load(&net.path().join("validator-0.key.json"))
        .unwrap()
        .public_key
        .to_string();
    let removed = ok(net.skein(&["validator", "remove", &leaving]));
    assert!(removed.contains("created epoch 2"), "{removed}");
    let stopped = ok(net.skein(&["net", "stop-validator", "--path", &path, "0"]));
    assert!(stopped.contains("stopped validator-0"), "{stopped}");
    // Mistakes: a validator the network never had, a directory that holds no network.
    let error = fails(
        net.skein(&["net", "stop-validator", "--path", &path, "9"]),
        1,
    );
    assert!(error.contains("has no validator-9"), "{error}");
    let elsewhere = net.directory.path().display().to_string();
    let error = fails(
        net.skein(&["net", "add-validator", "--path", &elsewhere]),
        1,
    );
    assert!(error.contains("holds no network"), "{error}");
    let listed = ok(net.skein(&["validator", "list"]));
    assert!(
        listed.contains("epoch 2 (current): 4 validators"),
        "{listed}"
    );

    // Chains opened before and after the change move, migrating as they go; the public
    // chain receives in the new epoch, its blocks proposed by the new committee.
    let opened = ok(net.skein(&["open-chain", "--initial-balance", "10"]));
    let after = opened.lines().last().unwrap().to_string();
    let chains = [a.clone(), b.clone(), before.clone(), after.clone()];
    for (from, to) in [(&a, &after), (&after, &before), (&before, &b), (&b, &a)] {
        ok(net.skein(&["transfer", "1", "--from", from, "--to", to]));
    }
    ok(net.skein(&["transfer", "2", "--from", &a, "--to", &public]));
    for chain in &chains {
        ok(net.skein(&["process-inbox", chain]));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ok(net.skein(&["balance", &public])) != "3" {
        assert!(
            std::time::Instant::now() < deadline,
            "the public chain never received the transfer"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for (chain, balance) in [(&after, "10"), (&before, "10"), (&b, "1000005")] {
        assert_eq!(ok(net.skein(&["balance", chain])), balance, "{chain}");
    }

    // The four remaining validators answer, and agree on every chain's tip.
    let mut all = chains.to_vec();
    all.push(public);
    for chain in &all {
        wait_until_agreed(&net, chain, 4);
    }
}

/// A validator rotates its key while chains are in use: restarted with a new key beside
/// the old, it votes with the old one for chains still in epoch 0 and with the new one in
/// epoch 1. With another validator stopped, no block is certified without its vote, so a
/// vote signed with the wrong key would stall the chains.
#[test]
fn test_a_validator_rotates_its_key_on_a_running_network() {
    let net = Net::small(1, 3);
    let path = net.path().display().to_string();
    let (a, b) = (chain(1), chain(2));
    ok(net.skein(&["transfer", "5", "--from", &a, "--to", &b]));

    let rotated = ok(net.skein(&["net", "rotate-key", "--path", &path, "1"]));
    let field = |name: &str| {
        rotated
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| value.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in:\n{rotated}"))
    };
    let (old, new) = (field("old public key:"), field("new public key:"));
    // Still epoch 0: the restarted validator votes with its old key.
    ok(net.skein(&["process-inbox", &b]));
    let created = ok(net.skein(&["validator", "rotate-key", &old, "--new-public-key", &new]));
    assert!(created.contains("created epoch 1"), "{created}");
    let error = fails(
        net.skein(&["validator", "rotate-key", &new, "--new-public-key", &new]),
        1,
    );
    assert!(error.contains("a member already"), "{error}");
    let error = fails(net.skein(&["net", "rotate-key", "--path", &path, "9"]), 1);
    assert!(error.contains("has no validator-9"), "{error}");
    ok(net.skein(&["net", "stop-validator", "--path", &path, "0"]));

    // Chain b migrates in a block of epoch 0 (old key), chain a in epoch 1 (new key), and
    // both move on in epoch 1 once epoch 0 is revoked.
    ok(net.skein(&["transfer", "1", "--from", &b, "--to", &a]));
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    ok(net.skein(&["revoke-epochs", "0"]));
    ok(net.skein(&["process-inbox", &a]));
    ok(net.skein(&["process-inbox", &b]));
    ok(net.skein(&["transfer", "1", "--from", &b, "--to", &a]));
    ok(net.skein(&["process-inbox", &a]));
    assert_eq!(ok(net.skein(&["balance", &a])), "999996");
    assert_eq!(ok(net.skein(&["balance", &b])), "1000004");
    let listed = ok(net.skein(&["validator", "list"]));
    assert!(listed.contains(&new) && !listed.contains(&old), "{listed}");

    for chain in [&a, &b] {
        wait_until_agreed(&net, chain, 3);
    }
}
