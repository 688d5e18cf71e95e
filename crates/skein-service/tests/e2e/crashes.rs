//! Validators crash (SIGKILL, at pseudo-random moments) while `skein benchmark` loads the
//! network, and come back from the command line `net up` recorded in processes.json, on
//! the data they had; or they hang for seconds (SIGSTOP, their connections open and
//! silent, as behind a network partition) and resume: afterwards every validator agrees on every benchmark chain's tip and
//! state, no token is made or lost (`skein benchmark --verify`), no block failed, and the
//! wallet's own chains still move.

use std::{
    io::{BufRead, BufReader},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use skein_rpc::config::ValidatorConfig;

use super::common::*;

/// The processes the test restarted: `net up` does not know them, so they are killed when
/// the test ends, however it ends.
#[derive(Default)]
struct Restarted(Vec<(String, Child)>);

impl Restarted {
    /// The pid the process `name` runs as now.
    fn pid(&self, net: &Net, name: &str) -> u32 {
        self.0
            .iter()
            .rev()
            .find(|(restarted, _)| restarted == name)
            .map_or_else(|| net.process(name).0, |(_, child)| child.id())
    }
}

impl Drop for Restarted {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where the process `name` (`validator-N`, `validator-N-proxy` or `validator-N-shard-M`)
/// listens.
fn listening_address(net: &Net, name: &str) -> String {
    let mut parts = name.split('-');
    let validator = parts.nth(1).expect("a validator number");
    let config = ValidatorConfig::load(&net.path().join(format!("validator-{validator}.toml")))
        .expect("the validator's configuration")
        .config;
    match (parts.next(), parts.next()) {
        (Some("shard"), Some(shard)) => config.shards
            [shard.parse::<usize>().expect("a shard number")]
        .address
        .clone(),
        _ => config.public_address,
    }
}

/// Kills `name` with SIGKILL, waits `down`, and starts it again with `net up`'s command
/// line; returns once it accepts connections.
fn crash_and_restart(net: &Net, restarted: &mut Restarted, name: &str, down: Duration) {
    signal(restarted.pid(net, name), "-KILL");
    std::thread::sleep(down);
    let (_, command) = net.process(name);
    let attempt = restarted.0.len();
    let log = std::fs::File::create(
        net.path()
            .join("logs")
            .join(format!("{name}.restart-{attempt}.log")),
    )
    .expect("a log file");
    let child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("a log file"))
        .stderr(log)
        .spawn()
        .expect("the process restarts");
    restarted.0.push((name.to_string(), child));
    let address = listening_address(net, name);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(&address).is_err() {
        assert!(
            Instant::now() < deadline,
            "{name} did not come back on {address}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What befalls a victim during the load.
#[derive(Clone, Copy)]
enum Fault {
    /// Killed with SIGKILL, restarted after up to 0.8 s.
    Crash,
    /// Stopped with SIGSTOP for 1 to 3 s, then resumed: nobody hears from it meanwhile,
    /// and it has to catch up on what the others certified.
    Hang,
}

/// Runs a benchmark with `--verify`, putting each of `victims` in turn through `fault`
/// (never two at once: three validators of four are a quorum) once the load has begun,
/// and checks what the benchmark and the wallet report afterwards. Returns the restarted
/// processes, which run until it is dropped.
fn fault_during_benchmark(net: &Net, fault: Fault, victims: &[&str]) -> Restarted {
    let chains = 6;
    // A load of 40 s (2,400 transfers at 60/s): four faults with their restarts on a busy
    // 2-core machine took more than 20 s once.
    let mut benchmark = Command::new(skein_binary())
        .arg("--wallet")
        .arg(&net.wallet)
        .args(["benchmark", "--chains", &chains.to_string()])
        .args(["--transfers", "2400", "--target-tps", "60", "--verify"])
        .args(["--from", &chain(0)])
        .env_remove("SKEIN_WALLET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("skein benchmark starts");
    let stdout = benchmark.stdout.take().expect("piped stdout");
    let (lines, receiver) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let opened = receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("the benchmark opens its chains");
    assert!(opened.starts_with("opened"), "{opened}");

    // A fixed pseudo-random sequence of moments, so a failure replays.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |range: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(state % range)
    };
    let mut restarted = Restarted::default();
    for victim in victims {
        match fault {
            Fault::Crash => {
                std::thread::sleep(Duration::from_millis(300) + next(900));
                crash_and_restart(
                    net,
                    &mut restarted,
                    victim,
                    Duration::from_millis(100) + next(700),
                );
            }
            Fault::Hang => {
                std::thread::sleep(Duration::from_millis(200) + next(600));
                let stopped = Resume(restarted.pid(net, victim));
                signal(stopped.0, "-STOP");
                std::thread::sleep(Duration::from_millis(1_000) + next(2_000));
            }
        }
    }
    if let Some(status) = benchmark.try_wait().expect("the benchmark runs") {
        let mut stderr = String::new();
        if let Some(mut pipe) = benchmark.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        panic!("the benchmark ended ({status}) before the faults did: {stderr}");
    }

    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = benchmark.try_wait().expect("the benchmark runs") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = benchmark.kill();
            panic!("the benchmark did not finish within 4 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    reader.join().expect("the reader ends");
    let output: Vec<String> = receiver.try_iter().collect();
    let mut errors = String::new();
    std::io::Read::read_to_string(
        &mut benchmark.stderr.take().expect("piped stderr"),
        &mut errors,
    )
    .expect("the benchmark's errors");
    let output = output.join("\n");
    assert!(status.success(), "the benchmark failed: {errors}\n{output}");
    assert!(output.contains("blocks failed: 0,"), "{output}\n{errors}");
    assert!(
        output.contains(&format!(
            "verified: 4 validators agree on the tips of {chains} chains"
        )),
        "{output}"
    );

    // The wallet's chains (the funding one included) still move, and add up.
    let (a, b) = (chain(0), chain(1));
    ok(net.skein(&["transfer", "1", "--from", &a, "--to", &b]));
    ok(net.skein(&["process-inbox", &b]));
    assert_eq!(
        ok(net.skein(&["balance", &a])),
        (1_000_000 - chains - 1).to_string()
    );
    assert_eq!(ok(net.skein(&["balance", &b])), "1000001");
    let validators = ok(net.skein(&["query-validators"]));
    assert!(
        validators.contains("4 of 4 validators reachable"),
        "{validators}"
    );
    restarted
}

/// Whole validators on the embedded store, killed and restarted during the load: each
/// reopens its log after a crash and catches up.
#[test]
fn test_validators_killed_during_a_benchmark_come_back_and_agree() {
    let net = Net::small(1, 2);
    let restarted = fault_during_benchmark(
        &net,
        Fault::Crash,
        &["validator-1", "validator-2", "validator-3", "validator-1"],
    );

    // The verification fails, naming the validator, when one does not come back.
    let (pid, _) = net.process("validator-0");
    signal(pid, "-KILL");
    let error = fails(
        net.skein(&[
            "benchmark",
            "--chains",
            "2",
            "--transfers",
            "4",
            "--verify",
            "--from",
            &chain(0),
        ]),
        1,
    );
    let genesis = skein_rpc::config::load_genesis(&net.path().join("genesis.json")).unwrap();
    let address = listening_address(&net, "validator-0");
    let (missing, _) = genesis
        .committee
        .validators()
        .iter()
        .find(|(_, state)| state.network_address == address)
        .expect("validator-0 is in the committee");
    assert!(
        error.contains("the validators disagree") && error.contains(&missing.to_string()),
        "{error}"
    );
    net.down();
    drop(restarted);
}

/// A validator's shards and proxy, separate processes on PostgreSQL, killed and restarted
/// during the load.
#[test]
fn test_shards_and_proxies_killed_during_a_benchmark_come_back_and_agree() {
    let (_server, net) = Net::on_postgres();
    let restarted = fault_during_benchmark(
        &net,
        Fault::Crash,
        &[
            "validator-1-shard-0",
            "validator-2-proxy",
            "validator-3-shard-1",
            "validator-1-shard-1",
        ],
    );
    net.down();
    drop(restarted);
}

/// Validators that hang for seconds during the load, one after another, each then resumed
/// (a hung machine, its connections open and silent; partitions proper are in
/// `partitions.rs`): no block fails meanwhile, and each catches up.
#[test]
fn test_validators_hung_during_a_benchmark_catch_up_and_agree() {
    let net = Net::small(1, 2);
    let restarted = fault_during_benchmark(
        &net,
        Fault::Hang,
        &["validator-2", "validator-3", "validator-1"],
    );
    net.down();
    drop(restarted);
}
