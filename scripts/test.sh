#!/usr/bin/env bash
# Runs every test of the project (README's test command, `make test`):
#   lints -> header drift -> unit + property tests -> real broker -> integration tests.
# The broker is started fresh and stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step line says how long the run has taken so far, to see where CI's minutes go.
T0=$SECONDS
step() { printf '\n== test.sh: %s [at %dm%02ds]\n' "$*" $(((SECONDS - T0) / 60)) $(((SECONDS - T0) % 60)); }

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
cargo test --features mock,fault-proxy --lib --test mock_faults

step "C ABI: C tests and C samples against the mock broker (plain gcc+clang)"
BC_TEST_STRICT=1 scripts/with-mock-broker.sh scripts/c-tests.sh plain

step "start the real brokers (broker-a, broker-b, one name server)"
trap 'scripts/rocketmq.sh stop || true; scripts/security-compat.sh stop' EXIT
BC_RMQ_BROKERS=2 scripts/rocketmq.sh start
# The 4.9.7 brokers of the compatibility step (own ports) boot meanwhile.
scripts/security-compat.sh boot-matrix

step "integration tests against the real broker"
# Every test file but manager.rs and fault_restart.rs, which stop or kill broker-a and so run
# alone below, the fault suite's own files (its step follows) and those run by the
# security/compatibility steps below. One feature set for all, so the fault steps reuse this build.
integration=()
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    case "$name" in
    manager | fault_restart | fault_proxy | mock_random | secure_broker | interop_java) ;;
    *) integration+=(--test "$name") ;;
    esac
done
cargo test --features mock,fault-proxy "${integration[@]}" -- --test-threads=2
cargo test --features mock,fault-proxy --doc

step "fault suite: faults through the fault proxy against the real broker; random-frame mock"
# --nocapture: each test prints its figures ("fault figure: ...").
cargo test --features mock,fault-proxy --test fault_proxy --test mock_random -- --test-threads=2 --nocapture

step "Python binding: pip install ./bindings/python in a venv, pytest against the real broker"
scripts/python-tests.sh

step "C ABI: C/C++ tests and C samples (gcc+clang; plain, ASan+UBSan, valgrind)"
BC_TEST_STRICT=1 BC_BROKER_ADDR=127.0.0.1:10911 scripts/c-tests.sh all

step "Go binding: go vet, go test -race and with cgocheck2, quickstart, a fresh module through pkg-config"
BC_TEST_STRICT=1 BC_BROKER_ADDR=127.0.0.1:10911 BC_NAMESRV_ADDR=127.0.0.1:9876 scripts/go-tests.sh

step "Java client interop: the official rocketmq-client 5.3.3 and this library, both ways"
cargo test --features mock,fault-proxy --test interop_java

step "compatibility matrix: integration suite, Java interop and C samples against RocketMQ 4.9.7"
# The ACL + TLS broker of the next step boots meanwhile.
scripts/security-compat.sh boot-secure 5.3.3
scripts/security-compat.sh matrix

step "ACL signing and verified TLS against a 5.3.3 broker enforcing both"
scripts/security-compat.sh secure 5.3.3

step "benchmarks smoke (scripts/bench.sh --smoke: small counts, mock and real broker)"
BC_NAMESRV_ADDR=127.0.0.1:9876 BC_BROKER_ADDR=127.0.0.1:10911 scripts/bench.sh --smoke

step "manager tests (stop and restart broker-a; broker-b leaves the route and returns)"
cargo test --features mock,fault-proxy --test manager -- --test-threads=1

step "fault suite: broker-a killed (SIGKILL) and restarted under 4 senders"
cargo test --features mock,fault-proxy --test fault_restart -- --nocapture

step "Rust quickstart (the C quickstart ran with the C samples above)"
cargo run --example quickstart

echo
echo "test.sh: all tests passed in $(((SECONDS - T0) / 60))m$(((SECONDS - T0) % 60))s"
