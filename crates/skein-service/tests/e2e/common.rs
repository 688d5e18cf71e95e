//! Starting a network and running commands against it.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::{mpsc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use skein_core::GenesisConfig;
use skein_storage::test_postgres::TestPostgres;

/// Networks (and builds) use every core: one test at a time.
static NETWORKS: Mutex<()> = Mutex::new(());

/// Waits for the other tests that use every core to finish; holds them off until dropped.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    NETWORKS.lock().unwrap_or_else(|poison| poison.into_inner())
}

pub fn skein_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_skein"))
}

/// A network started with `skein net up`, stopped (with Ctrl-C) when dropped.
pub struct Net {
    child: Child,
    pub directory: tempfile::TempDir,
    pub wallet: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Net {
    /// Four validators of `shards` shards each, with `chains` genesis chains.
    pub fn small(shards: usize, chains: usize) -> Self {
        let (shards, chains) = (shards.to_string(), chains.to_string());
        Self::up(&[
            "--validators",
            "4",
            "--shards",
            &shards,
            "--initial-chains",
            &chains,
        ])
    }

    /// Four validators of two shards, each shard a process of its own, on a PostgreSQL
    /// server started for the test (which runs while the server returned lives), with two
    /// genesis chains.
    pub fn on_postgres() -> (TestPostgres, Self) {
        let server = TestPostgres::start().expect("a PostgreSQL server for the test");
        let url = server.url();
        let net = Self::up(&[
            "--validators",
            "4",
            "--shards",
            "2",
            "--initial-chains",
            "2",
            "--storage",
            &url,
        ]);
        (server, net)
    }

    /// Runs `skein net up ARGS` and waits until it says the network is up.
    pub fn up(arguments: &[&str]) -> Self {
        Self::up_with(Command::new(skein_binary()), arguments)
    }

    /// Runs `skein net up ARGS` as `skein` (say, `ip netns exec NAME skein`: the same
    /// process, in another network namespace) and waits until it says the network is up.
    pub fn up_with(mut skein: Command, arguments: &[&str]) -> Self {
        let turn = one_at_a_time();
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("net");
        let mut child = skein
            .args(["net", "up", "--path"])
            .arg(&path)
            .args(arguments)
            .env_remove("SKEIN_WALLET")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("skein net up starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        // Keep reading until net up exits, so its output never hits a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut seen = Vec::new();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(remaining) {
                Ok(line) if line.contains("Press Ctrl-C") => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("net up did not come up; it printed:\n{}", seen.join("\n"));
                }
            }
        }
        assert!(
            seen.iter()
                .any(|line| line.contains("export SKEIN_WALLET=")),
            "net up prints how to use the wallet"
        );
        Self {
            child,
            wallet: path.join("wallet.json"),
            directory,
            _turn: turn,
        }
    }

    /// The network's directory.
    pub fn path(&self) -> PathBuf {
        self.directory.path().join("net")
    }

    /// Runs `skein ARGS` with the network's wallet.
    pub fn skein(&self, arguments: &[&str]) -> Output {
        skein_with(&self.wallet, arguments)
    }

    /// The process `net up` started under `name`: its pid and command line.
    pub fn process(&self, name: &str) -> (u32, Vec<String>) {
        let text =
            std::fs::read_to_string(self.path().join("processes.json")).expect("processes.json");
        let entries: Vec<serde_json::Value> = serde_json::from_str(&text).expect("valid JSON");
        let entry = entries
            .iter()
            .find(|entry| entry["name"] == name)
            .unwrap_or_else(|| panic!("no process {name}"));
        let pid = u32::try_from(entry["pid"].as_u64().expect("a pid")).expect("a 32-bit pid");
        let command = entry["command"]
            .as_array()
            .expect("a command")
            .iter()
            .map(|part| part.as_str().expect("text").to_string())
            .collect();
        (pid, command)
    }

    /// Stops the network as Ctrl-C would, and waits for it.
    pub fn down(mut self) {
        self.interrupt();
    }

    fn interrupt(&mut self) {
        interrupt(&mut self.child);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.interrupt();
        }
    }
}

/// Runs `skein ARGS` with `wallet`.
pub fn skein_with(wallet: &Path, arguments: &[&str]) -> Output {
    Command::new(skein_binary())
        .arg("--wallet")
        .arg(wallet)
        .args(arguments)
        .env_remove("SKEIN_WALLET")
        .output()
        .expect("skein runs")
}

/// The standard output of a command that must succeed.
pub fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "command failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The standard error of a command that must fail with `code`; it is one line.
pub fn fails(output: Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "expected exit code {code}; stdout: {} stderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).trim().to_string()
}

/// Sends `signal` (`-KILL`, `-STOP`, …) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Resumes a stopped process on drop, so a failing test does not leave it stopped.
pub struct Resume(pub u32);

impl Drop for Resume {
    fn drop(&mut self) {
        signal(self.0, "-CONT");
    }
}

/// The id of genesis chain `index`, as text.
pub fn chain(index: usize) -> String {
    GenesisConfig::chain_id(index).to_string()
}

/// `skein service` on a free port of 127.0.0.1, stopped (with Ctrl-C) when dropped.
pub struct Service {
    child: Child,
    pub port: u16,
}

impl Service {
    /// Starts `skein service ARGS` with `wallet` and waits until it serves.
    pub fn start(wallet: &Path, arguments: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(skein_binary())
            .arg("--wallet")
            .arg(wallet)
            .args(["service", "--port", &port.to_string()])
            .args(arguments)
            .env_remove("SKEIN_WALLET")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("skein service starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.contains("serving GraphQL") => {}
            other => {
                let _ = child.kill();
                panic!("skein service did not start: {other:?}");
            }
        }
        Self { child, port }
    }

    /// The answer to a GraphQL `query` sent to `path`, as JSON:
    /// `{"data": …}` or `{"errors": […]}`.
    pub fn graphql(&self, path: &str, query: &str) -> serde_json::Value {
        let body = serde_json::json!({ "query": query }).to_string();
        let (status, answer) = self.post(path, &body);
        assert!(status == 200 || status == 400, "status {status}: {answer}");
        serde_json::from_str(&answer).unwrap_or_else(|_| panic!("not JSON: {answer}"))
    }

    /// The `data` of a GraphQL answer that must have no errors.
    pub fn data(&self, path: &str, query: &str) -> serde_json::Value {
        let answer = self.graphql(path, query);
        assert!(answer.get("errors").is_none(), "{query}: {answer}");
        answer["data"].clone()
    }

    /// The first error message of a GraphQL answer that must fail.
    pub fn error(&self, path: &str, query: &str) -> String {
        let answer = self.graphql(path, query);
        answer["errors"][0]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{query} should fail: {answer}"))
            .to_string()
    }

    /// POSTs `body` to `path`: the status and the body of the answer.
    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        self.post_with(path, "Content-Type: application/json\r\n", body)
    }

    /// POSTs `body` to `path` with `headers` (each line ending in `\r\n`) besides `Host`:
    /// the status and the body of the answer.
    pub fn post_with(&self, path: &str, headers: &str, body: &str) -> (u16, String) {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let (status, _, body) = self.raw(&request);
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// GETs `path`: the status, the headers (lowercase) and the body.
    pub fn get(&self, path: &str) -> (u16, String, Vec<u8>) {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        ))
    }

    /// Sends `request` as it is: the status, the headers (lowercase) and the body.
    pub fn raw(&self, request: &str) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("the service listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("a timeout");
        stream.write_all(request.as_bytes()).expect("sent");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("an answer");
        let split = answer
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .expect("a status");
        (status, head, answer[split + 4..].to_vec())
    }

    /// Stops the service as Ctrl-C would, and waits for it: its wallet is free again.
    pub fn stop(mut self) {
        self.interrupt();
    }

    fn interrupt(&mut self) {
        interrupt(&mut self.child);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.interrupt();
        }
    }
}

/// Stops a process as Ctrl-C would, and waits for it (20 s, then kills it).
fn interrupt(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Opens a chain with `balance` tokens from the default chain and makes it public, with
/// short rounds; returns its id.
pub fn open_public_chain(net: &Net, balance: &str) -> String {
    let opened = ok(net.skein(&["open-chain", "--initial-balance", balance]));
    let public = opened.lines().last().unwrap().to_string();
    let changed = ok(net.skein(&[
        "change-ownership",
        &public,
        "--public",
        "--base-timeout-ms",
        "500",
        "--timeout-increment-ms",
        "100",
    ]));
    assert!(changed.contains("public chain"), "{changed}");
    public
}
