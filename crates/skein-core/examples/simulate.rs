//! Runs the deterministic simulator over one seed or many.
//!
//! ```text
//! cargo run --release -p skein-core --example simulate -- --seed 42
//! cargo run --release -p skein-core --example simulate -- --seeds 10000 [--from 0]
//! cargo run --release -p skein-core --example simulate -- --seeds 100 --reconfigurations 3
//! ```
//!
//! `--reconfigurations N` makes every run change the committee N times (the seed decides
//! otherwise how many). `SKEIN_SIM_LOG=debug` (or `info`, `trace`) prints the run's log.
//!
//! A failing seed is printed with the command that replays it, and the exit code is 1.

use std::panic::{catch_unwind, AssertUnwindSafe};

use skein_core::simulation::{run, SimulationConfig};

fn main() {
    if let Some(level) = std::env::var("SKEIN_SIM_LOG")
        .ok()
        .and_then(|level| level.parse::<tracing::Level>().ok())
    {
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .init();
    }
    let mut seed = None;
    let mut seeds = 1u64;
    let mut from = 0u64;
    let mut reconfigurations = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments.next().and_then(|value| value.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--seed", Some(value)) => seed = Some(value),
            ("--seeds", Some(value)) => seeds = value,
            ("--from", Some(value)) => from = value,
            ("--reconfigurations", Some(value)) => reconfigurations = usize::try_from(value).ok(),
            _ => {
                eprintln!(
                    "usage: simulate [--seed S] [--seeds N] [--from S0] [--reconfigurations N]"
                );
                std::process::exit(2);
            }
        }
    }
    let configure = |seed: u64| {
        let mut config = SimulationConfig::from_seed(seed);
        if let Some(count) = reconfigurations {
            config.reconfigurations = count;
        }
        config
    };
    if let Some(seed) = seed {
        let config = configure(seed);
        println!("{config:?}");
        match run(&config) {
            Ok(report) => println!("seed {seed}: ok, {report:?}"),
            Err(failure) => {
                eprintln!("{failure}");
                std::process::exit(1);
            }
        }
        return;
    }
    let started = std::time::Instant::now();
    let (mut blocks, mut later_rounds, mut public_blocks, mut crashes) = (0, 0, 0, 0);
    let (mut changes, mut rotations) = (0, 0);
    for seed in from..from + seeds {
        let config = configure(seed);
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&config)));
        match outcome {
            Ok(Ok(report)) => {
                blocks += report.blocks;
                later_rounds += report.later_round_blocks;
                public_blocks += report.public_blocks;
                crashes += report.crashes;
                changes += report.reconfigurations;
                rotations += report.key_rotations;
            }
            Ok(Err(failure)) => {
                eprintln!("{failure}");
                std::process::exit(1);
            }
            Err(_) => {
                eprintln!(
                    "simulation with seed {seed} panicked\nreplay it with: cargo run --release -p skein-core --example simulate -- --seed {seed}"
                );
                std::process::exit(1);
            }
        }
        if (seed - from + 1).is_multiple_of(500) {
            println!(
                "{} seeds passed ({:.0?})",
                seed - from + 1,
                started.elapsed()
            );
        }
    }
    println!(
        "{seeds} seeds passed from {from}: {blocks} blocks ({later_rounds} after a shared chain's first round, {public_blocks} by validators on public chains), {crashes} validator crashes, {changes} committee changes ({rotations} key rotations), in {:.1?}",
        started.elapsed()
    );
}
