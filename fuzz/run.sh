#!/usr/bin/env bash
# Fuzzes each target (all of them if none is named) for MINUTES minutes, from the seeds in
# fuzz/seeds/TARGET and what earlier runs found (fuzz/corpus/TARGET, not committed).
# A crash is saved under fuzz/artifacts/TARGET/ and stops that target: copy it into
# fuzz/regressions/TARGET/, where `cargo test -p skein-fuzz` replays it, and fix it.
#
#   fuzz/run.sh 10               # every target, ten minutes each
#   fuzz/run.sh 2 wire files     # two targets, two minutes each
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:?usage: fuzz/run.sh MINUTES [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(wire validator certificate files wasm)
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "fuzzing $target for $minutes min"
    cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time=$((minutes * 60)) -max_len=65536 -timeout=20 -print_final_stats=1
done
