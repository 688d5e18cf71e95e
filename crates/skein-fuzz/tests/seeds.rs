//! Every seed and every crash kept under `fuzz/`, replayed through its target on each
//! `cargo test`; and a short, deterministic mutation of the seeds, so that the targets and
//! the code behind them are exercised without cargo-fuzz. (Fuzzing for real: README.)

use std::path::{Path, PathBuf};

fn fuzz_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files under `fuzz/KIND/TARGET/`.
fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(fuzz_directory().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("an input");
            (path, bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn test_every_seed_and_every_crash_found_runs_clean() {
    for (target, run) in skein_fuzz::TARGETS {
        let seeds = inputs("seeds", target);
        assert!(!seeds.is_empty(), "fuzz/seeds/{target} has no seeds");
        for (path, bytes) in seeds.iter().chain(&inputs("regressions", target)) {
            eprintln!("{}", path.display());
            run(bytes);
        }
    }
}

/// A few hundred mutations of each seed (bytes flipped, cut, repeated) per target, from a
/// fixed sequence, so a failure replays.
#[test]
fn test_mutated_seeds_run_clean() {
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    let mut next = move || -> usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state >> 40).expect("24 bits fit")
    };
    for (target, run) in skein_fuzz::TARGETS {
        let seeds = inputs("seeds", target);
        let rounds = if *target == "wasm" { 40 } else { 300 };
        for _ in 0..rounds {
            let (_, seed) = &seeds[next() % seeds.len()];
            let mut bytes = seed.clone();
            if bytes.len() < 2 {
                continue;
            }
            match next() % 4 {
                0 => {
                    for _ in 0..1 + next() % 4 {
                        let at = 1 + next() % (bytes.len() - 1);
                        bytes[at] ^= 1 << (next() % 8);
                    }
                }
                1 => bytes.truncate(1 + next() % (bytes.len() - 1)),
                2 => {
                    let at = 1 + next() % (bytes.len() - 1);
                    bytes[at] = [0x00, 0xff, 0x7f, 0x80][next() % 4];
                }
                _ => {
                    let at = 1 + next() % (bytes.len() - 1);
                    let piece = bytes[at..].to_vec();
                    bytes.extend_from_slice(&piece[..piece.len().min(64)]);
                }
            }
            run(&bytes);
        }
    }
}
