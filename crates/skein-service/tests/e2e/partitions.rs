//! Partitions: validators cut off from their client by a network that drops every packet
//! (no refused connection, no reset), then joined again.
//!
//! The validators (all of `skein net up`) run in one network namespace and the client in
//! another, joined by a veth pair per validator, each validator reached at an address on
//! its own pair (`net up --hosts`). Taking a pair's far end down cuts that validator off in
//! silence: packets sent to it vanish. Needs root and iproute2; skipped with a message
//! where the machine cannot make namespaces.

use std::{
    process::{Command, Output},
    time::{Duration, Instant},
};

use super::common::*;

/// Runs `ip ARGUMENTS`; what it printed on failure.
fn ip(arguments: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(arguments)
        .output()
        .map_err(|error| format!("ip: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Two network namespaces, validators' and client's, joined by a veth pair per validator;
/// deleted when dropped (with the pairs).
struct Partitionable {
    validators: String,
    client: String,
}

impl Partitionable {
    /// Namespaces for `count` validators, validator `k` at 10.77.k.1, seen from the
    /// client's 10.77.k.2. Neighbours are fixed, so a cut link never answers "unreachable".
    fn create(count: usize) -> Result<Self, String> {
        let tag = format!("skein{}", std::process::id());
        let namespaces = Self {
            validators: format!("{tag}-validators"),
            client: format!("{tag}-client"),
        };
        ip(&["netns", "add", &namespaces.validators])?;
        ip(&["netns", "add", &namespaces.client])?;
        for namespace in [&namespaces.validators, &namespaces.client] {
            ip(&["-n", namespace, "link", "set", "lo", "up"])?;
        }
        for k in 0..count {
            let (far, near) = (format!("v{k}"), format!("c{k}"));
            let far_mac = format!("02:77:00:{k:02x}:00:01");
            let near_mac = format!("02:77:00:{k:02x}:00:02");
            let (far_ip, near_ip) = (namespaces.host(k), format!("10.77.{k}.2"));
            ip(&[
                "link",
                "add",
                &near,
                "netns",
                &namespaces.client,
                "address",
                &near_mac,
                "type",
                "veth",
                "peer",
                "name",
                &far,
                "netns",
                &namespaces.validators,
                "address",
                &far_mac,
            ])?;
            let sides = [
                (&namespaces.validators, &far, &far_ip, &near_ip, &near_mac),
                (&namespaces.client, &near, &near_ip, &far_ip, &far_mac),
            ];
            for (namespace, device, own, other, other_mac) in sides {
                ip(&[
                    "-n",
                    namespace,
                    "addr",
                    "add",
                    &format!("{own}/24"),
                    "dev",
                    device,
                ])?;
                ip(&["-n", namespace, "link", "set", device, "up"])?;
                ip(&[
                    "-n",
                    namespace,
                    "neigh",
                    "replace",
                    other,
                    "lladdr",
                    other_mac,
                    "dev",
                    device,
                    "nud",
                    "permanent",
                ])?;
            }
        }
        Ok(namespaces)
    }

    /// Validator `k`'s address.
    fn host(&self, k: usize) -> String {
        format!("10.77.{k}.1")
    }

    /// `skein`, run in `namespace`.
    fn skein_in(namespace: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", namespace])
            .arg(skein_binary());
        command
    }

    /// `skein ARGUMENTS` with the network's wallet, from the client's side.
    fn skein(&self, net: &Net, arguments: &[&str]) -> Output {
        Self::skein_in(&self.client)
            .arg("--wallet")
            .arg(&net.wallet)
            .args(arguments)
            .env_remove("SKEIN_WALLET")
            .output()
            .expect("skein runs")
    }

    /// Cuts validator `k` off: whatever the client sends it is lost.
    fn cut(&self, k: usize) {
        self.set_link(k, "down");
    }

    /// Joins validator `k` again.
    fn join(&self, k: usize) {
        self.set_link(k, "up");
    }

    /// Sets validator `k`'s end of its pair `up` or `down`.
    fn set_link(&self, k: usize, state: &str) {
        let device = format!("v{k}");
        ip(&["-n", &self.validators, "link", "set", &device, state]).unwrap();
    }
}

impl Drop for Partitionable {
    fn drop(&mut self) {
        for namespace in [&self.validators, &self.client] {
            let _ = ip(&["netns", "delete", namespace]);
        }
    }
}

/// What `skein query-validators` says of each validator, by address: the default chain's
/// height, or `None` if it did not answer.
fn heights(namespaces: &Partitionable, net: &Net) -> Vec<(String, Option<u64>)> {
    let report = ok(namespaces.skein(net, &["query-validators"]));
    report
        .lines()
        .filter(|line| line.contains("votes"))
        .map(|line| {
            let address = line.split_whitespace().next().unwrap().to_string();
            let height = line
                .split("at height ")
                .nth(1)
                .map(|height| height.trim().parse().expect("a height"));
            (address, height)
        })
        .collect()
}

/// One validator of four cut off costs the client nothing; two (no quorum left) make a
/// transfer fail with a clear error in bounded time, losing nothing; joined again, the
/// failed transfer lands once, the cut validators catch up and all agree.
#[test]
fn test_partitioned_validators_cost_nothing_and_catch_up_when_joined() {
    let namespaces = match Partitionable::create(4) {
        Ok(namespaces) => namespaces,
        Err(error) => {
            eprintln!("skipped: this machine cannot make network namespaces ({error})");
            return;
        }
    };
    let hosts: Vec<String> = (0..4).map(|k| namespaces.host(k)).collect();
    let net = Net::up_with(
        Partitionable::skein_in(&namespaces.validators),
        &[
            "--validators",
            "4",
            "--shards",
            "1",
            "--initial-chains",
            "2",
            "--hosts",
            &hosts.join(","),
        ],
    );
    let (a, b) = (chain(0), chain(1));
    ok(namespaces.skein(&net, &["transfer", "1", "--from", &a, "--to", &b]));

    // Validator 3 cut off: every transfer goes on at once with the other three.
    namespaces.cut(3);
    for _ in 0..3 {
        let started = Instant::now();
        ok(namespaces.skein(&net, &["transfer", "1", "--from", &a, "--to", &b]));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a transfer waited for the cut validator: {:?}",
            started.elapsed()
        );
    }
    // Silent, not refused: the cut validator is not there, the others are at height 4.
    let seen = heights(&namespaces, &net);
    for (address, height) in &seen {
        let expected = if address.starts_with(&hosts[3]) {
            None
        } else {
            Some(4)
        };
        assert_eq!(*height, expected, "{address} in {seen:?}");
    }

    // Validator 2 cut off too: no quorum. The transfer fails, in bounded time, in one line.
    namespaces.cut(2);
    let started = Instant::now();
    let error = fails(
        namespaces.skein(&net, &["transfer", "1", "--from", &a, "--to", &b]),
        1,
    );
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "the failing transfer took {:?}",
        started.elapsed()
    );
    assert_eq!(error.lines().count(), 1, "one line: {error}");

    // Joined again: the transfer signed before the cut lands first, then the new one.
    namespaces.join(2);
    namespaces.join(3);
    ok(namespaces.skein(&net, &["transfer", "1", "--from", &a, "--to", &b]));
    ok(namespaces.skein(&net, &["process-inbox", &b]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let height = loop {
        let seen = heights(&namespaces, &net);
        if let Some(first) = seen[0].1 {
            if seen.iter().all(|(_, height)| *height == Some(first)) {
                break first;
            }
        }
        assert!(
            Instant::now() < deadline,
            "validators do not agree: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Four transfers before the cut, the one that failed, the one after: six blocks of A,
    // each moving one token to B. None lost, none twice.
    assert_eq!(height, 6, "chain A's height");
    let initial = 1_000_000;
    let moved = height;
    assert_eq!(
        ok(namespaces.skein(&net, &["balance", &a])),
        (initial - moved).to_string()
    );
    assert_eq!(
        ok(namespaces.skein(&net, &["balance", &b])),
        (initial + moved).to_string()
    );
    drop(net);
}
