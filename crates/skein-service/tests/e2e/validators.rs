//! A validator stops in the middle of a run: nobody waits for it, and it catches up when it
//! comes back.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use skein_core::{ChainInfoQuery, GenesisConfig, ValidatorNode};
use skein_rpc::{config::load_genesis, GrpcValidatorNode};

use super::common::*;

/// Kills a process on drop, so a test that fails does not leave it running.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn height_at(address: &str, chain_index: usize) -> Option<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let node = GrpcValidatorNode::new(address).ok()?;
        let query = ChainInfoQuery::new(GenesisConfig::chain_id(chain_index));
        let info =
            tokio::time::timeout(Duration::from_secs(2), node.handle_chain_info_query(query))
                .await
                .ok()?
                .ok()?;
        Some(info.next_block_height.0)
    })
}

#[test]
fn test_stopped_validator_does_not_stall_and_catches_up() {
    let net = Net::small(2, 2);
    let (a, b) = (chain(0), chain(1));
    let genesis = load_genesis(&net.path().join("genesis.json")).unwrap();
    let addresses: Vec<String> = genesis
        .committee
        .validators()
        .values()
        .map(|state| state.network_address.clone())
        .collect();
    let (pid, command) = net.process("validator-3");
    let config_address = {
        let config = std::fs::read_to_string(net.path().join("validator-3.toml")).unwrap();
        config
            .lines()
            .find(|line| line.starts_with("public_address"))
            .and_then(|line| line.split('"').nth(1))
            .unwrap()
            .to_string()
    };
    assert!(addresses.contains(&config_address));

    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(height_at(&config_address, 0), None, "validator 3 is down");

    // Every operation completes without it, each well under the client's timeout.
    for _ in 0..5 {
        let started = Instant::now();
        ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no stall waiting for the stopped validator"
        );
    }
    ok(net.skein(&["process-inbox", &b]));
    assert_eq!(ok(net.skein(&["balance", &b])), "1000006");

    // It comes back on its store and catches up with the next blocks.
    let restarted = Guard(
        Command::new(&command[0])
            .args(&command[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while height_at(&config_address, 0).is_none() {
        assert!(Instant::now() < deadline, "validator 3 did not restart");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        height_at(&config_address, 0),
        Some(1),
        "it missed five blocks of chain A"
    );
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let heights: Vec<Option<u64>> = addresses
            .iter()
            .map(|address| height_at(address, 0))
            .collect();
        if heights.iter().all(|height| *height == Some(7)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "validators did not agree: {heights:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(restarted);
    net.down();
}
