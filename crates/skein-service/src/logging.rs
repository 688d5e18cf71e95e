//! Logs go to standard error; `SKEIN_LOG` chooses what is shown (for example `info` or
//! `skein_core=debug,warn`).

use tracing_subscriber::{filter::Targets, prelude::*};

/// The environment variable with the log filter.
pub const LOG_ENV: &str = "SKEIN_LOG";

/// Starts logging at `default` level unless `SKEIN_LOG` says otherwise.
pub fn init(default: &str) {
    let filter: Targets = std::env::var(LOG_ENV)
        .ok()
        .and_then(|text| text.parse().ok())
        .or_else(|| default.parse().ok())
        .unwrap_or_default();
    use std::io::IsTerminal as _;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // A second initialisation (in tests) is harmless.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
