//! The deterministic simulator over many seeds. The default run covers 200 seeds in two
//! halves (so both cores work); set `SKEIN_SIMULATION_SEEDS` for more, or use the example:
//! `cargo run --release -p skein-core --example simulate -- --seeds 10000`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use skein_core::simulation::{run, SimulationConfig};

fn seed_count() -> u64 {
    std::env::var("SKEIN_SIMULATION_SEEDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200)
}

fn run_seeds(seeds: impl Iterator<Item = u64>) {
    let (mut blocks, mut later_rounds, mut public_blocks) = (0, 0, 0);
    for seed in seeds {
        let config = SimulationConfig::from_seed(seed);
        match catch_unwind(AssertUnwindSafe(|| run(&config))) {
            Ok(Ok(report)) => {
                blocks += report.blocks;
                later_rounds += report.later_round_blocks;
                public_blocks += report.public_blocks;
            }
            Ok(Err(failure)) => panic!("{failure}"),
            Err(panic) => {
                eprintln!(
                    "simulation with seed {seed} panicked\nreplay it with: cargo run --release -p skein-core --example simulate -- --seed {seed}"
                );
                std::panic::resume_unwind(panic);
            }
        }
    }
    assert!(blocks > 0, "the simulations certified blocks");
    assert!(
        later_rounds > 0,
        "shared chains went through contested or timed-out rounds"
    );
    assert!(
        public_blocks > 0,
        "validators received messages on public chains"
    );
}

#[test]
fn test_simulation_even_seeds() {
    run_seeds((0..seed_count()).filter(|seed| seed % 2 == 0));
}

#[test]
fn test_simulation_odd_seeds() {
    run_seeds((0..seed_count()).filter(|seed| seed % 2 == 1));
}

/// The same seed gives the same run, step for step.
#[test]
fn test_simulation_replays_exactly() {
    for seed in [3, 17] {
        let config = SimulationConfig::from_seed(seed);
        let first = run(&config).expect("simulation");
        let second = run(&config).expect("simulation");
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        assert!(first.blocks > 0);
    }
}
