//! A public chain on `net up`: the validators' proposers receive what users send it.

use super::common::*;

/// A wallet makes one of its chains public and sends it tokens from two chains; the
/// validators take turns receiving every transfer, and the wallet can no longer run
/// operations there.
#[test]
fn test_validators_receive_transfers_on_a_public_chain() {
    let net = Net::small(2, 2);
    let public = open_public_chain(&net, "10");

    for from in [chain(0), chain(1), chain(0)] {
        ok(net.skein(&["transfer", "1.5", "--from", &from, "--to", &public]));
    }
    // Nobody in the wallet proposes there: the validators receive the transfers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let balance = ok(net.skein(&["balance", &public]));
        if balance == "14.5" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the public chain holds {balance}, not 14.5"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let block = ok(net.skein(&["show-block", &public, "1"]));
    assert!(block.contains("validator round"), "{block}");

    let refused = fails(
        net.skein(&["transfer", "1", "--from", &public, "--to", &chain(0)]),
        1,
    );
    assert!(refused.contains("public"), "{refused}");
    net.down();
}
