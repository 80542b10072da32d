#!/usr/bin/env bash
# Runs every test of the project (README's test command, `make test`):
#   lints -> header drift -> unit + property tests -> real broker -> integration tests.
# The broker is started fresh and stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== test.sh: %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings

step "generated header is current"
BC_CHECK_HEADER=1 cargo build
git diff --exit-code -- include/ || {
    echo "include/ differs from the committed header: commit the regenerated header" >&2
    exit 1
}

step "exported symbols match abi/symbols.txt"
scripts/check-symbols.sh target/debug/libbrokerclient.so

step "install: pkg-config and CMake consumers, shared and static"
scripts/install-test.sh

step "unit, property and mock-broker tests (no broker needed)"
cargo test --features mock --lib --test mock_faults

step "C ABI: C tests and C samples against the mock broker (plain gcc+clang)"
BC_TEST_STRICT=1 scripts/with-mock-broker.sh scripts/c-tests.sh plain

step "start the real brokers (broker-a, broker-b, one name server)"
trap 'scripts/rocketmq.sh stop || true' EXIT
BC_RMQ_BROKERS=2 scripts/rocketmq.sh start

step "integration tests against the real broker"
# Every test file but manager.rs, which stops and restarts broker-a and so runs alone below.
integration=()
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    [ "$name" = manager ] || integration+=(--test "$name")
done
cargo test --features mock "${integration[@]}" -- --test-threads=2
cargo test --features mock --doc

step "C ABI: C/C++ tests and C samples (gcc+clang; plain, ASan+UBSan, valgrind)"
BC_TEST_STRICT=1 BC_BROKER_ADDR=127.0.0.1:10911 scripts/c-tests.sh all

step "benchmarks smoke (scripts/bench.sh --smoke: small counts, mock and real broker)"
BC_NAMESRV_ADDR=127.0.0.1:9876 BC_BROKER_ADDR=127.0.0.1:10911 scripts/bench.sh --smoke

step "manager tests (stop and restart broker-a)"
cargo test --test manager -- --test-threads=1

step "Rust quickstart (the C quickstart ran with the C samples above)"
cargo run --example quickstart

echo
echo "test.sh: all tests passed"
