#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time: scripts/fuzz.sh [SECONDS_PER_TARGET]
# Needs a nightly toolchain (libFuzzer instrumentation); installs cargo-fuzz when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
for target in $(cargo +nightly fuzz list); do
    echo "fuzz.sh: $target for ${seconds}s"
    # A crash makes libFuzzer exit non-zero and leaves the input in fuzz/artifacts/.
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len=65536 2>&1 | tail -n 25
done
echo "fuzz.sh: all targets ran ${seconds}s without a crash"
