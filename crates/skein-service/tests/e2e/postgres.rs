//! A network whose validators keep their data in PostgreSQL, each shard its own process.

use super::common::*;

#[test]
fn test_net_up_on_postgres_with_shard_processes() {
    let (_server, net) = Net::on_postgres();
    let (a, b) = (chain(0), chain(1));
    for validator in 0..4 {
        net.process(&format!("validator-{validator}-proxy"));
        for shard in 0..2 {
            net.process(&format!("validator-{validator}-shard-{shard}"));
        }
    }
    ok(net.skein(&["transfer", "25", "--from", &a, "--to", &b]));
    ok(net.skein(&["transfer", "5", "--from", &b, "--to", &a]));
    ok(net.skein(&["process-inbox", &b]));
    ok(net.skein(&["process-inbox", &a]));
    assert_eq!(ok(net.skein(&["balance", &a])), "999980");
    assert_eq!(ok(net.skein(&["balance", &b])), "1000020");
    let validators = ok(net.skein(&["query-validators"]));
    assert!(
        validators.contains("4 of 4 validators reachable"),
        "{validators}"
    );
    net.down();
}
