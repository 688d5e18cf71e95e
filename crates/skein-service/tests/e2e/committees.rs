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
