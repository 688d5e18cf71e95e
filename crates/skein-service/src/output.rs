//! The command line's output: `output_line!` prints like `println!`, but a reader that goes
//! away (`skein wallet show | head`) ends the command the way it ends other command-line
//! tools, by SIGPIPE, instead of with a panic.
//!
//! Only a closed standard output may do that. Restoring SIGPIPE's default disposition for
//! the whole process, as the command line once did, also killed a client the moment it
//! wrote to the socket of a validator that had just died (`writev` on a reset connection
//! raises SIGPIPE): a crashed validator silently ended `skein benchmark` and `skein
//! transfer` with it. The Rust runtime ignores SIGPIPE, so sockets get `EPIPE`, which the
//! client handles like any other unreachable validator.

use std::io::Write;

/// Prints one line of the command's output; see the module docs for a closed reader.
/// In scope in every module of the crate (`#[macro_use]` in lib.rs).
macro_rules! output_line {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

/// Writes `line` and a newline to standard output, ending the process as SIGPIPE would if
/// the reader has gone.
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => end_by_sigpipe(),
        Err(error) => {
            eprintln!("error: cannot write the output: {error}");
            std::process::exit(1);
        }
    }
}

/// Ends the process by SIGPIPE, so that a shell with `pipefail` sees what it would see of
/// any other tool whose reader went away.
fn end_by_sigpipe() -> ! {
    #[cfg(unix)]
    // SAFETY: `signal` and `raise` only change and use this process's signal disposition;
    // the process ends at once, and nothing relies on SIGPIPE being ignored after that.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

#[cfg(test)]
mod tests {
    /// A closed reader ends a command by SIGPIPE, as the shell expects; checked against
    /// the real binary's output machinery in a child process, where the signal lands.
    #[cfg(unix)]
    #[test]
    fn a_closed_reader_ends_the_process_by_sigpipe() {
        use std::os::unix::process::ExitStatusExt;
        if std::env::var_os("SKEIN_OUTPUT_TEST_CHILD").is_some() {
            // In the child: standard output is a pipe whose reader the parent closed.
            loop {
                output_line!("a line nobody reads");
            }
        }
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "--test-threads=1",
                "output::tests::a_closed_reader_ends_the_process_by_sigpipe",
            ])
            .env("SKEIN_OUTPUT_TEST_CHILD", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The reader goes away once the child's own lines begin, when the harness has
        // written what it writes before a test, so that only our line meets the closed pipe.
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut lines = std::io::BufRead::lines(stdout);
        assert!(lines.any(|line| line.unwrap() == "a line nobody reads"));
        drop(lines);
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status}");
    }
}
