//! [`TestPostgres`]: a throwaway PostgreSQL server for tests, started and stopped by the test
//! itself. It needs the server binaries (`initdb`, `pg_ctl`; Debian's `postgresql` package,
//! which `.ci/run` installs); it never uses a server that happens to be running.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

/// A PostgreSQL server in a temporary directory, on a free port of 127.0.0.1, stopped when
/// dropped.
pub struct TestPostgres {
    directory: PathBuf,
    pg_ctl: PathBuf,
    as_postgres_user: bool,
    port: u16,
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join(name))
            .find(|candidate| candidate.is_file())
    });
    if from_path.is_some() {
        return from_path;
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    let mut candidates: Vec<PathBuf> = versions
        .flatten()
        .map(|version| version.path().join("bin").join(name))
        .filter(|candidate| candidate.is_file())
        .collect();
    candidates.sort();
    candidates.pop()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

impl TestPostgres {
    /// Starts a server. Fails with a message saying what is missing, or with the end of the
    /// server's log when it would not start.
    ///
    /// The port is free when chosen but another process may take it before the server binds
    /// it (tests start networks beside each other), so a server that does not come up is tried
    /// again on another port.
    pub fn start() -> Result<Self, String> {
        const ATTEMPTS: usize = 3;
        let initdb = find_binary("initdb").ok_or(
            "PostgreSQL's initdb was not found: install the `postgresql` package (.ci/run does)",
        )?;
        let pg_ctl = find_binary("pg_ctl").ok_or("PostgreSQL's pg_ctl was not found")?;
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            match Self::start_once(&initdb, &pg_ctl) {
                Ok(server) => return Ok(server),
                Err(error) => failures.push(error),
            }
        }
        Err(failures.join("\n--- then ---\n"))
    }

    fn start_once(initdb: &Path, pg_ctl: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("no free port: {error}"))?
            .port();
        let directory =
            std::env::temp_dir().join(format!("skein-postgres-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
        // Dropped on any failure below: the directory goes, and a half-started server stops.
        let server = Self {
            directory: directory.clone(),
            pg_ctl: pg_ctl.to_path_buf(),
            // PostgreSQL refuses to run as root: then it runs as the `postgres` user.
            as_postgres_user: running_as_root(),
            port,
        };
        if server.as_postgres_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&directory)
                .status()
                .map_err(|error| format!("chown failed: {error}"))?;
            if !status.success() {
                return Err("could not give the data directory to the postgres user".into());
            }
        }
        let data = directory.join("data");
        server.run(
            initdb,
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "skein".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            directory.display()
        );
        let log = directory.join("server.log");
        server
            .run(
                &server.pg_ctl,
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-w".as_ref(),
                    "start".as_ref(),
                ],
            )
            .map_err(|error| {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!(
                    "{error}\nthe server's log (port {port}) ends with:\n{}",
                    tail.join("\n")
                )
            })?;
        Ok(server)
    }

    fn run(&self, program: &Path, arguments: &[&std::ffi::OsStr]) -> Result<(), String> {
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        let output = command
            .args(arguments)
            .output()
            .map_err(|error| format!("{} failed to start: {error}", program.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed: {}{}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    /// The URL of the server's default database.
    pub fn url(&self) -> String {
        format!("postgres://skein@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.directory.join("data");
        let _ = self.run(
            &self.pg_ctl,
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
